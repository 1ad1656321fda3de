/* sandtrace tap: given to a foreign controller as the guest to launch, it
 * starts the real guest, relays both byte streams (and stderr) unchanged,
 * and records the session as `record` would. Exits as the guest did. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
        "  -o, --output FILE    the trace to write\n"
        "  --sync               fsync every chunk\n"
        "  --key KEYFILE        key the trace's hash chain with KEYFILE's hash\n"
        "  --argv0 NAME         the guest's argv[0] (default: tap's own argv[0], as the\n"
        "                       controller gave it: PyPy finds its home from it)\n"
        "  --keep-env           record secret-looking values in clear too\n"
        "  --no-aslr            start the guest with ASLR off, as replay does (a real\n"
        "                       PyPy may otherwise move a few calls and not replay)\n"
        "\n"
        "exit status: the guest's (tap kills itself with the guest's signal); 127 when\n"
        "the guest cannot be started, 2 for a bad command line.\n");
}

enum { OPT_SYNC = 256, OPT_KEY, OPT_ARGV0, OPT_KEEP_ENV, OPT_NO_ASLR };

static const struct option tap_opts[] = {
    { "output", required_argument, NULL, 'o' },
    { "sync", no_argument, NULL, OPT_SYNC },
    { "key", required_argument, NULL, OPT_KEY },
    { "argv0", required_argument, NULL, OPT_ARGV0 },
    { "keep-env", no_argument, NULL, OPT_KEEP_ENV },
    { "no-aslr", no_argument, NULL, OPT_NO_ASLR },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

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
    return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : ST_RUN_EXIT_ERROR;
}

int cmd_tap(int argc, char **argv)
{
    const char *out = NULL, *key_file = NULL, *argv0 = NULL;
    int sync = 0, keep_env = 0, no_aslr = 0;
    optind = 0;
    opterr = 0;
    for (;;) {
        int id = getopt_long(argc, argv, "+o:h", tap_opts, NULL);
        if (id == -1)
            break;
        switch (id) {
        case 'o': out = optarg; break;
        case OPT_SYNC: sync = 1; break;
        case OPT_KEY: key_file = optarg; break;
        case OPT_ARGV0: argv0 = optarg; break;
        case OPT_KEEP_ENV: keep_env = 1; break;
        case OPT_NO_ASLR: no_aslr = 1; break;
        case 'h':
            tap_usage(stdout);
            return ST_EXIT_OK;
        default:
            fprintf(stderr, "sandtrace tap: %s option '%s'\nsee 'sandtrace tap --help'\n",
                    optopt && optopt != '?' ? "bad" : "unknown", argv[optind - 1]);
            return ST_EXIT_USAGE;
        }
    }
    if (!out || !*out) {
        fprintf(stderr, "sandtrace tap: no trace file given (-o FILE)\nsee 'sandtrace tap --help'\n");
        return ST_EXIT_USAGE;
    }
    if (optind >= argc) {
        fprintf(stderr, "sandtrace tap: no executable given\nsee 'sandtrace tap --help'\n");
        return ST_EXIT_USAGE;
    }
    const char *exe = argv[optind];
    char **gargv = argv + optind;
    /* tap stands where the guest would: the argv[0] the controller gave it
     * (PyPy's reference controller gives /bin/pypy or /lib/pypy, and PyPy
     * finds its library from it) is the guest's, not EXECUTABLE's path. */
    if (!argv0)
        argv0 = program_invocation_name;
    gargv[0] = (char *)argv0; /* argv is ours to change */
    size_t gargc = (size_t)(argc - optind);

    struct trace_writer_options wopt;
    trace_writer_options_init(&wopt);
    wopt.sync = sync;
    uint8_t key[TRACE_KEY_BYTES];
    if (key_file) {
        int krc = trace_key_load(key_file, key);
        if (krc < 0) {
            fprintf(stderr, "sandtrace tap: cannot use key file '%s': %s\n", key_file,
                    trace_strerror(krc));
            return ST_RUN_EXIT_ERROR;
        }
        wopt.key = key;
    }

    struct st_tracer_meta meta;
    st_tracer_meta_init(&meta);
    int rc = st_tracer_meta_set_guest(&meta, exe, (const char *const *)gargv, gargc, NULL, 0);
    if (rc < 0) {
        fprintf(stderr, "sandtrace tap: cannot read executable '%s': %s\n", exe,
                rc == ST_TRACER_E_HASH ? strerror(errno) : st_tracer_strerror(rc));
        st_tracer_meta_release(&meta);
        return 127;
    }
    /* The guest's real environment is the one tap was given: recorded
     * (replay starts the guest with it: locale, TZ), secrets redacted. The
     * virtual one is whatever the controller answers to get_environ. */
    char **real_env = NULL;
    size_t nenv = 0, nredacted = 0;
    if (st_tap_env_redact(environ, keep_env, &real_env, &nenv, &nredacted) < 0) {
        fprintf(stderr, "sandtrace tap: out of memory\n");
        st_tracer_meta_release(&meta);
        return ST_RUN_EXIT_ERROR;
    }
    meta.header.guest_real_envc = nenv;
    meta.header.guest_real_env = (const char *const *)real_env;
    const char *dump = getenv("RPY_SANDBOX_DUMP");
    int dump_mode = dump && *dump; /* what the guest's runtime checks */
    st_tracer_meta_add(&meta, TRACE_POLICY_CONTROLLER, "foreign (sandtrace tap)");
    st_tracer_meta_add(&meta, TRACE_POLICY_EXE, "%s", exe);
    st_tracer_meta_add(&meta, TRACE_POLICY_TAP_REAL_ENV_COUNT, "%zu", nenv);
    st_tracer_meta_add(&meta, TRACE_POLICY_TAP_ENV_REDACTED, "%zu", nredacted);
    if (keep_env)
        st_tracer_meta_add(&meta, TRACE_POLICY_TAP_KEEP_ENV, "1");
    if (dump_mode)
        st_tracer_meta_add(&meta, TRACE_POLICY_DUMP_MODE, "1");
    st_tracer_meta_add(&meta, TRACE_POLICY_NO_ASLR, "%d", no_aslr);
    if (meta.error) {
        fprintf(stderr, "sandtrace tap: %s\n", st_tracer_strerror(meta.error));
        st_tracer_meta_release(&meta);
        st_tap_env_free(real_env);
        return ST_RUN_EXIT_ERROR;
    }

    struct trace_io *io = NULL;
    if (trace_io_open_file(out, TRACE_IO_WRITE, &io) < 0) {
        fprintf(stderr, "sandtrace tap: cannot create trace '%s': %s\n", out, strerror(errno));
        st_tracer_meta_release(&meta);
        st_tap_env_free(real_env);
        return ST_RUN_EXIT_ERROR;
    }
    struct st_tracer *t = NULL;
    int terr = 0;
    rc = st_tracer_new(&t, io, 1, &meta.header, &wopt, &terr);
    st_tracer_meta_release(&meta);
    st_tap_env_free(real_env); /* the header was copied */
    if (rc < 0) {
        fprintf(stderr, "sandtrace tap: cannot write trace '%s': %s\n", out,
                terr ? trace_strerror(terr) : st_tracer_strerror(rc));
        return ST_RUN_EXIT_ERROR;
    }
    st_tracer_set_background_flush(t, 100);
    struct st_observer obs = st_tracer_observer(t);

    /* Signals meant for the guest (the controller's terminate) are
     * forwarded to it through a self-pipe; tap ends when the guest does. */
    int sp[2] = { -1, -1 };
    if (pipe2(sp, O_CLOEXEC | O_NONBLOCK) == 0) {
        sig_pipe_w = sp[1];
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = forward_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        static const int fwd[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
        for (size_t i = 0; i < sizeof fwd / sizeof fwd[0]; i++)
            sigaction(fwd[i], &sa, NULL);
    }
    struct st_tap_config cfg;
    st_tap_config_init(&cfg);
    cfg.exe = exe;
    cfg.argv = gargv;
    cfg.envp = environ;
    cfg.signal_fd = sp[0];
    cfg.dump_mode = dump_mode;
    cfg.no_aslr = no_aslr;
    struct st_tap_result res;
    rc = st_tap_run(&cfg, &obs, &res);
    int code;
    if (rc < 0) {
        fprintf(stderr, "sandtrace tap: cannot start '%s': %s\n", exe,
                rc == ST_TRACER_E_SPAWN && res.exec_errno ? strerror(res.exec_errno)
                                                          : st_tracer_strerror(rc));
        code = 127;
    } else {
        code = -1;
    }
    if (st_tracer_close(t) < 0)
        fprintf(stderr, "sandtrace tap: cannot write trace '%s': %s\n", out,
                trace_strerror(st_tracer_trace_error(t)));
    st_tracer_free(t);
    if (code < 0)
        code = exit_like(res.wait_status);
    return code;
}
