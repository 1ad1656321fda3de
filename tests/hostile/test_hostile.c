/* The hostile-guest suite: each case records one attack of
 * tests/hostile/hostile.c with `sandtrace record` and checks the
 * controller's reaction:
 *  - it stays up: `sandtrace` ends by itself with the documented exit
 *    status, writes the outcome (--outcome) and closes the trace cleanly;
 *  - the outcome's status is the expected one;
 *  - an end other than a plain exit is named in exactly one line
 *    "sandtrace record: ..." on stderr (and no such line otherwise);
 *  - what the guest saw of a refused attack (its stdout) is the refusal;
 *  - the trace verifies, ends with the guest's exit, and the event before
 *    it names the violation or the limit.
 * docs/security.md tabulates the same cases. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/testutil.h"
#include "tests/tracer/trace_events.h"

#define MAX_ARGS 4
#define MAX_OPTS 8
#define MAX_OUT 5

struct hcase {
    const char *name;                 /* the test's name; also the attack unless args[0] */
    const char *args[MAX_ARGS];       /* attack and its arguments (args[0] NULL: name) */
    const char *opts[MAX_OPTS];       /* run options; @DATA@ and @IN@ are fixture paths */
    int exit_status;                  /* of `sandtrace record` */
    const char *status;               /* outcome "status" */
    const char *diag;                 /* in the one "sandtrace record:" line; NULL: none */
    const char *out_has[MAX_OUT];     /* on the guest's stdout */
    const char *out_not;              /* never on the guest's stdout */
    const char *err_has;              /* on stderr (the guest's, passed through) */
    enum trace_event_kind end;        /* the event before GUEST_EXIT (0: not checked) */
    const char *end_text;             /* its violation text, limit name, note or signature */
    int mem_frees;                    /* MEM_FREE events expected (-1: not checked) */
    long max_rss_mib;                 /* the controller's peak resident set stays below (0: not checked) */
    long max_trace_kib;               /* the trace file stays below (0: not checked) */
};

#define V(text) .end = TRACE_EV_VIOLATION, .end_text = (text)
#define L(limit) .end = TRACE_EV_LIMIT, .end_text = (limit)
#define VIOLATION(text) 76, "violation", "protocol violation: " text, V(text)
#define SEGV 139, "signaled", "killed by signal 11"
/* The warden kills it, and the trace's last word before the end names the
 * call (`what`: "socket(", ...). */
#define JAIL_KILLS(what) 78, "seccomp", "killed by the seccomp jail for a forbidden direct system call: " what, \
    .end = TRACE_EV_NOTE, .end_text = "jail: forbidden " what
#define REFUSED 0, "exited", NULL
/* Attacks on the replies to R and Z, which only exist where the controller
 * sends them: with direct memory access it reads the guest's memory itself
 * and these lies are never asked for. */
#define PROTO "--protocol-memory"

