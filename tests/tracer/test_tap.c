/* `sandtrace tap` end to end: under a scripted controller, the trace holds
 * exactly the bytes that crossed in both directions (rebuilt from its events
 * and compared byte for byte); under `sandtrace record` as the foreign
 * controller, tap records the same protocol events as record itself; a
 * guest's garbage is relayed and recorded raw; tap exits as its guest. */
#include "tests/guest/guest_peer.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <dirent.h>
#include "tests/pypy_env.h"
#include "tests/tracer/obs_log.h"
#include "tests/tracer/trace_events.h"
#include "tracer/tap.h"

static char *tmpdir;

static int setup(void **state)
{
    (void)state;
    tmpdir = tu_mkdtemp();
    char d[2048];
    snprintf(d, sizeof d, "%s/world", tmpdir);
    mkdir(d, 0755);
    tu_write_file(d, "a.txt", "file one\n", 9);
    tu_write_file(d, "b.py", "print(1)\n", 9);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rm_rf(tmpdir);
    free(tmpdir);
    return 0;
}

static const char *trace_path(const char *name)
{
    static char bufs[4][4200];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s.sbt", tmpdir, name);
    return b;
}

/* ---- a scripted controller that logs every byte it sends and receives --- */

struct bytes {
    uint8_t *p;
    size_t n;
};

static void bytes_add(struct bytes *b, const void *data, size_t n)
{
    uint8_t *nb = realloc(b->p, b->n + n + 1);
    assert_non_null(nb);
    memcpy(nb + b->n, data, n);
    b->p = nb;
    b->n += n;
}

struct lpeer {
    struct peer p;
    struct bytes to_guest, from_guest;
};

static void lsend(struct lpeer *l, const void *data, size_t n)
{
    peer_send(&l->p, data, n);
    bytes_add(&l->to_guest, data, n);
}

static void lsend_u64(struct lpeer *l, uint64_t v)
{
    lsend(l, &v, 8);
}

static void lrecv(struct lpeer *l, void *buf, size_t n)
{
    peer_recv(&l->p, buf, n);
    bytes_add(&l->from_guest, buf, n);
}

static uint64_t lrecv_u64(struct lpeer *l)
{
    uint64_t v;
    lrecv(l, &v, 8);
    return v;
}

static void lresult(struct lpeer *l, char kind, uint64_t v)
{
    uint8_t buf[9] = { (uint8_t)kind };
    memcpy(buf + 1, &v, 8);
    lsend(l, buf, kind == 'v' ? 1 : 9);
}

static void lfail(struct lpeer *l, int32_t err, char kind)
{
    lsend(l, "E", 1);
    lsend(l, &err, 4);
    lresult(l, kind, kind == 'i' ? (uint64_t)-1 : 0);
}

/* Answers requests until the guest's stdout ends: writes (R), open (Z, then
 * ENOENT), read (W of "data" once, then 0), get_environ and _pypy_init_home
 * (M), _pypy_init_free (F), everything else ENOSYS. */
static void serve(struct lpeer *l)
{
    int reads = 0;
    for (;;) {
        unsigned char n;
        size_t got = peer_recv_some(&l->p, &n, 1);
        if (got == 0)
            break;
        bytes_add(&l->from_guest, &n, 1);
        char text[256];
        lrecv(l, text, n);
        text[n] = '\0';
        const char *open = strchr(text, '('), *close = strchr(text, ')');
        assert_non_null(open);
        assert_non_null(close);
        size_t nargs = (size_t)(close - open - 1);
        char kind = close[1];
        uint64_t args[32] = { 0 };
        for (size_t i = 0; i < nargs && i < 32; i++)
            args[i] = lrecv_u64(l);
        if (!strcmp(text, "write(ipi)i")) {
            char *buf = malloc(args[2] + 1);
            lsend(l, "R", 1);
            lsend_u64(l, args[1]);
            lsend_u64(l, args[2]);
            lrecv(l, buf, args[2]);
            free(buf);
            lresult(l, 'i', args[2]);
        } else if (!strcmp(text, "open(pii)i")) {
            lsend(l, "Z", 1);
            lsend_u64(l, args[0]);
            lsend_u64(l, (uint64_t)-1);
            uint64_t len = lrecv_u64(l);
            assert_true(len < 4096);
            char path[4096];
            lrecv(l, path, len);
            lfail(l, 2, 'i');
        } else if (!strcmp(text, "read(ipi)i")) {
            if (reads++ == 0 && args[2] >= 4) {
                lsend(l, "W", 1);
                lsend_u64(l, args[1]);
                lsend_u64(l, 4);
                lsend(l, "data", 4);
                lresult(l, 'i', 4);
            } else {
                lresult(l, 'i', 0);
            }
        } else if (!strcmp(text, "get_environ()p") || !strcmp(text, "_pypy_init_home()p")) {
            static const char home[16] = "/lib/pypy";
            int env = text[0] == 'g';
            lsend(l, "M", 1);
            lsend_u64(l, env ? 8 : 10);
            lsend(l, env ? "\0\0\0\0\0\0\0\0" : home, env ? 8 : 10);
            uint64_t ptr = lrecv_u64(l);
            lresult(l, 'p', ptr);
        } else if (!strcmp(text, "_pypy_init_free(p)v")) {
            lsend(l, "F", 1);
            lsend_u64(l, args[0]);
            lresult(l, 'v', 0);
        } else {
            lfail(l, 38, kind);
        }
    }
}

