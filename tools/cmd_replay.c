/* sandtrace replay: re-drive a guest from a trace and report the first
 * divergence (replayer/replayer.h does the work; this file prints). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/registry.h"
#include "common/st_util.h"
#include "format/trace.h"
#include "controller/session.h"
#include "replayer/replayer.h"
#include "tools/commands.h"
#include "tools/options.h"
#include "tools/progress.h"
#include "tools/replay_corpus.h"
#include "tools/trace_calls.h"
#include "tools/trace_cli.h"
#include "tools/trace_print.h"
#include "tracer/tap.h"

/* The report of a divergence shows the calls of the last RING_EVENTS events
 * before it, at most RING_CALLS of them, decoded as `sandtrace dump` prints
 * them. */
#define RING_EVENTS 64
#define RING_CALLS 10
#define RING_DATA 64     /* bytes of data kept per event (the printer shows 32) */
#define RING_PATH 4096   /* bytes of a string read (a path: shown whole, as dump does) */
#define RING_TEXT 200    /* bytes kept of each text */

/* One of the last RING_EVENTS events, kept raw (its signature, texts and the
 * first bytes of its data copied) and decoded only when a divergence is
 * reported: formatting every event as it passed cost more than the rest of
 * the replay. */
struct ring_slot {
    struct trace_event ev;
    uint8_t bytes[TRACE_MAX_SIG_LEN + 1 + 2 * RING_TEXT + RING_PATH]; /* trace_event_pack */
};

struct replay_tool {
    int quiet;
    int check;
    int raw_stdout;              /* --raw-stdout, or stdout is no terminal */
    int stderr_tty;              /* stderr is a terminal: sanitized */
    int stopped;                 /* --stop-at paused the guest */
    int out_errno;               /* writing the guest's output to stdout failed */
    struct tp_options popt;
    struct tp_printer *printer;  /* --print-events: dump's format, on stderr */
    struct progress pg;          /* --check: events replayed, on a terminal */
    struct ring_slot *ring;      /* RING_EVENTS slots */
    unsigned ring_n, ring_next;
};

/* What the command line says. */
struct replay_args {
    struct rp_config cfg;
    struct replay_corpus_options corpus;
    const char *key_path;
    int check, quiet, raw_stdout, print_events, jobs_given;
    char **traces;
    int ntraces;
};

