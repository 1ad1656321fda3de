/* sandtrace tap: given to a foreign controller as the guest to launch, it
 * starts the real guest, relays both byte streams (and stderr) unchanged,
 * and records the session as `record` would. Exits as the guest did. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "controller/session.h"
#include "format/trace.h"
#include "tools/commands.h"
#include "tools/options.h"
#include "tools/run_output.h"
#include "tracer/tap.h"
#include "tracer/tracer.h"

extern char **environ;

static int sig_pipe_w = -1;

static void forward_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    ssize_t w = write(sig_pipe_w, &b, 1);
    (void)w;
    errno = saved;
}

static void tap_usage(FILE *out)
{
    fprintf(out,
        "usage: sandtrace tap -o FILE [--sync] [--key KEYFILE] [--argv0 NAME] [--keep-env]\n"
        "                     [--no-aslr] [--] EXECUTABLE [ARGS...]\n"
        "\n"
        "Give this command line to another controller (e.g. PyPy's sandboxlib) in place\n"
        "of the guest's: tap starts EXECUTABLE with the argv[0] and the environment it\n"
        "was given, relays the controller's commands to it and its requests and replies\n"
        "back, byte for byte and in order, passes its stderr through, and records the\n"
        "session to FILE with the same events as 'sandtrace record'. Bytes it cannot\n"
        "parse are still relayed, and recorded raw after a violation event. With\n"
        "RPY_SANDBOX_DUMP set (dump mode) the guest's function list is recorded.\n"
        "\n"
        "The trace holds the guest's argv and real environment (replay starts the guest\n"
        "with them); values of variables that look secret (names with TOKEN, SECRET,\n"
        "KEY, PASS, CREDENTIAL, AUTH..., AWS_*, GITHUB_*..., URLs with a password; see\n"
        "'man sandtrace') are recorded as '" ST_TAP_REDACTED "'.\n"
        "\n"
        "  -o, --output FILE    the trace to write (replaced only once the guest started)\n"
        "  --sync               fsync every chunk\n"
        "  --key KEYFILE        key the trace's hash chain with KEYFILE's hash\n"
        "  --argv0 NAME         the guest's argv[0] (default: tap's own argv[0], as the\n"
        "                       controller gave it: PyPy finds its home from it)\n"
        "  --keep-env           record secret-looking values in clear too\n"
        "  --no-aslr            start the guest with ASLR off, as replay does (a real\n"
        "                       PyPy may otherwise move a few calls and not replay)\n"
        "\n"
        "exit status: the guest's (tap kills itself with the guest's signal), or:\n"
        "  2   bad command line\n"
        "  4   the --key file cannot be read\n"
        "  6   the trace cannot be written\n"
        "  7   the --key file is not a usable key\n"
        "  70  the guest cannot be started\n");
}

enum { OPT_SYNC = 256, OPT_KEY, OPT_ARGV0, OPT_KEEP_ENV, OPT_NO_ASLR };

static const struct opt_spec tap_specs[] = {
    { 'o', 'o', "output", OPT_REQ },
    { OPT_SYNC, 0, "sync", OPT_NONE },
    { OPT_KEY, 0, "key", OPT_REQ },
    { OPT_ARGV0, 0, "argv0", OPT_REQ },
    { OPT_KEEP_ENV, 0, "keep-env", OPT_NONE },
    { OPT_NO_ASLR, 0, "no-aslr", OPT_NONE },
    { 'h', 'h', "help", OPT_NONE },
    OPT_SPEC_END,
};

struct tap_opts {
    const char *out, *key_file, *argv0;
    int sync, keep_env, no_aslr;
    const char *exe;
    char **gargv;          /* the executable and its arguments (in argv) */
    size_t gargc;
};

/* 1 to go on, else 0 with *code set (after --help or a usage message). */
static int parse(int argc, char **argv, struct tap_opts *o, int *code)
{
    struct opt_parser p;
    opt_init(&p, "tap", tap_specs, argc, argv, OPT_STOP_AT_OPERAND);
    *code = ST_EXIT_USAGE;
    int go = 0;
    for (int id; (id = opt_next(&p)) != OPT_DONE;) {
        switch (id) {
        case OPT_ERROR: goto out;
        case 'o': o->out = p.arg; break;
        case OPT_SYNC: o->sync = 1; break;
        case OPT_KEY: o->key_file = p.arg; break;
        case OPT_ARGV0: o->argv0 = p.arg; break;
        case OPT_KEEP_ENV: o->keep_env = 1; break;
        case OPT_NO_ASLR: o->no_aslr = 1; break;
        case 'h':
            tap_usage(stdout);
            *code = ST_EXIT_OK;
            goto out;
        }
    }
    if (!o->out || !*o->out) {
        opt_usage(&p, "no trace file given (-o FILE)");
    } else if (p.noperands == 0) {
        opt_usage(&p, "no executable given");
    } else {
        /* The operands are argv's last words (the first one ended the options). */
        o->gargv = argv + argc - p.noperands;
        o->gargc = (size_t)p.noperands;
        go = 1;
    }
out:
    opt_release(&p);
    return go;
}

