/* Dump mode: running a guest with RPY_SANDBOX_DUMP=1 and parsing what it
 * prints (Version, Platform, Funcs). */
#include "controller/session.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/st_buf.h"
#include "common/st_util.h"
#include "controller/spawn.h"

#define ST_DUMP_MAX (1u << 20)

int st_dump_capture(const char *exe, double timeout_seconds, char **text, int *exec_errno)
{
    *text = NULL;
    if (exec_errno)
        *exec_errno = 0;
    struct st_spawn_config sc;
    st_spawn_config_init(&sc);
    char *argv[] = { (char *)exe, NULL };
    char *envp[] = { "RPY_SANDBOX_DUMP=1", NULL };
    sc.path = exe;
    sc.argv = argv;
    sc.envp = envp;
    /* In the jail like any run (the guest is as hostile in dump mode), and
     * with no stderr of ours to write to: the list comes on stdout. */
    sc.seccomp = 1;
    sc.stderr_pipe = 1;
    struct st_child child;
    int rc = st_spawn(&sc, &child);
    if (rc == 0 && child.err_fd >= 0) {
        close(child.err_fd);
        child.err_fd = -1;
    }
    if (rc < 0) {
        if (exec_errno)
            *exec_errno = child.exec_errno;
        return rc;
    }
    /* It gets no commands: its stdin closes now. */
    close(child.to_guest);
    child.to_guest = -1;
    char *buf = malloc(ST_DUMP_MAX + 1);
    size_t len = 0;
    double deadline = st_clock_seconds() + (timeout_seconds > 0 ? timeout_seconds : 10);
    rc = buf ? 0 : ST_E_NOMEM;
    while (rc == 0) {
        double left = deadline - st_clock_seconds();
        if (left <= 0) {
            rc = ST_E_TIMEOUT;
            break;
        }
        struct pollfd p = { child.from_guest, POLLIN, 0 };
        int n = poll(&p, 1, (int)(left * 1000) + 1);
        if (n < 0 && errno != EINTR) {
            rc = ST_E_IO;
            break;
        }
        if (n <= 0)
            continue;
        if (len >= ST_DUMP_MAX) {
            rc = ST_E_TOO_BIG;
            break;
        }
        ssize_t got = read(child.from_guest, buf + len, ST_DUMP_MAX - len);
        if (got == 0)
            break;
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            rc = ST_E_IO;
            break;
        }
        len += (size_t)got;
    }
    st_child_kill(&child, SIGKILL);
    st_child_wait(&child, 0);
    st_child_close(&child);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    *text = buf;
    return 0;
}

int st_dump_parse(char *text, struct st_dump *d)
{
    memset(d, 0, sizeof *d);
    d->version = -1;
    char *funcs = NULL;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (!strncmp(line, "Version: ", 9))
            d->version = strtol(line + 9, NULL, 10);
        else if (!strncmp(line, "Platform: ", 10)) {
            strncpy(d->platform, line + 10, sizeof d->platform - 1);
        } else if (!strncmp(line, "Funcs:", 6))
            funcs = line + 6;
        line = nl ? nl + 1 : NULL;
    }
    if (d->version < 0 || !funcs)
        return ST_E_BAD_TEXT;
    size_t cap = 0;
    char *save = NULL;
    for (char *tok = strtok_r(funcs, " \r\t", &save); tok; tok = strtok_r(NULL, " \r\t", &save)) {
        if (d->nfuncs == cap) {
            if (d->nfuncs >= 65536) {
                st_dump_release(d);
                return ST_E_TOO_BIG;
            }
            const char **nf = st_grow(d->funcs, &cap, d->nfuncs + 1, sizeof *nf, 64, 65536);
            if (!nf) {
                st_dump_release(d);
                return ST_E_NOMEM;
            }
            d->funcs = nf;
        }
        d->funcs[d->nfuncs++] = tok;
    }
    return 0;
}

void st_dump_release(struct st_dump *d)
{
    free(d->funcs);
    d->funcs = NULL;
    d->nfuncs = 0;
}
