/* sandtrace replay: re-drive a guest from a trace and report the first
 * divergence (replayer/replayer.h does the work; this file prints). */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
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
#include "tools/cmd_run_opts.h"
#include "tools/commands.h"
#include "tools/replay_corpus.h"
#include "tools/trace_cli.h"
#include "tools/trace_print.h"
#include "tracer/tap.h"

/* Exit codes of `replay` (besides the recorded run's own). */
enum {
    RP_EXIT_DIVERGED = 65,  /* the guest diverged from the trace */
    RP_EXIT_TRUNCATED = 66, /* the trace ends before the recorded run did */
    RP_EXIT_ERROR = 67,     /* the replay could not run (trace, executable, timeout) */
};

#define RING 10
#define RING_DATA 64   /* bytes of data kept per event (event_text shows fewer) */
#define RING_TEXT 200  /* bytes kept of each text */

/* One of the last RING events, kept raw (its signature, texts and the first
 * RING_DATA bytes of its data copied) and formatted only when a divergence
 * is reported: formatting every event as it passed cost more than the rest
 * of the replay. */
struct ring_slot {
    struct trace_event ev;
    uint8_t bytes[TRACE_MAX_SIG_LEN + 1 + 2 * RING_TEXT + RING_DATA]; /* trace_event_pack */
};

struct replay_tool {
    int quiet;
    int print_events;
    int check;
    int raw_stdout;
    struct tp_options popt;
    struct tp_printer *printer;  /* --print-events: dump's format, on stderr */
    struct ring_slot ring[RING];
    unsigned ring_n, ring_next;
};

static void replay_usage(FILE *out)
{
    fprintf(out,
        "usage: sandtrace replay [OPTIONS] TRACE\n"
        "       sandtrace replay --check [-j N] [--junit FILE] [--reports DIR] TRACE|DIR...\n"
        "\n"
        "Starts the recorded guest again (the executable and argv of TRACE's header,\n"
        "ASLR off, the recorded jail and rlimits) and answers every request from the\n"
        "trace alone: no file, input, clock or environment of the recorded world is\n"
        "used. Each request must match the next recorded one (signature, arguments,\n"
        "the data the controller reads); the first mismatch is reported with the\n"
        "last %d events before it.\n"
        "\n"
        "options:\n"
        "  --exe PATH        run PATH instead of the recorded executable (a warning is\n"
        "                    printed when its hash differs from the recorded one)\n"
        "  --check           regression test: no guest output, exit 0 if and only if\n"
        "                    the guest behaves exactly as recorded\n"
        "  -q, --quiet       do not reproduce the guest's output\n"
        "  --raw-stdout      pass fd 1's bytes unchanged (default, as for `run`:\n"
        "                    non-printable bytes as ?)\n"
        "  --keep-going      report every divergence, resynchronising where possible\n"
        "                    (a call the recording lacks is refused with ENOSYS; calls\n"
        "                    the guest no longer makes are skipped)\n"
        "  --stop-at N       replay up to event N, then hold the guest blocked on its\n"
        "                    pending request, print its pid and the gdb command to\n"
        "                    attach, and go on after Enter (or SIGUSR1, SIGCONT)\n"
        "  --print-events    print each call and event on stderr as it is replayed,\n"
        "                    in the format of `sandtrace dump`\n"
        "  --timeout SECS    kill the guest and fail after SECS seconds\n"
        "  --no-jail         no jail at all: no seccomp filter, namespaces or Landlock\n"
        "                    (otherwise always every layer this system has, whatever\n"
        "                    the trace says)\n"
        "  --key FILE        the chain key of a keyed trace\n"
        "  -h, --help        this text\n"
        "\n"
        "Many traces (with --check): several TRACEs, a DIR (its *.sbt files), or -j;\n"
        "each trace is replayed by its own `replay --check` process, a line per trace\n"
        "and a summary are printed, and the exit status is the worst of them:\n"
        "  -j, --jobs N      replay N traces at once (default: the number of CPUs)\n"
        "  --junit FILE      write JUnit XML: a test case per trace, a divergence as\n"
        "                    its failure with the report as text\n"
        "  --reports DIR     keep each trace's report (its replay's stderr) as\n"
        "                    DIR/NAME.txt\n"
        "\n"
        "The guest's output (its write(1) and write(2) requests) goes to stdout and\n"
        "stderr as in the recorded run; its own stderr (runtime diagnostics) is passed\n"
        "through live. Recorded GUEST_STDERR events are not printed a second time.\n"
        "\n"
        "exit status:\n"
        "  N     replay matched the whole trace: the recorded run's status, as `run`\n"
        "        gave it (the guest's code, 128+signal, 71..78 for a limit...);\n"
        "        with --check: 0\n"
        "  65    the guest diverged from the trace\n"
        "  66    the trace ends early (truncated or damaged): replayed up to its end\n"
        "  67    the replay could not run (unreadable trace, missing executable,\n"
        "        timeout)\n"
        "  2     bad command line\n"
        "Many traces: 0 all identical, else 65 if one diverged, else 67 if one could\n"
        "not run, else 66.\n",
        RING);
}

