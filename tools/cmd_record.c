/* sandtrace record: run a guest exactly like `run` and record everything it
 * does (every request, memory transfer, result, its stderr, its end) to a
 * trace. Also `sandtrace run --record FILE ...`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/session.h"
#include "format/trace.h"
#include "tools/cmd_record.h"
#include "controller/fsjail.h"
#include "tools/cmd_run_opts.h"
#include "tools/commands.h"
#include "tracer/tracer.h"

struct record_opts {
    const char *out;      /* -o FILE */
    const char *key_file; /* --key FILE */
    const char *max_trace; /* --max-trace BYTES */
    int sync;             /* --sync */
    int help;
};

/* If argv[*i] is one of record's own options, consumes it (and its value)
 * and returns 1; 0 if it is not; -1 on a missing value (message printed). */
static int take_record_option(struct record_opts *o, int argc, char **argv, int *i,
                              const char *prog)
{
    const char *w = argv[*i];
    const char **dst = NULL;
    const char *inline_value = NULL;
    if (!strcmp(w, "-o") || !strcmp(w, "--output") || !strcmp(w, "--record")) {
        dst = &o->out;
    } else if (!strncmp(w, "-o", 2) && w[2]) {
        dst = &o->out, inline_value = w + 2;
    } else if (!strncmp(w, "--output=", 9)) {
        dst = &o->out, inline_value = w + 9;
    } else if (!strncmp(w, "--record=", 9)) {
        dst = &o->out, inline_value = w + 9;
    } else if (!strcmp(w, "--key")) {
        dst = &o->key_file;
    } else if (!strncmp(w, "--key=", 6)) {
        dst = &o->key_file, inline_value = w + 6;
    } else if (!strcmp(w, "--max-trace")) {
        dst = &o->max_trace;
    } else if (!strncmp(w, "--max-trace=", 12)) {
        dst = &o->max_trace, inline_value = w + 12;
    } else if (!strcmp(w, "--sync")) {
        o->sync = 1;
        return 1;
    } else if (!strcmp(w, "--help") || !strcmp(w, "-h")) {
        o->help = 1;
        return 1;
    } else {
        return 0;
    }
    if (inline_value) {
        *dst = inline_value;
        return 1;
    }
    if (*i + 1 >= argc) {
        fprintf(stderr, "sandtrace %s: option '%s' needs a value\n", prog, w);
        return -1;
    }
    *dst = argv[++*i];
    return 1;
}

/* Splits argv into record's options and the rest (run options, `--`, the
 * executable and its arguments, in order), which go to `rest` (argv[0]
 * kept). Only words before the executable are looked at, so that the
 * guest's own arguments are never taken. Returns 0 or -1. */
static int split_args(int argc, char **argv, struct record_opts *o, char **rest, int *nrest,
                      const char *prog)
{
    int n = 0;
    rest[n++] = argv[0];
    int i = 1;
    for (; i < argc; i++) {
        const char *w = argv[i];
        if (!strcmp(w, "--") || w[0] != '-' || !w[1])
            break; /* the end of the options */
        int rc = take_record_option(o, argc, argv, &i, prog);
        if (rc < 0)
            return -1;
        if (rc > 0)
            continue;
        rest[n++] = argv[i];
        if (st_run_options_takes_value(w) && i + 1 < argc)
            rest[n++] = argv[++i];
    }
    for (; i < argc; i++)
        rest[n++] = argv[i];
    rest[n] = NULL;
    *nrest = n;
    return 0;
}

int st_record_requested(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        if (!strcmp(w, "--") || w[0] != '-' || !w[1])
            return 0;
        if (!strcmp(w, "--record") || !strncmp(w, "--record=", 9))
            return 1;
        if (st_run_options_takes_value(w) || !strcmp(w, "--max-trace"))
            i++;
    }
    return 0;
}

/* The default --max-trace: a bound on disk use that a real session stays
 * far below (PyPy's start-up records a few MiB), and that a guest writing
 * hundreds of MiB per second to /dev/null reaches in seconds. */
#define DEFAULT_MAX_TRACE (1ull << 30)