/* Rebuilds both byte streams from a trace's events. */
static void rebuild(const struct tevs *t, struct bytes *g, struct bytes *c)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct tev *e = &t->ev[i];
        switch (e->kind) {
        case TRACE_EV_REQUEST: {
            uint8_t n = (uint8_t)strlen(e->sig);
            bytes_add(g, &n, 1);
            bytes_add(g, e->sig, n);
            bytes_add(g, e->args, 8 * e->nargs);
            break;
        }
        case TRACE_EV_MEM_READ:
            bytes_add(c, "R", 1);
            bytes_add(c, &e->ptr, 8);
            bytes_add(c, &(uint64_t){ e->len }, 8);
            bytes_add(g, e->data, e->len);
            break;
        case TRACE_EV_MEM_READ_STR:
            bytes_add(c, "Z", 1);
            bytes_add(c, &e->ptr, 8);
            bytes_add(c, &e->size, 8);
            bytes_add(g, &(uint64_t){ e->len }, 8);
            bytes_add(g, e->data, e->len);
            break;
        case TRACE_EV_MEM_WRITE:
            bytes_add(c, "W", 1);
            bytes_add(c, &e->ptr, 8);
            bytes_add(c, &(uint64_t){ e->len }, 8);
            bytes_add(c, e->data, e->len);
            break;
        case TRACE_EV_MEM_ALLOC:
            bytes_add(c, "M", 1);
            bytes_add(c, &(uint64_t){ e->len }, 8);
            bytes_add(c, e->data, e->len);
            bytes_add(g, &e->ptr, 8);
            break;
        case TRACE_EV_MEM_FREE:
            bytes_add(c, "F", 1);
            bytes_add(c, &e->ptr, 8);
            break;
        case TRACE_EV_SET_ERRNO:
            bytes_add(c, "E", 1);
            bytes_add(c, &e->err, 4);
            break;
        case TRACE_EV_RESULT:
            bytes_add(c, &e->rkind, 1);
            if (e->rkind != 'v')
                bytes_add(c, &e->value, 8);
            break;
        default:
            break;
        }
    }
}

/* The protocol events of a trace as the observer log would show them. */
static void log_trace(const struct tevs *t, struct obs_log *l)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct tev *e = &t->ev[i];
        switch (e->kind) {
        case TRACE_EV_REQUEST: ol_request(l, e->sig, strlen(e->sig), e->args, (unsigned)e->nargs); break;
        case TRACE_EV_MEM_READ: ol_mem_read(l, e->ptr, e->data, e->len); break;
        case TRACE_EV_MEM_READ_STR: ol_mem_read_str(l, e->ptr, e->size, e->data, e->len); break;
        case TRACE_EV_MEM_WRITE: ol_mem_write(l, e->ptr, e->data, e->len); break;
        case TRACE_EV_MEM_ALLOC: ol_mem_alloc(l, e->data, e->len, e->ptr); break;
        case TRACE_EV_MEM_FREE: ol_mem_free(l, e->ptr); break;
        case TRACE_EV_SET_ERRNO: ol_errno(l, e->err); break;
        case TRACE_EV_RESULT: ol_result(l, e->rkind, e->value); break;
        default: break;
        }
    }
}

static void test_tap_parser_replays_recorded_sessions_in_any_split(void **state)
{
    (void)state;
    /* Real sessions recorded by sandtrace itself; their byte streams are
     * rebuilt from the trace and fed to the parser byte by byte and in
     * random slices, interleaved at random. */
    char mount[4300];
    snprintf(mount, sizeof mount, "/d=%s/world", tmpdir);
    const char *guests[][2] = { { "allcalls", NULL }, { "importer", "/d" }, { "ls", "/d" } };
    for (size_t k = 0; k < 3; k++) {
        const char *path = trace_path("parsed");
        const char *args[] = { "record", "-o", path, "--mount", mount, "--",
                               tu_guest(guests[k][0]), guests[k][1], NULL };
        struct tu_run r = tu_run_sandtrace(args, NULL);
        assert_int_equal(r.status, 0);
        tu_run_release(&r);
        struct tevs t;
        assert_int_equal(tevs_read(path, &t), 0);
        struct obs_log want = { 0 };
        log_trace(&t, &want);
        struct bytes g = { 0 }, c = { 0 };
        rebuild(&t, &g, &c);
        tevs_release(&t);
        for (unsigned seed = 0; seed < 40; seed++) {
            struct obs_log got = { 0 };
            struct st_observer obs = obs_log_observer(&got);
            struct st_tap_parser *p = NULL;
            assert_int_equal(st_tap_parser_new(&p, &obs), 0);
            unsigned rng = seed + 1;
            size_t gi = 0, ci = 0, max = seed == 0 ? 1 : 1 + seed * 7;
            while (gi < g.n || ci < c.n) {
                int pick_g = ci == c.n || (gi < g.n && (rand_r(&rng) & 1));
                size_t left = pick_g ? g.n - gi : c.n - ci;
                size_t n = 1 + (size_t)rand_r(&rng) % max;
                if (n > left)
                    n = left;
                if (pick_g)
                    st_tap_parser_feed_guest(p, g.p + gi, n), gi += n;
                else
                    st_tap_parser_feed_controller(p, c.p + ci, n), ci += n;
            }
            st_tap_parser_finish(p);
            st_tap_parser_free(p);
            if (got.violations || strcmp(got.text ? got.text : "", want.text) != 0)
                fail_msg("%s, seed %u: the parser's events differ from the trace's",
                         guests[k][0], seed);
            obs_log_release(&got);
        }
        obs_log_release(&want);
        free(g.p);
        free(c.p);
    }
}

static void tap_under_script(const char *name, const char *const *guest_args, int want_status)
{
    const char *path = trace_path(name);
    const char *argv[16] = { tu_sandtrace(), "tap", "-o", path, "--" };
    size_t n = 5;
    for (size_t i = 0; guest_args[i]; i++)
        argv[n++] = guest_args[i];
    argv[n] = NULL;
    struct lpeer l = { 0 };
    peer_start_exec(&l.p, argv, NULL);
    serve(&l);
    struct peer_end end = peer_finish(&l.p);
    if (end.status != want_status)
        fail_msg("%s: tap exited %d, want %d; stderr: %s", name, end.status, want_status, end.err);
    free(end.err);

    struct tevs t;
    assert_int_equal(tevs_read(path, &t), 0);
    assert_int_equal(t.end, 0);
    assert_true(t.n >= 2);
    assert_int_equal(t.ev[t.n - 1].kind, TRACE_EV_GUEST_EXIT);
    assert_int_equal(tevs_count(&t, TRACE_EV_VIOLATION), 0);
    struct bytes g = { 0 }, c = { 0 };
    rebuild(&t, &g, &c);
    /* Every byte, in both directions, as it crossed. */
    assert_int_equal(g.n, l.from_guest.n);
    assert_int_equal(c.n, l.to_guest.n);
    assert_true(g.n > 0 && c.n > 0);
    assert_memory_equal(g.p, l.from_guest.p, g.n);
    assert_memory_equal(c.p, l.to_guest.p, c.n);
    free(g.p);
    free(c.p);
    free(l.to_guest.p);
    free(l.from_guest.p);
    tevs_release(&t);
}

