/* allcalls: every signature of the runtime's table (guest_signatures.def)
 * once, in table order, with harmless arguments: integers 0, pointers to a
 * 4096-byte scratch buffer that starts with the C string
 * "/nonexistent/sandtrace-allcalls" (a valid path, a large enough out-buffer),
 * except handle arguments (a DIR * or the _pypy_init_home block), which are
 * NULL. Prints each result (and errno when one came), then ends with the
 * `_exit(i)v` request, status 0. */
#include "guest/sandbox_guest.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

static const char *const handle_args[] = { "closedir(", "dirfd(", "readdir(", "rewinddir(",
                                           "_pypy_init_free(" };

static int takes_handle(const char *sig)
{
    for (size_t i = 0; i < sizeof handle_args / sizeof handle_args[0]; i++)
        if (!strncmp(sig, handle_args[i], strlen(handle_args[i])))
            return 1;
    return 0;
}

int main(void)
{
    static char scratch[4096];
    static const char path[] = "/nonexistent/sandtrace-allcalls";
    for (size_t id = 0; id < SG_SIG_COUNT; id++) {
        if (id == SG_SIG__exit)
            continue;
        const char *sig = sg_signatures[id];
        const char *open = strchr(sig, '(');
        const char *close = strchr(open, ')');
        uint64_t args[SG_ARGS_MAX];
        size_t n = 0;
        memset(scratch, 0, sizeof scratch);
        memcpy(scratch, path, sizeof path);
        for (const char *k = open + 1; k < close && n < SG_ARGS_MAX; k++, n++)
            args[n] = *k == 'p' && !takes_handle(sig) ? sg_arg_p(scratch) : 0;
        errno = 0;
        uint64_t r = sg_call(sig, args, n);
        int e = errno;
        char kind = close[1];
        if (kind == 'v')
            sg_printf("%s = void", sig);
        else if (kind == 'p')
            sg_printf("%s = %s", sig, r ? "non-null" : "null");
        else
            sg_printf("%s = %" PRId64, sig, sg_res_i(r));
        if (e)
            sg_printf(" (errno %d)\n", e);
        else
            sg_printf("\n");
    }
    sg_exit(0);
}