/* Ends the process the way the guest ended. */
static int exit_like(int wait_status)
{
    if (WIFSIGNALED(wait_status)) {
        int sig = WTERMSIG(wait_status);
        struct rlimit nocore = { 0, 0 };
        setrlimit(RLIMIT_CORE, &nocore); /* the guest's crash, not tap's */
        signal(sig, SIG_DFL);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, sig);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        fflush(NULL);
        raise(sig);
        return 128 + sig; /* a signal that does not kill (e.g. SIGCHLD) */
    }
    return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : ST_EXIT_ERROR;
}

/* The trace's header: the guest, the environment tap was given (secrets
 * redacted), the policy. 0 or the exit code after a message. */
static int fill_meta(const struct tap_opts *o, struct st_tracer_meta *meta, int dump_mode)
{
    const char *exe = o->exe;
    int rc = st_tracer_meta_set_guest(meta, exe, (const char *const *)o->gargv, o->gargc, NULL, 0);
    if (rc < 0) {
        fprintf(stderr, "sandtrace tap: cannot read executable '%s': %s\n", exe,
                rc == ST_TRACER_E_HASH ? strerror(errno) : st_tracer_strerror(rc));
        return ST_EXIT_ERROR;
    }
    /* The guest's real environment is the one tap was given: recorded
     * (replay starts the guest with it: locale, TZ), secrets redacted. The
     * virtual one is whatever the controller answers to get_environ. */
    char **real_env = NULL;
    size_t nenv = 0, nredacted = 0;
    if (st_tap_env_redact(environ, o->keep_env, &real_env, &nenv, &nredacted) < 0) {
        fprintf(stderr, "sandtrace tap: out of memory\n");
        return ST_EXIT_ERROR;
    }
    meta->header.guest_real_envc = nenv;
    meta->header.guest_real_env = (const char *const *)real_env;
    st_tracer_meta_add(meta, TRACE_POLICY_CONTROLLER, "foreign (sandtrace tap)");
    st_tracer_meta_add(meta, TRACE_POLICY_EXE, "%s", exe);
    st_tracer_meta_add(meta, TRACE_POLICY_TAP_REAL_ENV_COUNT, "%zu", nenv);
    st_tracer_meta_add(meta, TRACE_POLICY_TAP_ENV_REDACTED, "%zu", nredacted);
    if (o->keep_env)
        st_tracer_meta_add(meta, TRACE_POLICY_TAP_KEEP_ENV, "1");
    if (dump_mode)
        st_tracer_meta_add(meta, TRACE_POLICY_DUMP_MODE, "1");
    st_tracer_meta_add(meta, TRACE_POLICY_NO_ASLR, "%d", o->no_aslr);
    return 0;
}

/* The tracer on -o. 0 or the exit code after a message. */
static int open_tracer(const struct tap_opts *o, int dump_mode, struct run_output *file,
                       struct st_tracer **t)
{
    struct trace_writer_options wopt;
    trace_writer_options_init(&wopt);
    wopt.sync = o->sync;
    uint8_t key[TRACE_KEY_BYTES];
    if (o->key_file) {
        int krc = trace_key_load(o->key_file, key);
        if (krc < 0) {
            fprintf(stderr, "sandtrace tap: cannot %s key file '%s': %s\n",
                    krc == TRACE_E_IO ? "read" : "use", o->key_file,
                    krc == TRACE_E_IO ? strerror(errno) : trace_strerror(krc));
            return krc == TRACE_E_IO ? ST_EXIT_UNREADABLE : ST_EXIT_KEY;
        }
        wopt.key = key;
    }
    struct st_tracer_meta meta;
    st_tracer_meta_init(&meta);
    int code = fill_meta(o, &meta, dump_mode);
    if (!code && meta.error) {
        fprintf(stderr, "sandtrace tap: %s\n", st_tracer_strerror(meta.error));
        code = ST_EXIT_ERROR;
    }
    /* A temporary file beside -o, put in place once the guest started. */
    struct trace_io *io = NULL;
    if (!code && run_output_open(file, "tap", o->out) < 0)
        code = ST_EXIT_OUTPUT;
    if (!code) {
        io = trace_io_from_fd(file->fd, 1);
        if (!io)
            close(file->fd);
        file->fd = -1; /* the trace's io owns it now */
    }
    int terr = 0, rc = 0;
    if (!code && (rc = io ? st_tracer_new(t, io, 1, &meta.header, &wopt, &terr)
                          : ST_TRACER_E_NOMEM) < 0) {
        fprintf(stderr, "sandtrace tap: cannot write trace '%s': %s\n", o->out,
                terr ? trace_strerror(terr) : st_tracer_strerror(rc));
        code = ST_EXIT_OUTPUT;
    }
    if (code && file->tmp)
        run_output_discard(file);
    st_tap_env_free((char **)meta.header.guest_real_env); /* the header was copied */
    meta.header.guest_real_env = NULL;
    st_tracer_meta_release(&meta);
    return code;
}

