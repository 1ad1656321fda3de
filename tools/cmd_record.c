/* sandtrace record: run a guest exactly like `run` and record everything it
 * does (every request, memory transfer, result, its stderr, its end) to a
 * trace. Also `sandtrace run --record FILE ...`: the same code path. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/fsjail.h"
#include "controller/session.h"
#include "format/trace.h"
#include "tools/cmd_record.h"
#include "tools/cmd_run_opts.h"
#include "tools/commands.h"
#include "tools/run_output.h"
#include "tracer/tracer.h"

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


struct record_opts {
    const char *out;       /* -o FILE (record), --record FILE (both) */
    const char *key_file;  /* --key FILE */
    uint64_t max_trace;    /* --max-trace BYTES */
    int max_trace_given;
    int sync;              /* --sync */
};

enum { R_OUT = ST_RUN_EXTRA_ID, R_RECORD, R_KEY, R_MAX_TRACE, R_SYNC };

/* record's own options, beside run's. */
static const struct opt_spec record_specs[] = {
    { R_OUT, 'o', "output", OPT_REQ },
    { R_RECORD, 0, "record", OPT_REQ },
    { R_KEY, 0, "key", OPT_REQ },
    { R_MAX_TRACE, 0, "max-trace", OPT_NUM },
    { R_SYNC, 0, "sync", OPT_NONE },
    OPT_SPEC_END,
};

/* What `run` accepts of them: -o is not run's. */
static const struct opt_spec run_record_specs[] = {
    { R_RECORD, 0, "record", OPT_REQ },
    { R_KEY, 0, "key", OPT_REQ },
    { R_MAX_TRACE, 0, "max-trace", OPT_NUM },
    { R_SYNC, 0, "sync", OPT_NONE },
    OPT_SPEC_END,
};

static int take_record_option(void *ctx, const struct opt_parser *p, int id)
{
    struct record_opts *o = ctx;
    switch (id) {
    case R_OUT:
    case R_RECORD: o->out = p->arg; return 0;
    case R_KEY: o->key_file = p->arg; return 0;
    case R_SYNC: o->sync = 1; return 0;
    case R_MAX_TRACE:
        o->max_trace_given = 1;
        if (parse_bytes(p->arg, &o->max_trace) < 0)
            return opt_bad_value(p, "bad size (BYTES, with K, M or G)"), ST_RUN_OPT_USAGE;
        return 0;
    }
    return ST_RUN_OPT_USAGE;
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
        "  -o, --output FILE    the trace to write: a temporary file beside FILE replaces\n"
        "                       it once the guest has started (a run that cannot start\n"
        "                       leaves an existing FILE as it was)\n"
        "  --sync               fsync every chunk (for audit use; slower)\n"
        "  --key KEYFILE        key the trace's hash chain (a MAC) with KEYFILE's hash\n"
        "  --max-trace BYTES    end the guest when the trace reaches BYTES (K, M, G; default\n"
        "                       1G; 0: no bound): status trace-limit, exit 80; also when\n"
        "                       the trace would name more than 65536 distinct signatures\n"
        "Chunks reach the disk within about 0.2 s, even while the guest is quiet, so\n"
        "killing the recorder loses at most that much; a normal end writes the index.\n"
        "Options (record's and run's) come before the executable: the words after it are\n"
        "the guest's.\n"
        "\n"
        "%s"
        "\n"
        "An interrupted recording (SIGINT, SIGTERM, SIGHUP) is a complete trace: it ends\n"
        "with the interruption where it happened, and replays to that point.\n"
        "\n"
        "exit status:\n"
        "  N        the guest exited with code N\n"
        "  128+N    the guest was killed by signal N, or the run interrupted by it (130:\n"
        "           SIGINT, 143: SIGTERM, 129: SIGHUP)\n"
        "  2        bad command line\n"
        "  4        a --config, --stdin or --key file cannot be read\n"
        "  6        the trace or another output cannot be written\n"
        "  7        the --key file is not a usable key\n"
        "  70       the guest could not be set up or started\n"
        "  71..79   a limit or an end of the controller's, as 'sandtrace run --help' lists\n"
        "  80       --max-trace reached (or the trace's signature table)\n",
        st_run_options_help());
}

