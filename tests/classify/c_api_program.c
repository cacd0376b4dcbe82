/* A C program over libbyteformer_c.so (include/byteformer/byteformer_c.h), run by
 * c_api_test.cpp: usage  c_api_program CONFIG WEIGHTS FILE RAW(0|1) [DEVICE [PRECISION]]
 * (DEVICE: byteformer_open_on's device; without it, byteformer_open: the CPU; with PRECISION,
 * byteformer_open_with(..., DEVICE, PRECISION)), or c_api_program open_run RUN_DIR
 * (byteformer_open_run only: "opened" or "open_error MESSAGE").
 * Prints "version ...", "classes N", "precision P" (byteformer_precision), "ok 0|1", "error ..."
 * or "bytes N", then "logit i v" for
 * each class and "rank k index label prob" for the first three ranks; a bad open prints
 * "open_error MESSAGE" and exits 2. Exit 0 when every call behaved as documented. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byteformer/byteformer_c.h"

static unsigned char* read_all(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  unsigned char* buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  *size = n;
  return buf;
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "open_run") == 0) {
    byteformer_classifier* run = byteformer_open_run(argv[2]);
    if (!run) {
      printf("open_error %s\n", byteformer_last_error());
      return 2;
    }
    printf("opened\n");
    byteformer_close(run);
    return 0;
  }
  if (argc < 5 || argc > 7) {
    fprintf(stderr, "usage: %s CONFIG WEIGHTS FILE RAW [DEVICE [PRECISION]] | %s open_run RUN_DIR\n", argv[0],
            argv[0]);
    return 64;
  }
  printf("version %s\n", byteformer_version());
  /* Errors come back as NULL and a message, never an abort. */
  if (byteformer_open_run("/nonexistent/run") != NULL || strlen(byteformer_last_error()) == 0) return 3;
  if (byteformer_classify(NULL, NULL, 0, NULL, 0) != NULL) return 4;
  if (byteformer_precision(NULL) != NULL) return 11;
  byteformer_classifier* clf = argc == 7   ? byteformer_open_with(argv[1], argv[2], argv[5], argv[6])
                               : argc == 6 ? byteformer_open_on(argv[1], argv[2], argv[5])
                                           : byteformer_open(argv[1], argv[2]);
  if (!clf) {
    printf("open_error %s\n", byteformer_last_error());
    return 2;
  }
  const int64_t classes = byteformer_num_classes(clf);
  printf("classes %lld\n", (long long)classes);
  printf("precision %s\n", byteformer_precision(clf));
  if (byteformer_class_name(clf, classes) != NULL) return 5;
  size_t size = 0;
  unsigned char* data = read_all(argv[3], &size);
  if (!data) return 6;
  byteformer_result* r = byteformer_classify(clf, data, size, argv[3], atoi(argv[4]));
  free(data);
  if (!r) return 7;
  printf("ok %d\n", byteformer_result_ok(r));
  if (!byteformer_result_ok(r)) {
    printf("error %s\n", byteformer_result_error(r));
  } else {
    printf("bytes %lld\n", (long long)byteformer_result_num_bytes(r));
    if (byteformer_result_count(r) != classes) return 8;
    for (int64_t i = 0; i < classes; ++i) printf("logit %lld %.7g\n", (long long)i, byteformer_result_logit(r, i));
    if (!isnan(byteformer_result_logit(r, classes))) return 9;
    for (int64_t k = 0; k < 3 && k < classes; ++k) {
      const char* label = byteformer_result_label(r, k);
      printf("rank %lld %lld %s %.7g\n", (long long)k, (long long)byteformer_result_index(r, k), label ? label : "-",
             byteformer_result_prob(r, k));
    }
    if (byteformer_result_index(r, classes) != -1 || byteformer_result_prob(r, -1) != -1.0) return 10;
  }
  byteformer_result_free(r);
  byteformer_close(clf);
  return 0;
}