static void replay_usage(FILE *out)
{
    fprintf(out,
        "usage: sandtrace replay [OPTIONS] TRACE|-\n"
        "       sandtrace replay --check [-j N] [--junit FILE] [--reports DIR] TRACE|DIR...\n"
        "\n"
        "Starts the recorded guest again (the executable and argv of TRACE's header,\n"
        "ASLR off, the recorded jail and rlimits) and answers every request from the\n"
        "trace alone: no file, input, clock or environment of the recorded world is\n"
        "used. Each request must match the next recorded one (signature, arguments,\n"
        "the data the controller reads); the first mismatch is reported with the\n"
        "last %d calls before it, decoded as `sandtrace dump` prints them.\n"
        "Options may come before or after TRACE; `--` ends them. `-` reads the trace\n"
        "from standard input (not with --stop-at, which waits for Enter there).\n"
        "\n"
        "options:\n"
        "  --exe PATH        run PATH instead of the recorded executable (a warning is\n"
        "                    printed when its hash differs from the recorded one)\n"
        "  --check           regression test: no guest output, exit 0 if and only if\n"
        "                    the guest behaves exactly as recorded\n"
        "  -q, --quiet       no summary, note or progress line: only the guest's output\n"
        "                    and what went wrong\n"
        "  --raw-stdout      pass fd 1's bytes unchanged (default, as for `run`:\n"
        "                    non-printable bytes as ?)\n"
        "  --keep-going      report every divergence, resynchronising where possible\n"
        "                    (a call the recording lacks is refused with ENOSYS; calls\n"
        "                    the guest no longer makes are skipped)\n"
        "  --stop-at N       replay up to event N, then hold the guest blocked on its\n"
        "                    pending request, print its pid and the gdb command to\n"
        "                    attach, and go on after Enter (or SIGUSR1, SIGCONT); an N\n"
        "                    the trace does not have is a usage error\n"
        "  --print-events    print each call and event on stderr as it is replayed,\n"
        "                    in the format of `sandtrace dump`\n"
        "  --timeout SECS    kill the guest and fail after SECS seconds\n"
        "  --pin WHERE       the CPU the guest and the replayer run on: auto (default:\n"
        "                    one CPU for both; with many traces, each job its own),\n"
        "                    any (wherever the scheduler puts them), or a CPU number\n"
        "  --no-jail         no jail at all: no seccomp filter, namespaces or Landlock\n"
        "                    (otherwise always every layer this system has, whatever\n"
        "                    the trace says)\n"
        "  --key FILE        the chain key of a keyed trace\n"
        "  -h, --help        this text\n"
        "\n"
        "Many traces (with --check): several TRACEs, a DIR (its *.sbt files), or -j;\n"
        "each trace is replayed by its own `replay --check` process, a line per trace\n"
        "and a summary are printed (with -q: only the traces that failed), and the\n"
        "exit status is the worst of them:\n"
        "  -j, --jobs N      replay N traces at once (default: the number of CPUs);\n"
        "                    for replay, -j means jobs (as for make), not JSON\n"
        "  --junit FILE      write JUnit XML: a test case per trace, a divergence as\n"
        "                    its failure with the report as text\n"
        "  --reports DIR     keep each trace's report (its replay's stderr) as\n"
        "                    DIR/NAME.txt, and DIR/summary.json (every trace's verdict)\n"
        "\n"
        "The guest's output (its write(1) and write(2) requests) goes to stdout and\n"
        "stderr as in the recorded run; its own stderr (runtime diagnostics) is passed\n"
        "through live. Recorded GUEST_STDERR events are not printed a second time.\n"
        "\n"
        "exit status:\n"
        "  N     replay matched the whole trace: the recorded run's status, as `run`\n"
        "        gave it (the guest's code, 128+signal, 71..80 for a limit...);\n"
        "        with --check: 0\n"
        "  2     bad command line\n"
        "  4     the trace cannot be read (missing, a directory, not a trace)\n"
        "  5     the trace is damaged or ends early: replayed up to there\n"
        "  6     the guest's output cannot be written to stdout (many traces: the\n"
        "        lines, the JUnit file or the reports)\n"
        "  7     a keyed trace without --key, or the wrong key\n"
        "  65    the guest diverged from the trace\n"
        "  70    the replay could not run (the executable is missing or not the\n"
        "        recorded one, the guest could not be started)\n"
        "  71    --timeout ran out\n"
        "Many traces: 0 all identical, else 65 if one diverged, else 70 if one could\n"
        "not run (or timed out), else 4 if one is unreadable, else 5 if one is damaged,\n"
        "else 6.\n",
        RING_CALLS);
}

/* ---------------------------------------------------------- the ring */

/* Copies `ev` into `r` with its bytes in `r` (texts and data cut: a string
 * read, a path, up to RING_PATH bytes, other data up to RING_DATA). */
static void ring_keep(struct ring_slot *r, const struct trace_event *ev)
{
    size_t max_data = ev->kind == TRACE_EV_MEM_READ_STR ? RING_PATH : RING_DATA;
    if (trace_event_pack(&r->ev, ev, r->bytes, sizeof r->bytes, RING_TEXT, max_data) > sizeof r->bytes) {
        /* A signature longer than a trace may hold: the event without its bytes. */
        memset(&r->ev, 0, sizeof r->ev);
        r->ev.kind = ev->kind == TRACE_EV_REQUEST ? TRACE_EV_NOTE : ev->kind;
        r->ev.seq = ev->seq;
        r->ev.note.text = "";
    }
    /* The copy's data is cut: its length says so, so that a reader never
     * goes past what was kept (the printer marks a cut buffer with "..."). */
    switch (r->ev.kind) {
    case TRACE_EV_MEM_READ: case TRACE_EV_MEM_READ_STR: case TRACE_EV_MEM_WRITE:
    case TRACE_EV_MEM_ALLOC:
        if (r->ev.mem.len > max_data)
            r->ev.mem.len = max_data;
        break;
    case TRACE_EV_GUEST_STDERR:
        if (r->ev.guest_stderr.len > RING_DATA)
            r->ev.guest_stderr.len = RING_DATA;
        break;
    case TRACE_EV_VIOLATION:
        if (r->ev.violation.len > RING_DATA)
            r->ev.violation.len = RING_DATA;
        break;
    default:
        break;
    }
}

/* The ring's events from its oldest request on, decoded into calls and
 * printed into `out` as dump prints them: the last RING_CALLS calls and the
 * events among them. Returns the number of calls printed. */