static const struct hcase cases[] = {
    /* ---- malformed requests */
    { "zero-length", { 0 }, { 0 }, VIOLATION("request with a zero-length signature"), .mem_frees = -1 },
    { "name-255-no-parens", { 0 }, { 0 }, VIOLATION("malformed signature text"), .mem_frees = -1 },
    { "name-255-unknown", { 0 }, { 0 }, 77, "unknown-call", "which has no entry in the registry",
      .end = TRACE_EV_NOTE, .end_text = "unknown function 'xxxx", .mem_frees = -1 },
    { "length-past-eof", { 0 }, { 0 }, VIOLATION("stream ended inside a message"), .mem_frees = -1 },
    { "no-parens", { 0 }, { 0 }, VIOLATION("malformed signature text"), .mem_frees = -1 },
    { "unknown-arg-kind", { 0 }, { 0 }, VIOLATION("unknown kind letter in signature"), .mem_frees = -1 },
    { "unknown-result-kind", { 0 }, { 0 }, VIOLATION("unknown kind letter in signature"), .mem_frees = -1 },
    { "nul-in-text", { 0 }, { 0 }, VIOLATION("malformed signature text"), .mem_frees = -1 },
    { "binary-text", { 0 }, { 0 }, VIOLATION("malformed signature text"), .mem_frees = -1 },
    { "unbalanced-parens", { 0 }, { 0 }, VIOLATION("unknown kind letter in signature"), .mem_frees = -1 },
    { "too-many-args", { 0 }, { 0 }, VIOLATION("more than 32 arguments"), .mem_frees = -1 },
    { "args-cut-by-eof", { 0 }, { 0 }, VIOLATION("stream ended inside a message"), .mem_frees = -1 },
    { "garbage-after-request", { 0 }, { 0 }, VIOLATION("malformed signature text"), .mem_frees = -1 },
    { "unknown-function", { 0 }, { 0 }, 77, "unknown-call", "called 'escape_sandbox(i)i'",
      .out_not = "escape_sandbox:", .end = TRACE_EV_NOTE,
      .end_text = "unknown function 'escape_sandbox(i)i'", .mem_frees = -1 },
    { "unknown-function-allowed", { "unknown-function" }, { "--allow-unknown" }, REFUSED,
      { "escape_sandbox: -1 ENOSYS" }, .mem_frees = -1 },
    /* ---- replies to the controller's R, Z, M */
    { "z-reply-too-long", { 0 }, { PROTO }, VIOLATION("reply does not match its command"), .mem_frees = -1 },
    { "z-reply-huge", { 0 }, { PROTO }, VIOLATION("reply does not match its command"), .mem_frees = -1 },
    { "r-reply-short", { 0 }, { PROTO }, VIOLATION("stream ended inside a message"), .mem_frees = -1 },
    { "m-reply-null", { 0 }, { PROTO }, REFUSED, { "opendir with M answered NULL: -1 ENOMEM" }, .mem_frees = -1 },
    { "m-reply-forged", { 0 }, { PROTO }, SEGV, { "opendir returned 0x10" }, .out_not = "readdir survived",
      .mem_frees = -1 },
    { "m-reply-eof", { 0 }, { 0 }, VIOLATION("stream ended inside a message"), .mem_frees = -1 },
    /* ---- lying counts, strings without NUL, pointers never owned */
    { "write-count-1gib", { 0 }, { 0 }, REFUSED, { "write of 1 GiB: 262144" }, .mem_frees = -1 },
    { "write-count-past-mapping", { 0 }, { 0 }, SEGV, .out_not = "xxxxxxxxxxxxxxxxx", .mem_frees = -1 },
    { "read-count-1gib", { 0 }, { "--stdin", "@IN@" }, REFUSED, { "read of 1 GiB: 262144" }, .mem_frees = -1 },
    { "read-count-past-mapping", { 0 }, { "--stdin", "@IN@" }, SEGV, .mem_frees = -1 },
    { "negative-count", { 0 }, { 0 }, REFUSED, { "write count -1: -1 EINVAL", "read count -1: -1 EINVAL" },
      .mem_frees = -1 },
    { "z-no-nul", { 0 }, { 0 }, REFUSED, { "open of a path without NUL: -1 ENAMETOOLONG" }, .mem_frees = -1 },
    { "z-no-nul-at-cliff", { 0 }, { 0 }, SEGV, .mem_frees = -1 },
    { "wild-pointer-path", { 0 }, { 0 }, SEGV, .mem_frees = -1 },
    { "wild-pointer-buffer", { 0 }, { 0 }, SEGV, .mem_frees = -1 },
    { "kernel-pointer", { 0 }, { 0 }, SEGV, .mem_frees = -1 },
    { "null-pointers", { 0 }, { 0 }, REFUSED,
      { "open(NULL): -1 EFAULT", "stat64(NULL): -1 EFAULT", "stat64(\"/\", NULL): -1 EFAULT",
        "write(1, NULL, 5): -1 EFAULT", "read(0, NULL, 5): -1 EFAULT" }, .mem_frees = -1 },
    /* ---- M size bombs */
    { "m-bomb-opendir", { 0 }, { 0 }, REFUSED, { "opendir succeeded 253 times, then EMFILE" },
      .mem_frees = 0 },
    { "m-bomb-getcwd", { 0 }, { 0 }, REFUSED, { "getcwd(NULL, 2^62): '/tmp' (4 bytes)" }, .mem_frees = -1 },
    { "m-bomb-getenv", { 0 }, { "--env", "HOSTILE=yes" }, REFUSED,
      { "getenv: 1 distinct pointer(s), value 'yes'" }, .mem_frees = -1 },
    /* ---- paths */
    { "path-dotdot", { "open-path", "/data/../../../etc/passwd" }, { "--mount", "/data=@DATA@" }, REFUSED,
      { "open: -1 ENOENT" }, .out_not = "root:", .mem_frees = -1 },
    { "path-double-slash", { "open-path", "//data//..//..//etc//passwd" }, { "--mount", "/data=@DATA@" },
      REFUSED, { "open: -1 ENOENT" }, .out_not = "root:", .mem_frees = -1 },
    { "path-embedded-nul", { 0 }, { "--mount", "/data=@DATA@" }, REFUSED, { "read: 7 'inside" },
      .out_not = "root:", .mem_frees = -1 },
    { "path-very-long", { 0 }, { 0 }, REFUSED,
      { "open of an 8 KiB path: -1 ENAMETOOLONG", "stat of a 298-byte name: -1 ENAMETOOLONG" },
      .mem_frees = -1 },
    { "symlink-leaving-mount", { "open-path", "/data/escape" }, { "--mount", "/data=@DATA@" }, REFUSED,
      { "open: -1 EACCES" }, .out_not = "root:", .mem_frees = -1 },
    { "symlink-to-parent", { "open-path", "/data/updir/etc/passwd" }, { "--mount", "/data=@DATA@" },
      REFUSED, { "open: -1 EACCES" }, .out_not = "root:", .mem_frees = -1 },
    { "proc-self", { 0 }, { 0 }, REFUSED,
      { "open /proc/self/exe: -1 ENOENT", "readlink /proc/self/exe: -1 ENOENT",
        "open /proc/self/mem: -1 ENOENT", "stat /proc/1/root: -1 ENOENT",
        "open /proc/self/fd/1: -1 ENOENT" }, .mem_frees = -1 },
    { "chdir-escape", { 0 }, { "--mount", "/data=@DATA@" }, REFUSED,
      { "cwd after 10 x chdir(\"..\"): '/'", "open etc/passwd: -1 ENOENT",
        "openat(/data, ../../etc/passwd): -1 ENOENT" }, .out_not = "root:", .mem_frees = -1 },
    { "write-outside-tmp", { 0 }, { "--mount", "/data=@DATA@" }, REFUSED,
      { "open /data/new O_CREAT: -1 EROFS", "open /data/secret O_RDWR: -1 EROFS",
        "mkdir /evil: -1 EROFS", "unlink /data/secret: -1 EROFS",
        "rename /data/secret /tmp/x: -1 EROFS" }, .mem_frees = -1 },
    { "tmp-quota", { 0 }, { "--tmp-write=64K" }, REFUSED,
      { "bytes to /tmp/big, then ENOSPC", "pwrite at 1 TiB: -1 ENOSPC", "ftruncate to 1 TiB: -1 ENOSPC",
        "write at 2^62: -1 EFBIG" }, .mem_frees = -1 },
    /* The quota counts the memory /tmp holds: 48 + 16 files of 3 MiB,
     * each truncated, leave the controller's peak near one quota of 4 MiB
     * (on top of its own few MiB), not at 192 MiB. */
    { "tmp-grow-truncate", { 0 }, { "--tmp-write=4M" }, REFUSED,
      { "ftruncate to 3 MiB and back to 0, 48 files: 48 grew, then no error",
        "write 3 MiB and ftruncate to 0, 16 files: 16 grew, then no error" }, .mem_frees = -1,
      .max_rss_mib = 40 },
    { "tmp-entry-bomb", { 0 }, { "--tmp-write=64K" }, REFUSED,
      { "created 255 entries in /tmp, then ENOSPC" }, .mem_frees = -1 },
    { "tmp-tricks", { 0 }, { "--tmp-write=64K" }, REFUSED,
      { "rename /tmp/a /tmp/a/b/c: -1 EINVAL", "rmdir /tmp: -1 EROFS",
        "rmdir /tmp/a/b (cwd, open, streamed): 0", "create in the removed cwd: -1 ENOENT",
        "openat the removed directory: -1 ENOENT" }, .mem_frees = 1 },
    /* ---- descriptors */
    { "fd-exhaustion", { 0 }, { 0 }, REFUSED,
      { "opened /dev/null 253 times, then EMFILE", "close 3: 0", "open after close: 3" }, .mem_frees = -1 },
    { "fd-never-opened", { 0 }, { 0 }, REFUSED,
      { "read(77): -1 EBADF", "lseek(-1): -1 EBADF", "close(1099511627776): -1 EBADF",
        "fstat64(-9223372036854775808): -1 EBADF", "read(256): -1 EBADF" }, .mem_frees = -1 },
    { "fd-closed-std", { 0 }, { 0 }, REFUSED, .out_not = "lost",
      .err_has = "write(1) after close: -1 EBADF", .mem_frees = -1 },
    { "readdir-not-dir", { 0 }, { 0 }, REFUSED,
      { "readdir(0x1234): -1 EBADF", "closedir(getcwd's block): -1 EBADF",
        "dirfd(a stack address): -1 EBADF", "closedir(d) again: -1 EBADF",
        "readdir(d) after closedir: -1 EBADF" }, .mem_frees = 1 },
    /* ---- resources */
    { "busy-loop-timeout", { "busy-loop" }, { "--timeout", "0.5" }, 71, "timeout", "timeout after 0.5 s",
      L("timeout"), .mem_frees = -1 },
    { "busy-loop-cpu", { "busy-loop" }, { "--cpu", "1" }, 72, "cpu", "cpu limit of 1 s reached",
      L("cpu"), .mem_frees = -1 },
    { "request-never-completed", { 0 }, { "--timeout", "0.5" }, 71, "timeout", "timeout after 0.5 s",
      L("timeout"), .mem_frees = -1 },
    { "never-reads-commands", { 0 }, { "--stdin", "@IN@", "--timeout", "0.5" }, 71, "timeout",
      "timeout after 0.5 s", L("timeout"), .mem_frees = -1 },
    { "exit-with-request-open", { 0 }, { 0 }, 5, "exited", NULL, .mem_frees = -1 },
    { "memory-bomb", { 0 }, { "--memory", "64M" }, 73, "memory", "under the memory limit of 67108864 bytes",
      L("memory"), .mem_frees = -1 },
    { "stdout-flood", { 0 }, { "--max-output", "64K" }, 74, "output", "output limit of 65536 bytes reached",
      { "[sandtrace: output truncated at 65536 bytes]" }, L("output"), .mem_frees = -1 },
    { "stderr-flood", { 0 }, { "--max-output", "64K" }, 74, "output", "output limit of 65536 bytes reached",
      .err_has = "[sandtrace: output truncated at 65536 bytes]", L("output"), .mem_frees = -1 },
    /* --max-trace ends a guest whose trace grows past it (issue #13, hole
     * 10): the trace stops near 1 MiB of the 64 MiB written, and verifies. */
    { "devnull-flood", { 0 }, { "--max-trace", "1M" }, 80, "trace-limit",
      "trace limit of 1048576 bytes reached", .out_not = "wrote 256 blocks", L("trace"),
      .mem_frees = -1, .max_trace_kib = 2048 },
    /* A trace names at most 65536 signatures: the next new one ends the
     * guest as a recorded limit, not an unrecorded run (issue #13, hole 11). */
    { "signature-flood", { 0 }, { "--allow-unknown", "--timeout", "300" /* slow under ASan */ }, 80,
      "trace-limit",
      "more than 65536 distinct signatures", .out_not = "70000 distinct", L("trace"),
      .mem_frees = -1 },
    { "calls-flood", { 0 }, { "--max-calls", "1000" }, 75, "max-calls", "more than 1000 calls",
      L("calls"), .mem_frees = -1 },
    /* ---- direct system calls (the jail) */
    { "direct-open-write", { 0 }, { 0 }, JAIL_KILLS("openat("), .out_not = "direct open", .mem_frees = -1 },
    { "direct-socket", { 0 }, { 0 }, JAIL_KILLS("socket("), .out_not = "direct socket", .mem_frees = -1 },
    { "direct-fork", { 0 }, { 0 }, JAIL_KILLS("fork("), .out_not = "direct fork", .mem_frees = -1 },
    { "direct-clone", { 0 }, { 0 }, JAIL_KILLS("clone("), .out_not = "direct clone", .mem_frees = -1 },
    { "direct-execve", { 0 }, { 0 }, JAIL_KILLS("execve("), .out_not = "escaped", .mem_frees = -1 },
    { "direct-kill", { 0 }, { 0 }, JAIL_KILLS("kill("), .out_not = "direct kill", .mem_frees = -1 },
    { "direct-ptrace", { 0 }, { 0 }, JAIL_KILLS("ptrace("), .out_not = "direct ptrace", .mem_frees = -1 },
    /* A question about itself: answered EPERM (and named), the guest goes on. */
    { "direct-getppid", { 0 }, { 0 }, REFUSED, .out_has = { "direct getppid returned -1" },
      .mem_frees = -1 },
    { "sigstop", { 0 }, { 0 }, JAIL_KILLS("tgkill("), .out_not = "resumed", .mem_frees = -1 },
    { "sigstop-without-jail", { "sigstop" }, { "--no-seccomp", "--timeout", "0.5" }, 71, "timeout",
      "timeout after 0.5 s", .out_not = "resumed", L("timeout"), .mem_frees = -1 },
    /* ---- its own pipes, fork, exit */
    { "close-stdout-then-spin", { 0 }, { "--timeout", "0.5" }, 71, "timeout", "timeout after 0.5 s",
      L("timeout"), .mem_frees = -1 },
    { "close-stdout-then-exit", { 0 }, { 0 }, 9, "exited", NULL, { "before close" }, .mem_frees = -1 },
    { "close-stdout-then-request", { 0 }, { 0 }, 134, "signaled", "killed by signal 6",
      .err_has = "sandbox: cannot write to the controller", .mem_frees = -1 },
    { "fork-request", { 0 }, { 0 }, REFUSED,
      { "fork() request: -1 EPERM", "execve request: -1 EPERM", "kill request: -1 EPERM" },
      .mem_frees = -1 },
    { "write-after-exit", { 0 }, { 0 }, 3, "exited", NULL, .out_not = "after _exit",
      .end = TRACE_EV_REQUEST, .end_text = "_exit(i)v", .mem_frees = -1 },
    { "exit-with-status-code", { 0 }, { 0 }, 76, "exited", NULL, .mem_frees = -1 },
};