/* BYTES with an optional K, M or G suffix (powers of 1024); 0 or -1. */
static int parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10, end++;
    else if (*end == 'M' || *end == 'm')
        shift = 20, end++;
    else if (*end == 'G' || *end == 'g')
        shift = 30, end++;
    if (*end || (shift && v > (UINT64_MAX >> shift)))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static void record_usage(FILE *out, const char *prog)
{
    if (!strcmp(prog, "run")) {
        fprintf(out, "usage: sandtrace run --record FILE [OPTIONS] [--] EXECUTABLE [ARGS...]\n"
                     "(the same as 'sandtrace record -o FILE ...'; see 'sandtrace record --help')\n");
        return;
    }
    fprintf(out,
        "usage: sandtrace record -o FILE [--sync] [--key KEYFILE] [--max-trace BYTES] [RUN OPTIONS]\n"
        "                        [--] EXECUTABLE [ARGS...]\n"
        "\n"
        "Runs a sandbox-2 guest exactly as 'sandtrace run' does and records to FILE every\n"
        "request with its raw arguments, every memory transfer with the bytes that crossed\n"
        "the pipe, every result, the guest's stderr, its end, limits hit, protocol\n"
        "violations and refused calls. The trace's header holds what is needed to start\n"
        "the same guest again: its executable (path, size, BLAKE2b hash), its argv and\n"
        "environment, and the policy.\n"
        "\n"
        "recording:\n"
        "  -o, --output FILE    the trace to write (created or truncated)\n"
        "  --sync               fsync every chunk (for audit use; slower)\n"
        "  --key KEYFILE        key the trace's hash chain (a MAC) with KEYFILE's hash\n"
        "  --max-trace BYTES    end the guest when the trace reaches BYTES (K, M, G; default\n"
        "                       1G; 0: no bound): status trace-limit, exit 80; also when\n"
        "                       the trace would name more than 65536 distinct signatures\n"
        "Chunks reach the disk within about 0.2 s, even while the guest is quiet, so\n"
        "killing the recorder loses at most that much; a normal end writes the index.\n"
        "Record's options come before the executable.\n"
        "\n"
        "%s"
        "\n"
        "exit status: as 'sandtrace run' (the guest's code, 128+signal, 70..78), 79 at\n"
        "--max-trace, and 70 when the trace cannot be written; 2 for a bad command line.\n",
        st_run_options_help());
}

/* The run options that shape the guest's world, as policy entries. */
static void add_world_policy(struct st_tracer_meta *m, const struct st_run_options *ro,
                             char **rest, int nrest)
{
    for (size_t i = 0; i < ro->nmounts; i++)
        st_tracer_meta_add(m, TRACE_POLICY_MOUNT, "%s=%s", ro->mounts[i].key, ro->mounts[i].value);
    for (size_t i = 0; i < ro->nfiles; i++)
        st_tracer_meta_add(m, TRACE_POLICY_FILE, "%s=%s", ro->files[i].key, ro->files[i].value);
    if (ro->lib_path)
        st_tracer_meta_add(m, TRACE_POLICY_LIB_PATH, "%s", ro->lib_path);
    if (ro->tmp_dir)
        st_tracer_meta_add(m, TRACE_POLICY_TMP, "%s", ro->tmp_dir);
    if (ro->tmp_write)
        st_tracer_meta_add(m, TRACE_POLICY_TMP_WRITE_QUOTA, "%llu", (unsigned long long)ro->tmp_quota);
    if (ro->cwd)
        st_tracer_meta_add(m, TRACE_POLICY_CWD, "%s", ro->cwd);
    st_tracer_meta_add(m, TRACE_POLICY_SEED, "%llu", (unsigned long long)ro->seed);
    if (ro->stdin_file)
        st_tracer_meta_add(m, TRACE_POLICY_STDIN, "%s", ro->stdin_file);
    st_tracer_meta_add(m, TRACE_POLICY_EXE, "%s", ro->exe);
    /* The jail's layers (controller/fsjail.h): st_spawn sets up exactly
     * these or does not start the guest. */
    unsigned layers = 0;
    char names[96];
    st_fsjail_layers(ro->cfg.no_fs_jail, ro->cfg.seccomp, &layers);
    st_fsjail_layers_name(layers, names, sizeof names);
    st_tracer_meta_add(m, "jail.layers", "%s", names);
    if (ro->tz)
        st_tracer_meta_add(m, TRACE_POLICY_TZ, "%s", ro->tz);
    if (ro->locale)
        st_tracer_meta_add(m, TRACE_POLICY_LOCALE, "%s", ro->locale);
    /* The run options verbatim (before the executable), so that a later
     * run can be started with exactly the same command line. */
    for (int i = 1; i < nrest; i++) {
        if (rest[i] == ro->exe)
            break;
        if (!strcmp(rest[i], "--"))
            continue;
        st_tracer_meta_add(m, TRACE_POLICY_RUN_OPTION, "%s", rest[i]);
    }
}