static unsigned ring_decode(struct replay_tool *t, struct st_buf *out)
{
    struct tc_collector *col = tc_collector_new();
    struct st_buf all;
    st_buf_init(&all, 0);
    struct tp_printer *p = col ? tp_printer_new(&t->popt, NULL, &all) : NULL;
    /* Each item starts a line (or several, for a call's raw commands). */
    size_t start[RING_EVENTS + 1];
    unsigned ncall[RING_EVENTS + 1];
    unsigned items = 0, calls = 0;
    int started = 0;
    for (unsigned i = 0; p && i < t->ring_n; i++) {
        const struct trace_event *ev = &t->ring[(t->ring_next + RING_EVENTS - t->ring_n + i) % RING_EVENTS].ev;
        started |= ev->kind == TRACE_EV_REQUEST;
        if (started && tc_collector_add(col, ev) < 0)
            break;
    }
    if (p)
        tc_collector_finish(col);
    struct tc_item it;
    while (p && items < RING_EVENTS && tc_collector_pop(col, &it) == 1) {
        start[items] = all.len;
        calls += it.kind == TC_ITEM_CALL;
        ncall[items++] = calls;
        tp_printer_print_item(p, &it);
        tc_item_release(&it);
    }
    start[items] = all.len;
    /* From the first item of the last RING_CALLS calls on (ncall[i]: the
     * calls up to and with item i). */
    unsigned from = 0;
    while (from < items && calls - (from ? ncall[from - 1] : 0) > RING_CALLS)
        from++;
    unsigned shown = calls - (from ? ncall[from - 1] : 0);
    if (from < items)
        st_buf_add(out, all.data + start[from], all.len - start[from]);
    tp_printer_free(p);
    tc_collector_free(col);
    st_buf_release(&all);
    return shown;
}

/* ---------------------------------------------------------- callbacks */

static void on_event(void *ctx, const struct trace_event *ev)
{
    struct replay_tool *t = ctx;
    ring_keep(&t->ring[t->ring_next], ev);
    t->ring_next = (t->ring_next + 1) % RING_EVENTS;
    if (t->ring_n < RING_EVENTS)
        t->ring_n++;
    progress_update(&t->pg, ev->seq + 1);
    if (t->printer) {
        fflush(stdout);
        if (tp_printer_add_event(t->printer, ev) < 0)
            fprintf(stderr, "sandtrace replay: out of memory printing events\n");
    }
}

static void on_output(void *ctx, int fd, const void *data, size_t len)
{
    struct replay_tool *t = ctx;
    if (t->check)
        return;
    /* As `run` shows it: into a pipe or a file the bytes as they are; on a
     * terminal no control characters (UTF-8 passes). */
    if (fd == 2) {
        if (t->stderr_tty)
            st_write_sanitized(2, data, len);
        else
            (void)st_write_all(2, data, len);
        return;
    }
    if (t->out_errno)
        return; /* said once, at the end */
    int rc = t->raw_stdout ? st_write_all(1, data, len) : st_write_sanitized(1, data, len);
    if (rc < 0)
        t->out_errno = errno ? errno : EIO;
}

/* The live guest's real stderr: sanitized on a terminal like `run` does, so that a
 * hostile guest cannot drive the terminal during a replay either. */
static void on_stderr(void *ctx, const void *data, size_t len)
{
    struct replay_tool *t = ctx;
    if (!t->check && t->stderr_tty)
        st_write_sanitized(2, data, len);
    else if (!t->check)
        (void)st_write_all(2, data, len);
}

/* "write(1, 0x7ffc..., 5)": a call by its raw arguments (the live request's
 * memory is not read by the report). */
static void print_args_line(const char *label, const char *sig, unsigned nargs,
                            const uint64_t *args)
{
    struct st_buf b;
    st_buf_init(&b, 1024);
    if (sig && *sig)
        tp_format_raw_call(&b, sig, args, nargs);
    else
        st_buf_puts(&b, "(no call)");
    fprintf(stderr, "  %-9s %s\n", label, b.data ? b.data : "");
    st_buf_release(&b);
}

/* Bytes around `off`: up to 16 before it and 16 from it, hex and text. */
static void print_data_line(const char *label, const uint8_t *p, size_t n, uint64_t off)
{
    size_t from = off > 16 ? (size_t)off - 16 : 0;
    size_t to = off + 16 < n ? (size_t)off + 16 : n;
    fprintf(stderr, "  %-9s %zu byte%s; at %zu..%zu:", label, n, n == 1 ? "" : "s", from, to);
    for (size_t i = from; i < to; i++)
        fprintf(stderr, i == off ? " [%02x]" : " %02x", p[i]);
    if (off >= n)
        fprintf(stderr, " [end]");
    struct st_buf b;
    struct tp_options o;
    tp_options_init(&o);
    st_buf_init(&b, 1024);
    if (to > from)
        tp_format_bytes(&b, p + from, to - from, &o);
    fprintf(stderr, "  %s\n", b.data ? b.data : "");
    st_buf_release(&b);
}

