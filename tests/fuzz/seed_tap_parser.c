/* Writes the seed corpus of fuzz_tap_parser into DIR: recorded sessions
 * (seed_sessions.h) as the segments of both directions in wire order, in
 * the target's format (u8 direction, u16 length, bytes). */
#include "tests/fuzz/seed_sessions.h"

static void each(const struct seed_session *s, const char *name, void *ctx)
{
    struct seed_buf out = { 0 };
    /* Consecutive pieces of one direction are merged (up to 65535 bytes). */
    size_t i = 0;
    while (i < s->npieces) {
        int dir = s->pieces[i].from_controller;
        const struct seed_buf *src = dir ? &s->controller : &s->guest;
        size_t off = s->pieces[i].off, len = 0;
        while (i < s->npieces && s->pieces[i].from_controller == dir &&
               len + s->pieces[i].len <= 65535) {
            len += s->pieces[i].len;
            i++;
        }
        if (len == 0) { /* one piece larger than a segment: split it */
            len = 65535;
            i++;
        }
        uint8_t head[3] = { (uint8_t)dir, (uint8_t)(len & 0xff), (uint8_t)(len >> 8) };
        seed_put(&out, head, 3);
        seed_put(&out, src->p + off, len);
    }
    char file[256];
    snprintf(file, sizeof file, "session-%s.bin", name);
    seed_write(ctx, file, out.p, out.len);
    free(out.p);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seed_tap_parser DIR\n");
        return 2;
    }
    /* A getpid request and its answer, by hand. */
    uint8_t buf[64] = { 0, 10, 0, 9 };
    memcpy(buf + 4, "getpid()i", 9);
    uint8_t ans[] = { 1, 9, 0, 'i', 0x68, 0x10, 0, 0, 0, 0, 0, 0 };
    memcpy(buf + 13, ans, sizeof ans);
    seed_write(argv[1], "getpid.bin", buf, 13 + sizeof ans);
    char *tmp = seed_tmpdir();
    int n = tmp ? seed_each_session(tmp, each, argv[1]) : 0;
    if (tmp)
        rmdir(tmp);
    fprintf(stderr, "seed_tap_parser: %d recorded sessions\n", n);
    return 0;
}
