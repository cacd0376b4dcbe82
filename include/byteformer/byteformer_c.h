/* The C API of byteformer (libbyteformer_c.so), for other languages to bind: open a
 * classifier from a training run folder or a config + weights, classify byte buffers, read the
 * answer, free it. Every call that can fail returns NULL or a negative number and leaves a
 * message for byteformer_last_error() in the calling thread, naming the path or argument at
 * fault; nothing aborts the process.
 *
 *   byteformer_classifier* clf = byteformer_open_run("runs/fashion_mnist");
 *   if (!clf) { fprintf(stderr, "%s\n", byteformer_last_error()); return 1; }
 *   byteformer_result* r = byteformer_classify(clf, bytes, n, "shoe.png", 0);
 *   if (r && byteformer_result_ok(r))
 *     printf("%s %.3f\n", byteformer_result_label(r, 0), byteformer_result_prob(r, 0));
 *   byteformer_result_free(r);
 *   byteformer_close(clf);
 *
 * A classifier may be used from several threads at once (C++: byteformer::Classifier).
 */
#ifndef BYTEFORMER_BYTEFORMER_C_H_
#define BYTEFORMER_BYTEFORMER_C_H_

#include <stddef.h>
#include <stdint.h>

#if defined(BYTEFORMER_C_BUILD)
#define BYTEFORMER_C_API __attribute__((visibility("default")))
#else
#define BYTEFORMER_C_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct byteformer_classifier byteformer_classifier;
typedef struct byteformer_result byteformer_result;

/* A training run folder (config.yaml, best weights, class names); NULL on error. */
BYTEFORMER_C_API byteformer_classifier* byteformer_open_run(const char* run_dir);
/* A CoreNet YAML config and a weights file (.pt; "": the config's model.classification.pretrained);
   NULL on error. */
BYTEFORMER_C_API byteformer_classifier* byteformer_open(const char* config_path, const char* weights_path);
/* The same, with the model on `device`: "cpu" (what the two above use), "cuda", "cuda:N" or
   "auto" (a GPU when this build sees one, else the CPU). NULL on error, an unknown or missing
   device among them (byteformer_last_error says which). */
BYTEFORMER_C_API byteformer_classifier* byteformer_open_run_on(const char* run_dir, const char* device);
BYTEFORMER_C_API byteformer_classifier* byteformer_open_on(const char* config_path, const char* weights_path,
                                                           const char* device);
/* The same, choosing the arithmetic of the forward passes too. `precision`: "fp32", "bf16" (autocast;
   the weights stay float32), "int8" (the CPU's linear layers as u8 x s8 products: needs oneDNN and
   VNNI) or "auto" (int8 where it runs, else bf16 where the CPU runs it at full rate, else fp32, as
   `byteformer --version` shows); NULL: the functions above's rule (fp32 on the CPU). `device`
   NULL: "cpu". NULL on error, a precision misspelled or one that cannot run here among them
   (byteformer_last_error says which). */
BYTEFORMER_C_API byteformer_classifier* byteformer_open_run_with(const char* run_dir, const char* device,
                                                                 const char* precision);
BYTEFORMER_C_API byteformer_classifier* byteformer_open_with(const char* config_path, const char* weights_path,
                                                             const char* device, const char* precision);
BYTEFORMER_C_API void byteformer_close(byteformer_classifier* clf);

/* The precision the forward passes run in: "fp32", "bf16" or "int8" ("auto" resolved); NULL when
   clf is NULL. Static storage. */
BYTEFORMER_C_API const char* byteformer_precision(const byteformer_classifier* clf);

/* Number of classes; the name of class i (NULL when out of range; valid until close). */
BYTEFORMER_C_API int64_t byteformer_num_classes(const byteformer_classifier* clf);
BYTEFORMER_C_API const char* byteformer_class_name(const byteformer_classifier* clf, int64_t i);

/* Classifies `size` bytes (a whole file). raw = 0: through the config's evaluation pipeline,
 * as `byteformer predict` does; raw = 1: fed as they are. `name` names the input in errors
 * (may be NULL). Returns NULL only when the call itself is wrong (NULL classifier); a buffer
 * that cannot be decoded gives a result whose byteformer_result_ok() is 0. */
BYTEFORMER_C_API byteformer_result* byteformer_classify(const byteformer_classifier* clf, const uint8_t* data,
                                                        size_t size, const char* name, int raw);
BYTEFORMER_C_API void byteformer_result_free(byteformer_result* r);

/* 1 when classified; else byteformer_result_error() says why. */
BYTEFORMER_C_API int byteformer_result_ok(const byteformer_result* r);
BYTEFORMER_C_API const char* byteformer_result_error(const byteformer_result* r);
/* The top classes, most probable first (as many as the classifier's classes): the class index,
 * name and probability of rank k; -1 / NULL / -1.0 when out of range. */
BYTEFORMER_C_API int64_t byteformer_result_count(const byteformer_result* r);
BYTEFORMER_C_API int64_t byteformer_result_index(const byteformer_result* r, int64_t rank);
BYTEFORMER_C_API const char* byteformer_result_label(const byteformer_result* r, int64_t rank);
BYTEFORMER_C_API double byteformer_result_prob(const byteformer_result* r, int64_t rank);
/* The logit of class i (NaN when out of range); bytes fed to the model after the pipeline. */
BYTEFORMER_C_API float byteformer_result_logit(const byteformer_result* r, int64_t i);
BYTEFORMER_C_API int64_t byteformer_result_num_bytes(const byteformer_result* r);

/* The last error of this thread ("" when none); valid until the thread's next call. */
BYTEFORMER_C_API const char* byteformer_last_error(void);
/* "byteformer 0.1.0 (LibTorch 1.13.1)". */
BYTEFORMER_C_API const char* byteformer_version(void);

#ifdef __cplusplus
}
#endif

#endif /* BYTEFORMER_BYTEFORMER_C_H_ */