/* What differed: the two calls, the two data blocks, the two statuses. */
static void print_difference(const struct rp_divergence *d)
{
    switch (d->kind) {
    case RP_DIV_SIGNATURE:
    case RP_DIV_ARG:
    case RP_DIV_POINTER:
    case RP_DIV_EXTRA_CALL:
    case RP_DIV_ENDED:
        print_args_line("expected:", d->expected_sig, d->expected_nargs, d->expected_args);
        print_args_line("got:", d->got_sig, d->got_nargs, d->got_args);
        if (d->arg_index >= 0)
            fprintf(stderr, "  argument %d differs\n", d->arg_index + 1);
        break;
    case RP_DIV_DATA:
        fprintf(stderr, "  in:       %s, %c at 0x%" PRIx64 ", first difference at offset %" PRIu64 "\n",
                d->got_sig, d->op, d->ptr, d->offset);
        if (d->expected_data || !d->expected_len)
            print_data_line("expected:", d->expected_data, d->expected_len, d->offset);
        if (d->got_data)
            print_data_line("got:", d->got_data, d->got_len, d->offset);
        break;
    case RP_DIV_EXIT:
        fprintf(stderr, "  expected: code %d signal %d\n  got:      code %d signal %d\n",
                d->expected_code, d->expected_signal, d->got_code, d->got_signal);
        break;
    case RP_DIV_PROTOCOL:
        break;
    case RP_DIV_DUMP:
        print_data_line("expected:", d->expected_data, d->expected_len, d->offset);
        print_data_line("got:", d->got_data, d->got_len, d->offset);
        break;
    }
}

static void on_divergence(void *ctx, const struct rp_divergence *d)
{
    struct replay_tool *t = ctx;
    fflush(stdout);
    progress_end(&t->pg);
    fprintf(stderr, "sandtrace replay: divergence at event %" PRIu64 " (%s): %s\n", d->seq,
            rp_div_kind_name(d->kind), d->message);
    print_difference(d);
    struct st_buf ctxt;
    st_buf_init(&ctxt, 0);
    unsigned calls = ring_decode(t, &ctxt);
    if (calls == 1)
        fprintf(stderr, "  the call before it:\n");
    else if (calls > 1)
        fprintf(stderr, "  the last %u calls before it:\n", calls);
    /* Each line indented under the heading. */
    for (const char *line = ctxt.data; calls && line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        fprintf(stderr, "    %.*s\n", (int)n, line);
        line = nl ? nl + 1 : line + n;
    }
    st_buf_release(&ctxt);
}

static volatile sig_atomic_t resume_signal;

static void on_resume_signal(int sig)
{
    resume_signal = sig;
}

/* Waits for Enter (or the end of stdin), SIGUSR1 or SIGCONT. The signals
 * are blocked from before the message (which invites them) and let through
 * only inside ppoll(): none can be lost between a check and the wait. */
static void wait_for_resume(const sigset_t *waitmask)
{
    while (!resume_signal) {
        struct pollfd p = { 0, POLLIN, 0 };
        int n = ppoll(&p, 1, NULL, waitmask);
        if (n < 0) {
            if (errno == EINTR)
                continue; /* resume_signal says whether it was ours */
            break;
        }
        char c;
        ssize_t got = read(0, &c, 1);
        if (got <= 0 || c == '\n')
            break; /* Enter, or the end of the input */
    }
}

static void on_stop(void *ctx, pid_t pid, uint64_t seq)
{
    struct replay_tool *t = ctx;
    t->stopped = 1;
    progress_end(&t->pg);
    sigset_t ours, old, waitmask;
    sigemptyset(&ours);
    sigaddset(&ours, SIGUSR1);
    sigaddset(&ours, SIGCONT);
    sigprocmask(SIG_BLOCK, &ours, &old);
    waitmask = old;
    sigdelset(&waitmask, SIGUSR1);
    sigdelset(&waitmask, SIGCONT);
    struct sigaction sa = { .sa_handler = on_resume_signal }, old_usr1, old_cont;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &old_usr1);
    sigaction(SIGCONT, &sa, &old_cont);
    resume_signal = 0;
    fflush(stdout);
    fprintf(stderr,
            "sandtrace replay: stopped before event %" PRIu64 "; the guest (pid %ld) is blocked "
            "on its pending request\n"
            "  attach with: gdb -p %ld\n"
            "  press Enter to continue (or send SIGUSR1 to pid %ld)\n",
            seq, (long)pid, (long)pid, (long)getpid());
    wait_for_resume(&waitmask);
    sigaction(SIGUSR1, &old_usr1, NULL);
    sigaction(SIGCONT, &old_cont, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    fprintf(stderr, "sandtrace replay: continuing\n");
}