#define NCASES (sizeof cases / sizeof cases[0])

static char *fixture_dir;

/* The fixture: a directory to mount (a file, symlinks leaving it), and an
 * input file larger than one read's cap. */
static int make_fixture(void **state)
{
    (void)state;
    fixture_dir = tu_mkdtemp();
    char path[1024];
    snprintf(path, sizeof path, "%s/data", fixture_dir);
    if (mkdir(path, 0755) != 0)
        return -1;
    tu_write_file(path, "secret", "inside\n", 7);
    char link[1100];
    snprintf(link, sizeof link, "%s/escape", path);
    if (symlink("/etc/passwd", link) != 0)
        return -1;
    snprintf(link, sizeof link, "%s/updir", path);
    if (symlink("..", link) != 0)
        return -1;
    static char input[300 * 1024];
    memset(input, 'i', sizeof input);
    tu_write_file(fixture_dir, "input.bin", input, sizeof input);
    return 0;
}

static int remove_fixture(void **state)
{
    (void)state;
    tu_rm_rf(fixture_dir);
    free(fixture_dir);
    return 0;
}

static const char *substitute(const char *opt, char *buf, size_t cap)
{
    if (!strcmp(opt, "@IN@")) {
        snprintf(buf, cap, "%s/input.bin", fixture_dir);
        return buf;
    }
    const char *at = strstr(opt, "@DATA@");
    if (!at)
        return opt;
    snprintf(buf, cap, "%.*s%s/data%s", (int)(at - opt), opt, fixture_dir, at + 6);
    return buf;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    if (buf)
        (void)!fread(buf, 1, 65535, f);
    fclose(f);
    return buf;
}

