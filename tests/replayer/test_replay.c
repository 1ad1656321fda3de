/* sandtrace replay, end to end: guests recorded with `sandtrace record`
 * (and `tap`), then replayed with the recorded world gone, and modified
 * guests reported at the right event with the right difference. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "format/trace.h"
#include "tests/testutil.h"
#include "tests/pypy_env.h"

/* ------------------------------------------------------------ helpers */

struct fixture {
    char *dir;       /* scratch directory: traces live here */
    char *world;     /* dir/world: mounted into the guest, deleted before replay */
    char trace[4200];
    void *arg;       /* the test's initial state (cmocka prestate), if any */
};

static void rebuild_world(struct fixture *f)
{
    mkdir(f->world, 0755);
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/sub", f->world);
    mkdir(sub, 0755);
    tu_write_file(f->world, "a.txt", "alpha\n", 6);
    tu_write_file(f->world, "sub/b.py", "beta = 2\nprint(beta)\n", 21);
    tu_write_file(f->world, "sub/c.py", "gamma\n", 6);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->arg = *state;
    f->dir = tu_mkdtemp();
    if (asprintf(&f->world, "%s/world", f->dir) < 0)
        abort();
    rebuild_world(f);
    snprintf(f->trace, sizeof f->trace, "%s/t.sbt", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tu_rm_rf(f->dir);
    free(f->world);
    free(f->dir);
    free(f);
    return 0;
}

/* Runs `sandtrace` with up to 63 words given as varargs (NULL-terminated). */
static struct tu_run st_run(const char *in, ...)
{
    const char *args[64];
    size_t n = 0;
    va_list ap;
    va_start(ap, in);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 63)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    return tu_run_sandtrace(args, in);
}

static char mount_arg[4300];

static const char *mount_of(const struct fixture *f)
{
    snprintf(mount_arg, sizeof mount_arg, "/w=%s", f->world);
    return mount_arg;
}

static void delete_world(const struct fixture *f)
{
    tu_rm_rf(f->world);
    struct stat st;
    assert_int_not_equal(stat(f->world, &st), 0);
}

static const char *rp_guest(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/replayer/guests/%s", name);
    return tu_build_path(rel);
}

/* The seq of the first event of `kind` whose data is `data` (or, with
 * data NULL, of the first request whose signature is `sig`; with both NULL,
 * of the first event of `kind`); -1 if none. */
static long find_event(const char *trace, enum trace_event_kind kind, const char *data,
                       const char *sig)
{
    struct trace_io *io;
    if (trace_io_open_file(trace, TRACE_IO_READ, &io) < 0)
        return -1;
    struct trace_reader *r;
    if (trace_reader_open(&r, io, 1, NULL, NULL, 0) < 0)
        return -1;
    struct trace_event ev;
    long found = -1;
    while (found < 0 && trace_reader_next(r, &ev) == 1) {
        if (ev.kind != kind)
            continue;
        if (!data && !sig)
            found = (long)ev.seq;
        else if (kind == TRACE_EV_REQUEST && sig && !strcmp(ev.request.sig, sig))
            found = (long)ev.seq;
        else if (kind != TRACE_EV_REQUEST && data && ev.mem.len == strlen(data) &&
                 !memcmp(ev.mem.data, data, ev.mem.len))
            found = (long)ev.seq;
    }
    trace_reader_free(r);
    return found;
}