/* ---------------------------------------------------------- warnings */

/* One line when the recorded real environment holds values `tap` redacted:
 * the guest gets the marker in their place, which may change what it does. */
static void warn_redacted_env(const struct trace_header *h)
{
    size_t n = 0;
    char names[160] = "";
    size_t len = 0;
    for (size_t i = 0; i < h->guest_real_envc; i++) {
        const char *kv = h->guest_real_env[i];
        const char *eq = strchr(kv, '=');
        if (!eq || strcmp(eq + 1, ST_TAP_REDACTED) != 0)
            continue;
        n++;
        /* Names come from the trace: only name characters are shown. */
        if (len < sizeof names - 40) {
            if (len)
                names[len++] = ' ';
            for (const char *c = kv; c < eq && len < sizeof names - 5; c++)
                names[len++] = isalnum((unsigned char)*c) || *c == '_' ? *c : '?';
            names[len] = '\0';
        } else if (len < sizeof names - 4 && names[len - 1] != '.') {
            memcpy(names + len, " ...", 5);
            len += 4;
        }
    }
    if (n)
        fprintf(stderr, "sandtrace replay: warning: the recorded environment has %zu value%s "
                        "redacted by tap (%s); the guest gets '%s' instead\n",
                n, n == 1 ? "" : "s", names, ST_TAP_REDACTED);
}

/* The executable the trace names runs only if it is the one recorded (a
 * trace is untrusted input: its header could name /bin/sh); another one
 * runs only when the user names it with --exe. 0, or ST_EXIT_ERROR. */
static int check_exe(struct rp_replay *r, const struct rp_config *cfg)
{
    int same = rp_replay_exe_matches(r);
    struct st_buf exe_text;
    st_buf_init(&exe_text, 8192);
    tp_format_text(&exe_text, rp_replay_exe(r));
    int rc = 0;
    if (same != 1 && !cfg->exe) {
        fprintf(stderr,
                "sandtrace replay: '%.*s' is not the recorded executable (%s); --exe PATH "
                "replays with another one\n", (int)exe_text.len, exe_text.data,
                same == 0 ? "its hash differs" : "the trace has no hash of it, or it cannot be read");
        rc = ST_EXIT_ERROR;
    } else if (same == 0) {
        fprintf(stderr,
                "sandtrace replay: warning: '%.*s' is not the recorded executable (its hash "
                "differs)\n", (int)exe_text.len, exe_text.data);
    }
    st_buf_release(&exe_text);
    return rc;
}

/* ---------------------------------------------------------- events */

/* How many events the trace has, found by seeking (the footer's index, or
 * the chunk headers): 1 with *count when it has fewer than upto + 1, 0 when
 * it has event `upto`, -1 when that cannot be told (it cannot be opened or
 * sought in). A second reader: the replay's own is not moved. */
static int trace_events_upto(const char *path, const uint8_t *key, uint64_t upto, uint64_t *count)
{
    struct trace_io *io = NULL;
    if (!strcmp(path, "-"))
        return -1; /* standard input is read once, by the replay */
    if (trace_io_open_file(path, TRACE_IO_READ, &io) < 0) {
        trace_io_free(io);
        return -1;
    }
    struct trace_reader_options o = { .recover = 0, .key = key };
    struct trace_reader *r;
    if (trace_reader_open(&r, io, 1, &o, NULL, 0) < 0)
        return -1;
    int rc = trace_reader_seek(r, upto);
    int ans = rc == 0 ? 0 : rc == TRACE_E_RANGE ? 1 : -1;
    /* The first event it lacks: seek(lo - 1) works, seek(hi) does not. */
    uint64_t lo = 0, hi = upto;
    while (ans == 1 && lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        rc = trace_reader_seek(r, mid);
        if (rc == 0)
            lo = mid + 1;
        else if (rc == TRACE_E_RANGE)
            hi = mid;
        else
            ans = -1;
    }
    *count = lo;
    trace_reader_free(r);
    return ans;
}

/* ---------------------------------------------------------- command line */

enum {
    O_EXE = 256, O_CHECK, O_QUIET, O_KEEP, O_STOP, O_PRINT, O_TIMEOUT, O_NOJAIL, O_PIN, O_KEY, O_RAW,
    O_JOBS, O_JUNIT, O_REPORTS, O_HELP,
};

