/* The guest link (controller/guest_link.h). */
#include "controller/guest_link.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
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
    struct st_link *l = ctx;
    l->polled_waits++;
    return st_link_wait_fd(l, fd, POLLIN);
}

/* ------------------------------------------------ the blocking fast path */

/* Who runs: the link's user (BUSY), the user blocked in the fast read
 * (PARKED: the watcher may take over), or the watcher (WATCHER: the user,
 * back from its read, waits until the watcher is done). The watcher looks
 * at the link only in WATCHER state, so that the hooks and the link's
 * fields are never used by both threads at once. */
enum { LW_BUSY, LW_PARKED, LW_WATCHER };

struct st_link_watch {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state;
    int waiting;            /* the watcher waits for the user to park */
    int quit;
    int wake_fd;            /* eventfd: ends the watcher's poll at close */
    /* What the watcher polls, copied from the link when it may look at it
     * (at creation, then in WATCHER state). A stale copy only costs a
     * spurious wake-up: everything is checked again on the link itself. */
    int err_fd;
    double deadline;
    struct st_link *l;
};

/* The watcher's turn, the user being parked in its read: drain the stderr
 * (the hook may stop the run), and end the read by killing the guest when
 * the run is stopped or past its deadline. */
static void watch_act(struct st_link *l, struct st_link_watch *w)
{
    if (l->child.err_fd >= 0)
        st_link_drain_stderr(l);
    int end = stop_asked(l);
    if (!end && l->deadline > 0 && st_link_now() >= l->deadline) {
        l->timed_out = 1;
        end = 1;
    }
    if (end) {
        /* The run ends here as it would after the read: the caller kills
         * the guest anyway. Its death closes the pipe's only writer. */
        st_child_kill(&l->child, SIGKILL);
        w->deadline = 0;
    } else {
        w->deadline = l->deadline;
    }
    w->err_fd = l->child.err_fd;
}