/* ---------------------------------------------------------- event text */

static void append(char *dst, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *dst, size_t cap, size_t *len, const char *fmt, ...)
{
    if (*len >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len += (size_t)n < cap - *len ? (size_t)n : cap - *len - 1;
}

/* Up to `max` bytes as a C string literal. */
static void append_bytes(char *dst, size_t cap, size_t *len, const uint8_t *p, size_t n,
                         size_t max)
{
    append(dst, cap, len, "\"");
    for (size_t i = 0; i < n && i < max; i++) {
        unsigned char c = p[i];
        if (c == '\n')
            append(dst, cap, len, "\\n");
        else if (c == '\t')
            append(dst, cap, len, "\\t");
        else if (c == '"' || c == '\\')
            append(dst, cap, len, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            append(dst, cap, len, "%c", c);
        else
            append(dst, cap, len, "\\x%02x", c);
    }
    append(dst, cap, len, "\"%s", n > max ? "..." : "");
}

/* A call: name(arg, ...) by the wire kinds of `sig`, as the printer shows it. */
static void append_call(char *dst, size_t cap, size_t *len, const char *sig,
                        const uint64_t *args, size_t nargs)
{
    struct st_buf b;
    st_buf_init(&b, cap);
    tp_format_raw_call(&b, sig, args, nargs);
    append(dst, cap, len, "%s", b.data);
    st_buf_release(&b);
}

/* One line for the ring of recent events: a request as a call with its raw
 * arguments, every other event as `sandtrace dump --raw` shows it. */
static void event_text(struct replay_tool *t, const struct trace_event *ev, char *dst, size_t cap)
{
    size_t len = 0;
    dst[0] = '\0';
    append(dst, cap, &len, "%" PRIu64 " ", ev->seq);
    if (ev->kind == TRACE_EV_REQUEST) {
        append_call(dst, cap, &len, ev->request.sig, ev->request.args, ev->request.nargs);
        return;
    }
    /* A ring slot holds at most RING_DATA bytes of data. */
    struct tp_options o = t->popt;
    if (o.strsize > RING_DATA)
        o.strsize = RING_DATA;
    struct st_buf b;
    st_buf_init(&b, cap);
    tp_format_event(&b, ev, &o);
    append(dst, cap, &len, "  %s", b.data);
    st_buf_release(&b);
}

/* ---------------------------------------------------------- callbacks */

/* Copies `ev` into `r` with its bytes in `r` (texts and data cut); lengths
 * are kept, so that the text still says how many bytes there were. */
static void ring_keep(struct ring_slot *r, const struct trace_event *ev)
{
    if (trace_event_pack(&r->ev, ev, r->bytes, sizeof r->bytes, RING_TEXT, RING_DATA) > sizeof r->bytes) {
        /* A signature longer than a trace may hold: the event without its bytes. */
        memset(&r->ev, 0, sizeof r->ev);
        r->ev.kind = ev->kind;
        r->ev.seq = ev->seq;
        if (ev->kind == TRACE_EV_REQUEST)
            r->ev.request.sig = "?";
    }
}

static void on_event(void *ctx, const struct trace_event *ev)
{
    struct replay_tool *t = ctx;
    ring_keep(&t->ring[t->ring_next], ev);
    t->ring_next = (t->ring_next + 1) % RING;
    if (t->ring_n < RING)
        t->ring_n++;
    if (t->printer) {
        fflush(stdout);
        if (tp_printer_add_event(t->printer, ev) < 0)
            fprintf(stderr, "sandtrace replay: out of memory printing events\n");
    }
}

static void on_output(void *ctx, int fd, const void *data, size_t len)
{
    struct replay_tool *t = ctx;
    if (t->quiet)
        return;
    if (fd == 2)
        fflush(stdout);
    if (fd != 2 && t->raw_stdout) {
        (void)st_write_all(1, data, len);
        return;
    }
    /* As `run` shows it by default: no control characters, UTF-8 passes. */
    st_write_sanitized(fd == 2 ? 2 : 1, data, len);
}

/* The live guest's real stderr: sanitized like `run` does, so that a
 * hostile guest cannot drive the terminal during a replay either. */
static void on_stderr(void *ctx, const void *data, size_t len)
{
    struct replay_tool *t = ctx;
    if (!t->quiet)
        st_write_sanitized(2, data, len);
}

static void print_args_line(const char *label, const char *sig, unsigned nargs,
                            const uint64_t *args)
{
    char line[1024];
    size_t len = 0;
    line[0] = '\0';
    if (sig && *sig)
        append_call(line, sizeof line, &len, sig, args, nargs);
    else
        append(line, sizeof line, &len, "(no call)");
    fprintf(stderr, "  %-9s %s\n", label, line);
}

/* Bytes around `off`: up to 16 before it and 16 from it, hex and text. */
static void print_data_line(const char *label, const uint8_t *p, size_t n, uint64_t off)
{
    size_t from = off > 16 ? (size_t)off - 16 : 0;
    size_t to = off + 16 < n ? (size_t)off + 16 : n;
    fprintf(stderr, "  %-9s %zu bytes; at %zu..%zu:", label, n, from, to);
    for (size_t i = from; i < to; i++)
        fprintf(stderr, i == off ? " [%02x]" : " %02x", p[i]);
    if (off >= n)
        fprintf(stderr, " [end]");
    char txt[256];
    size_t len = 0;
    txt[0] = '\0';
    if (to > from)
        append_bytes(txt, sizeof txt, &len, p + from, to - from, 32);
    fprintf(stderr, "  %s\n", txt);
}

static void on_divergence(void *ctx, const struct rp_divergence *d)
{
    struct replay_tool *t = ctx;
    fflush(stdout);
    fprintf(stderr, "sandtrace replay: divergence at event %" PRIu64 " (%s): %s\n", d->seq,
            rp_div_kind_name(d->kind), d->message);
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
    fprintf(stderr, "  the last %u events before it:\n", t->ring_n);
    for (unsigned i = 0; i < t->ring_n; i++) {
        unsigned idx = (t->ring_next + RING - t->ring_n + i) % RING;
        char line[512];
        event_text(t, &t->ring[idx].ev, line, sizeof line);
        fprintf(stderr, "    %s\n", line);
    }
}

static volatile sig_atomic_t resume_signal;

static void on_resume_signal(int sig)
{
    resume_signal = sig;
}

static void on_stop(void *ctx, pid_t pid, uint64_t seq)
{
    (void)ctx;
    /* SIGUSR1/SIGCONT are blocked from before the message (which invites
     * them) and let through only inside ppoll(): none can be lost between a
     * check and the wait. */
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
    while (!resume_signal) {
        struct pollfd p = { 0, POLLIN, 0 };
        int n = ppoll(&p, 1, NULL, &waitmask);
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
    sigaction(SIGUSR1, &old_usr1, NULL);
    sigaction(SIGCONT, &old_cont, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    fprintf(stderr, "sandtrace replay: continuing\n");
}

/* ---------------------------------------------------------- main */

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

/* ---------------------------------------------------------- many traces */

/* Is this command line a corpus replay (replay_corpus.c)? */
static int corpus_mode(int ntraces, const char *first, int jobs_given, const char *junit,
                       const char *reports)
{
    struct stat st;
    return jobs_given || junit || reports || ntraces > 1 ||
           (ntraces == 1 && stat(first, &st) == 0 && S_ISDIR(st.st_mode));
}

static int replay_corpus_main(struct replay_corpus_options *co, const struct rp_config *cfg,
                              const char *key_path, int check, char **traces, int n)
{
    if (!check) {
        fprintf(stderr, "sandtrace replay: many traces (-j, --junit, --reports, a directory) need "
                        "--check\nsee 'sandtrace replay --help'\n");
        return ST_EXIT_USAGE;
    }
    co->exe = cfg->exe;
    co->key = key_path;
    co->no_jail = !cfg->seccomp;
    co->keep_going = cfg->keep_going;
    if (!co->jobs) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        co->jobs = cpus > 0 ? (size_t)cpus : 1;
    }
    return replay_corpus_run(co, traces, n);
}

int cmd_replay(int argc, char **argv)
{
    enum { OPT_EXE = 256, OPT_CHECK, OPT_KEEP, OPT_STOP, OPT_PRINT, OPT_TIMEOUT, OPT_NOJAIL,
           OPT_KEY, OPT_RAW, OPT_JUNIT, OPT_REPORTS };
    static const struct option longopts[] = {
        { "exe", required_argument, NULL, OPT_EXE },
        { "check", no_argument, NULL, OPT_CHECK },
        { "quiet", no_argument, NULL, 'q' },
        { "keep-going", no_argument, NULL, OPT_KEEP },
        { "stop-at", required_argument, NULL, OPT_STOP },
        { "print-events", no_argument, NULL, OPT_PRINT },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "no-jail", no_argument, NULL, OPT_NOJAIL },
        { "key", required_argument, NULL, OPT_KEY },
        { "raw-stdout", no_argument, NULL, OPT_RAW },
        { "jobs", required_argument, NULL, 'j' },
        { "junit", required_argument, NULL, OPT_JUNIT },
        { "reports", required_argument, NULL, OPT_REPORTS },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct replay_tool tool;
    memset(&tool, 0, sizeof tool);
    struct rp_config cfg;
    rp_config_init(&cfg);
    const char *key_path = NULL;
    uint8_t key[TRACE_KEY_BYTES];
    struct replay_corpus_options corpus = { 0 };
    int jobs_given = 0;
    const char *timeout_arg = NULL;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "qhj:", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            if (tcli_parse_size(optarg, &corpus.jobs) < 0 || corpus.jobs < 1 || corpus.jobs > 256) {
                fprintf(stderr, "sandtrace replay: -j needs a number from 1 to 256, not '%s'\n", optarg);
                return ST_EXIT_USAGE;
            }
            jobs_given = 1;
            break;
        case OPT_JUNIT: corpus.junit = optarg; break;
        case OPT_REPORTS: corpus.reports = optarg; break;
        case OPT_EXE: cfg.exe = optarg; break;
        case OPT_CHECK: tool.check = 1; tool.quiet = 1; break;
        case 'q': tool.quiet = 1; break;
        case OPT_KEEP: cfg.keep_going = 1; break;
        case OPT_STOP:
            if (st_parse_u64(optarg, &cfg.stop_at, 0) < 0) {
                fprintf(stderr, "sandtrace replay: --stop-at needs an event number, not '%s'\n",
                        optarg);
                return ST_EXIT_USAGE;
            }
            break;
        case OPT_PRINT: tool.print_events = 1; break;
        case OPT_TIMEOUT: {
            char *end;
            errno = 0;
            double v = strtod(optarg, &end);
            if (errno || *end || !(v > 0)) {
                fprintf(stderr, "sandtrace replay: --timeout needs a positive number of "
                                "seconds, not '%s'\n", optarg);
                return ST_EXIT_USAGE;
            }
            cfg.timeout_seconds = v;
            timeout_arg = optarg;
            break;
        }
        case OPT_NOJAIL: cfg.seccomp = 0; break;
        case OPT_KEY: key_path = optarg; break;
        case OPT_RAW: tool.raw_stdout = 1; break;
        case 'h':
            replay_usage(stdout);
            return ST_EXIT_OK;
        default:
            if (optopt && optopt < 256)
                fprintf(stderr, "sandtrace replay: unknown option '-%c'\n", optopt);
            else
                fprintf(stderr, "sandtrace replay: unknown or incomplete option '%s'\n",
                        argv[optind - 1]);
            fprintf(stderr, "see 'sandtrace replay --help'\n");
            return ST_EXIT_USAGE;
        }
    }
    if (optind < argc && corpus_mode(argc - optind, argv[optind], jobs_given, corpus.junit, corpus.reports)) {
        corpus.timeout = timeout_arg;
        return replay_corpus_main(&corpus, &cfg, key_path, tool.check, argv + optind, argc - optind);
    }
    if (optind != argc - 1) {
        fprintf(stderr, "sandtrace replay: %s\nsee 'sandtrace replay --help'\n",
                optind >= argc ? "no trace given" : "one trace only");
        return ST_EXIT_USAGE;
    }
    cfg.trace_path = argv[optind];
    if (key_path) {
        int rc = trace_key_load(key_path, key);
        if (rc < 0) {
            fprintf(stderr, "sandtrace replay: cannot load key '%s': %s\n", key_path,
                    trace_strerror(rc));
            return RP_EXIT_ERROR;
        }
        cfg.key = key;
    }
    tp_options_init(&tool.popt);
    if (tool.print_events) {
        tool.printer = tp_printer_new(&tool.popt, stderr, NULL);
        if (!tool.printer) {
            fprintf(stderr, "sandtrace replay: out of memory\n");
            return RP_EXIT_ERROR;
        }
    }
    cfg.ctx = &tool;
    cfg.on_event = on_event;
    cfg.on_output = on_output;
    cfg.on_stderr = on_stderr;
    cfg.on_divergence = on_divergence;
    cfg.on_stop = on_stop;

    struct rp_replay *r;
    char err[512];
    int rc = rp_replay_new(&cfg, &r, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "sandtrace replay: %s\n", err[0] ? err : rp_strerror(rc));
        tp_printer_free(tool.printer);
        return RP_EXIT_ERROR;
    }
    warn_redacted_env(rp_replay_header(r));
    /* The executable the trace names runs only if it is the one recorded
     * (a trace is untrusted input: its header could name /bin/sh); another
     * one runs only when the user names it with --exe. */
    int same = rp_replay_exe_matches(r);
    struct st_buf exe_text;
    st_buf_init(&exe_text, 8192);
    tp_format_text(&exe_text, rp_replay_exe(r));
    if (same != 1 && !cfg.exe) {
        fprintf(stderr,
                "sandtrace replay: '%.*s' is not the recorded executable (%s); --exe PATH "
                "replays with another one\n", (int)exe_text.len, exe_text.data,
                same == 0 ? "its hash differs" : "the trace has no hash of it, or it cannot be read");
        st_buf_release(&exe_text);
        rp_replay_free(r);
        tp_printer_free(tool.printer);
        return RP_EXIT_ERROR;
    }
    if (same == 0)
        fprintf(stderr,
                "sandtrace replay: warning: '%.*s' is not the recorded executable (its hash "
                "differs)\n", (int)exe_text.len, exe_text.data);
    st_buf_release(&exe_text);
    struct rp_result res;
    /* A guest that dies mid-answer must not kill sandtrace. */
    struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old_pipe);
    rc = rp_replay_run(r, &res);
    sigaction(SIGPIPE, &old_pipe, NULL);
    rp_replay_free(r);
    fflush(stdout);
    if (tool.printer) {
        tp_printer_finish(tool.printer);
        tp_printer_free(tool.printer);
        fflush(stderr);
    }
    if (rc < 0) {
        fprintf(stderr, "sandtrace replay: %s\n", res.message[0] ? res.message : rp_strerror(rc));
        return RP_EXIT_ERROR;
    }
    switch (res.end) {
    case RP_END_COMPLETE:
        if (res.message[0])
            fprintf(stderr, "sandtrace replay: %s\n", res.message);
        if (tool.check)
            fprintf(stderr, "sandtrace replay: identical: %" PRIu64 " events, %" PRIu64
                            " requests, no divergence\n", res.events, res.requests);
        return tool.check ? ST_EXIT_OK : (res.recorded_exit >= 0 ? res.recorded_exit : 0);
    case RP_END_DIVERGED:
        fprintf(stderr, "sandtrace replay: %" PRIu64 " divergence%s after %" PRIu64
                        " events\n", res.divergences, res.divergences == 1 ? "" : "s",
                res.events);
        return RP_EXIT_DIVERGED;
    case RP_END_TRUNCATED:
        if (res.divergences)
            fprintf(stderr, "sandtrace replay: %" PRIu64 " divergence%s\n", res.divergences,
                    res.divergences == 1 ? "" : "s");
        fprintf(stderr, "sandtrace replay: replayed %" PRIu64 " events up to the end of the "
                        "trace: %s\n", res.events, res.message);
        return res.divergences ? RP_EXIT_DIVERGED : RP_EXIT_TRUNCATED;
    case RP_END_ERROR:
        break;
    }
    fprintf(stderr, "sandtrace replay: %s\n", res.message[0] ? res.message : "replay failed");
    return RP_EXIT_ERROR;
}