static const struct opt_spec replay_specs[] = {
    { O_EXE, 0, "exe", OPT_REQ },
    { O_CHECK, 0, "check", OPT_NONE },
    { O_QUIET, 'q', "quiet", OPT_NONE },
    { O_KEEP, 0, "keep-going", OPT_NONE },
    { O_STOP, 0, "stop-at", OPT_NUM },
    { O_PRINT, 0, "print-events", OPT_NONE },
    { O_TIMEOUT, 0, "timeout", OPT_NUM },
    { O_NOJAIL, 0, "no-jail", OPT_NONE },
    { O_PIN, 0, "pin", OPT_REQ },
    { O_KEY, 0, "key", OPT_REQ },
    { O_RAW, 0, "raw-stdout", OPT_NONE },
    { O_JOBS, 'j', "jobs", OPT_NUM },
    { O_JUNIT, 0, "junit", OPT_REQ },
    { O_REPORTS, 0, "reports", OPT_REQ },
    { O_HELP, 'h', "help", OPT_NONE },
    OPT_SPEC_END,
};

/* One option's effect; 0, or ST_EXIT_USAGE after the message. */
static int replay_option(struct opt_parser *p, int id, struct replay_args *a)
{
    switch (id) {
    case O_EXE: a->cfg.exe = p->arg; break;
    case O_CHECK: a->check = 1; break;
    case O_QUIET: a->quiet = 1; break;
    case O_KEEP: a->cfg.keep_going = 1; break;
    case O_STOP:
        if (st_parse_u64(p->arg, &a->cfg.stop_at, 0) < 0 || a->cfg.stop_at == RP_NO_STOP)
            return opt_bad_value(p, "bad event number");
        break;
    case O_PRINT: a->print_events = 1; break;
    case O_TIMEOUT:
        if (st_parse_seconds(p->arg, &a->cfg.timeout_seconds) < 0)
            return opt_bad_value(p, "bad number of seconds");
        a->corpus.timeout = p->arg;
        break;
    case O_NOJAIL: a->cfg.seccomp = 0; break;
    case O_PIN: {
        const char *why = st_cpu_choice(p->arg, &a->cfg.cpu_policy, &a->cfg.cpu);
        if (why)
            return opt_bad_value(p, why);
        a->corpus.pin = p->arg;
        break;
    }
    case O_KEY: a->key_path = p->arg; break;
    case O_RAW: a->raw_stdout = 1; break;
    case O_JOBS:
        if (tcli_parse_size(p->arg, &a->corpus.jobs) < 0 || a->corpus.jobs < 1 || a->corpus.jobs > 256)
            return opt_usage(p, "option '%s' needs a number of jobs from 1 to 256, not '%s'", p->name,
                             p->arg);
        a->jobs_given = 1;
        break;
    case O_JUNIT: a->corpus.junit = p->arg; break;
    case O_REPORTS: a->corpus.reports = p->arg; break;
    }
    return 0;
}

/* Parses argv into `a`: -1 to go on, else the exit status (help, usage). */
static int replay_parse(int argc, char **argv, struct replay_args *a, struct opt_parser *p)
{
    memset(a, 0, sizeof *a);
    rp_config_init(&a->cfg);
    opt_init(p, "replay", replay_specs, argc, argv, 0);
    for (int id; (id = opt_next(p)) != OPT_DONE;) {
        if (id == OPT_ERROR)
            return ST_EXIT_USAGE;
        if (id == O_HELP) {
            replay_usage(stdout);
            return fflush(stdout) == 0 && !ferror(stdout) ? ST_EXIT_OK : ST_EXIT_OUTPUT;
        }
        if (replay_option(p, id, a) != 0)
            return ST_EXIT_USAGE;
    }
    a->traces = p->operands;
    a->ntraces = p->noperands;
    if (a->ntraces == 0)
        return opt_usage(p, "no trace given");
    return -1;
}

/* Is this command line a corpus replay (replay_corpus.c)? */
static int corpus_mode(const struct replay_args *a)
{
    struct stat st;
    return a->jobs_given || a->corpus.junit || a->corpus.reports || a->ntraces > 1 ||
           (stat(a->traces[0], &st) == 0 && S_ISDIR(st.st_mode));
}