static void test_tap_records_the_bytes_that_crossed_in_both_directions(void **state)
{
    (void)state;
    tap_under_script("hello", (const char *[]){ tu_guest("hello"), NULL }, 0);
    /* open fails (Z, E), then an error line on fd 2: exit 1. */
    tap_under_script("cat", (const char *[]){ tu_guest("cat"), "/no/such", NULL }, 1);
    tap_under_script("echo", (const char *[]){ tu_guest("echo-stdin"), NULL }, 0);
    tap_under_script("environ",
                     (const char *[]){ tu_build_path("testguests/tguest"), "environ", NULL }, 0);
    tap_under_script("home", (const char *[]){ tu_build_path("testguests/tguest"), "home", NULL },
                     0);
}

/* The protocol events of a trace (requests to results), one line each. */
static void protocol_lines(const char *path, char ***lines, size_t *n, int *exit_code)
{
    struct tevs t;
    assert_int_equal(tevs_read(path, &t), 0);
    *lines = calloc(t.n + 1, sizeof **lines);
    *n = 0;
    *exit_code = -1000;
    for (size_t i = 0; i < t.n; i++) {
        if (t.ev[i].kind == TRACE_EV_GUEST_EXIT)
            *exit_code = t.ev[i].code;
        if (t.ev[i].kind < TRACE_EV_REQUEST || t.ev[i].kind > TRACE_EV_RESULT)
            continue;
        char buf[8192];
        tev_line(&t.ev[i], buf, sizeof buf, 0);
        (*lines)[(*n)++] = strdup(buf);
    }
    tevs_release(&t);
}

static void test_tap_under_record_gives_the_same_events_as_record(void **state)
{
    (void)state;
    char mount[4300];
    snprintf(mount, sizeof mount, "/d=%s/world", tmpdir);
    const char *guests[][3] = {
        { "cat", "/d/a.txt", NULL },
        { "importer", "/d", NULL },
        { "clock", NULL, NULL },
        { "echo-stdin", NULL, NULL },
        /* Large replies: partial pipe writes on both sides of tap. */
        { "writer", "4", "200000" },
    };
    for (size_t k = 0; k < sizeof guests / sizeof guests[0]; k++) {
        const char *rec = trace_path("outer"), *tap = trace_path("inner");
        const char *args[20] = { "record", "-o", rec, "--no-seccomp", "--no-fs-jail", "--raw-stdout", "--mount",
                                 mount, "--", tu_sandtrace(), "tap", "-o", tap, "--",
                                 tu_guest(guests[k][0]) };
        size_t n = 15;
        for (size_t i = 1; i < 3 && guests[k][i]; i++)
            args[n++] = guests[k][i];
        args[n] = NULL;
        struct tu_run r = tu_run_sandtrace(args, "line one\nline two\n");
        if (r.status != 0)
            fail_msg("%s: status %d: %s", guests[k][0], r.status, r.err);
        tu_run_release(&r);
        char **a, **b;
        size_t na, nb;
        int ca, cb;
        protocol_lines(rec, &a, &na, &ca);
        protocol_lines(tap, &b, &nb, &cb);
        if (na != nb)
            fail_msg("%s: record has %zu protocol events, tap %zu", guests[k][0], na, nb);
        assert_true(na > 2);
        for (size_t i = 0; i < na; i++) {
            if (strcmp(a[i], b[i]) != 0)
                fail_msg("%s: event %zu differs:\n  record: %s\n  tap:    %s", guests[k][0], i,
                         a[i], b[i]);
            free(a[i]);
            free(b[i]);
        }
        free(a);
        free(b);
        assert_int_equal(ca, 0);
        assert_int_equal(cb, 0);
    }
}

static void test_tap_relays_garbage_and_records_a_violation(void **state)
{
    (void)state;
    /* The guest sends "f(x)i": tap still relays the bytes unchanged (the
     * scripted controller reads them) and records a violation holding them. */
    const char *path = trace_path("garbage");
    const char *argv[] = { tu_sandtrace(), "tap", "-o", path, "--",
                           tu_build_path("testguests/tguest"), "bad-kind", NULL };
    struct peer p;
    peer_start_exec(&p, argv, NULL);
    unsigned char buf[64];
    peer_recv(&p, buf, 1);
    assert_int_equal(buf[0], 5);
    peer_recv(&p, buf + 1, 5);
    assert_memory_equal(buf + 1, "f(x)i", 5);
    struct peer_end end = peer_finish(&p);
    free(end.err);
    struct tevs t;
    assert_int_equal(tevs_read(path, &t), 0);
    assert_int_equal(t.end, 0);
    long v = tevs_find(&t, TRACE_EV_VIOLATION, 0);
    assert_true(v >= 0);
    assert_non_null(memmem(t.ev[v].data, t.ev[v].len, "\x05" "f(x)i", 6));
    assert_int_equal(t.ev[t.n - 1].kind, TRACE_EV_GUEST_EXIT);
    assert_int_equal(tevs_count(&t, TRACE_EV_REQUEST), 0);
    tevs_release(&t);
    struct trace_io *io = NULL;
    assert_int_equal(trace_io_open_file(path, TRACE_IO_READ, &io), 0);
    struct trace_verify_result vr;
    assert_int_equal(trace_verify(io, NULL, &vr), 0);
    trace_io_free(io);
}