/* The text an event carries, for end_text. */
static const char *event_text(const struct tev *e)
{
    if (e->kind == TRACE_EV_REQUEST)
        return e->sig;
    return e->text ? e->text : "";
}

static void check_trace(const struct hcase *c, const char *trace)
{
    /* It verifies (chain, checksums, footer). */
    const char *vargs[] = { "verify", trace, NULL };
    struct tu_run v = tu_run_sandtrace(vargs, NULL);
    if (v.status != 0)
        fail_msg("%s: 'sandtrace verify' failed (%d): %s%s", c->name, v.status, v.out, v.err);
    tu_run_release(&v);

    struct tevs t;
    assert_int_equal(tevs_read(trace, &t), 0);
    if (t.end != 0)
        fail_msg("%s: the trace does not end cleanly (%d)", c->name, t.end);
    assert_true(t.n >= 1);
    const struct tev *last = &t.ev[t.n - 1];
    if (last->kind != TRACE_EV_GUEST_EXIT)
        fail_msg("%s: the last event is %s, not guest_exit", c->name, trace_event_kind_name(last->kind));
    if (c->diag && !strstr(last->text, c->diag))
        fail_msg("%s: the exit event's reason '%s' does not name '%s'", c->name, last->text, c->diag);
    if (c->end) {
        long i = (long)t.n - 2;
        while (i >= 0 && t.ev[i].kind == TRACE_EV_GUEST_STDERR)
            i--;
        if (i < 0)
            fail_msg("%s: no event before the exit", c->name);
        const struct tev *e = &t.ev[i];
        if (e->kind != c->end)
            fail_msg("%s: the event before the exit is %s, want %s", c->name,
                     trace_event_kind_name(e->kind), trace_event_kind_name(c->end));
        if (!strstr(event_text(e), c->end_text))
            fail_msg("%s: the %s before the exit says '%s', want '%s'", c->name,
                     trace_event_kind_name(e->kind), event_text(e), c->end_text);
        /* A violation or a limit is recorded once. */
        if (c->end == TRACE_EV_VIOLATION || c->end == TRACE_EV_LIMIT)
            assert_int_equal(tevs_count(&t, c->end), 1);
    } else {
        assert_int_equal(tevs_count(&t, TRACE_EV_VIOLATION), 0);
    }
    if (c->mem_frees >= 0 && tevs_count(&t, TRACE_EV_MEM_FREE) != (size_t)c->mem_frees)
        fail_msg("%s: %zu mem_free events, want %d", c->name, tevs_count(&t, TRACE_EV_MEM_FREE),
                 c->mem_frees);
    tevs_release(&t);
}