static int replay_corpus_main(const struct opt_parser *p, struct replay_args *a)
{
    struct stat st;
    for (int i = 0; i < a->ntraces; i++)
        if (!strcmp(a->traces[i], "-"))
            return opt_usage(p, "'-' (a trace on standard input) is replayed alone, not as part of "
                             "many traces");
    if (!a->check) {
        if (a->ntraces == 1 && stat(a->traces[0], &st) == 0 && S_ISDIR(st.st_mode))
            return opt_usage(p, "'%s' is a directory: replaying the traces in it needs --check",
                             a->traces[0]);
        return opt_usage(p, "many traces (-j, --junit, --reports, several traces) need --check");
    }
    struct replay_corpus_options *co = &a->corpus;
    co->exe = a->cfg.exe;
    co->key = a->key_path;
    co->no_jail = !a->cfg.seccomp;
    co->keep_going = a->cfg.keep_going;
    co->quiet = a->quiet;
    if (!co->jobs) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        co->jobs = cpus > 0 ? (size_t)cpus : 1;
    }
    return replay_corpus_run(co, a->traces, a->ntraces);
}

/* ---------------------------------------------------------- one trace */

/* The exit status of a replay that could not start. */
static int open_failure_status(int rc)
{
    switch (rc) {
    case RP_E_TRACE: return ST_EXIT_UNREADABLE;
    case RP_E_DAMAGED: return ST_EXIT_DAMAGED;
    case RP_E_KEY: return ST_EXIT_KEY;
    default: return ST_EXIT_ERROR;
    }
}

/* Loads --key into `key` and points cfg at it: 0, or the exit status. */
static int load_key(struct replay_args *a, uint8_t *key)
{
    if (!a->key_path)
        return 0;
    int rc = trace_key_load(a->key_path, key);
    if (rc < 0) {
        fprintf(stderr, "sandtrace replay: cannot load key '%s': %s\n", a->key_path,
                rc == TRACE_E_IO && errno ? strerror(errno) : trace_strerror(rc));
        return rc == TRACE_E_IO ? ST_EXIT_UNREADABLE : ST_EXIT_KEY;
    }
    a->cfg.key = key;
    return 0;
}

/* --stop-at N on a trace without event N is a usage error (when the trace
 * can say how many events it has). */
static int check_stop_at(const struct opt_parser *p, const struct replay_args *a)
{
    uint64_t n;
    if (a->cfg.stop_at == RP_NO_STOP ||
        trace_events_upto(a->cfg.trace_path, a->cfg.key, a->cfg.stop_at, &n) != 1)
        return 0;
    if (n == 0)
        return opt_usage(p, "option '--stop-at': the trace has no events");
    return opt_usage(p, "option '--stop-at': the trace has only %" PRIu64 " event%s (0 to %" PRIu64
                     "), no event %" PRIu64, n, n == 1 ? "" : "s", n - 1, a->cfg.stop_at);
}

/* The exit status of a replay that ran, with its last lines. */
static int replay_verdict(const struct replay_tool *t, const struct rp_result *res)
{
    switch (res->end) {
    case RP_END_COMPLETE:
        if (res->message[0] && !t->quiet)
            fprintf(stderr, "sandtrace replay: %s\n", res->message);
        if (t->check && !t->quiet)
            fprintf(stderr, "sandtrace replay: identical: %" PRIu64 " event%s, %" PRIu64
                            " request%s, no divergence\n", res->events, res->events == 1 ? "" : "s",
                    res->requests, res->requests == 1 ? "" : "s");
        return t->check ? ST_EXIT_OK : (res->recorded_exit >= 0 ? res->recorded_exit : 0);
    case RP_END_DIVERGED:
        fprintf(stderr, "sandtrace replay: %" PRIu64 " divergence%s after %" PRIu64
                        " event%s\n", res->divergences, res->divergences == 1 ? "" : "s",
                res->events, res->events == 1 ? "" : "s");
        return ST_EXIT_DIVERGED;
    case RP_END_TRUNCATED:
        if (res->divergences)
            fprintf(stderr, "sandtrace replay: %" PRIu64 " divergence%s\n", res->divergences,
                    res->divergences == 1 ? "" : "s");
        fprintf(stderr, "sandtrace replay: replayed %" PRIu64 " event%s up to the end of the "
                        "trace: %s\n", res->events, res->events == 1 ? "" : "s", res->message);
        return res->divergences ? ST_EXIT_DIVERGED : ST_EXIT_DAMAGED;
    case RP_END_ERROR:
        break;
    }
    fprintf(stderr, "sandtrace replay: %s\n", res->message[0] ? res->message : "replay failed");
    return res->timed_out ? ST_EXIT_TIMEOUT : ST_EXIT_ERROR;
}