static void test_tap_over_one_socket_for_both_directions(void **state)
{
    (void)state;
    /* A controller that gives tap one socket as stdin and stdout: the end
     * of the guest's output is a shutdown, which leaves the other way open. */
    const char *path = trace_path("socket");
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(sv[1], 0);
        dup2(sv[1], 1);
        execl(tu_sandtrace(), tu_sandtrace(), "tap", "-o", path, "--", tu_guest("echo-stdin"),
              (char *)NULL);
        _exit(127);
    }
    close(sv[1]);
    struct lpeer l = { 0 };
    l.p.pid = pid;
    l.p.to_guest = l.p.from_guest = sv[0];
    l.p.err = -1;
    serve(&l); /* echo-stdin: read "data", write it, read 0: ends */
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(sv[0]);
    struct tevs t;
    assert_int_equal(tevs_read(path, &t), 0);
    assert_int_equal(t.end, 0);
    struct bytes g = { 0 }, c = { 0 };
    rebuild(&t, &g, &c);
    assert_int_equal(g.n, l.from_guest.n);
    assert_int_equal(c.n, l.to_guest.n);
    assert_memory_equal(g.p, l.from_guest.p, g.n);
    assert_memory_equal(c.p, l.to_guest.p, c.n);
    free(g.p);
    free(c.p);
    free(l.to_guest.p);
    free(l.from_guest.p);
    tevs_release(&t);
}

