/* libFuzzer target: the answer line a handler process sends back
 * (docs/handlers.md), parsed by controller/handler_proc.c. A handler is a
 * program the user trusts less than the controller (it may be buggy, or
 * speak for a guest): no line may crash the parser, read outside the line,
 * or give an answer the protocol cannot carry.
 *
 * Input: the line's bytes, as they would arrive (without the newline).
 * fuzz-libs: controller format common */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controller/handler_proc.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A private copy of exactly `size` bytes: ASan catches any read past it. */
    char *line = malloc(size ? size : 1);
    if (!line)
        return 0;
    memcpy(line, data, size);
    struct answer a;
    char why[128];
    why[0] = '\0';
    int rc = parse_answer(line, size, &a, why, sizeof why);
    if (rc != 0 && rc != -1)
        abort();
    if (rc < 0) {
        if (!why[0] || strlen(why) >= sizeof why)
            abort(); /* every refusal says why */
    } else {
        if (a.has_errno && (a.err <= 0 || a.err > 4095))
            abort();
        if (a.has_data) {
            if (a.data < line || a.data + a.data_len > line + size)
                abort();
            unsigned char out[64];
            long n = base64_decode(a.data, a.data_len, out, sizeof out);
            if (n < -1 || n > (long)sizeof out)
                abort();
        }
        if (a.has_note && strlen(a.note) >= sizeof a.note)
            abort();
    }
    free(line);
    return 0;
}
