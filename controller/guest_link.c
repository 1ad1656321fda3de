/* The guest link (controller/guest_link.h). */
#include "controller/guest_link.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common/st_util.h"
#include "controller/error.h"
#include "controller/jail.h"

double st_link_now(void)
{
    return st_clock_seconds();
}

static int stop_asked(struct st_link *l)
{
    return l->hooks.should_stop && l->hooks.should_stop(l->hooks.ctx);
}

/* Milliseconds to the deadline for poll(): -1 none, 0 reached (and
 * l->timed_out set). */
static int ms_left(struct st_link *l)
{
    if (l->deadline <= 0)
        return -1;
    double left = l->deadline - st_link_now();
    if (left <= 0) {
        l->timed_out = 1;
        return 0;
    }
    return (int)(left * 1000.0) + 1;
}

int st_link_drain_stderr(struct st_link *l)
{
    int fd = l->child.err_fd;
    if (fd < 0)
        return 0;
    for (;;) {
        ssize_t got = read(fd, l->errbuf, sizeof l->errbuf);
        if (got > 0) {
            if (l->hooks.on_stderr)
                l->hooks.on_stderr(l->hooks.ctx, l->errbuf, (size_t)got);
            /* A hook that ended the run (an output limit) reads no more. */
            if (stop_asked(l))
                return 1;
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 1;
        close(fd);
        l->child.err_fd = -1;
        return 0;
    }
}

int st_link_wait_fd(struct st_link *l, int fd, short events)
{
    for (;;) {
        if (stop_asked(l))
            return ST_E_STOPPED;
        int timeout = ms_left(l);
        if (timeout == 0)
            return ST_E_TIMEOUT;
        struct pollfd p[2] = { { fd, events, 0 }, { l->child.err_fd, POLLIN, 0 } };
        int n = poll(p, l->child.err_fd >= 0 ? 2 : 1, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue; /* should_stop decides */
            return ST_E_IO;
        }
        if (n > 0 && l->child.err_fd >= 0 && p[1].revents)
            st_link_drain_stderr(l);
        if (n > 0 && p[0].revents)
            return 0;
    }
}

static int wait_guest_out(void *ctx, int fd)
{
    return st_link_wait_fd(ctx, fd, POLLIN);
}

static int wait_guest_in(void *ctx, int fd)
{
    return st_link_wait_fd(ctx, fd, POLLOUT);
}

int st_link_start(struct st_link *l, const struct st_spawn_config *sc, double timeout_seconds,
                  const struct st_link_hooks *hooks)
{
    memset(l, 0, sizeof *l);
    l->child.to_guest = l->child.from_guest = l->child.err_fd = -1;
    if (hooks)
        l->hooks = *hooks;
    if (timeout_seconds > 0)
        l->deadline = st_link_now() + timeout_seconds;
    int rc = st_spawn(sc, &l->child);
    if (rc < 0)
        return rc;
    l->started = 1;
    /* Direct access only to a jailed guest: it cannot fork, so the process
     * that speaks the protocol is the one whose pointers these are. An
     * unjailed child may be a proxy (sandtrace tap, a wrapper) relaying
     * another process's requests: its memory is not the guest's. */
    l->direct = sc->seccomp ? -1 : 0;
    st_wire_reader_init(&l->rd, l->child.from_guest, wait_guest_out, l);
    st_wire_out_init(&l->out, l->child.to_guest, wait_guest_in, l);
    return 0;
}

void st_link_set_memory(struct st_link *l, enum st_link_memory how)
{
    l->direct = how == ST_LINK_MEM_PROTOCOL ? 0 : -1;
}

/* Copies between the guest's [ptr, ptr+n) and `local`: 1 when all of it
 * was copied directly, 0 when the protocol must do it (direct access is
 * off, not allowed here, or the range is not all there). The first attempt
 * decides for the run: a refusal by the kernel (EPERM, ENOSYS) turns direct
 * access off; a fault (EFAULT) only sends this operation the slow way. */
static int direct_copy(struct st_link *l, uint64_t ptr, void *local, size_t n, int write)
{
    if (l->direct == 0)
        return 0;
    if (n == 0)
        return 1; /* nothing to copy: the guest would touch nothing either */
    struct iovec lv = { local, n };
    struct iovec rv = { (void *)(uintptr_t)ptr, n };
    ssize_t got = write ? process_vm_writev(l->child.pid, &lv, 1, &rv, 1, 0)
                        : process_vm_readv(l->child.pid, &lv, 1, &rv, 1, 0);
    if (got == (ssize_t)n) {
        l->direct = 1;
        return 1;
    }
    if (got < 0 && errno != EFAULT && l->direct < 0)
        l->direct = 0;
    return 0;
}

/* Z directly: the string at ptr up to its NUL or maxlen bytes, read page
 * by page as the guest's strnlen would (never past a NUL). 1 when read
 * (*len set), 0 when the protocol must do it (including a string the guest
 * itself would fault on). */
static int direct_str(struct st_link *l, uint64_t ptr, uint64_t maxlen, char *dst, size_t cap,
                      size_t *len)
{
    if (l->direct == 0)
        return 0;
    size_t got = 0;
    while (got < maxlen) {
        uint64_t at = ptr + got;
        if (got == cap - 1) {
            /* No room left: the string fits only if it ends right here. */
            char next;
            if (!direct_copy(l, at, &next, 1, 0))
                return 0;
            if (next != '\0')
                return -1; /* longer than the caller's buffer: ST_E_TOO_BIG */
            break;
        }
        size_t chunk = 4096 - (size_t)(at % 4096);
        if (chunk > maxlen - got)
            chunk = (size_t)(maxlen - got);
        if (chunk > cap - 1 - got)
            chunk = cap - 1 - got;
        if (!direct_copy(l, at, dst + got, chunk, 0))
            return 0;
        char *nul = memchr(dst + got, 0, chunk);
        if (nul) {
            got = (size_t)(nul - dst);
            break;
        }
        got += chunk;
    }
    dst[got] = '\0';
    *len = got;
    l->direct_ops++;
    return 1;
}

int st_link_read_request(struct st_link *l, struct st_wire_request *req)
{
    int rc = st_wire_read_request(&l->rd, req);
    if (rc == 0 && l->requests++ == 0)
        st_jail_mark_running(l->child.jail);
    return rc;
}

int st_link_mem_read(struct st_link *l, uint64_t ptr, void *dst, size_t n)
{
    if (direct_copy(l, ptr, dst, n, 0)) {
        l->direct_ops++;
        return 0;
    }
    l->protocol_ops++;
    int rc = st_wire_out_mem_read(&l->out, ptr, n);
    if (rc == 0)
        rc = st_wire_out_flush(&l->out);
    if (rc == 0)
        rc = st_wire_read_exact(&l->rd, dst, n);
    return rc;
}

int st_link_mem_read_str(struct st_link *l, uint64_t ptr, uint64_t maxlen, char *dst, size_t cap,
                         size_t *len)
{
    if (cap == 0)
        return ST_E_TOO_BIG;
    size_t got = 0;
    int d = direct_str(l, ptr, maxlen, dst, cap, &got);
    if (d < 0)
        return ST_E_TOO_BIG;
    if (d > 0) {
        if (len)
            *len = got;
        return 0;
    }
    l->protocol_ops++;
    int rc = st_wire_out_str_read(&l->out, ptr, maxlen);
    if (rc == 0)
        rc = st_wire_out_flush(&l->out);
    if (rc == 0)
        rc = st_wire_read_str_reply(&l->rd, maxlen, dst, cap, len);
    return rc;
}

int st_link_mem_write(struct st_link *l, uint64_t ptr, const void *src, size_t n)
{
    /* Commands already buffered go first, so that the guest's memory sees
     * the writes in their order whichever way each one goes. */
    if (l->direct != 0 && l->out.len) {
        int rc = st_wire_out_flush(&l->out);
        if (rc < 0)
            return rc;
    }
    if (direct_copy(l, ptr, (void *)src, n, 1)) {
        l->direct_ops++;
        return 0;
    }
    l->protocol_ops++;
    return st_wire_out_mem_write(&l->out, ptr, src, n);
}

int st_link_alloc(struct st_link *l, const void *data, size_t n, uint64_t *ptr)
{
    int rc = st_wire_out_alloc(&l->out, data, n);
    if (rc == 0)
        rc = st_wire_out_flush(&l->out);
    if (rc == 0)
        rc = st_wire_read_u64(&l->rd, ptr);
    return rc;
}

int st_link_free(struct st_link *l, uint64_t ptr)
{
    return st_wire_out_free(&l->out, ptr);
}

int st_link_errno(struct st_link *l, int32_t err)
{
    return st_wire_out_errno(&l->out, err);
}

int st_link_result(struct st_link *l, char kind, uint64_t value)
{
    int rc = st_wire_out_result(&l->out, kind, value);
    if (rc == 0)
        rc = st_wire_out_flush(&l->out);
    return rc;
}

int st_link_wait_end(struct st_link *l)
{
    int pidfd = -1;
#ifdef SYS_pidfd_open
    pidfd = (int)syscall(SYS_pidfd_open, l->child.pid, 0);
#endif
    int ended = 0;
    for (;;) {
        if (st_child_wait(&l->child, 1) != 0) {
            ended = 1;
            break;
        }
        if (stop_asked(l))
            break;
        /* Without a pidfd (Linux before 5.3), a 10 ms poll. */
        int ms = pidfd >= 0 ? -1 : 10;
        int dl = ms_left(l);
        if (dl == 0)
            break;
        if (dl > 0 && (ms < 0 || dl < ms))
            ms = dl;
        struct pollfd p[2] = { { pidfd, POLLIN, 0 }, { l->child.err_fd, POLLIN, 0 } };
        int n = poll(p, 2, ms);
        if (n > 0 && p[1].revents)
            st_link_drain_stderr(l);
    }
    if (pidfd >= 0)
        close(pidfd);
    return ended;
}

void st_link_kill(struct st_link *l)
{
    if (!l->started)
        return;
    st_child_kill(&l->child, SIGKILL);
    st_child_wait(&l->child, 0);
}

void st_link_finish_stderr(struct st_link *l, double seconds)
{
    int ms = (int)(seconds * 1000.0);
    while (l->child.err_fd >= 0 && st_link_drain_stderr(l) == 1) {
        if (stop_asked(l))
            break;
        struct pollfd p = { l->child.err_fd, POLLIN, 0 };
        if (poll(&p, 1, ms) <= 0)
            break;
    }
}

void st_link_close(struct st_link *l)
{
    st_child_close(&l->child);
}