static void test_tap_exits_like_its_guest(void **state)
{
    (void)state;
    const char *path = trace_path("status");
    /* A guest that exits 7 by itself. */
    const char *argv[] = { tu_sandtrace(), "tap", "-o", path, "--",
                           tu_build_path("testguests/tguest"), "status", "7", NULL };
    struct lpeer l = { 0 };
    peer_start_exec(&l.p, argv, NULL);
    serve(&l);
    struct peer_end end = peer_finish(&l.p);
    assert_int_equal(end.status, 7);
    free(end.err);
    free(l.to_guest.p);
    free(l.from_guest.p);
    /* A guest killed by SIGABRT (its controller closed the pipe mid-request):
     * tap dies of the same signal, and relays the guest's stderr. */
    const char *argv2[] = { tu_sandtrace(), "tap", "-o", path, "--", tu_guest("hello"), NULL };
    struct peer p;
    peer_start_exec(&p, argv2, NULL);
    struct peer_req r;
    peer_expect(&p, &r, "write(ipi)i");
    end = peer_finish(&p);
    assert_int_equal(end.status, 128 + SIGABRT);
    assert_non_null(strstr(end.err, "sandbox:"));
    free(end.err);
    struct tevs t;
    assert_int_equal(tevs_read(path, &t), 0);
    assert_int_equal(t.ev[t.n - 1].kind, TRACE_EV_GUEST_EXIT);
    assert_int_equal(t.ev[t.n - 1].signal, SIGABRT);
    assert_true(tevs_find(&t, TRACE_EV_GUEST_STDERR, 0) >= 0);
    tevs_release(&t);
    /* A guest that cannot be started: exit 70, and the trace already at -o
     * is left as it was (the new one was a temporary file, now removed). */
    struct stat before, after;
    assert_int_equal(stat(path, &before), 0);
    struct tu_run rr = tu_run_sandtrace(
        (const char *[]){ "tap", "-o", path, "--", "/no/such/guest", NULL }, NULL);
    assert_int_equal(rr.status, 70); /* the one table: the guest could not be started */
    assert_non_null(strstr(rr.err, "'/no/such/guest'"));
    tu_run_release(&rr);
    /* One that exists (tap reads and hashes it) but cannot be executed. */
    char noexec[4200];
    snprintf(noexec, sizeof noexec, "%s/not-executable", tmpdir);
    tu_write_file(tmpdir, "not-executable", "#!/bin/sh\n", 10);
    chmod(noexec, 0644);
    rr = tu_run_sandtrace((const char *[]){ "tap", "-o", path, "--", noexec, NULL }, NULL);
    assert_int_equal(rr.status, 70);
    tu_run_release(&rr);
    unlink(noexec);
    assert_int_equal(stat(path, &after), 0);
    assert_true(after.st_ino == before.st_ino && after.st_size == before.st_size &&
                after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
                after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
    assert_int_equal(tevs_read(path, &t), 0);
    assert_int_equal(t.ev[t.n - 1].signal, SIGABRT); /* still the run above */
    tevs_release(&t);
    DIR *d = opendir(tmpdir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            fail_msg("a temporary file was left behind: %s", e->d_name);
    closedir(d);
    rr = tu_run_sandtrace((const char *[]){ "tap", "--", tu_guest("hello"), NULL }, NULL);
    assert_int_equal(rr.status, 2);
    tu_run_release(&rr);
}

static void test_tap_forwards_sigterm_and_still_closes_its_trace(void **state)
{
    (void)state;
    const char *path = trace_path("sigterm");
    const char *argv[] = { tu_sandtrace(), "tap", "-o", path, "--", tu_guest("ping"), "5", NULL };
    struct peer p;
    peer_start_exec(&p, argv, NULL);
    struct peer_req r;
    peer_expect(&p, &r, "getpid()i"); /* the guest now waits for its answer */
    kill(p.pid, SIGTERM);
    struct peer_end end = peer_finish(&p);
    assert_int_equal(end.status, 128 + SIGTERM);
    free(end.err);
    struct tevs t;
    assert_int_equal(tevs_read(path, &t), 0);
    assert_int_equal(t.end, 0); /* footer written: tap ended cleanly */
    assert_int_equal(t.ev[0].kind, TRACE_EV_REQUEST);
    assert_string_equal(t.ev[0].sig, "getpid()i");
    assert_int_equal(t.ev[t.n - 1].kind, TRACE_EV_GUEST_EXIT);
    assert_int_equal(t.ev[t.n - 1].signal, SIGTERM);
    tevs_release(&t);
}

static void test_tap_killed_at_exit_request_keeps_the_exit_request(void **state)
{
    (void)state;
    /* sandtrace answers _exit by SIGKILLing its guest, here tap: tap's
     * trace has no footer, but everything up to the _exit request is there. */
    const char *rec = trace_path("outer-exit"), *tap = trace_path("inner-exit");
    struct tu_run r = tu_run_sandtrace(
        (const char *[]){ "record", "-o", rec, "--no-seccomp", "--no-fs-jail", "--", tu_sandtrace(), "tap", "-o",
                          tap, "--", tu_build_path("testguests/tguest"), "exit", "3", NULL },
        NULL);
    assert_int_equal(r.status, 3);
    tu_run_release(&r);
    struct tevs t;
    assert_int_equal(tevs_read(tap, &t), 0);
    assert_int_equal(t.end, TRACE_E_TRUNCATED);
    assert_true(t.n >= 1);
    assert_string_equal(t.ev[t.n - 1].sig, "_exit(i)v");
    assert_int_equal(t.ev[t.n - 1].args[0], 3);
    tevs_release(&t);
}

static void test_tap_argv0_sets_what_the_guest_sees(void **state)
{
    (void)state;
    const char *path = trace_path("argv0");
    const char *argv[] = { tu_sandtrace(), "tap", "-o", path, "--argv0", "/lib/pypy", "--",
                           tu_guest("hello"), NULL };
    struct lpeer l = { 0 };
    peer_start_exec(&l.p, argv, NULL);
    serve(&l);
    struct peer_end end = peer_finish(&l.p);
    assert_int_equal(end.status, 0);
    free(end.err);
    free(l.to_guest.p);
    free(l.from_guest.p);
    struct tevs t;
    assert_int_equal(tevs_read(path, &t), 0);
    assert_string_equal(t.argv0, "/lib/pypy");
    assert_string_equal(t.exe, tu_guest("hello"));
    tevs_release(&t);
}

/* Starts `sandtrace ARGS...` the way a foreign controller starts its guest:
 * with its own argv[0] (e.g. /bin/pypy, a path that does not exist here)
 * and environment (NULL: this one). */
static void peer_start_tap_as(struct peer *p, const char *argv0, const char *const *args,
                              char *const *env)
{
    const char *argv[32] = { argv0 };
    size_t n = 1;
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int in[2], out[2], er[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(er, O_CLOEXEC))
        abort();
    signal(SIGPIPE, SIG_IGN);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        peer__child_fds(in[0], out[1], er[1]);
        extern char **environ;
        execve(tu_sandtrace(), (char *const *)argv, env ? env : environ);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(er[1]);
    p->pid = pid;
    p->to_guest = in[1];
    p->from_guest = out[0];
    p->err = er[0];
}

static void test_tap_gives_the_guest_its_own_argv0(void **state)
{
    (void)state;
    /* The guest (a shell) prints the argv[0] it was given on its stderr,
     * which tap relays: tap's own (/bin/pypy, as PyPy's reference
     * controller gives it), then what --argv0 says. */
    const char *path = trace_path("own-argv0");
    const char *script = "printf '<%s>' \"$0\" >&2";
    struct peer p;
    peer_start_tap_as(&p, "/bin/pypy",
                      (const char *[]){ "tap", "-o", path, "--", "/bin/sh", "-c", script, NULL },
                      NULL);
    struct peer_end end = peer_finish(&p);
    assert_int_equal(end.status, 0);
    if (!strstr(end.err, "</bin/pypy>"))
        fail_msg("the guest did not get tap's argv[0]; its stderr: %s", end.err);
    free(end.err);
    struct tevs t;
    assert_int_equal(tevs_read(path, &t), 0);
    assert_string_equal(t.argv0, "/bin/pypy");
    assert_int_equal(t.argc, 3);
    tevs_release(&t);

    peer_start_tap_as(&p, "/bin/pypy",
                      (const char *[]){ "tap", "-o", path, "--argv0", "/lib/pypy", "--",
                                        "/bin/sh", "-c", script, NULL },
                      NULL);
    end = peer_finish(&p);
    assert_int_equal(end.status, 0);
    if (!strstr(end.err, "</lib/pypy>"))
        fail_msg("--argv0 did not reach the guest; its stderr: %s", end.err);
    free(end.err);
    assert_int_equal(tevs_read(path, &t), 0);
    assert_string_equal(t.argv0, "/lib/pypy");
    tevs_release(&t);
}

static void test_tap_env_names_that_look_secret(void **state)
{
    (void)state;
    static const char *const secret[] = {
        "GITHUB_TOKEN=x", "my_api_token=x", "AWS_ACCESS_KEY_ID=x", "AWS_REGION=x",
        "DB_PASSWORD=x", "PASSPHRASE=x", "CLIENT_SECRET=x", "GOOGLE_APPLICATION_CREDENTIALS=x",
        "HTTP_AUTHORIZATION=x", "Session_Cookie=x", "SSH_PRIVATE=x", "GH_ENTERPRISE=x",
        "NPM_CONFIG_X=x", "DATABASE_URL=postgres://user:pw@db.example/app",
        "https_proxy=http://me:hunter2@proxy:3128", "GITHUB_TOKEN", NULL,
    };
    static const char *const plain[] = {
        "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "TZ=UTC", "PATH=/usr/bin:/bin", "HOME=/home/u",
        "PWD=/tmp", "OLDPWD=/", "TERM=xterm", "PYTHONPATH=/lib", "RPY_SANDBOX_DUMP=1",
        "URL=https://example.org/a:b", "https_proxy=http://proxy:3128", "EMPTY=", NULL,
    };
    for (size_t i = 0; secret[i]; i++)
        if (!st_tap_env_is_secret(secret[i]))
            fail_msg("'%s' should count as secret", secret[i]);
    for (size_t i = 0; plain[i]; i++)
        if (st_tap_env_is_secret(plain[i]))
            fail_msg("'%s' should not count as secret", plain[i]);
}

/* The recorded real environment of `path`, joined with newlines, and the
 * value of policy `key` ("" if absent). */
static char *header_real_env(const char *path, const char *key, char *value, size_t cap)
{
    struct trace_io *io = NULL;
    assert_int_equal(trace_io_open_file(path, TRACE_IO_READ, &io), 0);
    struct trace_reader *r = NULL;
    assert_int_equal(trace_reader_open(&r, io, 1, NULL, NULL, 0), 0);
    const struct trace_header *h = trace_reader_header(r);
    char *all = calloc(1, 1);
    size_t len = 0;
    for (size_t i = 0; i < h->guest_real_envc; i++) {
        tu__append(&all, &len, h->guest_real_env[i], strlen(h->guest_real_env[i]));
        tu__append(&all, &len, "\n", 1);
    }
    value[0] = '\0';
    for (size_t i = 0; i < h->policy_count; i++)
        if (!strcmp(h->policy[i].key, key))
            snprintf(value, cap, "%s", h->policy[i].value);
    trace_reader_free(r);
    return all;
}

static char *read_whole_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = NULL;
    *n = 0;
    char chunk[65536];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        tu__append(&buf, n, chunk, k);
    fclose(f);
    return buf;
}

static void test_tap_records_the_real_env_without_its_secrets(void **state)
{
    (void)state;
    const char *path = trace_path("secret-env");
    const char *s1 = "s3cr3t-t0ken-4242", *s2 = "hunter2-pw-4242";
    char e1[128], e2[128];
    snprintf(e1, sizeof e1, "MY_API_TOKEN=%s", s1);
    snprintf(e2, sizeof e2, "DATABASE_URL=postgres://app:%s@db/app", s2);
    char *env[] = { "LANG=C.UTF-8", "PLAIN=visible", e1, e2, "GITHUB_TOKEN=", NULL };
    /* The guest itself gets the secret (it prints its length: its stderr is
     * recorded too): tap redacts the record, not the run. */
    const char *script = "printf '<%s>' \"${#MY_API_TOKEN}\" >&2";
    for (int keep = 0; keep < 2; keep++) {
        struct peer p;
        const char *args_plain[] = { "tap", "-o", path, "--", "/bin/sh", "-c", script, NULL };
        const char *args_keep[] = { "tap", "-o", path, "--keep-env", "--", "/bin/sh", "-c",
                                    script, NULL };
        peer_start_tap_as(&p, "/bin/pypy", keep ? args_keep : args_plain, env);
        struct peer_end end = peer_finish(&p);
        assert_int_equal(end.status, 0);
        char want[128];
        snprintf(want, sizeof want, "<%zu>", strlen(s1));
        assert_non_null(strstr(end.err, want));
        free(end.err);

        char redacted[64];
        char *all = header_real_env(path, "tap.env_redacted", redacted, sizeof redacted);
        assert_non_null(strstr(all, "LANG=C.UTF-8\n"));
        assert_non_null(strstr(all, "PLAIN=visible\n"));
        if (keep) {
            /* The same reading finds the secret when it is there. */
            assert_non_null(strstr(all, s1));
            assert_non_null(strstr(all, s2));
            assert_string_equal(redacted, "0");
        } else {
            assert_null(strstr(all, s1));
            assert_null(strstr(all, s2));
            assert_non_null(strstr(all, "MY_API_TOKEN=" ST_TAP_REDACTED "\n"));
            assert_non_null(strstr(all, "DATABASE_URL=" ST_TAP_REDACTED "\n"));
            assert_non_null(strstr(all, "GITHUB_TOKEN=" ST_TAP_REDACTED "\n"));
            assert_string_equal(redacted, "3");
            /* Nowhere in the file's bytes, nor in what dump and info show. */
            size_t n;
            char *raw = read_whole_file(path, &n);
            assert_null(memmem(raw, n, s1, strlen(s1)));
            assert_null(memmem(raw, n, s2, strlen(s2)));
            free(raw);
            const char *tools[][4] = { { "dump", path, NULL }, { "info", path, NULL },
                                       { "info", "--json", path, NULL } };
            for (size_t i = 0; i < 3; i++) {
                struct tu_run r = tu_run_sandtrace(tools[i], NULL);
                assert_int_equal(r.status, 0);
                assert_null(strstr(r.out, s1));
                assert_null(strstr(r.out, s2));
                tu_run_release(&r);
            }
        }
        free(all);
    }
}

/* Records the hello guest through tap under the scripted controller, with
 * environment `env`. */
static void tap_hello_with_env(const char *path, char *const *env)
{
    struct lpeer l = { 0 };
    peer_start_tap_as(&l.p, "/bin/pypy",
                      (const char *[]){ "tap", "-o", path, "--", tu_guest("hello"), NULL }, env);
    serve(&l);
    struct peer_end end = peer_finish(&l.p);
    assert_int_equal(end.status, 0);
    free(end.err);
    free(l.to_guest.p);
    free(l.from_guest.p);
}

static void test_tap_replay_runs_with_the_recorded_env_and_warns_of_redaction(void **state)
{
    (void)state;
    /* With a secret in the environment: replay --check still says
     * identical, and says once on stderr that a value was redacted. */
    const char *path = trace_path("replay-env");
    tap_hello_with_env(path, (char *[]){ "LANG=C.UTF-8", "SERVICE_PASSWORD=pw-4242", NULL });
    struct tu_run r = tu_run_sandtrace((const char *[]){ "replay", "--check", path, NULL }, NULL);
    if (r.status != 0)
        fail_msg("replay --check: status %d: %s", r.status, r.err);
    assert_non_null(strstr(r.err, "identical"));
    const char *w = strstr(r.err, "redacted by tap (SERVICE_PASSWORD)");
    if (!w)
        fail_msg("no redaction warning: %s", r.err);
    assert_null(strstr(w + 1, "redacted by tap"));
    assert_null(strstr(r.err, "pw-4242"));
    tu_run_release(&r);
    /* Without a secret: no such line. */
    tap_hello_with_env(path, (char *[]){ "LANG=C.UTF-8", "PLAIN=1", NULL });
    r = tu_run_sandtrace((const char *[]){ "replay", "--check", path, NULL }, NULL);
    assert_int_equal(r.status, 0);
    assert_null(strstr(r.err, "redacted"));
    tu_run_release(&r);
}

/* Runs `tap` on `guest` in dump mode, as a controller would (it only reads
 * the guest's stdout); returns what the controller got (caller frees). */
static char *tap_dump_mode(const char *path, const char *guest)
{
    struct peer p;
    peer_start_tap_as(&p, "/bin/pypy", (const char *[]){ "tap", "-o", path, "--", guest, NULL },
                      (char *[]){ "LANG=C.UTF-8", "RPY_SANDBOX_DUMP=1", NULL });
    char *got = calloc(1, 1);
    size_t len = 0;
    char buf[4096];
    size_t k;
    while ((k = peer_recv_some(&p, buf, sizeof buf)) > 0)
        tu__append(&got, &len, buf, k);
    struct peer_end end = peer_finish(&p);
    if (end.status != 0)
        fail_msg("tap in dump mode exited %d: %s", end.status, end.err);
    free(end.err);
    return got;
}

static void test_tap_records_dump_mode_as_such(void **state)
{
    (void)state;
    const char *path = trace_path("dump-mode");
    char *list = tap_dump_mode(path, tu_guest("hello"));
    /* Relayed unchanged. */
    assert_int_equal(strncmp(list, "Version: 20001\n", 15), 0);
    assert_non_null(strstr(list, "\nFuncs: "));
    struct tevs t;
    assert_int_equal(tevs_read(path, &t), 0);
    assert_int_equal(t.end, 0);
    /* Not a protocol violation: a note saying so, the list, the exit. */
    assert_int_equal(tevs_count(&t, TRACE_EV_VIOLATION), 0);
    assert_int_equal(tevs_count(&t, TRACE_EV_REQUEST), 0);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.ev[0].kind, TRACE_EV_NOTE);
    assert_string_equal(t.ev[0].text, ST_TAP_NOTE_DUMP_MODE);
    assert_int_equal(t.ev[1].kind, TRACE_EV_NOTE);
    assert_int_equal(strncmp(t.ev[1].text, ST_TAP_NOTE_DUMP_OUTPUT, strlen(ST_TAP_NOTE_DUMP_OUTPUT)),
                     0);
    assert_string_equal(t.ev[1].text + strlen(ST_TAP_NOTE_DUMP_OUTPUT), list);
    assert_int_equal(t.ev[2].kind, TRACE_EV_GUEST_EXIT);
    assert_int_equal(t.ev[2].code, 0);
    tevs_release(&t);
    char mode[16];
    free(header_real_env(path, "dump_mode", mode, sizeof mode));
    assert_string_equal(mode, "1");
    /* dump and info show it. */
    struct tu_run r = tu_run_sandtrace((const char *[]){ "dump", path, NULL }, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "note: dump mode: RPY_SANDBOX_DUMP is set"));
    assert_non_null(strstr(r.out, "note: dump output:"));
    tu_run_release(&r);
    r = tu_run_sandtrace((const char *[]){ "info", path, NULL }, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "dump_mode = 1"));
    tu_run_release(&r);
    free(list);
}

