/* Crash safety: the recorder SIGKILLed at random moments leaves a trace
 * that is valid up to its last complete chunk (the reader yields those
 * chunks' events then TRACE_E_TRUNCATED, verify agrees, replay replays up
 * to there and says so), and a controller killed while its guest runs
 * leaves no guest behind (PR_SET_PDEATHSIG).
 *
 * This test process makes itself a child subreaper, so that a guest
 * orphaned by its controller's death is reparented here: waitpid() then
 * proves it died (and how) instead of guessing from /proc. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <sys/prctl.h>

#include "format/trace.h"
#include "tests/prng.h"
#include "tests/testutil.h"

#define TRIALS 50
#define PING_N "100000000"

static char *work_dir;

/* A small deterministic PRNG (xorshift64*), so that a failing trial can
 * be reproduced from its number. */
static uint64_t prng_state = 0x5eed5afe7ace2026ull;
static uint64_t prng_next(void)
{
    return tu_xorshift64(&prng_state);
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Starts argv[0] with stdin `in_fd` (or /dev/null when -1) and its output
 * thrown away. */
static pid_t start(const char *const *argv, int in_fd)
{
    pid_t pid = fork();
    if (pid < 0)
        abort();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(in_fd >= 0 ? in_fd : null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* The first child of `parent` (from /proc/PID/task/PID/children), or 0. */
static pid_t child_of(pid_t parent)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)parent, (int)parent);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int pid = 0;
    if (fscanf(f, "%d", &pid) != 1)
        pid = 0;
    fclose(f);
    return pid;
}

/* 1 when `pid` runs another program than `parent` (it has executed). */
static int has_executed(pid_t pid, pid_t parent)
{
    char a[64], b[64], la[4096], lb[4096];
    snprintf(a, sizeof a, "/proc/%d/exe", (int)pid);
    snprintf(b, sizeof b, "/proc/%d/exe", (int)parent);
    ssize_t na = readlink(a, la, sizeof la - 1), nb = readlink(b, lb, sizeof lb - 1);
    return na > 0 && nb > 0 && (na != nb || memcmp(la, lb, (size_t)na) != 0);
}

/* Waits for `pid` to start a child that runs its guest (not a child of
 * its own that has not executed yet, such as the jail's probe), at most
 * `ms`. */
static pid_t wait_for_child(pid_t parent, long ms)
{
    for (long t = 0; t <= ms; t += 5) {
        pid_t c = child_of(parent);
        if (c > 0 && has_executed(c, parent))
            return c;
        sleep_ms(5);
    }
    return 0;
}

/* Reaps `pid`, which must end within `ms` (it is our child, or becomes
 * one when its parent dies: we are a subreaper). Returns its wait status,
 * or -1 if it is still alive at the deadline. */
static int reap_within(pid_t pid, long ms)
{
    for (long t = 0; t <= ms; t += 5) {
        int st = 0;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        if (r < 0 && errno != ECHILD)
            return -1;
        /* ECHILD: not reparented to us yet (or already gone and reaped
         * by someone else, which /proc tells). */
        if (r < 0) {
            char path[64];
            snprintf(path, sizeof path, "/proc/%d", (int)pid);
            if (access(path, F_OK) != 0)
                return 0;
        }
        sleep_ms(5);
    }
    return -1;
}

