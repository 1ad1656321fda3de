/* libFuzzer target: the controller's side of the command-reply path. The
 * real handlers (controller/calls/) run in a real session against a fake
 * guest whose replies to R, Z and M (the bytes R asks for, a Z length and
 * its string, an M pointer) come from the fuzz input: lying lengths, short
 * streams, pointers anywhere. Nothing may crash, hang or allocate without
 * bound; a handler either answers or returns a negative ST_E_* (which ends
 * the guest in a real run).
 *
 * Input: u8 ncalls; then per call u16 signature id (modulo the registry)
 * and 8 bytes per argument of that signature (missing bytes are zero);
 * the rest is the guest's reply stream, read through a memfd.
 * fuzz-libs: controller format common */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "controller/calls/calls.h"
#include "controller/registry.h"
#include "controller/session_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ST_HANDLER_HANDLED(ident) call_##ident
#define ST_HANDLER_REFUSED(ident) NULL
#define ST_HANDLER_FATAL(ident) NULL
static st_handler *const handlers[ST_SIG_COUNT] = {
#define SIG(ident, text, cls, args, res, act, err, dec) [ST_SIG_##ident] = ST_HANDLER_##act(ident),
#include "controller/sigtable.def"
#undef SIG
};

#define MAX_CALLS 64

static int memfd = -1, devnull = -1;

static void load(const uint8_t *data, size_t size)
{
    if (ftruncate(memfd, 0) != 0)
        abort();
    size_t off = 0;
    while (off < size) {
        ssize_t w = pwrite(memfd, data + off, size - off, (off_t)off);
        if (w <= 0)
            abort();
        off += (size_t)w;
    }
    if (lseek(memfd, 0, SEEK_SET) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memfd < 0) {
        memfd = memfd_create("fuzz_command_replies", 0);
        devnull = open("/dev/null", O_WRONLY);
        if (memfd < 0 || devnull < 0)
            abort();
    }
    if (size < 1)
        return 0;
    size_t pos = 0;
    unsigned ncalls = data[pos++] % (MAX_CALLS + 1);
    struct st_call calls[MAX_CALLS];
    unsigned n = 0;
    for (unsigned i = 0; i < ncalls && pos + 2 <= size; i++) {
        unsigned id = ((unsigned)data[pos] | (unsigned)data[pos + 1] << 8) % ST_SIG_COUNT;
        pos += 2;
        const struct st_sig *sig = st_registry_get((enum st_sig_id)id);
        if (!sig || !handlers[id])
            continue;
        struct st_call *c = &calls[n++];
        memset(c, 0, sizeof *c);
        c->sig = sig;
        c->nargs = sig->nargs;
        for (unsigned a = 0; a < sig->nargs; a++) {
            size_t take = size - pos < 8 ? size - pos : 8;
            memcpy(&c->args[a], data + pos, take);
            pos += take;
        }
    }

    /* A session with the default world; the guest "is" the memfd (its
     * replies) and /dev/null (the commands). Its streams: no input, output
     * thrown away, with a small output limit. */
    static const char *const argv[] = { "guest" };
    static const char *const env[] = { "HOME=/tmp", "LANG=C" };
    struct st_session_config cfg;
    st_session_config_init(&cfg);
    cfg.exe = "/nonexistent/guest";
    cfg.argv = argv;
    cfg.argc = 1;
    cfg.env = env;
    cfg.nenv = 2;
    cfg.pypy_home = "/lib";
    cfg.in_fd = -1;
    cfg.out_fd = devnull;
    cfg.err_fd = devnull;
    cfg.max_output = 1 << 20;
    struct st_session *s = NULL;
    if (st_session_new(&cfg, &s) != 0)
        abort();
    load(data + pos, size - pos);
    st_wire_reader_init(&s->link.rd, memfd, NULL, NULL);
    st_wire_out_init(&s->link.out, devnull, NULL, NULL);
    for (unsigned i = 0; i < n; i++) {
        struct st_call *c = &calls[i];
        int rc = handlers[c->sig->id](s, c);
        if (rc < 0 || s->stopping)
            break; /* the guest would be ended here */
        if (c->err < 0)
            abort(); /* an errno for the guest is positive */
        /* What dispatch sends after the handler. */
        if (c->err)
            st_wire_out_errno(&s->link.out, c->err);
        st_wire_out_result(&s->link.out, c->sig->res_kind, c->result);
        if (st_wire_out_flush(&s->link.out) != 0)
            abort();
    }
    st_session_free(s);
    return 0;
}