static void test_tap_dump_mode_replays_by_comparing_the_list(void **state)
{
    (void)state;
    const char *path = trace_path("dump-replay");
    char *list = tap_dump_mode(path, tu_guest("hello"));
    struct tu_run r = tu_run_sandtrace((const char *[]){ "replay", "--check", path, NULL }, NULL);
    if (r.status != 0)
        fail_msg("replay --check of a dump-mode trace: status %d: %s", r.status, r.err);
    assert_non_null(strstr(r.err, "function list is identical"));
    assert_non_null(strstr(r.err, "identical: 3 events"));
    tu_run_release(&r);
    /* Without --check the list is printed again. */
    r = tu_run_sandtrace((const char *[]){ "replay", path, NULL }, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, list);
    tu_run_release(&r);

    /* A guest whose list differs in one function: the first difference is
     * named. (A script standing for another build.) */
    char *changed = strdup(list);
    char *at = strstr(changed, " clock()i ");
    assert_non_null(at);
    memcpy(at, " clock()f ", 10);
    char script[8192];
    snprintf(script, sizeof script, "#!/bin/sh\nprintf '%%s' '%s'\n", changed);
    tu_write_file(tmpdir, "other-build", script, strlen(script));
    char other[4200];
    snprintf(other, sizeof other, "%s/other-build", tmpdir);
    chmod(other, 0755);
    r = tu_run_sandtrace(
        (const char *[]){ "replay", "--check", "--no-jail", "--exe", other, path, NULL }, NULL);
    assert_int_equal(r.status, 65);
    if (!strstr(r.err, "recorded 'clock()i', live 'clock()f'"))
        fail_msg("the first difference is not named: %s", r.err);
    tu_run_release(&r);
    /* One that prints something else altogether. */
    snprintf(script, sizeof script, "#!/bin/sh\necho 'not a list'\n");
    tu_write_file(tmpdir, "other-build", script, strlen(script));
    r = tu_run_sandtrace(
        (const char *[]){ "replay", "--check", "--no-jail", "--exe", other, path, NULL }, NULL);
    assert_int_equal(r.status, 65);
    assert_non_null(strstr(r.err, "differs at byte 0 (line 1): the live output is not a function list"));
    tu_run_release(&r);
    free(changed);
    free(list);
}