/* Reaps every leftover child (orphans reparented here), without waiting. */
static void reap_strays(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

static int setup(void **state)
{
    (void)state;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        return -1;
    work_dir = tu_mkdtemp();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    reap_strays();
    tu_rm_rf(work_dir);
    free(work_dir);
    return 0;
}

/* What one killed trace holds. */
struct trial_read {
    int open_rc;          /* trace_reader_open's result */
    int end_rc;           /* the last trace_reader_next result */
    uint64_t events, chunks;
};

/* Reads the trace: every event must be part of a well-formed ping session
 * (requests answered in order), then the end. */
static void read_trace(const char *path, struct trial_read *tr, int trial)
{
    memset(tr, 0, sizeof *tr);
    struct trace_io *io = NULL;
    int rc = trace_io_open_file(path, TRACE_IO_READ, &io);
    assert_int_equal(rc, 0);
    struct trace_reader *r = NULL;
    tr->open_rc = trace_reader_open(&r, io, 1, NULL, NULL, 0);
    if (tr->open_rc < 0)
        return;
    struct trace_event ev;
    uint64_t open_req = TRACE_SEQ_NONE;
    while ((rc = trace_reader_next(r, &ev)) == 1) {
        if (ev.seq != tr->events)
            fail_msg("trial %d: event %llu has seq %llu", trial, (unsigned long long)tr->events,
                     (unsigned long long)ev.seq);
        if (ev.kind == TRACE_EV_REQUEST) {
            if (open_req != TRACE_SEQ_NONE)
                fail_msg("trial %d: request %llu while %llu is open", trial,
                         (unsigned long long)ev.seq, (unsigned long long)open_req);
            open_req = ev.seq;
        } else if (ev.kind == TRACE_EV_RESULT) {
            if (ev.req_seq != open_req)
                fail_msg("trial %d: result %llu answers %llu, not %llu", trial,
                         (unsigned long long)ev.seq, (unsigned long long)ev.req_seq,
                         (unsigned long long)open_req);
            open_req = TRACE_SEQ_NONE;
        }
        tr->events++;
    }
    tr->end_rc = rc;
    struct trace_reader_stats st;
    trace_reader_stats(r, &st);
    tr->chunks = st.chunks;
    trace_reader_free(r);
}

/* Runs `sandtrace replay -q TRACE` and returns the number of events it
 * says it replayed (-1 if it does not say), its status in *status. */
static long replay_count(const char *trace, int *status)
{
    const char *args[] = { "replay", "-q", "--timeout", "30", trace, NULL };
    struct tu_run r = tu_run_sandtrace(args, NULL);
    *status = r.status;
    long n = -1;
    const char *p = strstr(r.err, "replayed ");
    if (p && strstr(p, "up to the end of the trace"))
        n = strtol(p + 9, NULL, 10);
    tu_run_release(&r);
    return n;
}

static void test_recorder_sigkilled_at_random_moments_leaves_valid_traces(void **state)
{
    (void)state;
    int with_events = 0, with_guest = 0;
    for (int trial = 0; trial < TRIALS; trial++) {
        char trace[4200];
        snprintf(trace, sizeof trace, "%s/trial-%02d.sbt", work_dir, trial);
        const char *argv[] = { tu_sandtrace(), "record", "-o", trace, "--", tu_guest("ping"), PING_N,
                               NULL };
        long delay = 5 + (long)(prng_next() % 300);
        pid_t rec = start(argv, -1);
        /* Odd trials count the delay from the recorder's start (they may
         * kill it during its set-up); even ones from the guest's start, so
         * that a loaded machine, where set-up alone can take 300 ms, still
         * kills half of the recorders with a guest running. */
        if (trial % 2 == 0)
            wait_for_child(rec, 5000);
        sleep_ms(delay);
        pid_t guest = child_of(rec);
        kill(rec, SIGKILL);
        int st = 0;
        while (waitpid(rec, &st, 0) < 0 && errno == EINTR)
            ;
        if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
            fail_msg("trial %d (%ld ms): the recorder ended before the kill (status %d)", trial,
                     delay, st);
        /* Its guest dies with it. */
        if (guest > 0) {
            with_guest++;
            int gst = reap_within(guest, 5000);
            if (gst < 0)
                fail_msg("trial %d (%ld ms): guest %d still alive after its recorder's death",
                         trial, delay, (int)guest);
        }
        struct stat sb;
        if (stat(trace, &sb) != 0)
            continue; /* killed before it created the trace */
        struct trial_read tr;
        read_trace(trace, &tr, trial);
        if (tr.open_rc < 0) {
            /* Killed while writing the file header: nothing else to read. */
            if (tr.open_rc != TRACE_E_TRUNCATED && !(sb.st_size == 0 && tr.open_rc == TRACE_E_BAD_MAGIC))
                fail_msg("trial %d (%ld ms): %lld bytes, open error %s", trial, delay,
                         (long long)sb.st_size, trace_error_name(tr.open_rc));
            unlink(trace);
            continue;
        }
        if (tr.end_rc != TRACE_E_TRUNCATED)
            fail_msg("trial %d (%ld ms): the reader ended with %s after %llu events, want "
                     "TRACE_E_TRUNCATED", trial, delay, trace_error_name(tr.end_rc),
                     (unsigned long long)tr.events);
        /* verify agrees: every complete chunk checks, then the truncation. */
        struct trace_io *io = NULL;
        assert_int_equal(trace_io_open_file(trace, TRACE_IO_READ, &io), 0);
        struct trace_verify_result vr;
        trace_verify(io, NULL, &vr);
        trace_io_free(io);
        if (vr.error != TRACE_E_TRUNCATED || vr.events != tr.events || vr.chunks != tr.chunks)
            fail_msg("trial %d (%ld ms): verify says %s with %llu events in %llu chunks; the "
                     "reader read %llu in %llu", trial, delay, trace_error_name(vr.error),
                     (unsigned long long)vr.events, (unsigned long long)vr.chunks,
                     (unsigned long long)tr.events, (unsigned long long)tr.chunks);
        /* replay drives the guest through every recorded event and says
         * the trace ended early (exit 5, damaged). */
        int rst = 0;
        long replayed = replay_count(trace, &rst);
        if (rst != 5 || replayed != (long)tr.events)
            fail_msg("trial %d (%ld ms): replay exited %d having replayed %ld events of %llu",
                     trial, delay, rst, replayed, (unsigned long long)tr.events);
        if (tr.events > 0)
            with_events++;
        unlink(trace);
    }
    reap_strays();
    print_message("%d trials: %d with complete chunks, %d with a guest to kill\n", TRIALS,
                  with_events, with_guest);
    /* The delays reach past the writer's 100 ms chunk bound: most trials
     * must have had complete chunks and a running guest to kill. */
    assert_true(with_events >= TRIALS / 3);
    assert_true(with_guest >= TRIALS / 2);
}

/* Kills a `sandtrace run` of a guest in a given state and checks the
 * guest dies too. */
static void kill_controller_and_check_guest(const char *const *guest_argv, int hold_stdin)
{
    const char *argv[16];
    size_t n = 0;
    argv[n++] = tu_sandtrace();
    argv[n++] = "run";
    argv[n++] = "--";
    for (size_t i = 0; guest_argv[i] && n < 15; i++)
        argv[n++] = guest_argv[i];
    argv[n] = NULL;
    int in[2] = { -1, -1 };
    if (hold_stdin && pipe(in) != 0)
        abort();
    pid_t ctl = start(argv, hold_stdin ? in[0] : -1);
    if (in[0] >= 0)
        close(in[0]);
    pid_t guest = wait_for_child(ctl, 5000);
    if (guest <= 0)
        fail_msg("%s: no guest started", guest_argv[1] ? guest_argv[1] : guest_argv[0]);
    sleep_ms(100); /* let it settle into its wait or loop */
    assert_int_equal(kill(guest, 0), 0);
    kill(ctl, SIGKILL);
    int st = 0;
    while (waitpid(ctl, &st, 0) < 0 && errno == EINTR)
        ;
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    int gst = reap_within(guest, 5000);
    if (gst < 0)
        fail_msg("guest %d survived its controller", (int)guest);
    /* Reaped here (a subreaper): killed by PR_SET_PDEATHSIG's SIGKILL, or,
     * if it was quicker, by SIGPIPE writing a request to the dead
     * controller, or its runtime's abort() at the end of its stdin. */
    if (gst > 0 && !(WIFSIGNALED(gst) && (WTERMSIG(gst) == SIGKILL || WTERMSIG(gst) == SIGPIPE ||
                                          WTERMSIG(gst) == SIGABRT)))
        fail_msg("guest %d ended with status %d, not killed", (int)guest, gst);
    if (in[1] >= 0)
        close(in[1]);
    reap_strays();
}

static void test_controller_killed_while_guest_waits_for_input_takes_the_guest(void **state)
{
    (void)state;
    /* echo-stdin asks read(0): the controller waits on its own stdin. */
    const char *guest[] = { tu_guest("echo-stdin"), NULL };
    kill_controller_and_check_guest(guest, 1);
}

static void test_controller_killed_while_guest_spins_takes_the_guest(void **state)
{
    (void)state;
    const char *guest[] = { tu_build_path("hostile/hostile"), "busy-loop", NULL };
    kill_controller_and_check_guest(guest, 0);
}

static void test_controller_killed_while_guest_requests_takes_the_guest(void **state)
{
    (void)state;
    const char *guest[] = { tu_guest("ping"), PING_N, NULL };
    kill_controller_and_check_guest(guest, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recorder_sigkilled_at_random_moments_leaves_valid_traces),
        cmocka_unit_test(test_controller_killed_while_guest_waits_for_input_takes_the_guest),
        cmocka_unit_test(test_controller_killed_while_guest_spins_takes_the_guest),
        cmocka_unit_test(test_controller_killed_while_guest_requests_takes_the_guest),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