/* The lines of `err` that start with "sandtrace record: ". */
static int diagnostic_lines(const char *err, const char **first, size_t *first_len)
{
    int n = 0;
    const char *p = err;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len >= 18 && !strncmp(p, "sandtrace record: ", 18)) {
            if (n++ == 0) {
                *first = p;
                *first_len = len;
            }
        }
        p += len + (eol ? 1 : 0);
    }
    return n;
}

/* 1 in the ASan build of make check. */
static int sanitized_build(void)
{
#ifdef __SANITIZE_ADDRESS__
    return 1;
#else
    return 0;
#endif
}

/* Each case runs three times: with the default fast paths (the guest's
 * memory read and written directly, its requests read with blocking
 * reads), with the protocol's commands only, and with polling waits
 * (SANDTRACE_LINK_WAIT=poll: a non-blocking read and poll() whenever the
 * guest has not written yet). */
enum hmode { H_FAST, H_PROTOCOL_MEMORY, H_POLLED_WAITS, H_MODES };

static const char *const mode_suffix[H_MODES] = { "", "-p", "-w" };
static const char *const mode_name[H_MODES] = { "", "(protocol-memory)", "(polled-waits)" };

struct hrun {
    const struct hcase *c;
    int protocol_memory;
    int polled_waits;
    char name[96];
};

