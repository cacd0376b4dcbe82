/* A C program built with `pkg-config --cflags --libs byteformer_c` against the installed C API:
 * classifies one file as it is and prints its logits, as consumer_cpp does.
 *   consumer_c CONFIG WEIGHTS FILE
 * Prints "logit i v" per class and "c ok"; a failure prints "error MESSAGE" and exits 1. */
#include <stdio.h>
#include <stdlib.h>

#include <byteformer/byteformer_c.h>

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s CONFIG WEIGHTS FILE\n", argv[0]);
    return 64;
  }
  FILE* f = fopen(argv[3], "rb");
  if (!f) {
    printf("error %s: cannot open\n", argv[3]);
    return 1;
  }
  static unsigned char data[1 << 20];
  const size_t size = fread(data, 1, sizeof data, f);
  fclose(f);

  byteformer_classifier* clf = byteformer_open(argv[1], argv[2]);
  if (!clf) {
    printf("error %s\n", byteformer_last_error());
    return 1;
  }
  byteformer_result* r = byteformer_classify(clf, data, size, argv[3], /*raw=*/1);
  const int ok = r && byteformer_result_ok(r);
  if (!ok) {
    printf("error %s\n", r ? byteformer_result_error(r) : byteformer_last_error());
  } else {
    for (int64_t i = 0; i < byteformer_num_classes(clf); ++i)
      printf("logit %lld %.7g\n", (long long)i, byteformer_result_logit(r, i));
    printf("c ok\n");
  }
  byteformer_result_free(r);
  byteformer_close(clf);
  return ok ? 0 : 1;
}