static int has(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

/* ------------------------------------------------------------ tests */

/* Records `argv` (after the run options) with the world mounted at /w,
 * deletes the world, replays, and checks identical stdout and status. */
static void record_then_replay_without_world(struct fixture *f, const char *stdin_file,
                                             const char *const *guest)
{
    const char *args[64];
    size_t n = 0;
    args[n++] = "record";
    args[n++] = "-o";
    args[n++] = f->trace;
    args[n++] = "--mount";
    args[n++] = mount_of(f);
    if (stdin_file) {
        args[n++] = "--stdin";
        args[n++] = stdin_file;
    }
    args[n++] = "--";
    for (size_t i = 0; guest[i] && n < 63; i++)
        args[n++] = guest[i];
    args[n] = NULL;
    struct tu_run rec = tu_run_sandtrace(args, NULL);
    assert_false(rec.timed_out);
    if (rec.status >= 70 && rec.status <= 78)
        fail_msg("recording %s failed (%d): %s", guest[0], rec.status, rec.err);

    delete_world(f);
    if (stdin_file)
        unlink(stdin_file);
    struct tu_run rep = st_run(NULL, "replay", f->trace, NULL);
    if (rep.status != rec.status || rep.out_len != rec.out_len ||
        memcmp(rep.out, rec.out, rec.out_len) != 0)
        fail_msg("replay of %s differs: status %d (recorded %d)\n--- recorded:\n%s\n--- "
                 "replayed:\n%s\n--- replay stderr:\n%s",
                 guest[0], rep.status, rec.status, rec.out, rep.out, rep.err);
    assert_false(has(rep.err, "divergence"));
    tu_run_release(&rec);
    tu_run_release(&rep);
}


static void test_replay_every_example_guest_with_the_world_deleted(void **state)
{
    struct fixture *f = *state;
    char input[4200];
    snprintf(input, sizeof input, "%s/input.txt", f->dir);
    struct {
        const char *name;
        const char *args[6];
        int uses_stdin;
    } guests[] = {
        { "hello", { NULL }, 0 },
        { "cat", { "/w/a.txt", "/w/sub/b.py", NULL }, 0 },
        { "echo-stdin", { NULL }, 1 },
        { "ls", { "/w/sub", NULL }, 0 },
        { "stat", { "/w/a.txt", "/w/sub", "/w/nope", NULL }, 0 },
        { "stat", { "-l", "/w/a.txt", NULL }, 0 },
        { "ping", { "40", NULL }, 0 },
        { "writer", { "8", "3000", NULL }, 0 },
        { "clock", { NULL }, 0 },
        { "importer", { "/w", "2", NULL }, 0 },
        { "allcalls", { NULL }, 0 },
        { "cat", { "/w/missing.txt", NULL }, 0 }, /* exits 1 */
    };
    for (size_t i = 0; i < sizeof guests / sizeof guests[0]; i++) {
        rebuild_world(f);
        tu_write_file(f->dir, "input.txt", "line one\nline two\n", 18);
        const char *argv[8];
        size_t n = 0;
        argv[n++] = tu_guest(guests[i].name);
        for (size_t k = 0; guests[i].args[k]; k++)
            argv[n++] = guests[i].args[k];
        argv[n] = NULL;
        record_then_replay_without_world(f, guests[i].uses_stdin ? input : NULL, argv);
    }
}

static void test_replay_needs_no_time_random_or_stdin(void **state)
{
    struct fixture *f = *state;
    char input[4200];
    snprintf(input, sizeof input, "%s/input.txt", f->dir);
    tu_write_file(f->dir, "input.txt", "typed by someone\n", 17);
    struct tu_run rec = st_run(NULL, "record", "-o", f->trace, "--time", "real", "--seed", "77",
                               "--stdin", input, "--", rp_guest("entropy"), NULL);
    assert_int_equal(rec.status, 0);
    assert_true(has(rec.out, "stdin: typed by someone"));
    /* The output does depend on the seed: another seed, other bytes. */
    char other[4200];
    snprintf(other, sizeof other, "%s/other.sbt", f->dir);
    struct tu_run rec2 = st_run(NULL, "record", "-o", other, "--time", "real", "--seed", "78",
                                "--stdin", input, "--", rp_guest("entropy"), NULL);
    assert_int_equal(rec2.status, 0);
    const char *r1 = strstr(rec.out, "random:"), *r2 = strstr(rec2.out, "random:");
    assert_non_null(r1);
    assert_non_null(r2);
    assert_int_not_equal(strncmp(r1, r2, 40), 0);

    unlink(input);
    struct tu_run rep = st_run("this input is not the recorded one\n", "replay", f->trace, NULL);
    assert_int_equal(rep.status, 0);
    assert_string_equal(rep.out, rec.out);
    assert_false(has(rep.err, "divergence"));
    tu_run_release(&rec);
    tu_run_release(&rec2);
    tu_run_release(&rep);
}

/* Records variant-base printing /w/a.txt, with the world then deleted. */
static void record_variant_base(struct fixture *f)
{
    struct tu_run rec = st_run(NULL, "record", "-o", f->trace, "--mount", mount_of(f), "--",
                               rp_guest("variant-base"), "/w/a.txt", NULL);
    assert_int_equal(rec.status, 0);
    assert_string_equal(rec.out, "alpha\ndone\n");
    tu_run_release(&rec);
    delete_world(f);
}

static void assert_diverged_at(const struct tu_run *r, long seq, const char *kind)
{
    char want[128];
    snprintf(want, sizeof want, "divergence at event %ld (%s)", seq, kind);
    if (r->status != 65 || !has(r->err, want))
        fail_msg("expected exit 65 and '%s', got %d:\n%s", want, r->status, r->err);
}

static void test_replay_reports_a_different_byte(void **state)
{
    struct fixture *f = *state;
    record_variant_base(f);
    long seq = find_event(f->trace, TRACE_EV_MEM_READ, "done\n", NULL);
    assert_true(seq > 0);
    struct tu_run r = st_run(NULL, "replay", "--exe", rp_guest("variant-byte"), f->trace, NULL);
    assert_diverged_at(&r, seq, "data");
    assert_true(has(r.err, "offset 3 is 0x61, recorded 0x65"));
    assert_true(has(r.err, "\"done\\n\""));
    assert_true(has(r.err, "\"dona\\n\""));
    assert_true(has(r.err, "not the recorded executable"));
    /* The calls before it are shown decoded as dump shows them (the path,
     * the data read and written, not pointers), ending with the write. */
    assert_true(has(r.err, "  the last 6 calls before it:\n"));
    assert_true(has(r.err, "\n    0 +"));
    assert_true(has(r.err, " open(\"/w/a.txt\", O_RDONLY, 0) = 3\n"));
    assert_true(has(r.err, " read(3, \"alpha\\n\", 4096) = 6\n"));
    assert_true(has(r.err, " write(1, \"alpha\\n\", 6) = 6\n"));
    assert_true(has(r.err, " close(3) = 0\n"));
    assert_true(has(r.err, " write(1, 0x"));
    /* What came before the divergence was reproduced. */
    assert_string_equal(r.out, "alpha\n");
    tu_run_release(&r);
}

static void test_replay_reports_another_file_opened(void **state)
{
    struct fixture *f = *state;
    record_variant_base(f);
    long seq = find_event(f->trace, TRACE_EV_MEM_READ_STR, "/w/a.txt", NULL);
    assert_true(seq > 0);
    struct tu_run r = st_run(NULL, "replay", "--exe", rp_guest("variant-open"), f->trace, NULL);
    assert_diverged_at(&r, seq, "data");
    assert_true(has(r.err, "open(pii)i: the string read is 14 bytes long, recorded 8"));
    assert_true(has(r.err, "\"/w/a.txt.other\""));
    tu_run_release(&r);
}

static void test_replay_reports_one_more_call(void **state)
{
    struct fixture *f = *state;
    record_variant_base(f);
    /* The recorded write of "done\n" is the request just before its R. */
    long seq = find_event(f->trace, TRACE_EV_MEM_READ, "done\n", NULL) - 1;
    assert_true(seq > 0);
    struct tu_run r = st_run(NULL, "replay", "--exe", rp_guest("variant-extra"), f->trace, NULL);
    assert_diverged_at(&r, seq, "signature");
    assert_true(has(r.err, "expected a call to write(ipi)i, got getpid()i"));
    assert_true(has(r.err, "got:      getpid()"));
    tu_run_release(&r);
}

static void test_replay_keep_going_resynchronises_after_a_missing_call(void **state)
{
    struct fixture *f = *state;
    record_variant_base(f);
    long seq = find_event(f->trace, TRACE_EV_REQUEST, NULL, "close(i)i");
    assert_true(seq > 0);
    struct tu_run r = st_run(NULL, "replay", "--exe", rp_guest("variant-fewer"), f->trace, NULL);
    assert_diverged_at(&r, seq, "signature");
    assert_string_equal(r.out, "alpha\n");
    tu_run_release(&r);
    /* With --keep-going the rest of the run is matched again: one divergence. */
    r = st_run(NULL, "replay", "--keep-going", "--exe", rp_guest("variant-fewer"), f->trace, NULL);
    assert_diverged_at(&r, seq, "signature");
    assert_string_equal(r.out, "alpha\ndone\n");
    assert_true(has(r.err, "1 divergence after"));
    assert_true(has(r.err, "resynchronised: 1 recorded call skipped"));
    tu_run_release(&r);
    /* An extra call is refused and the next one matched: one divergence too. */
    r = st_run(NULL, "replay", "--keep-going", "--exe", rp_guest("variant-extra"), f->trace, NULL);
    assert_int_equal(r.status, 65);
    assert_string_equal(r.out, "alpha\ndone\n");
    assert_true(has(r.err, "1 divergence after"));
    assert_true(has(r.err, "answered as an extra one (ENOSYS)"));
    tu_run_release(&r);
}

static void test_replay_check_exits_zero_only_for_identical_behaviour(void **state)
{
    struct fixture *f = *state;
    record_variant_base(f);
    struct tu_run r = st_run(NULL, "replay", "--check", f->trace, "--exe",
                             rp_guest("variant-base"), NULL);
    /* Options may follow the trace too. */
    if (r.status == 2)
        fail_msg("--check after the trace was refused: %s", r.err);
    tu_run_release(&r);
    r = st_run(NULL, "replay", "--check", "--exe", rp_guest("variant-base"), f->trace, NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.out_len, 0); /* no guest output in check mode */
    assert_false(has(r.err, "not the recorded executable"));
    tu_run_release(&r);
    static const char *const changed[] = { "variant-byte", "variant-open", "variant-extra",
                                           "variant-fewer" };
    for (size_t i = 0; i < sizeof changed / sizeof changed[0]; i++) {
        r = st_run(NULL, "replay", "--check", "--exe", rp_guest(changed[i]), f->trace, NULL);
        if (r.status != 65)
            fail_msg("--check with %s: exit %d, not 65\n%s", changed[i], r.status, r.err);
        tu_run_release(&r);
    }
}

static void test_replay_of_a_truncated_trace_goes_to_its_end_and_says_so(void **state)
{
    struct fixture *f = *state;
    /* Enough output for several chunks (256 KiB each). */
    struct tu_run rec = st_run(NULL, "record", "-o", f->trace, "--raw-stdout", "--",
                               tu_guest("writer"), "300", "4096", NULL);
    assert_int_equal(rec.status, 0);
    assert_int_equal(rec.out_len, 300 * 4096);
    struct stat st;
    assert_int_equal(stat(f->trace, &st), 0);
    assert_int_equal(truncate(f->trace, st.st_size * 6 / 10), 0);

    struct tu_run r = st_run(NULL, "replay", "--raw-stdout", f->trace, NULL);
    if (r.status != 5) /* ST_EXIT_DAMAGED */
        fail_msg("exit %d, not 5:\n%s", r.status, r.err);
    assert_true(has(r.err, "up to the end of the trace"));
    assert_true(has(r.err, "the trace ends early"));
    /* Part of the output, exactly as recorded. */
    assert_true(r.out_len > 0);
    assert_true(r.out_len < rec.out_len);
    assert_memory_equal(r.out, rec.out, r.out_len);
    tu_run_release(&r);
    tu_run_release(&rec);
}

static void test_replay_stop_at_prints_the_pid_and_waits_for_enter(void **state)
{
    struct fixture *f = *state;
    struct tu_run rec = st_run(NULL, "record", "-o", f->trace, "--mount", mount_of(f), "--",
                               tu_guest("cat"), "/w/a.txt", NULL);
    assert_int_equal(rec.status, 0);
    delete_world(f);
    struct tu_run r = st_run("\n", "replay", "--stop-at", "3", f->trace, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, rec.out);
    assert_true(has(r.err, "stopped before event 3"));
    const char *g = strstr(r.err, "gdb -p ");
    assert_non_null(g);
    long pid = strtol(g + 7, NULL, 10);
    assert_true(pid > 1);
    assert_true(has(r.err, "continuing"));
    tu_run_release(&r);
    tu_run_release(&rec);
}

/* Starts `sandtrace replay --stop-at N TRACE` with its stdin a pipe held
 * open, waits (at most 60 s) for the "gdb -p PID" line, and returns in `where`
 * the guest's /proc/PID/syscall line at that moment (the system call it is
 * blocked in, its arguments, stack and instruction pointers); then presses
 * Enter (or, with by_signal, sends replay the SIGUSR1 its message names,
 * stdin left open) and returns the replay's exit status. */
static int stop_and_look(const char *trace, const char *n, char *where, size_t cap, int by_signal)
{
    int in[2], err[2];
    if (pipe(in) || pipe(err))
        abort();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(err[1], 2);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        close(in[1]);
        close(err[0]);
        execl(tu_sandtrace(), tu_sandtrace(), "replay", "--stop-at", n, trace, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(err[1]);
    char buf[8192];
    size_t len = 0;
    long guest = 0;
    double deadline = tu__now() + 60;
    while (!guest && len < sizeof buf - 1 && tu__now() < deadline) {
        struct pollfd p = { err[0], POLLIN, 0 };
        if (poll(&p, 1, 1000) <= 0)
            continue;
        ssize_t got = read(err[0], buf + len, sizeof buf - 1 - len);
        if (got <= 0)
            break;
        len += (size_t)got;
        buf[len] = '\0';
        const char *g = strstr(buf, "gdb -p ");
        if (g && strchr(g, '\n'))
            guest = strtol(g + 7, NULL, 10);
    }
    where[0] = '\0';
    if (guest > 0) {
        /* The guest wrote its request just before replay said so: wait
         * until it is inside its next system call ("running" until then). */
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/syscall", guest);
        while (tu__now() < deadline) {
            FILE *f = fopen(path, "r");
            if (!f)
                break;
            if (!fgets(where, (int)cap, f))
                where[0] = '\0';
            fclose(f);
            if (where[0] >= '0' && where[0] <= '9')
                break;
            struct timespec ts = { 0, 10 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
    }
    const char *sig = strstr(buf, "send SIGUSR1 to pid ");
    if (by_signal && sig) {
        long replay_pid = strtol(sig + strlen("send SIGUSR1 to pid "), NULL, 10);
        assert_int_equal(replay_pid, pid);
        kill(pid, SIGUSR1);
    } else if (write(in[1], "\n", 1) != 1) {
        abort();
    }
    /* Drain stderr to the end, bounded by the deadline. */
    while (tu__now() < deadline) {
        struct pollfd p = { err[0], POLLIN, 0 };
        if (poll(&p, 1, 1000) <= 0)
            continue;
        if (read(err[0], buf, sizeof buf) <= 0)
            break;
    }
    close(err[0]);
    close(in[1]);
    if (tu__now() >= deadline)
        kill(pid, SIGKILL);
    int st = 0;
    waitpid(pid, &st, 0);
    if (!guest)
        fail_msg("no 'gdb -p PID' line from replay --stop-at %s", n);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_replay_stop_at_holds_the_guest_at_the_same_point_every_time(void **state)
{
    struct fixture *f = *state;
    struct tu_run rec = st_run(NULL, "record", "-o", f->trace, "--mount", mount_of(f), "--",
                               tu_guest("cat"), "/w/a.txt", "/w/sub/b.py", NULL);
    assert_int_equal(rec.status, 0);
    tu_run_release(&rec);
    long seq = find_event(f->trace, TRACE_EV_REQUEST, NULL, "read(ipi)i");
    assert_true(seq > 0);
    char n[32];
    snprintf(n, sizeof n, "%ld", seq);
    char first[512], second[512];
    assert_int_equal(stop_and_look(f->trace, n, first, sizeof first, 0), 0);
    /* The second time it goes on at a signal rather than Enter. */
    assert_int_equal(stop_and_look(f->trace, n, second, sizeof second, 1), 0);
    /* Blocked in read(0, ...) on the command pipe: system call 0, fd 0. */
    if (strncmp(first, "0 0x0 ", 6) != 0)
        fail_msg("the guest is not blocked reading its commands: '%s'", first);
    /* The same call, arguments, stack and instruction pointers both times. */
    assert_string_equal(first, second);
}

static void test_replay_print_events_shows_each_event(void **state)
{
    struct fixture *f = *state;
    struct tu_run rec = st_run(NULL, "record", "-o", f->trace, "--", tu_guest("hello"), NULL);
    assert_int_equal(rec.status, 0);
    struct tu_run r = st_run(NULL, "replay", "--print-events", "--quiet", f->trace, NULL);
    assert_int_equal(r.status, 0);
    /* -q only drops the summary: the guest's output is what was asked. */
    assert_string_equal(r.out, rec.out);
    assert_true(has(r.err, "write(1, "));
    assert_true(has(r.err, "hello from the sandbox"));
    assert_true(has(r.err, "exit"));
    tu_run_release(&r);
    tu_run_release(&rec);
}

static void test_replay_ends_like_a_recorded_limit(void **state)
{
    struct fixture *f = *state;
    struct tu_run rec = st_run(NULL, "record", "-o", f->trace, "--max-calls", "5", "--",
                               tu_guest("ping"), "50", NULL);
    assert_int_equal(rec.status, 75);
    struct tu_run r = st_run(NULL, "replay", f->trace, NULL);
    assert_int_equal(r.status, 75);
    assert_true(has(r.err, "trace ends with limit max-calls"));
    assert_false(has(r.err, "divergence"));
    tu_run_release(&r);
    tu_run_release(&rec);
}

static void test_replay_of_a_keyed_trace(void **state)
{
    struct fixture *f = *state;
    tu_write_file(f->dir, "key", "0123456789abcdef0123456789abcdef", 32);
    tu_write_file(f->dir, "other-key", "fedcba9876543210fedcba9876543210", 32);
    char key[4300], other[4300];
    snprintf(key, sizeof key, "%s/key", f->dir);
    snprintf(other, sizeof other, "%s/other-key", f->dir);
    struct tu_run rec = st_run(NULL, "record", "-o", f->trace, "--key", key, "--",
                               tu_guest("hello"), NULL);
    assert_int_equal(rec.status, 0);
    struct tu_run r = st_run(NULL, "replay", "--key", key, f->trace, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, rec.out);
    tu_run_release(&r);
    /* The wrong key is refused before anything runs. */
    r = st_run(NULL, "replay", "--key", other, f->trace, NULL);
    assert_int_equal(r.status, 7); /* ST_EXIT_KEY */
    assert_int_equal(r.out_len, 0);
    assert_true(has(r.err, "cannot open trace '"));
    tu_run_release(&r);
    tu_run_release(&rec);
}

static void test_replay_command_line_errors(void **state)
{
    struct fixture *f = *state;
    struct tu_run r = st_run(NULL, "replay", NULL);
    assert_int_equal(r.status, 2);
    tu_run_release(&r);
    r = st_run(NULL, "replay", "--stop-at", "x", f->trace, NULL);
    assert_int_equal(r.status, 2);
    tu_run_release(&r);
    char missing[4300];
    snprintf(missing, sizeof missing, "%s/none.sbt", f->dir);
    r = st_run(NULL, "replay", missing, NULL);
    assert_int_equal(r.status, 4); /* ST_EXIT_UNREADABLE */
    assert_true(has(r.err, "cannot open trace '"));
    tu_run_release(&r);
    /* Not a trace at all. */
    tu_write_file(f->dir, "junk.sbt", "this is not a trace", 19);
    snprintf(missing, sizeof missing, "%s/junk.sbt", f->dir);
    r = st_run(NULL, "replay", missing, NULL);
    assert_int_equal(r.status, 4);
    tu_run_release(&r);
    r = st_run(NULL, "replay", "--help", NULL);
    assert_int_equal(r.status, 0);
    static const char *const codes[] = { "\n  2 ", "\n  4 ", "\n  5 ", "\n  6 ", "\n  7 ",
                                         "\n  65 ", "\n  70 ", "\n  71 " };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (!has(r.out, codes[i]))
            fail_msg("replay --help does not list exit status '%s'", codes[i] + 3);
    assert_false(has(r.out, "\n  66 "));
    assert_false(has(r.out, "\n  67 "));
    tu_run_release(&r);
}

static void test_replay_of_a_tap_trace(void **state)
{
    struct fixture *f = *state;
    /* `run` is the foreign controller here; tap sits between it and cat. */
    struct tu_run rec = st_run(NULL, "run", "--no-seccomp", "--no-fs-jail", "--mount", mount_of(f), "--",
                               tu_sandtrace(), "tap", "-o", f->trace, "--", tu_guest("cat"),
                               "/w/a.txt", "/w/sub/c.py", NULL);
    if (rec.status == 3 || has(rec.err, "not built yet")) {
        tu_run_release(&rec);
        skip();
    }
    assert_int_equal(rec.status, 0);
    assert_string_equal(rec.out, "alpha\ngamma\n");
    delete_world(f);
    struct tu_run r = st_run(NULL, "replay", f->trace, NULL);
    if (r.status != 0)
        fail_msg("replay of the tap trace: exit %d\n%s", r.status, r.err);
    assert_string_equal(r.out, rec.out);
    assert_false(has(r.err, "divergence"));
    tu_run_release(&r);
    tu_run_release(&rec);
}

/* tests/guests/tguest.c, the controller tests' guest of many endings. */
static const char *tguest(void)
{
    return tu_build_path("testguests/tguest");
}

static void test_replay_reproduces_every_way_a_run_ends(void **state)
{
    struct fixture *f = *state;
    struct {
        const char *opt[4];    /* record options */
        const char *mode[3];   /* tguest's arguments */
        int status;            /* what record and replay exit with */
    } cases[] = {
        { { NULL }, { "status", "4", NULL }, 4 },
        { { NULL }, { "exit", "7", NULL }, 7 },                      /* _exit request */
        { { "--env", "A=1", "--env", "B=two" }, { "environ", NULL }, 0 }, /* M blocks of pointers */
        { { NULL }, { "home", NULL }, 0 },                           /* M, then F */
        { { NULL }, { "stderr", "70000", NULL }, 0 },                /* its real stderr */
        { { NULL }, { "unknown", NULL }, 77 },
        { { NULL }, { "syscall", NULL }, 78 },                       /* the jail */
        { { NULL }, { "badptr", NULL }, 139 },                       /* SIGSEGV on a Z */
        { { NULL }, { "zero-length", NULL }, 76 },                   /* violations */
        { { NULL }, { "truncated", NULL }, 76 },
        { { "--env", "A=1" }, { "lying-z", NULL }, 76 },
        { { "--max-calls", "10" }, { "calls", "50", NULL }, 75 },
        { { "--max-output", "1000" }, { "flood", "5000", NULL }, 74 },
        { { "--memory", "64M" }, { "hog", NULL }, 73 },
        { { "--timeout", "1" }, { "spin", NULL }, 71 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *args[24];
        size_t n = 0;
        args[n++] = "record";
        args[n++] = "-o";
        args[n++] = f->trace;
        for (size_t k = 0; k < 4 && cases[i].opt[k]; k++)
            args[n++] = cases[i].opt[k];
        args[n++] = "--";
        args[n++] = tguest();
        for (size_t k = 0; k < 3 && cases[i].mode[k]; k++)
            args[n++] = cases[i].mode[k];
        args[n] = NULL;
        struct tu_run rec = tu_run_sandtrace(args, NULL);
        if (rec.status != cases[i].status)
            fail_msg("record tguest %s: exit %d, expected %d\n%s", cases[i].mode[0], rec.status,
                     cases[i].status, rec.err);
        struct tu_run r = st_run(NULL, "replay", "--timeout", "30", f->trace, NULL);
        if (r.status != rec.status || r.out_len != rec.out_len ||
            memcmp(r.out, rec.out, r.out_len) != 0 || has(r.err, "divergence"))
            fail_msg("replay of tguest %s: exit %d (recorded %d)\n--- recorded:\n%s\n--- "
                     "replayed:\n%s\n--- stderr:\n%s",
                     cases[i].mode[0], r.status, rec.status, rec.out, r.out, r.err);
        tu_run_release(&r);
        tu_run_release(&rec);
    }
}

static void test_replay_wants_the_recorded_protocol_violation(void **state)
{
    struct fixture *f = *state;
    struct tu_run rec = st_run(NULL, "record", "-o", f->trace, "--", tguest(), "truncated", NULL);
    assert_int_equal(rec.status, 76);
    /* hello makes a proper call where tguest sent half a request. */
    long seq = find_event(f->trace, TRACE_EV_GUEST_EXIT, NULL, NULL);
    assert_true(seq >= 0);
    struct tu_run r = st_run(NULL, "replay", "--exe", tu_guest("hello"), f->trace, NULL);
    assert_diverged_at(&r, seq, "extra call");
    assert_true(has(r.err, "where the recording had a protocol violation"));
    tu_run_release(&r);
    tu_run_release(&rec);
}

/* The guest is replayed in the jail it was recorded in: a direct file read
 * that the default two-stage jail stopped is stopped again (with only the
 * first stage it would succeed, and the replay would diverge), and one that
 * --loose-jail let through goes through again. */
static void test_replay_puts_the_guest_in_the_recorded_jail(void **state)
{
    struct fixture *f = *state;
    /* Killed for a forbidden call when recorded: killed again. */
    struct tu_run rec = st_run(NULL, "record", "-o", f->trace, "--", tguest(), "syscall", NULL);
    assert_int_equal(rec.status, 78);
    struct tu_run info = st_run(NULL, "info", f->trace, NULL);
    assert_true(has(info.out, "jail.loose = 0"));
    struct tu_run r = st_run(NULL, "replay", f->trace, NULL);
    assert_int_equal(r.status, 78);
    assert_false(has(r.err, "divergence"));
    tu_run_release(&r);
    tu_run_release(&info);
    tu_run_release(&rec);

    /* Refused with EPERM under --loose-jail: refused again. */
    rec = st_run(NULL, "record", "-o", f->trace, "--loose-jail", "--", tguest(), "syscall", NULL);
    assert_int_equal(rec.status, 0);
    assert_true(has(rec.out, "socket returned -1"));
    info = st_run(NULL, "info", f->trace, NULL);
    assert_true(has(info.out, "jail.loose = 1"));
    r = st_run(NULL, "replay", f->trace, NULL);
    assert_int_equal(r.status, 0);
    assert_true(has(r.out, "socket returned -1"));
    tu_run_release(&r);
    tu_run_release(&info);
    tu_run_release(&rec);
}

/* A trace is untrusted input: one recorded without the jail (or a header
 * crafted to say so) is still replayed in the full jail; only the user's
 * --no-jail takes it away. */
static void test_replay_never_takes_the_jail_from_the_trace(void **state)
{
    struct fixture *f = *state;
    struct tu_run rec = st_run(NULL, "record", "-o", f->trace, "--no-seccomp", "--no-fs-jail", "--", tguest(),
                               "readreal", "/etc/passwd", NULL);
    assert_int_equal(rec.status, 0);
    assert_true(has(rec.out, "read 64 bytes directly"));
    struct tu_run r = st_run(NULL, "replay", f->trace, NULL);
    assert_false(has(r.out, "read 64 bytes directly"));
    assert_true(has(r.err, "diverge"));
    tu_run_release(&r);
    r = st_run(NULL, "replay", "--no-jail", f->trace, NULL);
    assert_int_equal(r.status, 0);
    assert_true(has(r.out, "read 64 bytes directly"));
    tu_run_release(&r);
    tu_run_release(&rec);
}

/* Replay shows the guest's output as run does: into a pipe, its bytes as
 * they are (UTF-8 text and control characters alike; on a terminal both
 * sanitise with the same function, tests/controller/test_run_io.c). */
static void test_replay_output_is_shown_like_run(void **state)
{
    struct fixture *f = *state;
    const char in[] = "caf\xc3\xa9 \x1b[31m\n";
    char path[4200];
    snprintf(path, sizeof path, "%s/in.txt", f->dir);
    tu_write_file(f->dir, "in.txt", in, strlen(in));
    struct tu_run rec = st_run(NULL, "record", "-o", f->trace, "--stdin", path, "--",
                               tu_guest("echo-stdin"), NULL);
    assert_int_equal(rec.status, 0);
    assert_string_equal(rec.out, in);
    tu_run_release(&rec);
    struct tu_run r = st_run(NULL, "replay", f->trace, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, in);
    tu_run_release(&r);
    rec = st_run(NULL, "record", "-o", f->trace, "--", tguest(), "stderr-esc", NULL);
    r = st_run(NULL, "replay", f->trace, NULL);
    assert_string_equal(rec.err, "\x1b[2Jx\n");
    assert_non_null(strstr(r.err, "\x1b[2Jx\n"));
    tu_run_release(&r);
    tu_run_release(&rec);
}

/* A trace names its executable: replay runs it only when its hash is the
 * recorded one (a crafted or stale header could name a shell), and another
 * one only when the user says so with --exe. */
static void test_replay_refuses_an_executable_whose_hash_differs(void **state)
{
    struct fixture *f = *state;
    char exe[4200], cmd[9000];
    snprintf(exe, sizeof exe, "%s/guest", f->dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", tguest(), exe);
    assert_int_equal(system(cmd), 0);
    struct tu_run rec = st_run(NULL, "record", "-o", f->trace, "--", exe, "exit", "3", NULL);
    assert_int_equal(rec.status, 3);
    tu_run_release(&rec);
    /* The file at the recorded path is now another program. */
    snprintf(cmd, sizeof cmd, "cp /bin/sh '%s'", exe);
    assert_int_equal(system(cmd), 0);
    struct tu_run r = st_run(NULL, "replay", f->trace, NULL);
    assert_int_not_equal(r.status, 0);
    assert_int_not_equal(r.status, 3);
    assert_true(has(r.err, "is not the recorded executable (its hash differs)"));
    assert_true(has(r.err, "--exe"));
    assert_string_equal(r.out, "");
    tu_run_release(&r);
    /* Named by the user, the other program runs (with a warning). */
    r = st_run(NULL, "replay", "--exe", tguest(), f->trace, NULL);
    assert_int_equal(r.status, 3);
    tu_run_release(&r);
}

/* A real sandbox-2 PyPy (pypy2, pypy3; tests/pypy_env.h, the build in the
 * fixture's `arg`) replays from its trace alone, and another program text is
 * reported as a divergence. */
static void test_replay_of_a_real_pypy(void **state)
{
    struct fixture *f = *state;
    struct tu_pypy *py = f->arg;
    TU_NEED_PYPY(py);
    const char *exe = py->exe, *lib = py->lib;
    struct tu_run rec = st_run(NULL, "record", "-o", f->trace, "--timeout", "120", "--lib-path",
                               lib, "--", exe, "-S", "-c", "print(6*7)", NULL);
    assert_int_equal(rec.status, 0);
    assert_string_equal(rec.out, "42\n");
    /* Replayed without --lib-path: nothing of the library is read. */
    struct tu_run r = st_run(NULL, "replay", "--timeout", "120", f->trace, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "42\n");
    assert_false(has(r.err, "divergence"));
    tu_run_release(&r);

    /* Another program text: a small wrapper, compiled here, that starts the
     * same PyPy with the recorded argv[0] and `print(6*8)` (no jail: the
     * wrapper's exec is not the guest's own). */
    char src[8192];
    snprintf(src, sizeof src,
             "#include <unistd.h>\n"
             "int main(int argc, char **argv) {\n"
             "    (void)argc;\n"
             "    char *args[] = { argv[0], \"-S\", \"-c\", \"print(6*8)\", 0 };\n"
             "    execv(\"%s\", args);\n"
             "    return 127;\n"
             "}\n", exe);
    tu_write_file(f->dir, "other.c", src, strlen(src));
    char cmd[8400], wrapper[4300];
    snprintf(wrapper, sizeof wrapper, "%s/other", f->dir);
    snprintf(cmd, sizeof cmd, "cc -o '%s' '%s/other.c'", wrapper, f->dir);
    const char *sh[] = { "/bin/sh", "-c", cmd, NULL };
    struct tu_run cc = tu_run(sh, NULL);
    if (cc.status != 0)
        fail_msg("cannot compile the wrapper: %s", cc.err);
    tu_run_release(&cc);
    long seq = find_event(f->trace, TRACE_EV_MEM_READ, "42\n", NULL);
    assert_true(seq > 0);
    r = st_run(NULL, "replay", "--timeout", "120", "--no-jail", "--exe", wrapper, f->trace, NULL);
    assert_int_equal(r.status, 65);
    /* Reported at the first request that differs: the one printing 48, or
     * earlier if PyPy's own requests already differ. */
    const char *at = strstr(r.err, "divergence at event ");
    assert_non_null(at);
    long got = strtol(at + strlen("divergence at event "), NULL, 10);
    assert_true(got > 0 && got <= seq);
    tu_run_release(&r);
    tu_run_release(&rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replay_every_example_guest_with_the_world_deleted,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_needs_no_time_random_or_stdin, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_reports_a_different_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_reports_another_file_opened, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_reports_one_more_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_keep_going_resynchronises_after_a_missing_call,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_check_exits_zero_only_for_identical_behaviour,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_replay_of_a_truncated_trace_goes_to_its_end_and_says_so, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_stop_at_prints_the_pid_and_waits_for_enter,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_replay_stop_at_holds_the_guest_at_the_same_point_every_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_print_events_shows_each_event, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_ends_like_a_recorded_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_command_line_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_of_a_keyed_trace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_reproduces_every_way_a_run_ends, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_wants_the_recorded_protocol_violation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_puts_the_guest_in_the_recorded_jail, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_never_takes_the_jail_from_the_trace, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_refuses_an_executable_whose_hash_differs,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_output_is_shown_like_run, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_of_a_tap_trace, setup, teardown),
        { "test_replay_of_a_real_pypy(pypy2)", test_replay_of_a_real_pypy, setup, teardown,
          &tu_pypy2 },
        { "test_replay_of_a_real_pypy(pypy3)", test_replay_of_a_real_pypy, setup, teardown,
          &tu_pypy3 },
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