/* The run options that shape the guest's world, as policy entries. */
static void add_world_policy(struct st_tracer_meta *m, const struct st_run_options *ro)
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
    /* The run options (record's own left out), one word each, so that a
     * later run can be started with the same command line. */
    for (size_t i = 0; i < ro->nwords; i++)
        st_tracer_meta_add(m, TRACE_POLICY_RUN_OPTION, "%s", ro->words[i]);
}

/* No -o: says so, and when the guest's words hold one ("record -- g -o
 * x.sbt"), that options go before the executable. */
static int no_trace_given(const struct st_run_options *ro)
{
    struct opt_parser hint = { .cmd = ro->prog };
    for (int i = 0; i < ro->nguest_args; i++) {
        const char *w = ro->guest_args[i];
        if (!strncmp(w, "-o", 2) || !strncmp(w, "--output", 8) || !strncmp(w, "--record", 8))
            return opt_usage(&hint,
                             "no trace file given (-o FILE); options go before the executable: "
                             "'%.*s' after '%s' is passed to the guest",
                             (int)strcspn(w, "="), w[1] == 'o' ? "-o" : w, ro->exe);
    }
    return opt_usage(&hint, "no trace file given (-o FILE)");
}

/* --key: 0, or the exit code after a message. */
static int load_key(const struct st_run_options *ro, const struct record_opts *o,
                    uint8_t key[TRACE_KEY_BYTES])
{
    int krc = trace_key_load(o->key_file, key);
    if (krc == 0)
        return 0;
    if (krc == TRACE_E_IO) {
        fprintf(stderr, "sandtrace %s: cannot read key file '%s': %s\n", ro->prog, o->key_file,
                strerror(errno));
        return ST_EXIT_UNREADABLE;
    }
    fprintf(stderr, "sandtrace %s: cannot use key file '%s': %s\n", ro->prog, o->key_file,
            krc == TRACE_E_LIMIT ? "a key file holds 16 to 65536 bytes" : trace_strerror(krc));
    return ST_EXIT_KEY;
}

/* The trace's header: the guest, its environments, the policy. 0 or 70. */
static int fill_meta(const struct st_run_options *ro, const struct record_opts *o,
                     struct st_tracer_meta *meta)
{
    int rc = st_tracer_meta_set_guest(meta, ro->exe, ro->cfg.argv, ro->cfg.argc, ro->cfg.env,
                                      ro->cfg.nenv);
    if (rc < 0) {
        fprintf(stderr, "sandtrace %s: cannot read executable '%s': %s\n", ro->prog, ro->exe,
                rc == ST_TRACER_E_HASH ? strerror(errno) : st_tracer_strerror(rc));
        return ST_EXIT_ERROR;
    }
    char tz_env[200], lang_env[80];
    const char *real_env[2] = { lang_env, tz_env };
    st_run_real_env(ro, lang_env, sizeof lang_env, tz_env, sizeof tz_env);
    st_tracer_meta_set_real_env(meta, real_env, 2);
    st_tracer_meta_add_session(meta, &ro->cfg);
    st_tracer_meta_add(meta, "limit.max_trace", "%llu", (unsigned long long)o->max_trace);
    add_world_policy(meta, ro);
    if (meta->error) {
        fprintf(stderr, "sandtrace %s: %s\n", ro->prog, st_tracer_strerror(meta->error));
        return ST_EXIT_ERROR;
    }
    return 0;
}