int cmd_record(int argc, char **argv)
{
    const char *prog = !strcmp(argv[0], "run") ? "run" : "record";
    struct record_opts o = { 0 };
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest) {
        fprintf(stderr, "sandtrace %s: out of memory\n", prog);
        return ST_RUN_EXIT_ERROR;
    }
    int nrest = 0;
    if (split_args(argc, argv, &o, rest, &nrest, prog) < 0) {
        fprintf(stderr, "see 'sandtrace record --help'\n");
        free(rest);
        return ST_EXIT_USAGE;
    }
    if (o.help) {
        record_usage(stdout, prog);
        free(rest);
        return ST_EXIT_OK;
    }
    if (!o.out || !*o.out) {
        fprintf(stderr, "sandtrace %s: no trace file given (-o FILE)\nsee 'sandtrace record --help'\n",
                prog);
        free(rest);
        return ST_EXIT_USAGE;
    }

    uint64_t max_trace = DEFAULT_MAX_TRACE;
    if (o.max_trace && parse_bytes(o.max_trace, &max_trace) < 0) {
        fprintf(stderr, "sandtrace %s: bad --max-trace '%s' (BYTES, with K, M or G)\n"
                        "see 'sandtrace record --help'\n", prog, o.max_trace);
        free(rest);
        return ST_EXIT_USAGE;
    }

    struct st_run_options ro;
    st_run_options_init(&ro);
    struct st_tracer_meta meta;
    st_tracer_meta_init(&meta);
    struct st_tracer *t = NULL;
    int code = ST_RUN_EXIT_ERROR;
    int rc = st_run_options_parse(&ro, nrest, rest, prog);
    if (rc == ST_RUN_OPT_HELP) {
        record_usage(stdout, prog);
        code = ST_EXIT_OK;
        goto done;
    }
    if (rc < 0) {
        if (rc == ST_RUN_OPT_USAGE)
            fprintf(stderr, "see 'sandtrace record --help'\n");
        code = rc == ST_RUN_OPT_USAGE ? ST_EXIT_USAGE : ST_RUN_EXIT_ERROR;
        goto done;
    }

    /* The controller's decisions belong in the record: every refused call
     * becomes a NOTE event (run itself reports them only with --debug). */
    ro.cfg.log_refused = 1;

    uint8_t key[TRACE_KEY_BYTES];
    struct trace_writer_options wopt;
    trace_writer_options_init(&wopt);
    wopt.sync = o.sync;
    if (o.key_file) {
        int krc = trace_key_load(o.key_file, key);
        if (krc < 0) {
            fprintf(stderr, "sandtrace %s: cannot use key file '%s': %s\n", prog, o.key_file,
                    trace_strerror(krc));
            goto done;
        }
        wopt.key = key;
    }
    rc = st_tracer_meta_set_guest(&meta, ro.exe, ro.cfg.argv, ro.cfg.argc, ro.cfg.env, ro.cfg.nenv);
    if (rc < 0) {
        fprintf(stderr, "sandtrace %s: cannot read executable '%s': %s\n", prog, ro.exe,
                rc == ST_TRACER_E_HASH ? strerror(errno) : st_tracer_strerror(rc));
        goto done;
    }
    char tz_env[200], lang_env[80];
    const char *real_env[2] = { lang_env, tz_env };
    st_run_real_env(&ro, lang_env, sizeof lang_env, tz_env, sizeof tz_env);
    st_tracer_meta_set_real_env(&meta, real_env, 2);
    st_tracer_meta_add_session(&meta, &ro.cfg);
    st_tracer_meta_add(&meta, "limit.max_trace", "%llu", (unsigned long long)max_trace);
    add_world_policy(&meta, &ro, rest, nrest);
    if (meta.error) {
        fprintf(stderr, "sandtrace %s: %s\n", prog, st_tracer_strerror(meta.error));
        goto done;
    }

    struct trace_io *io = NULL;
    rc = trace_io_open_file(o.out, TRACE_IO_WRITE, &io);
    if (rc < 0) {
        fprintf(stderr, "sandtrace %s: cannot create trace '%s': %s\n", prog, o.out,
                strerror(errno));
        goto done;
    }
    int terr = 0;
    rc = st_tracer_new(&t, io, 1, &meta.header, &wopt, &terr);
    if (rc < 0) {
        fprintf(stderr, "sandtrace %s: cannot write trace '%s': %s\n", prog, o.out,
                terr ? trace_strerror(terr) : st_tracer_strerror(rc));
        goto done;
    }
    st_tracer_set_session_limits(t, &ro.cfg);
    st_tracer_set_max_bytes(t, max_trace);
    /* A quiet guest (waiting for input) still gets its events to disk. */
    st_tracer_set_background_flush(t, 100);
    struct st_observer obs = st_tracer_observer(t);

    if (ro.debug)
        st_run_debug_dump(&ro);
    struct st_outcome outcome;
    rc = st_run_execute(&ro, &obs, &outcome);
    code = rc < 0 && outcome.status != ST_STATUS_ERROR ? ST_RUN_EXIT_ERROR
                                                       : st_outcome_exit_code(&outcome);
    if (st_tracer_close(t) < 0) {
        fprintf(stderr, "sandtrace %s: cannot write trace '%s': %s\n", prog, o.out,
                trace_strerror(st_tracer_trace_error(t)));
        code = ST_RUN_EXIT_ERROR;
    }
done:
    st_tracer_free(t);
    st_tracer_meta_release(&meta);
    st_run_options_release(&ro);
    free(rest);
    return code;
}