/* With a real sandbox-2 PyPy (pypy2, pypy3; tests/pypy_env.h): tap between
 * `sandtrace record` and PyPy records the same protocol events as the
 * recorder itself, including the write of 42. */
static void test_tap_real_pypy_under_record(void **state)
{
    struct tu_pypy *py = *state;
    TU_NEED_PYPY(py);
    const char *exe = py->exe, *lib = py->lib;
    const char *rec = trace_path("pypy-outer"), *tap = trace_path("pypy-inner");
    struct tu_run r = tu_run_sandtrace(
        (const char *[]){ "record", "-o", rec, "--timeout", "120", "--no-seccomp", "--no-fs-jail", "--lib-path",
                          lib, "--", tu_sandtrace(), "tap", "-o", tap, "--argv0", "/lib/pypy",
                          "--", exe, "-S", "-c", "print(6*7)", NULL },
        NULL);
    if (r.status != 0)
        fail_msg("status %d: %s", r.status, r.err);
    assert_string_equal(r.out, "42\n");
    tu_run_release(&r);
    char **a, **b;
    size_t na, nb;
    int ca, cb;
    protocol_lines(rec, &a, &na, &ca);
    protocol_lines(tap, &b, &nb, &cb);
    assert_int_equal(na, nb);
    int saw42 = 0;
    for (size_t i = 0; i < na; i++) {
        assert_string_equal(a[i], b[i]);
        saw42 |= strstr(b[i], "mem_read") && strstr(b[i], "[3]34320a");
        free(a[i]);
        free(b[i]);
    }
    free(a);
    free(b);
    assert_true(saw42);
}

/* ---- a foreign controller of our own (tests/tracer/foreign_controller.py) */

/* python3 from PATH, or NULL. */
static const char *find_python3(void)
{
    static char found[4200];
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s", path && *path ? path : "/usr/bin:/bin");
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(found, sizeof found, "%s/python3", d);
        if (access(found, X_OK) == 0)
            return found;
    }
    return NULL;
}