static void run_case(void **state)
{
    const struct hrun *h = *state;
    const struct hcase *c = h->c;
    char trace[4200], outcome[4200];
    const char *suffix = mode_suffix[h->protocol_memory ? H_PROTOCOL_MEMORY
                                     : h->polled_waits  ? H_POLLED_WAITS
                                                        : H_FAST];
    snprintf(trace, sizeof trace, "%s/%s%s.sbt", fixture_dir, c->name, suffix);
    snprintf(outcome, sizeof outcome, "%s/%s%s.json", fixture_dir, c->name, suffix);
    char subst[MAX_OPTS][4200];
    const char *argv[64];
    size_t n = 0;
    argv[n++] = tu_sandtrace();
    argv[n++] = "record";
    argv[n++] = "-o";
    argv[n++] = trace;
    argv[n++] = "--outcome";
    argv[n++] = outcome;
    argv[n++] = "--timeout"; /* a safety net; cases that test the timeout set their own */
    argv[n++] = "20";
    if (h->protocol_memory)
        argv[n++] = "--protocol-memory";
    for (size_t i = 0; i < MAX_OPTS && c->opts[i]; i++)
        argv[n++] = substitute(c->opts[i], subst[i], sizeof subst[i]);
    argv[n++] = "--";
    argv[n++] = tu_build_path("hostile/hostile");
    argv[n++] = c->args[0] ? c->args[0] : c->name;
    for (size_t i = 1; i < MAX_ARGS && c->args[i]; i++)
        argv[n++] = c->args[i];
    argv[n] = NULL;

    if (h->polled_waits)
        setenv("SANDTRACE_LINK_WAIT", "poll", 1);
    /* The harness's own safety net (60 s) is shorter than what the
     * slowest cases (signature-flood: 70 000 requests) need under ASan on
     * a loaded machine; their sandtrace --timeout still bounds them. */
    int saved_timeout = tu_timeout_seconds;
    if (sanitized_build())
        tu_timeout_seconds = 330;
    struct tu_run r = tu_run(argv, NULL);
    tu_timeout_seconds = saved_timeout;
    unsetenv("SANDTRACE_LINK_WAIT");
    if (r.status != c->exit_status)
        fail_msg("%s: exit status %d, want %d; stderr: %.2000s", c->name, r.status, c->exit_status,
                 r.err);
    /* The bound holds for the controller as built for use; under ASan its
     * allocator keeps what is freed (quarantine, size-class caches), so the
     * sanitized build (make check) checks memory errors here, not the
     * resident set. */
    if (c->max_rss_mib && !sanitized_build() && r.max_rss_kib >= c->max_rss_mib * 1024)
        fail_msg("%s: the controller's peak resident set was %ld KiB, want below %ld MiB", c->name,
                 r.max_rss_kib, c->max_rss_mib);

    char *json = read_file(outcome);
    if (!json)
        fail_msg("%s: no outcome file", c->name);
    char want[128];
    snprintf(want, sizeof want, "{\"schema_version\":1,\"status\":\"%s\",", c->status);
    if (strncmp(json, want, strlen(want)) != 0)
        fail_msg("%s: outcome %s, want status '%s'", c->name, json, c->status);
    free(json);

    const char *line = NULL;
    size_t line_len = 0;
    int lines = diagnostic_lines(r.err, &line, &line_len);
    if (c->diag) {
        if (lines != 1)
            fail_msg("%s: %d diagnostic lines, want 1; stderr: %.2000s", c->name, lines, r.err);
        char *l = strndup(line, line_len);
        if (!strstr(l, c->diag))
            fail_msg("%s: the diagnostic '%s' does not say '%s'", c->name, l, c->diag);
        free(l);
    } else if (lines != 0) {
        fail_msg("%s: a diagnostic line for a plain exit: %.2000s", c->name, r.err);
    }
    for (size_t i = 0; i < MAX_OUT && c->out_has[i]; i++)
        if (!strstr(r.out, c->out_has[i]))
            fail_msg("%s: stdout lacks '%s': %.2000s", c->name, c->out_has[i], r.out);
    if (c->out_not && strstr(r.out, c->out_not))
        fail_msg("%s: stdout has '%s'", c->name, c->out_not);
    if (c->err_has && !strstr(r.err, c->err_has))
        fail_msg("%s: stderr lacks '%s': %.2000s", c->name, c->err_has, r.err);
    tu_run_release(&r);

    struct stat st;
    if (c->max_trace_kib && (stat(trace, &st) != 0 || st.st_size >= c->max_trace_kib * 1024))
        fail_msg("%s: the trace has %lld bytes, want below %ld KiB", c->name,
                 (long long)st.st_size, c->max_trace_kib);
    check_trace(c, trace);
    unlink(trace);
    unlink(outcome);
}

