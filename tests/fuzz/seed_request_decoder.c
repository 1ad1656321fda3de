/* Writes the seed corpus of fuzz_request_decoder into DIR: the bytes guests
 * sent their controller in recorded sessions (seed_sessions.h), plus a few
 * hand-made requests. */
#include "tests/fuzz/seed_sessions.h"

static void each(const struct seed_session *s, const char *name, void *ctx)
{
    char file[256];
    snprintf(file, sizeof file, "session-%s.bin", name);
    seed_write(ctx, file, s->guest.p, s->guest.len);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seed_request_decoder DIR\n");
        return 2;
    }
    static const struct { const char *name, *text; unsigned nargs; } reqs[] = {
        { "getpid", "getpid()i", 0 },
        { "write", "write(ipi)i", 3 },
        { "stat64", "stat64(pp)i", 2 },
        { "exit", "_exit(i)v", 1 },
        { "float", "f(f)f", 1 },
    };
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        uint8_t buf[ST_WIRE_MAX_REQUEST];
        uint64_t args[3] = { 1, 0x7f0000001000ull, 3 };
        int n = st_wire_encode_request(buf, sizeof buf, reqs[i].text, args, reqs[i].nargs);
        if (n > 0)
            seed_write(argv[1], reqs[i].name, buf, (size_t)n);
    }
    char *tmp = seed_tmpdir();
    int n = tmp ? seed_each_session(tmp, each, argv[1]) : 0;
    if (tmp)
        rmdir(tmp);
    fprintf(stderr, "seed_request_decoder: %d recorded sessions\n", n);
    return 0;
}
