/* Writes the seed corpus of fuzz_trace_reader: small valid traces (plain,
 * keyed, several chunks, without footer, every event kind) into DIR. */
#include <stdio.h>
#include <stdlib.h>

#include "format/trace.h"
#include "tests/format/trace_samples.h"

static void put(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "seed_trace_reader: cannot write '%s'\n", path);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seed_trace_reader DIR\n");
        return 2;
    }
    static const uint8_t key[TRACE_KEY_BYTES] = { 1, 2, 3, 4 };
    size_t len;
    uint8_t *t = ts_make_trace(16, 0, NULL, &len);
    put(argv[1], "every-kind.sbt", t, len);
    put(argv[1], "no-footer.sbt", t, len / 2);
    free(t);
    t = ts_make_trace(40, 300, NULL, &len);
    put(argv[1], "chunks.sbt", t, len);
    free(t);
    t = ts_make_trace(20, 400, key, &len);
    put(argv[1], "keyed.sbt", t, len);
    free(t);
    t = ts_make_trace(0, 0, NULL, &len);
    put(argv[1], "empty.sbt", t, len);
    free(t);
    return 0;
}