/* Every attack the program knows has a case here (and the other way round). */
static void test_every_attack_has_a_case(void **state)
{
    (void)state;
    const char *argv[] = { tu_sandtrace(), "run", "--quiet", "--", tu_build_path("hostile/hostile"),
                           "list", NULL };
    struct tu_run r = tu_run(argv, NULL);
    assert_int_equal(r.status, 0);
    size_t attacks = 0;
    for (char *p = r.out, *eol; *p; p = eol + 1) {
        eol = strchr(p, '\n');
        if (!eol)
            break;
        *eol = '\0';
        int found = 0;
        for (size_t i = 0; i < NCASES && !found; i++)
            found = !strcmp(cases[i].args[0] ? cases[i].args[0] : cases[i].name, p);
        if (!found)
            fail_msg("attack '%s' has no case", p);
        attacks++;
    }
    assert_true(attacks >= 40);
    assert_true(NCASES >= 40);
    tu_run_release(&r);
}

int main(void)
{

    static struct hrun runs[H_MODES * NCASES];
    struct CMUnitTest tests[H_MODES * NCASES + 1];
    for (size_t i = 0; i < H_MODES * NCASES; i++) {
        struct hrun *h = &runs[i];
        enum hmode m = (enum hmode)(i / NCASES);
        h->c = &cases[i % NCASES];
        h->protocol_memory = m == H_PROTOCOL_MEMORY;
        h->polled_waits = m == H_POLLED_WAITS;
        snprintf(h->name, sizeof h->name, "%s%s", h->c->name, mode_name[m]);
        tests[i] = (struct CMUnitTest)cmocka_unit_test_prestate(run_case, h);
        tests[i].name = h->name;
    }
    tests[H_MODES * NCASES] = (struct CMUnitTest)cmocka_unit_test(test_every_attack_has_a_case);
    return _cmocka_run_group_tests("hostile", tests, H_MODES * NCASES + 1, make_fixture,
                                   remove_fixture);
}