/* Runs the foreign controller on build `py` through `sandtrace tap` with the
 * controller's options `copts` (NULL-terminated) and the guest's arguments
 * `gargs`; checks its output and exit status, that the trace verifies and
 * that `replay --check` finds it identical (saying once that a value of
 * the environment was redacted). */
static void foreign_run(const char *python, const struct tu_pypy *py, const char *name,
                        const char *const *copts, const char *const *gargs, const char *want_out)
{
    const char *exe = py->exe, *lib = py->lib;
    const char *trace = trace_path(name);
    const char *argv[64] = { python, ST_SOURCE_DIR "/tests/tracer/foreign_controller.py",
                             "--lib", lib };
    size_t n = 4;
    for (size_t i = 0; copts[i]; i++)
        argv[n++] = copts[i];
    /* --no-aslr: replay runs the guest with ASLR off, and pypy3's garbage
     * collector moves a pair of gettimeofday calls when addresses change. */
    const char *tap[] = { "--", tu_sandtrace(), "tap", "--no-aslr", "-o", trace, "--", exe };
    for (size_t i = 0; i < sizeof tap / sizeof tap[0]; i++)
        argv[n++] = tap[i];
    for (size_t i = 0; gargs[i]; i++)
        argv[n++] = gargs[i];
    argv[n] = NULL;
    /* The environment the controller inherits and passes on, as the
     * reference controller does: a UTF-8 locale, and a secret. */
    char path_env[4200];
    snprintf(path_env, sizeof path_env, "PATH=%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    char *env[] = { path_env, "LANG=C.UTF-8", "FOREIGN_TEST_TOKEN=tok-4242-secret", NULL };
    struct tu_run r = tu_run_env(argv, NULL, 0, env);
    if (r.status != 0 || strncmp(r.out, want_out, strlen(want_out)) != 0)
        fail_msg("%s: the controller exited %d, printed '%s' (want '%s...'); stderr: %s", name,
                 r.status, r.out, want_out, r.err);
    tu_run_release(&r);

    r = tu_run_sandtrace((const char *[]){ "verify", trace, NULL }, NULL);
    if (r.status != 0)
        fail_msg("%s: verify: status %d: %s%s", name, r.status, r.out, r.err);
    tu_run_release(&r);
    r = tu_run_sandtrace((const char *[]){ "replay", "--check", "--timeout", "60", trace, NULL },
                         NULL);
    if (r.status != 0 || !strstr(r.err, "identical"))
        fail_msg("%s: replay --check: status %d: %s", name, r.status, r.err);
    assert_non_null(strstr(r.err, "redacted by tap (FOREIGN_TEST_TOKEN)"));
    tu_run_release(&r);
    /* The secret the guest was given is nowhere in the file. */
    size_t len;
    char *raw = read_whole_file(trace, &len);
    assert_null(memmem(raw, len, "tok-4242-secret", 15));
    free(raw);
    struct tevs t;
    char argv0[sizeof t.argv0];
    assert_int_equal(tevs_read(trace, &t), 0);
    snprintf(argv0, sizeof argv0, "%s", t.argv0);
    tevs_release(&t);
    assert_string_equal(argv0, "/bin/pypy");
}

static void test_tap_under_a_foreign_controller_replays(void **state)
{
    struct tu_pypy *py = *state;
    TU_NEED_PYPY(py);
    const char *python = find_python3();
    if (!python) {
        print_message("skipping: no python3 in PATH for the foreign controller\n");
        skip();
        return;
    }
    int two = !strcmp(py->name, "pypy2");
    char name[64];
    snprintf(name, sizeof name, "foreign-%s-print", py->name);
    foreign_run(python, py, name, (const char *[]){ NULL },
                (const char *[]){ "-S", "-c", "print(6*7)", NULL }, "42\n");
    /* A module of the controller's virtual /tmp, imported, and unicode
     * printed (pypy3 through its UTF-8 stdout, which the locale gives it;
     * pypy2 encodes it itself). */
    snprintf(name, sizeof name, "foreign-%s-import", py->name);
    foreign_run(python, py, name,
                (const char *[]){ "--file", "greet.py=GREETING = u'caf\\u00e9 \\u2713 \\u00bd'",
                                  NULL },
                (const char *[]){ "-S", "-c",
                                  two ? "import greet; print(greet.GREETING.encode('utf-8'))"
                                      : "import greet; print(greet.GREETING)",
                                  NULL },
                "caf\xc3\xa9 \xe2\x9c\x93 \xc2\xbd\n");
    /* Dump mode, as the reference controller asks for it. */
    snprintf(name, sizeof name, "foreign-%s-dump", py->name);
    foreign_run(python, py, name, (const char *[]){ "--dump", NULL }, (const char *[]){ NULL },
                "Version: 20001\n");
}

int main(void)
{
    alarm(240); /* last resort: no test can hang CI */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tap_parser_replays_recorded_sessions_in_any_split),
        cmocka_unit_test(test_tap_records_the_bytes_that_crossed_in_both_directions),
        cmocka_unit_test(test_tap_under_record_gives_the_same_events_as_record),
        cmocka_unit_test(test_tap_relays_garbage_and_records_a_violation),
        cmocka_unit_test(test_tap_over_one_socket_for_both_directions),
        cmocka_unit_test(test_tap_exits_like_its_guest),
        cmocka_unit_test(test_tap_forwards_sigterm_and_still_closes_its_trace),
        cmocka_unit_test(test_tap_killed_at_exit_request_keeps_the_exit_request),
        cmocka_unit_test(test_tap_argv0_sets_what_the_guest_sees),
        cmocka_unit_test(test_tap_gives_the_guest_its_own_argv0),
        cmocka_unit_test(test_tap_env_names_that_look_secret),
        cmocka_unit_test(test_tap_records_the_real_env_without_its_secrets),
        cmocka_unit_test(test_tap_replay_runs_with_the_recorded_env_and_warns_of_redaction),
        cmocka_unit_test(test_tap_records_dump_mode_as_such),
        cmocka_unit_test(test_tap_dump_mode_replays_by_comparing_the_list),
        TU_PYPY_TESTS(test_tap_real_pypy_under_record),
        TU_PYPY_TESTS(test_tap_under_a_foreign_controller_replays),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