/* Runs the replay `r` with the tool's callbacks: the exit status. */
static int replay_drive(struct replay_tool *t, const struct replay_args *a, struct rp_replay *r)
{
    struct rp_result res;
    if (t->check && !t->quiet && isatty(2)) {
        uint64_t total = 0;
        if (trace_events_upto(a->cfg.trace_path, a->cfg.key, UINT64_MAX - 1, &total) != 1)
            total = 0;
        progress_start(&t->pg, "replay", "events", total, 0);
    }
    /* A guest that dies mid-answer must not kill sandtrace. */
    struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old_pipe);
    int rc = rp_replay_run(r, &res);
    sigaction(SIGPIPE, &old_pipe, NULL);
    progress_end(&t->pg);
    if (t->printer) {
        tp_printer_finish(t->printer);
        fflush(stderr);
    }
    if (rc < 0) {
        fprintf(stderr, "sandtrace replay: %s\n", res.message[0] ? res.message : rp_strerror(rc));
        return ST_EXIT_ERROR;
    }
    if (a->cfg.stop_at != RP_NO_STOP && !t->stopped && !t->quiet)
        fprintf(stderr, "sandtrace replay: note: --stop-at %" PRIu64 " was not reached: the "
                        "replay ended after %" PRIu64 " event%s\n", a->cfg.stop_at, res.events,
                res.events == 1 ? "" : "s");
    int status = replay_verdict(t, &res);
    if (t->out_errno) {
        fprintf(stderr, "sandtrace replay: cannot write the guest's output: %s\n",
                strerror(t->out_errno));
        if (status == ST_EXIT_OK || res.end == RP_END_COMPLETE)
            status = ST_EXIT_OUTPUT;
    }
    return status;
}

/* Opens the trace, checks the executable, replays: the exit status. */
static int replay_one(const struct opt_parser *p, struct replay_args *a, struct replay_tool *t)
{
    char err[512];
    struct rp_replay *r;
    a->cfg.ctx = t;
    a->cfg.on_event = on_event;
    a->cfg.on_output = on_output;
    a->cfg.on_stderr = on_stderr;
    a->cfg.on_divergence = on_divergence;
    a->cfg.on_stop = on_stop;
    int rc = rp_replay_new(&a->cfg, &r, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "sandtrace replay: %s\n", err[0] ? err : rp_strerror(rc));
        return open_failure_status(rc);
    }
    int status = check_stop_at(p, a);
    if (status == 0) {
        if (!t->quiet)
            warn_redacted_env(rp_replay_header(r));
        status = check_exe(r, &a->cfg);
    }
    if (status == 0)
        status = replay_drive(t, a, r);
    rp_replay_free(r);
    return status;
}

int cmd_replay(int argc, char **argv)
{
    struct opt_parser p;
    struct replay_args a;
    int status = replay_parse(argc, argv, &a, &p);
    if (status >= 0) {
        opt_release(&p);
        return status;
    }
    if (corpus_mode(&a)) {
        status = replay_corpus_main(&p, &a);
        opt_release(&p);
        return status;
    }
    a.cfg.trace_path = a.traces[0];
    struct trace_io *in = NULL;
    if (!strcmp(a.cfg.trace_path, "-")) {
        /* --stop-at waits for Enter on standard input: the trace cannot be there. */
        if (a.cfg.stop_at != RP_NO_STOP) {
            status = opt_usage(&p, "--stop-at waits for Enter on standard input: give the trace "
                                   "as a file, not '-'");
            opt_release(&p);
            return status;
        }
        a.cfg.io = in = trace_io_from_fd(0, 0);
    }
    uint8_t key[TRACE_KEY_BYTES];
    struct replay_tool tool;
    memset(&tool, 0, sizeof tool);
    tool.check = a.check;
    tool.quiet = a.quiet;
    /* Asked once, as `run` does: not a system call per write of the guest. */
    tool.raw_stdout = a.raw_stdout || !isatty(1);
    tool.stderr_tty = isatty(2);
    tp_options_init(&tool.popt);
    tool.ring = calloc(RING_EVENTS, sizeof *tool.ring);
    if (a.print_events && tool.ring)
        tool.printer = tp_printer_new(&tool.popt, stderr, NULL);
    if (!tool.ring || (a.print_events && !tool.printer) || (!strcmp(a.cfg.trace_path, "-") && !in)) {
        fprintf(stderr, "sandtrace replay: out of memory\n");
        status = ST_EXIT_ERROR;
    } else if ((status = load_key(&a, key)) == 0) {
        status = replay_one(&p, &a, &tool);
    }
    tp_printer_free(tool.printer);
    free(tool.ring);
    trace_io_free(in);
    opt_release(&p);
    return status;
}