/* The tracer on a temporary file beside -o. 0 or the exit code. */
static int open_trace(struct st_run_options *ro, const struct record_opts *o,
                      const struct st_tracer_meta *meta, const uint8_t *key,
                      struct run_output *file, struct st_tracer **t)
{
    struct trace_writer_options wopt;
    trace_writer_options_init(&wopt);
    wopt.sync = o->sync;
    wopt.key = key;
    if (run_output_open(file, ro->prog, o->out) < 0)
        return ST_EXIT_OUTPUT;
    struct trace_io *io = trace_io_from_fd(file->fd, 1);
    int terr = 0;
    int rc = io ? st_tracer_new(t, io, 1, &meta->header, &wopt, &terr) : ST_TRACER_E_NOMEM;
    if (!io)
        close(file->fd);
    file->fd = -1; /* the trace's io owns it now */
    if (rc < 0) {
        fprintf(stderr, "sandtrace %s: cannot write trace '%s': %s\n", ro->prog, o->out,
                terr ? trace_strerror(terr) : st_tracer_strerror(rc));
        run_output_discard(file);
        return ST_EXIT_OUTPUT;
    }
    st_tracer_set_session_limits(*t, &ro->cfg);
    st_tracer_set_max_bytes(*t, o->max_trace);
    /* A quiet guest (waiting for input) still gets its events to disk. */
    st_tracer_set_background_flush(*t, 100);
    return 0;
}

/* Runs and records. Returns the exit code. */
static int record(struct st_run_options *ro, const struct record_opts *o)
{
    /* The controller's decisions belong in the record: every refused call
     * becomes a NOTE event (run itself reports them only with --debug). */
    ro->cfg.log_refused = 1;
    uint8_t key[TRACE_KEY_BYTES];
    struct st_tracer_meta meta;
    st_tracer_meta_init(&meta);
    struct st_tracer *t = NULL;
    struct run_output file = { .fd = -1 };
    int code = o->key_file ? load_key(ro, o, key) : 0;
    if (!code)
        code = fill_meta(ro, o, &meta);
    if (!code)
        code = open_trace(ro, o, &meta, o->key_file ? key : NULL, &file, &t);
    st_tracer_meta_release(&meta);
    if (code)
        return code;
    struct st_observer obs = st_tracer_observer(t);
    if (ro->debug)
        st_run_debug_dump(ro);
    ro->trace_output = &file;
    struct st_outcome outcome;
    code = st_run_execute(ro, &obs, &outcome);
    if (st_tracer_close(t) < 0 && ro->started) {
        fprintf(stderr, "sandtrace %s: cannot write trace '%s': %s\n", ro->prog, o->out,
                trace_strerror(st_tracer_trace_error(t)));
        code = ST_EXIT_OUTPUT;
    }
    st_tracer_free(t);
    /* A run that never started leaves an existing trace as it was. */
    if (!ro->started)
        run_output_discard(&file);
    free(file.tmp); /* set only when it could not be put in place (and said so) */
    return code;
}

int st_run_main(int argc, char **argv, const char *prog, void (*usage)(FILE *out, const char *prog))
{
    int is_record = !strcmp(prog, "record");
    struct record_opts o = { .max_trace = DEFAULT_MAX_TRACE };
    struct st_run_extra extra = { is_record ? record_specs : run_record_specs, take_record_option,
                                  &o };
    struct st_run_options ro;
    st_run_options_init(&ro);
    int code, rc = st_run_options_parse(&ro, argc, argv, prog, &extra);
    if (rc == ST_RUN_OPT_HELP)
        (o.out && !is_record ? record_usage : usage)(stdout, prog);
    if (rc != 0) {
        code = st_run_options_exit_code(rc);
    } else if (o.out && *o.out) {
        code = record(&ro, &o);
    } else if (is_record || o.out) {
        code = no_trace_given(&ro);
    } else if (o.key_file || o.sync || o.max_trace_given) {
        struct opt_parser hint = { .cmd = prog };
        code = opt_usage(&hint, "--key, --max-trace and --sync need --record FILE");
    } else {
        if (ro.debug)
            st_run_debug_dump(&ro);
        struct st_outcome outcome;
        code = st_run_execute(&ro, NULL, &outcome);
    }
    st_run_options_release(&ro);
    return code;
}

int cmd_record(int argc, char **argv)
{
    return st_run_main(argc, argv, "record", record_usage);
}