/* Signals meant for the guest (the controller's terminate) are forwarded
 * to it through a self-pipe; tap ends when the guest does. Returns the
 * pipe's read end, or -1. */
static int forward_signals(void)
{
    int sp[2] = { -1, -1 };
    if (pipe2(sp, O_CLOEXEC | O_NONBLOCK) < 0)
        return -1;
    sig_pipe_w = sp[1];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    static const int fwd[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
    for (size_t i = 0; i < sizeof fwd / sizeof fwd[0]; i++)
        sigaction(fwd[i], &sa, NULL);
    return sp[0];
}

struct tap_started {
    struct run_output *file;
    int placed;
};

/* The guest runs: its trace takes the place of -o. */
static void put_trace_in_place(void *ctx)
{
    struct tap_started *s = ctx;
    s->placed = 1;
    run_output_place(s->file, "tap");
}

int cmd_tap(int argc, char **argv)
{
    struct tap_opts o = { 0 };
    int code;
    if (!parse(argc, argv, &o, &code))
        return code;
    o.exe = o.gargv[0];
    /* tap stands where the guest would: the argv[0] the controller gave it
     * (PyPy's reference controller gives /bin/pypy or /lib/pypy, and PyPy
     * finds its library from it) is the guest's, not EXECUTABLE's path. */
    o.gargv[0] = (char *)(o.argv0 ? o.argv0 : program_invocation_name); /* argv is ours */
    const char *dump = getenv("RPY_SANDBOX_DUMP");
    int dump_mode = dump && *dump; /* what the guest's runtime checks */
    struct st_tracer *t = NULL;
    struct run_output file = { .fd = -1 };
    if ((code = open_tracer(&o, dump_mode, &file, &t)) != 0)
        return code;
    st_tracer_set_background_flush(t, 100);
    struct st_observer obs = st_tracer_observer(t);
    struct st_tap_config cfg;
    st_tap_config_init(&cfg);
    cfg.exe = o.exe;
    cfg.argv = o.gargv;
    cfg.envp = environ;
    cfg.signal_fd = forward_signals();
    cfg.dump_mode = dump_mode;
    cfg.no_aslr = o.no_aslr;
    struct tap_started started = { &file, 0 };
    cfg.on_started = put_trace_in_place;
    cfg.started_ctx = &started;
    /* A controller that goes away must not kill tap before the trace ends. */
    struct sigaction ign, old_pipe;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old_pipe);
    struct st_tap_result res;
    int rc = st_tap_run(&cfg, &obs, &res);
    sigaction(SIGPIPE, &old_pipe, NULL);
    code = -1;
    if (rc < 0) {
        fprintf(stderr, "sandtrace tap: cannot start '%s': %s\n", o.exe,
                rc == ST_TRACER_E_SPAWN && res.exec_errno ? strerror(res.exec_errno)
                                                          : st_tracer_strerror(rc));
        code = ST_EXIT_ERROR;
    }
    if (st_tracer_close(t) < 0) {
        fprintf(stderr, "sandtrace tap: cannot write trace '%s': %s\n", o.out,
                trace_strerror(st_tracer_trace_error(t)));
        code = ST_EXIT_OUTPUT;
    }
    st_tracer_free(t);
    /* A guest that never started leaves an existing trace as it was. */
    if (!started.placed)
        run_output_discard(&file);
    free(file.tmp); /* set only when it could not be put in place (and said so) */
    return code < 0 ? exit_like(res.wait_status) : code;
}