static void *watch_main(void *arg)
{
    struct st_link_watch *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->quit) {
        int err_fd = w->err_fd;
        double deadline = w->deadline;
        pthread_mutex_unlock(&w->mu);
        struct pollfd p[2] = { { w->wake_fd, POLLIN, 0 }, { err_fd, POLLIN, 0 } };
        int ms = -1;
        if (deadline > 0) {
            double left = deadline - st_link_now();
            ms = left <= 0 ? 0 : (int)(left * 1000.0) + 1;
        }
        int n = poll(p, err_fd >= 0 ? 2 : 1, ms);
        pthread_mutex_lock(&w->mu);
        if (w->quit)
            break;
        if (n < 0 || (n == 0 && deadline > 0 && st_link_now() < deadline))
            continue;
        if (n > 0 && !(err_fd >= 0 && p[1].revents))
            continue; /* the wake-up fd alone: quit is checked above */
        /* Stderr to drain, or the deadline: wait for the user to park. */
        w->waiting = 1;
        while (!w->quit && w->state != LW_PARKED)
            pthread_cond_wait(&w->cv, &w->mu);
        w->waiting = 0;
        if (w->quit)
            break;
        w->state = LW_WATCHER;
        pthread_mutex_unlock(&w->mu);
        watch_act(w->l, w);
        pthread_mutex_lock(&w->mu);
        w->state = LW_PARKED;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void watch_stop(struct st_link *l)
{
    struct st_link_watch *w = l->watch;
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->quit = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    uint64_t one = 1;
    while (write(w->wake_fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    close(w->wake_fd);
    free(w);
    l->watch = NULL;
}

/* Starts the watcher thread, with every signal blocked in it. 0 or -1. */
static int watch_start(struct st_link *l)
{
    struct st_link_watch *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    w->l = l;
    w->state = LW_BUSY;
    w->err_fd = l->child.err_fd;
    w->deadline = l->deadline;
    w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->wake_fd < 0) {
        free(w);
        return -1;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&w->thread, NULL, watch_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        close(w->wake_fd);
        free(w);
        return -1;
    }
    l->watch = w;
    return 0;
}

/* Sets the fast path up at its first use: 1 on, 0 off (not wanted, or
 * what it needs cannot be had; the waits then poll). */
static int fast_setup(struct st_link *l)
{
    l->fast = 0;
    const char *env = getenv("SANDTRACE_LINK_WAIT");
    if (env && !strcmp(env, "poll"))
        return 0;
    /* A second open file description of the pipe, blocking, while the
     * wire's stays non-blocking. Opened non-blocking (a FIFO open waits
     * for a writer otherwise), then made blocking. */
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", l->child.from_guest);
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return 0;
    if (fcntl(fd, F_SETFL, 0) < 0 ||
        ((l->child.err_fd >= 0 || l->deadline > 0) && watch_start(l) < 0)) {
        close(fd);
        return 0;
    }
    l->fast_fd = fd;
    l->fast = 1;
    return 1;
}

/* One blocking read of the guest's stdout, the watcher allowed to act
 * meanwhile. read()'s result, errno kept. */
static ssize_t parked_read(struct st_link *l, void *dst, size_t n)
{
    struct st_link_watch *w = l->watch;
    if (w) {
        pthread_mutex_lock(&w->mu);
        w->state = LW_PARKED;
        if (w->waiting)
            pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    ssize_t got = st_sys_read(l->fast_fd, dst, n);
    int e = errno;
    if (w) {
        pthread_mutex_lock(&w->mu);
        while (w->state == LW_WATCHER)
            pthread_cond_wait(&w->cv, &w->mu);
        w->state = LW_BUSY;
        pthread_mutex_unlock(&w->mu);
    }
    errno = e;
    return got;
}

/* Before the wire reads from the guest: when nothing is buffered, fills
 * the buffer with one blocking read (the fast path). 0 (the wire's own
 * non-blocking read then takes what is there, an end of stream, or waits
 * the polling way after an EINTR), ST_E_TIMEOUT or ST_E_STOPPED. */
static int fast_fill(struct st_link *l)
{
    if (l->fast == 0 || st_wire_reader_pending(&l->rd))
        return 0;
    if (l->fast < 0 && !fast_setup(l))
        return 0;
    if (stop_asked(l))
        return ST_E_STOPPED;
    if (ms_left(l) == 0)
        return ST_E_TIMEOUT;
    l->rd.start = l->rd.end = 0;
    ssize_t got = parked_read(l, l->rd.buf, sizeof l->rd.buf);
    if (got > 0) {
        l->rd.end = (size_t)got;
        l->fast_reads++;
    }
    if (l->timed_out)
        return ST_E_TIMEOUT;
    if (stop_asked(l))
        return ST_E_STOPPED;
    return 0;
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
    l->fast_fd = -1;
    if (hooks)
        l->hooks = *hooks;
    if (timeout_seconds > 0)
        l->deadline = st_link_now() + timeout_seconds;
    /* Pinned before the fork, so that the guest inherits the CPU from its
     * first instruction (controller/cpu_place.h says why). A jailed guest
     * is one thread that cannot fork: one CPU costs it nothing. An
     * unjailed one may start threads and processes that would all share
     * the pin: only a CPU the caller names pins it. */
    enum st_cpu_policy pol = sc->cpu_policy;
    if (pol == ST_CPU_SHARED && !sc->seccomp)
        pol = ST_CPU_ANY;
    if (st_cpu_pin(&l->place, pol, sc->cpu) < 0)
        return ST_E_CONFIG;
    int rc = st_spawn(sc, &l->child);
    if (rc < 0) {
        st_cpu_release(&l->place);
        return rc;
    }
    l->started = 1;
    /* Direct access only to a jailed guest: it cannot fork, so the process
     * that speaks the protocol is the one whose pointers these are. An
     * unjailed child may be a proxy (sandtrace tap, a wrapper) relaying
     * another process's requests: its memory is not the guest's. */
    l->direct = sc->seccomp ? -1 : 0;
    /* The same reason for the blocking fast path: the watcher ends a
     * blocked read by killing the guest, which closes the pipe only when
     * no other process holds its write end. */
    l->fast = sc->seccomp ? -1 : 0;
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
    int rc = fast_fill(l);
    if (rc < 0) {
        req->raw_len = 0;
        req->text_len = 0;
        req->text[0] = '\0';
        return rc;
    }
    rc = st_wire_read_request(&l->rd, req);
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
    if (rc == 0 && n)
        rc = fast_fill(l);
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
        rc = fast_fill(l);
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
        rc = fast_fill(l);
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
    watch_stop(l);
    if (l->fast > 0) {
        close(l->fast_fd);
        l->fast_fd = -1;
        l->fast = 0;
    }
    st_child_close(&l->child);
    st_cpu_release(&l->place);
}
