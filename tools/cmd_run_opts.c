/* The options of `sandtrace run` (and `record`): parsing, --config FILE,
 * building the virtual world, running, reporting. */
#include "tools/cmd_run_opts.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/st_util.h"
#include "controller/registry.h"
#include "controller/call.h"
#include "controller/handler.h"
#include "controller/vfs.h"
#include "controller/fsjail.h"
#include "tools/commands.h"
#include "tools/run_outcome.h"
#include "tools/run_output.h"

#define DEFAULT_TMP_QUOTA (64ull << 20)

enum opt_id {
    O_HELP = 'h',
    O_QUIET = 'q',
    O_MOUNT = 256, O_FILE, O_TMP, O_TMP_WRITE, O_TMP_EXPORT, O_LIB_PATH, O_SEED, O_CWD,
    O_ENV, O_TIME, O_ARGV0, O_HOME, O_STDIN, O_STDOUT, O_STDERR, O_RAW_STDOUT, O_RAW_STDERR,
    O_NOCOLOR, O_COLOR, O_MAX_OUTPUT, O_TIMEOUT, O_CPU, O_MEMORY, O_MAX_CALLS, O_OUTCOME,
    O_NO_JAIL, O_ALLOW_UNKNOWN, O_DEBUG, O_CONFIG, O_NO_ASLR, O_ASLR, O_PROTOCOL_MEMORY,
    O_UID, O_GID, O_PID, O_STRICT_JAIL, O_LOOSE_JAIL, O_TZ, O_LOCALE, O_EXCLUDE, O_DOTFILES,
    O_FOLLOW, O_PLUGIN, O_HANDLER, O_HANDLER_TIMEOUT, O_NO_FS_JAIL, O_PIN,
};

/* The run options (tools/options.h). Aliases share an id. */
static const struct opt_spec run_specs[] = {
    { O_HELP, 'h', "help", OPT_NONE },
    { O_MOUNT, 0, "mount", OPT_REQ },
    { O_FILE, 0, "file", OPT_REQ },
    { O_TMP, 0, "tmp", OPT_REQ },
    { O_TMP_WRITE, 0, "tmp-write", OPT_OPT },
    { O_TMP_EXPORT, 0, "export-tmp", OPT_REQ },
    { O_TMP_EXPORT, 0, "tmp-export", OPT_REQ }, /* an earlier name */
    { O_LIB_PATH, 0, "lib-path", OPT_REQ },
    { O_SEED, 0, "seed", OPT_NUM },
    { O_CWD, 0, "cwd", OPT_REQ },
    { O_ENV, 0, "env", OPT_REQ },
    { O_TIME, 0, "time", OPT_REQ },
    { O_ARGV0, 0, "argv0", OPT_REQ },
    { O_HOME, 0, "home", OPT_REQ },
    { O_STDIN, 0, "stdin", OPT_REQ },
    { O_STDOUT, 0, "stdout", OPT_REQ },
    { O_STDERR, 0, "stderr", OPT_REQ },
    { O_RAW_STDOUT, 0, "raw-stdout", OPT_NONE },
    { O_RAW_STDERR, 0, "raw-stderr", OPT_NONE },
    { O_NOCOLOR, 0, "nocolor", OPT_NONE },
    { O_COLOR, 0, "color", OPT_OPT },
    { O_MAX_OUTPUT, 0, "max-output", OPT_NUM },
    { O_TIMEOUT, 0, "timeout", OPT_NUM },
    { O_CPU, 0, "cpu", OPT_NUM },
    { O_MEMORY, 0, "memory", OPT_NUM },
    { O_MEMORY, 0, "heapsize", OPT_NUM }, /* the old pypy_interact.py name */
    { O_MAX_CALLS, 0, "max-calls", OPT_NUM },
    { O_OUTCOME, 0, "outcome", OPT_REQ },
    { O_NO_JAIL, 0, "no-jail", OPT_NONE },
    { O_NO_JAIL, 0, "no-seccomp", OPT_NONE }, /* the earlier name */
    { O_STRICT_JAIL, 0, "strict-jail", OPT_NONE },
    { O_LOOSE_JAIL, 0, "loose-jail", OPT_NONE },
    { O_NO_FS_JAIL, 0, "no-fs-jail", OPT_NONE },
    { O_TZ, 0, "tz", OPT_REQ },
    { O_LOCALE, 0, "locale", OPT_REQ },
    { O_EXCLUDE, 0, "exclude", OPT_REQ },
    { O_DOTFILES, 0, "show-dotfiles", OPT_NONE },
    { O_FOLLOW, 0, "follow-symlinks", OPT_NONE },
    { O_ALLOW_UNKNOWN, 0, "allow-unknown", OPT_NONE },
    { O_DEBUG, 0, "debug", OPT_NONE },
    { O_CONFIG, 0, "config", OPT_REQ },
    { O_NO_ASLR, 0, "no-aslr", OPT_NONE },
    { O_ASLR, 0, "aslr", OPT_NONE },
    { O_PROTOCOL_MEMORY, 0, "protocol-memory", OPT_NONE },
    { O_PIN, 0, "pin", OPT_REQ },
    { O_QUIET, 'q', "quiet", OPT_NONE },
    { O_UID, 0, "uid", OPT_NUM },
    { O_GID, 0, "gid", OPT_NUM },
    { O_PID, 0, "pid", OPT_NUM },
    { O_PLUGIN, 0, "plugin", OPT_REQ },
    { O_HANDLER, 0, "handler", OPT_REQ },
    { O_HANDLER_TIMEOUT, 0, "handler-timeout", OPT_NUM },
    OPT_SPEC_END,
};

const char *st_run_options_help(void)
{
    return
        "files (the guest sees only its virtual tree):\n"
        "  --lib-path DIR       PyPy's DIR/lib-python and DIR/lib_pypy at /lib, argv[0] /lib/pypy\n"
        "  --mount VPATH=DIR    the real directory DIR, read-only, at VPATH\n"
        "  --file VPATH=FILE    the real file FILE, read-only, at VPATH\n"
        "  --tmp DIR            the real directory DIR as a read-only /tmp\n"
        "  --tmp-write[=BYTES]  a writable in-memory /tmp (memory quota, default 64M)\n"
        "  --export-tmp DIR     after the run, copy the writable /tmp into DIR\n"
        "  --cwd PATH           the initial current directory (default /tmp)\n"
        "  --exclude PATTERN    in every mount, names matching PATTERN (fnmatch; with a /,\n"
        "                       the path below the mount) do not exist (repeatable)\n"
        "  --show-dotfiles      in mounts, names starting with '.' exist (default: hidden)\n"
        "  --follow-symlinks    in mounts, follow symlinks that stay inside (default: refused)\n"
        "  --seed N             the seed of /dev/urandom's stream (default 0)\n"
        "world:\n"
        "  --env K=V            an environment entry for get_environ/getenv (repeatable;\n"
        "                       --env K copies K from the controller's environment)\n"
        "  --time MODE          frozen (default, 2019-08-01), frozen:UNIXSECONDS, real,\n"
        "                       offset:SECONDS (real time shifted)\n"
        "  --argv0 NAME         the guest's argv[0] (default /lib/pypy with --lib-path,\n"
        "                       else /bin/ plus the executable's name)\n"
        "  --home PATH          what _pypy_init_home returns (default: argv[0]'s directory)\n"
        "  --uid N, --gid N, --pid N   the guest's identity (1000, 1000, 4200)\n"
        "  --tz ZONE            the guest's time zone, in its real environment's TZ: a zone\n"
        "                       name (Europe/Paris, read from this host's zoneinfo once) or\n"
        "                       a POSIX TZ string (CET-1CEST,M3.5.0,M10.5.0/3); default UTC\n"
        "  --locale NAME        the guest's locale, LANG in its real environment (default\n"
        "                       C.UTF-8: PyPy reads and writes UTF-8)\n"
        "streams:\n"
        "  --stdin FILE         read(0) from FILE instead of stdin\n"
        "  --stdout FILE        the guest's fd 1 into FILE (raw bytes)\n"
        "  --stderr FILE        the guest's fd 2 (and its real stderr) into FILE (raw)\n"
        "  --raw-stdout         pass fd 1's bytes unchanged to a terminal too (default: on a\n"
        "                       terminal, control characters and invalid UTF-8 as '?';\n"
        "                       into a pipe or file, the bytes as they are)\n"
        "  --raw-stderr         the same for fd 2 (and the guest's real stderr)\n"
        "  --color[=WHEN]       green stdout, red stderr: auto (on a terminal; the default),\n"
        "                       always (also --color alone), never (also --nocolor);\n"
        "                       NO_COLOR in the environment means never unless always\n"
        "limits:\n"
        "  --timeout SEC        wall clock (fractions allowed)\n"
        "  --cpu SEC            CPU seconds (RLIMIT_CPU)\n"
        "  --memory BYTES       address space (RLIMIT_AS); K, M, G suffixes (--heapsize too)\n"
        "  --max-output BYTES   guest output on fds 1 and 2 together, then truncated\n"
        "  --max-calls N        requests\n"
        "your own handlers (docs/handlers.md; recorded like any answer, replayed without them):\n"
        "  --plugin FILE.so[:ARGS]  load a plugin that answers calls in C (repeatable)\n"
        "  --handler PATTERN=COMMAND  start COMMAND (sh -c) once and ask it, one JSON line\n"
        "                       each way, to answer the calls PATTERN matches: a signature,\n"
        "                       a name, a glob (open*) or a class (%file) (repeatable)\n"
        "  --handler-timeout SEC  how long a handler process may take to answer (default 5)\n"
        "policy and reports:\n"
        "  --no-jail            no seccomp jail (docs/security.md lists what it allows;\n"
        "                       --no-seccomp is the earlier name)\n"
        "  --no-fs-jail         no namespaces, empty root or Landlock under the seccomp\n"
        "                       jail (default: every one this system allows; without\n"
        "                       user namespaces and Landlock, runs are refused unless\n"
        "                       this is given): the guest sees the host's file system\n"
        "  --loose-jail         a direct system call the jail forbids is refused with EPERM\n"
        "                       (and reported) instead of ending the guest (default: ended,\n"
        "                       status seccomp; --strict-jail says so explicitly)\n"
        "  --protocol-memory    read and write the guest's memory only with the protocol's\n"
        "                       R/Z/W commands (default: directly, where the kernel allows)\n"
        "  --pin WHERE          the CPU the guest and the controller run on: auto (default:\n"
        "                       one CPU for both, chosen at the start, unless --no-jail;\n"
        "                       the protocol runs one side at a time, and a wake-up on\n"
        "                       another CPU costs more than the work), any (wherever the\n"
        "                       scheduler puts them), or a CPU number\n"
        "  --aslr               randomise the guest's addresses (default: not, so that a\n"
        "                       guest whose behaviour depends on them, as pypy3's does,\n"
        "                       replays identically; --no-aslr says so explicitly)\n"
        "  --allow-unknown      refuse unknown functions with ENOSYS instead of ending the guest\n"
        "  --debug              list unhandled functions first (dump mode), log refused calls\n"
        "  --outcome FILE       write the outcome as one JSON object\n"
        "  --config FILE        read options from FILE: one 'option value' per line, # comments\n"
        "  -q, --quiet          no closing line on stderr\n";
}

void st_run_options_init(struct st_run_options *ro)
{
    memset(ro, 0, sizeof *ro);
    st_session_config_init(&ro->cfg);
    ro->tmp_quota = DEFAULT_TMP_QUOTA;
    /* Addresses as replay will have them: pypy3's behaviour depends on
     * them (the number of its requests differs from one layout to the
     * next), and replay always runs without randomisation. */
    ro->cfg.no_aslr = 1;
    ro->handler_timeout = 5;
}

static void free_kv(struct st_run_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

void st_run_options_release(struct st_run_options *ro)
{
    free(ro->argv0);
    free(ro->argv);
    free(ro->home);
    for (size_t i = 0; i < ro->nenv; i++)
        free(ro->env[i]);
    free(ro->env);
    free_kv(ro->mounts, ro->nmounts);
    free_kv(ro->files, ro->nfiles);
    free(ro->tmp_dir);
    free(ro->tmp_export);
    free(ro->lib_path);
    free(ro->cwd);
    free(ro->stdin_file);
    free(ro->stdout_file);
    free(ro->stderr_file);
    free(ro->outcome_file);
    free(ro->tz);
    free(ro->locale);
    for (size_t i = 0; i < ro->nexclude; i++)
        free(ro->exclude[i]);
    free(ro->exclude);
    for (size_t i = 0; i < ro->nplugins; i++)
        free(ro->plugins[i]);
    free(ro->plugins);
    for (size_t i = 0; i < ro->nhandlers; i++)
        free(ro->handlers[i]);
    free(ro->handlers);
    for (size_t i = 0; i < ro->nowned; i++)
        free(ro->owned[i]);
    free(ro->owned);
    for (size_t i = 0; i < ro->nwords; i++)
        free(ro->words[i]);
    free(ro->words);
    memset(ro, 0, sizeof *ro);
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        fprintf(stderr, "sandtrace: out of memory\n");
        exit(ST_EXIT_ERROR);
    }
    return d;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "sandtrace: out of memory\n");
        exit(ST_EXIT_ERROR);
    }
    return q;
}

/* Replaces a string option (the last one wins). */
static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = xstrdup(v);
}

/* Appends a copy of `s` to a growing array of owned strings. */
static void push_str(char ***arr, size_t *n, const char *s)
{
    *arr = xrealloc(*arr, (*n + 1) * sizeof **arr);
    (*arr)[(*n)++] = xstrdup(s);
}

/* Where a --config line is being applied ("FILE:LINE: "), else "". */
static char config_where[300];

/* A usage error: "sandtrace run: [FILE:LINE: ]MESSAGE" and the one-line hint. */
static int usage_error(const struct st_run_options *ro, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const struct st_run_options *ro, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct opt_parser hint = { .cmd = ro->prog };
    opt_usage(&hint, "%s%s", config_where, msg);
    return ST_RUN_OPT_USAGE;
}

/* "option '--memory': bad size 'lots'" */
static int bad_value(const struct st_run_options *ro, const char *opt, const char *what,
                     const char *arg)
{
    return usage_error(ro, "option '%s': %s '%s'", opt, what, arg ? arg : "");
}

static int add_kv(struct st_run_options *ro, struct st_run_kv **arr, size_t *n, const char *opt,
                  const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return usage_error(ro, "option '%s' wants VPATH=REAL, not '%s'", opt, arg);
    *arr = xrealloc(*arr, (*n + 1) * sizeof **arr);
    (*arr)[*n].key = xstrdup(arg);
    (*arr)[*n].key[eq - arg] = '\0';
    (*arr)[*n].value = xstrdup(eq + 1);
    (*n)++;
    return 0;
}

static int read_config(struct st_run_options *ro, const char *path);

/* An option that is none of this group's. */
#define NOT_MINE 1000

/* --env K=V or --env K (copied from here). */
static int add_env(struct st_run_options *ro, const char *name, const char *arg)
{
    char *entry;
    if (!*arg || *arg == '=')
        return bad_value(ro, name, "bad entry", arg);
    if (strchr(arg, '=')) {
        entry = xstrdup(arg);
    } else {
        const char *v = getenv(arg);
        if (!v)
            return 0; /* not set here either: not set in the guest */
        entry = xrealloc(NULL, strlen(arg) + strlen(v) + 2);
        sprintf(entry, "%s=%s", arg, v);
    }
    /* A later entry for the same name replaces the earlier one. */
    size_t klen = (size_t)(strchr(entry, '=') - entry);
    for (size_t k = 0; k < ro->nenv; k++)
        if (!strncmp(ro->env[k], entry, klen + 1)) {
            free(ro->env[k]);
            ro->env[k] = entry;
            return 0;
        }
    if (ro->nenv >= 1024) {
        free(entry);
        return usage_error(ro, "too many --env entries (1024 at most)");
    }
    ro->env = xrealloc(ro->env, (ro->nenv + 1) * sizeof *ro->env);
    ro->env[ro->nenv++] = entry;
    return 0;
}

/* --time MODE. */
static int set_time(struct st_run_options *ro, const char *name, const char *arg)
{
    struct st_session_config *c = &ro->cfg;
    int64_t i;
    if (!strcmp(arg, "frozen")) {
        c->time_mode = ST_TIME_FROZEN;
    } else if (!strncmp(arg, "frozen:", 7) && st_parse_i64(arg + 7, &i) == 0) {
        c->time_mode = ST_TIME_FROZEN;
        c->time_base = i;
    } else if (!strcmp(arg, "real")) {
        c->time_mode = ST_TIME_REAL;
    } else if (!strncmp(arg, "offset:", 7) && st_parse_i64(arg + 7, &i) == 0) {
        c->time_mode = ST_TIME_OFFSET;
        c->time_offset = i;
    } else {
        return usage_error(ro, "option '%s': bad mode '%s' (valid: frozen, frozen:UNIXSECONDS, "
                               "real, offset:SECONDS)", name, arg);
    }
    return 0;
}

/* The virtual file system's options. */
static int apply_files(struct st_run_options *ro, int id, const char *name, const char *arg)
{
    switch (id) {
    case O_MOUNT: return add_kv(ro, &ro->mounts, &ro->nmounts, name, arg);
    case O_FILE: return add_kv(ro, &ro->files, &ro->nfiles, name, arg);
    case O_TMP: set_str(&ro->tmp_dir, arg); return 0;
    case O_TMP_WRITE:
        ro->tmp_write = 1;
        if (arg && *arg && st_parse_u64(arg, &ro->tmp_quota, 1) < 0)
            return bad_value(ro, name, "bad size", arg);
        return 0;
    case O_TMP_EXPORT: set_str(&ro->tmp_export, arg); return 0;
    case O_LIB_PATH: set_str(&ro->lib_path, arg); return 0;
    case O_SEED:
        if (st_parse_u64(arg, &ro->seed, 0) < 0)
            return bad_value(ro, name, "bad number", arg);
        return 0;
    case O_CWD: set_str(&ro->cwd, arg); return 0;
    case O_EXCLUDE:
        if (!*arg)
            return bad_value(ro, name, "empty pattern", arg);
        if (ro->nexclude >= 256)
            return usage_error(ro, "too many --exclude patterns (256 at most)");
        push_str(&ro->exclude, &ro->nexclude, arg);
        return 0;
    case O_DOTFILES: ro->show_dotfiles = 1; return 0;
    case O_FOLLOW: ro->follow_symlinks = 1; return 0;
    }
    return NOT_MINE;
}

/* A 32-bit id (uid, gid) or a pid. */
static int set_id(struct st_run_options *ro, int id, const char *name, const char *arg)
{
    uint64_t u;
    if (st_parse_u64(arg, &u, 0) < 0 || u > 0xfffffffeu || (id == O_PID && (u == 0 || u > 4194304)))
        return bad_value(ro, name, "bad id", arg);
    if (id == O_UID)
        ro->cfg.uid = (uint32_t)u;
    else if (id == O_GID)
        ro->cfg.gid = (uint32_t)u;
    else
        ro->cfg.pid = (int64_t)u;
    return 0;
}

/* What the guest sees of its world: environment, time, identity, locale. */
static int apply_world(struct st_run_options *ro, int id, const char *name, const char *arg)
{
    switch (id) {
    case O_ENV: return add_env(ro, name, arg);
    case O_TIME: return set_time(ro, name, arg);
    case O_ARGV0: set_str(&ro->argv0, arg); return 0;
    case O_HOME: set_str(&ro->home, arg); return 0;
    case O_UID:
    case O_GID:
    case O_PID: return set_id(ro, id, name, arg);
    case O_TZ:
        if (st_run_tz_resolve(arg, NULL, 0) < 0)
            return bad_value(ro, name, "unknown time zone", arg);
        set_str(&ro->tz, arg);
        return 0;
    case O_LOCALE:
        if (!*arg || strlen(arg) > 64 ||
            strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.@-") !=
                strlen(arg))
            return bad_value(ro, name, "bad locale name", arg);
        set_str(&ro->locale, arg);
        return 0;
    }
    return NOT_MINE;
}

/* --color[=WHEN]: always (also without a value), never, auto. */
static int set_color(struct st_run_options *ro, const char *name, const char *arg)
{
    if (!arg || !strcmp(arg, "always") || !strcmp(arg, "yes") || !strcmp(arg, "force"))
        ro->color = ST_RUN_COLOR_ALWAYS;
    else if (!strcmp(arg, "never") || !strcmp(arg, "no") || !strcmp(arg, "none"))
        ro->color = ST_RUN_COLOR_NEVER;
    else if (!strcmp(arg, "auto") || !strcmp(arg, "tty") || !strcmp(arg, "if-tty"))
        ro->color = ST_RUN_COLOR_AUTO;
    else
        return usage_error(ro, "option '%s': bad value '%s' (valid: auto, always, never)", name,
                           arg);
    return 0;
}

/* Streams and reports. */
static int apply_streams(struct st_run_options *ro, int id, const char *name, const char *arg)
{
    switch (id) {
    case O_STDIN: set_str(&ro->stdin_file, arg); return 0;
    case O_STDOUT: set_str(&ro->stdout_file, arg); return 0;
    case O_STDERR: set_str(&ro->stderr_file, arg); return 0;
    case O_RAW_STDOUT: ro->raw_stdout = 1; return 0;
    case O_RAW_STDERR: ro->raw_stderr = 1; return 0;
    case O_NOCOLOR: ro->color = ST_RUN_COLOR_NEVER; return 0;
    case O_COLOR: return set_color(ro, name, arg);
    case O_OUTCOME: set_str(&ro->outcome_file, arg); return 0;
    case O_QUIET: ro->quiet = 1; return 0;
    case O_DEBUG: ro->debug = 1; ro->cfg.log_refused = 1; return 0;
    case O_CONFIG: return read_config(ro, arg);
    }
    return NOT_MINE;
}

/* Limits: all of them positive numbers. */
static int apply_limits(struct st_run_options *ro, int id, const char *name, const char *arg)
{
    struct st_session_config *c = &ro->cfg;
    int bad;
    switch (id) {
    case O_MAX_OUTPUT: bad = st_parse_u64(arg, &c->max_output, 1) < 0 || !c->max_output; break;
    case O_TIMEOUT: bad = st_parse_seconds(arg, &c->timeout_seconds) < 0; break;
    case O_CPU: bad = st_parse_u64(arg, &c->cpu_seconds, 0) < 0 || !c->cpu_seconds; break;
    case O_MEMORY: bad = st_parse_u64(arg, &c->memory_bytes, 1) < 0 || c->memory_bytes < 4096; break;
    case O_MAX_CALLS: bad = st_parse_u64(arg, &c->max_calls, 0) < 0 || !c->max_calls; break;
    case O_HANDLER_TIMEOUT: bad = st_parse_seconds(arg, &ro->handler_timeout) < 0; break;
    default: return NOT_MINE;
    }
    return bad ? bad_value(ro, name, "bad value", arg) : 0;
}

/* The jail, the protocol and user handlers. */
static int apply_policy(struct st_run_options *ro, int id, const char *name, const char *arg)
{
    struct st_session_config *c = &ro->cfg;
    switch (id) {
    case O_NO_JAIL: c->seccomp = 0; return 0;
    case O_STRICT_JAIL: c->loose_jail = 0; return 0;
    case O_LOOSE_JAIL: c->loose_jail = 1; return 0;
    case O_NO_FS_JAIL: c->no_fs_jail = 1; return 0;
    case O_ALLOW_UNKNOWN: c->allow_unknown = 1; return 0;
    case O_NO_ASLR: c->no_aslr = 1; return 0;
    case O_ASLR: c->no_aslr = 0; return 0;
    case O_PROTOCOL_MEMORY: c->protocol_memory = 1; return 0;
    case O_PIN: {
        const char *why = st_cpu_choice(arg, &c->cpu_policy, &c->cpu);
        return why ? bad_value(ro, name, why, arg) : 0;
    }
    case O_PLUGIN:
        if (!*arg || *arg == ':' || ro->nplugins >= 16)
            return bad_value(ro, name, "bad plugin", arg);
        push_str(&ro->plugins, &ro->nplugins, arg);
        return 0;
    case O_HANDLER: {
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg || !eq[1] || ro->nhandlers >= 64)
            return bad_value(ro, name, "bad handler (PATTERN=COMMAND)", arg);
        push_str(&ro->handlers, &ro->nhandlers, arg);
        return 0;
    }
    }
    return NOT_MINE;
}

/* Applies one option (from argv or --config): 0, ST_RUN_OPT_HELP, or a
 * negative ST_RUN_OPT_* after a message. */
static int apply(struct st_run_options *ro, int id, const char *name, const char *arg)
{
    static int (*const groups[])(struct st_run_options *, int, const char *, const char *) = {
        apply_files, apply_world, apply_streams, apply_limits, apply_policy,
    };
    if (id == O_HELP)
        return ST_RUN_OPT_HELP;
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        int rc = groups[g](ro, id, name, arg);
        if (rc != NOT_MINE)
            return rc;
    }
    return usage_error(ro, "option '%s' is not known here", name);
}

static int config_depth;

/* One "name value" line of a --config file, split in place: the name in
 * *key, the value (possibly empty) returned; NULL for a blank or comment. */
static char *config_split(char *line, char **key)
{
    size_t len = strlen(line);
    while (len && isspace((unsigned char)line[len - 1]))
        line[--len] = '\0';
    char *p = line;
    while (isspace((unsigned char)*p))
        p++;
    if (!*p || *p == '#')
        return NULL;
    *key = p;
    while (*p && !isspace((unsigned char)*p) && *p != '=')
        p++;
    char *keyend = p;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '=') {
        p++;
        while (isspace((unsigned char)*p))
            p++;
    }
    *keyend = '\0';
    return p;
}

/* Applies one config line's option. */
static int config_apply(struct st_run_options *ro, const char *key, const char *val)
{
    const struct opt_spec *o = opt_find_long(run_specs, key);
    if (!o || o->id == O_HELP)
        return usage_error(ro, "unknown option '%s'", key);
    if ((o->arg == OPT_REQ || o->arg == OPT_NUM) && !*val)
        return usage_error(ro, "option '%s' requires an argument", key);
    if (o->arg == OPT_NONE && *val && strcmp(val, "true") && strcmp(val, "yes") &&
        strcmp(val, "1")) {
        if (!strcmp(val, "false") || !strcmp(val, "no") || !strcmp(val, "0"))
            return 0;
        return usage_error(ro, "option '%s' takes no argument", key);
    }
    push_str(&ro->owned, &ro->nowned, val);
    char name[80];
    snprintf(name, sizeof name, "--%s", o->lng);
    const char *arg = o->arg == OPT_NONE || (o->arg == OPT_OPT && !*val) ? NULL
                                                                          : ro->owned[ro->nowned - 1];
    int rc = apply(ro, o->id, name, arg);
    return rc == ST_RUN_OPT_HELP ? 0 : rc;
}

/* --config FILE: one option per line, "name value", "name = value" or a
 * bare "name" for flags; blank lines and lines starting with # are skipped. */
static int read_config(struct st_run_options *ro, const char *path)
{
    if (config_depth >= 4)
        return usage_error(ro, "--config files nested too deeply at '%s'", path);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "sandtrace %s: %scannot read config '%s': %s\n", ro->prog, config_where,
                path, strerror(errno));
        return ST_RUN_OPT_ERROR;
    }
    char outer[sizeof config_where];
    memcpy(outer, config_where, sizeof outer);
    config_depth++;
    char line[8192];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        snprintf(config_where, sizeof config_where, "%s:%d: ", path, lineno);
        size_t len = strlen(line);
        char *key, *val;
        if (len == sizeof line - 1 && line[len - 1] != '\n')
            rc = usage_error(ro, "line too long");
        else if ((val = config_split(line, &key)) != NULL)
            rc = config_apply(ro, key, val);
    }
    config_depth--;
    memcpy(config_where, outer, sizeof outer);
    fclose(f);
    return rc;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* The guest's argv[0], home and argument vector from the executable. */
static void derive_guest(struct st_run_options *ro)
{
    if (!ro->argv0) {
        if (ro->lib_path) {
            ro->argv0 = xstrdup("/lib/pypy");
        } else {
            const char *b = base_name(ro->exe);
            ro->argv0 = xrealloc(NULL, strlen(b) + 6);
            sprintf(ro->argv0, "/bin/%s", *b ? b : "guest");
        }
    }
    if (!ro->home && ro->argv0[0] == '/') {
        ro->home = xstrdup(ro->argv0);
        char *slash = strrchr(ro->home, '/');
        if (slash == ro->home)
            slash[1] = '\0';
        else
            *slash = '\0';
    }
    ro->argv = xrealloc(NULL, ((size_t)ro->nguest_args + 1) * sizeof *ro->argv);
    ro->argv[0] = ro->argv0;
    for (int k = 0; k < ro->nguest_args; k++)
        ro->argv[k + 1] = ro->guest_args[k];
    /* A PyPy under a UTF-8 locale writes UTF-8 to its pipes too: pypy2
     * takes the encoding of a stdout that is not a terminal only from
     * PYTHONIOENCODING (pypy3 from the locale), so a PyPy run gets it in its
     * virtual environment unless --env says otherwise. */
    const char *loc = ro->locale ? ro->locale : "C.UTF-8";
    if (ro->lib_path && (strcasestr(loc, "utf-8") || strcasestr(loc, "utf8"))) {
        size_t k = 0;
        while (k < ro->nenv && strncmp(ro->env[k], "PYTHONIOENCODING=", 17))
            k++;
        if (k == ro->nenv && ro->nenv < 1024) {
            ro->env = xrealloc(ro->env, (ro->nenv + 1) * sizeof *ro->env);
            ro->env[ro->nenv++] = xstrdup("PYTHONIOENCODING=utf-8");
        }
    }
}

/* After the options: the executable and its arguments (the last
 * `noperands` words of argv), and the checks between options. */
static int finish(struct st_run_options *ro, int argc, char **argv, int noperands)
{
    if (noperands == 0)
        return usage_error(ro, "no executable given");
    if (ro->tmp_dir && ro->tmp_write)
        return usage_error(ro, "--tmp and --tmp-write exclude each other");
    if (ro->tmp_export && !ro->tmp_write)
        return usage_error(ro, "--export-tmp needs --tmp-write");
    ro->exe = argv[argc - noperands];
    ro->guest_args = argv + argc - noperands + 1;
    ro->nguest_args = noperands - 1;
    derive_guest(ro);
    struct st_session_config *c = &ro->cfg;
    c->exe = ro->exe;
    c->argv = ro->argv;
    c->argc = (size_t)ro->nguest_args + 1;
    c->env = (const char *const *)ro->env;
    c->nenv = ro->nenv;
    c->pypy_home = ro->home;
    return 0;
}

/* The command's table: its own options (extra, may be NULL) and run's. */
static struct opt_spec *merge_specs(const struct opt_spec *extra)
{
    size_t ne = 0, nr = sizeof run_specs / sizeof run_specs[0];
    while (extra && extra[ne].id)
        ne++;
    struct opt_spec *all = xrealloc(NULL, (ne + nr) * sizeof *all);
    if (ne)
        memcpy(all, extra, ne * sizeof *all);
    memcpy(all + ne, run_specs, nr * sizeof *all);
    return all;
}

/* Keeps a run option as words ("--mount", "/d=x"; "--tmp-write=16M"), for
 * the trace's record of the command line. */
static void keep_words(struct st_run_options *ro, const struct opt_spec *s, const char *arg)
{
    char word[80];
    if (s->lng)
        snprintf(word, sizeof word, "--%s", s->lng);
    else
        snprintf(word, sizeof word, "-%c", s->shrt);
    if (arg && s->arg == OPT_OPT) {
        char *w = xrealloc(NULL, strlen(word) + strlen(arg) + 2);
        sprintf(w, "%s=%s", word, arg);
        ro->words = xrealloc(ro->words, (ro->nwords + 1) * sizeof *ro->words);
        ro->words[ro->nwords++] = w;
        return;
    }
    push_str(&ro->words, &ro->nwords, word);
    if (arg)
        push_str(&ro->words, &ro->nwords, arg);
}

int st_run_options_parse(struct st_run_options *ro, int argc, char **argv, const char *prog,
                         const struct st_run_extra *extra)
{
    ro->prog = prog;
    struct opt_spec *specs = merge_specs(extra ? extra->specs : NULL);
    struct opt_parser p;
    opt_init(&p, prog, specs, argc, argv, OPT_STOP_AT_OPERAND);
    int rc = 0, id;
    while (rc == 0 && (id = opt_next(&p)) != OPT_DONE) {
        if (id == OPT_ERROR)
            rc = ST_RUN_OPT_USAGE;
        else if (id >= ST_RUN_EXTRA_ID && extra)
            rc = extra->take(extra->ctx, &p, id);
        else if ((rc = apply(ro, id, p.name, p.arg)) == 0)
            keep_words(ro, p.spec, p.arg);
    }
    if (rc == 0)
        rc = finish(ro, argc, argv, p.noperands);
    opt_release(&p);
    free(specs);
    return rc;
}

int st_run_options_exit_code(int rc)
{
    return rc == ST_RUN_OPT_HELP ? ST_EXIT_OK
           : rc == ST_RUN_OPT_ERROR ? ST_EXIT_UNREADABLE
                                    : ST_EXIT_USAGE;
}

/* ---------------------------------------------------------------- running */

static int vfs_error(const char *prog, const char *what, const char *vpath, const char *real, int rc)
{
    fprintf(stderr, "sandtrace %s: cannot %s '%s'%s%s%s: %s\n", prog, what, vpath,
            real ? " from '" : "", real ? real : "", real ? "'" : "",
            st_vfs_strerror(rc));
    return ST_E_CONFIG;
}

/* Builds the virtual file system from the options; NULL with a message on error. */
static int build_vfs(const struct st_run_options *ro, struct st_vfs **out)
{
    *out = NULL;
    struct st_vfs_options vo;
    st_vfs_options_init(&vo);
    vo.seed = ro->seed;
    vo.uid = ro->cfg.uid;
    vo.gid = ro->cfg.gid;
    /* The current directory must exist before the guest starts: it is set
     * below, after the tree is built (the default /tmp always exists). */
    vo.cwd = NULL;
    struct st_vfs *v = st_vfs_new(&vo);
    if (!v) {
        fprintf(stderr, "sandtrace %s: cannot create the virtual file system\n", ro->prog);
        return ST_E_NOMEM;
    }
    /* What every mount (and the PyPy tree) shows. */
    struct st_mount_options mo;
    st_mount_options_init(&mo);
    mo.show_dotfiles = ro->show_dotfiles;
    mo.follow_symlinks = ro->follow_symlinks;
    mo.exclude = (const char *const *)ro->exclude;
    mo.n_exclude = ro->nexclude;
    int rc = 0;
    if (ro->lib_path) {
        rc = st_vfs_add_pypy_home(v, ro->lib_path, ro->argv0, &mo);
        if (rc < 0) {
            vfs_error(ro->prog, "find PyPy's lib-python or lib_pypy in", ro->lib_path, NULL, rc);
            goto fail;
        }
    }
    if (ro->tmp_dir && (rc = st_vfs_set_real_tmp(v, ro->tmp_dir)) < 0) {
        vfs_error(ro->prog, "use as /tmp", ro->tmp_dir, NULL, rc);
        goto fail;
    }
    if (ro->tmp_write && (rc = st_vfs_enable_tmp(v, ro->tmp_quota)) < 0) {
        vfs_error(ro->prog, "make a writable", "/tmp", NULL, rc);
        goto fail;
    }
    for (size_t i = 0; i < ro->nmounts; i++)
        if ((rc = st_vfs_mount(v, ro->mounts[i].key, ro->mounts[i].value, &mo)) < 0) {
            vfs_error(ro->prog, "mount", ro->mounts[i].key, ro->mounts[i].value, rc);
            goto fail;
        }
    for (size_t i = 0; i < ro->nfiles; i++)
        if ((rc = st_vfs_add_real_file(v, ro->files[i].key, ro->files[i].value)) < 0) {
            vfs_error(ro->prog, "add file", ro->files[i].key, ro->files[i].value, rc);
            goto fail;
        }
    /* The declared machine's /proc (PyPy's GC reads it to size itself),
     * last: the nodes above keep their inode numbers. */
    if ((rc = st_vfs_add_virtual_proc(v, ro->cfg.memory_bytes)) < 0) {
        vfs_error(ro->prog, "add", "/proc", NULL, rc);
        goto fail;
    }
    if (ro->cwd && (rc = st_vfs_chdir(v, ro->cwd)) < 0) {
        vfs_error(ro->prog, "use as the current directory", ro->cwd, NULL, rc);
        goto fail;
    }
    *out = v;
    return 0;
fail:
    st_vfs_free(v);
    return ST_E_CONFIG;
}

static void note_to_stderr(void *ctx, const char *text)
{
    (void)ctx;
    fprintf(stderr, "sandtrace: %s\n", text);
}

int st_run_dump_capture(const char *exe, char **text, int *exec_errno)
{
    struct sigaction ign = { .sa_handler = SIG_IGN }, old;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old);
    int rc = st_dump_capture(exe, 10, text, exec_errno);
    sigaction(SIGPIPE, &old, NULL);
    return rc;
}

void st_run_debug_dump(const struct st_run_options *ro)
{
    char *text = NULL;
    int err = 0;
    int rc = st_run_dump_capture(ro->exe, &text, &err);
    if (rc < 0) {
        fprintf(stderr, "sandtrace: --debug: cannot run '%s' in dump mode: %s\n", ro->exe,
                err ? strerror(err) : st_error_name(rc));
        return;
    }
    struct st_dump d;
    if (st_dump_parse(text, &d) < 0) {
        fprintf(stderr, "sandtrace: --debug: '%s' printed no function list in dump mode\n", ro->exe);
        free(text);
        return;
    }
    size_t unhandled = 0;
    for (size_t i = 0; i < d.nfuncs; i++) {
        const struct st_sig *sig = st_registry_lookup(d.funcs[i], strlen(d.funcs[i]));
        if (sig && sig->action == ST_ACT_HANDLED)
            continue;
        unhandled++;
        fprintf(stderr, "sandtrace: --debug: %-8s %s\n",
                !sig ? "unknown" : sig->action == ST_ACT_REFUSED ? "refused" : "fatal", d.funcs[i]);
    }
    fprintf(stderr, "sandtrace: --debug: %zu functions, %zu not handled\n", d.nfuncs, unhandled);
    st_dump_release(&d);
    free(text);
}

/* A TZ value: a POSIX TZ string is used as it is; a zone name is looked up
 * in this host's zoneinfo and replaced by the POSIX rule at the end of its
 * TZif file (the guest's libc then needs no file: a denied open of the
 * name, then the rule). Returns 0 (and the value in out, when cap > 0), or
 * -1 when it is neither. */
int st_run_tz_resolve(const char *tz, char *out, size_t cap)
{
    if (!*tz || strlen(tz) > 128 || strstr(tz, ".."))
        return -1;
    if (strpbrk(tz, "0123456789")) {
        /* A POSIX string: a name of 3+ letters (or <...>), then an offset. */
        if (strspn(tz, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz<>+-0123456789:,./") !=
            strlen(tz))
            return -1;
        if (cap)
            snprintf(out, cap, "%s", tz);
        return 0;
    }
    if (strspn(tz, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_+-/") != strlen(tz) ||
        tz[0] == '/')
        return -1;
    char path[256];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    /* The footer: the last line of a version 2+ file, "\nRULE\n". */
    char buf[256];
    int ok = -1;
    if (fseek(f, -(long)(sizeof buf - 1), SEEK_END) != 0)
        rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (n >= 2 && buf[n - 1] == '\n') {
        buf[n - 1] = '\0';
        char *nl = memrchr(buf, '\n', n - 1);
        if (nl && nl[1] && strspn(nl + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz<>+-0123456789:,./") == strlen(nl + 1)) {
            if (cap)
                snprintf(out, cap, "%s", nl + 1);
            ok = 0;
        }
    }
    return ok;
}

/* SIGINT, SIGTERM or SIGHUP during a run: the session sees the flag, ends
 * the guest and still gives an outcome ("interrupted by signal N"). */
static volatile sig_atomic_t run_interrupted;

static void note_interrupt(int sig)
{
    run_interrupted = sig;
}

/* The process-wide settings a run needs, from before its setup until its
 * end: SIGPIPE ignored (a guest that dies mid-answer must not kill
 * sandtrace), interruptions turned into the session's flag (one that comes
 * during the setup ends the run before the guest starts). */
struct run_signals {
    struct sigaction pipe, intr, term, hup;
};

static void signals_install(struct run_signals *old)
{
    struct sigaction ign = { .sa_handler = SIG_IGN }, on_int = { .sa_handler = note_interrupt };
    sigemptyset(&ign.sa_mask);
    sigemptyset(&on_int.sa_mask);
    run_interrupted = 0;
    sigaction(SIGPIPE, &ign, &old->pipe);
    sigaction(SIGINT, &on_int, &old->intr);
    sigaction(SIGTERM, &on_int, &old->term);
    sigaction(SIGHUP, &on_int, &old->hup);
}

static void signals_restore(const struct run_signals *old)
{
    sigaction(SIGINT, &old->intr, NULL);
    sigaction(SIGTERM, &old->term, NULL);
    sigaction(SIGHUP, &old->hup, NULL);
    sigaction(SIGPIPE, &old->pipe, NULL);
}

void st_run_real_env(const struct st_run_options *ro, char *lang, size_t lang_cap, char *tz,
                     size_t tz_cap)
{
    char rule[160] = "UTC0";
    if (ro->tz && st_run_tz_resolve(ro->tz, rule, sizeof rule) < 0)
        snprintf(rule, sizeof rule, "UTC0");
    snprintf(lang, lang_cap, "LANG=%s", ro->locale ? ro->locale : "C.UTF-8");
    snprintf(tz, tz_cap, "TZ=%s", rule);
}

/* FILE.so:ARGS -> FILE.so and ARGS: split after ".so" when it is there
 * (a path may hold ':'), else at the first ':'. */
static void split_plugin(char *spec, const char **args)
{
    char *so = strstr(spec, ".so:");
    char *colon = so ? so + 3 : strchr(spec, ':');
    *args = NULL;
    if (colon) {
        *colon = '\0';
        *args = colon + 1;
    }
}

/* --plugin and --handler, in that order, on a new session. */
static int add_user_handlers(const struct st_run_options *ro, struct st_session *s)
{
    char err[512];
    for (size_t i = 0; i < ro->nplugins; i++) {
        char spec[4096];
        const char *args;
        snprintf(spec, sizeof spec, "%s", ro->plugins[i]);
        split_plugin(spec, &args);
        int rc = st_session_load_plugin(s, spec, args, err, sizeof err);
        if (rc < 0) {
            fprintf(stderr, "sandtrace %s: %s\n", ro->prog, err);
            return rc;
        }
    }
    for (size_t i = 0; i < ro->nhandlers; i++) {
        char spec[4096];
        snprintf(spec, sizeof spec, "%s", ro->handlers[i]);
        char *eq = strchr(spec, '=');
        *eq = '\0';
        int rc = st_session_add_handler_process(s, spec, eq + 1, ro->handler_timeout, err,
                                                sizeof err);
        if (rc < 0) {
            fprintf(stderr, "sandtrace %s: --handler '%s': %s\n", ro->prog, ro->handlers[i], err);
            return rc;
        }
    }
    return 0;
}

/* The files of a run, opened before anything else: a path that cannot be
 * read or written is known before the guest starts. */
struct run_files {
    int in_fd;
    struct run_output out, err, outcome;
    int has_out, has_err, has_outcome;
    int place_failed;       /* a stream file could not be put in place */
    struct st_run_options *ro;
};

static void close_files(struct run_files *f, int keep)
{
    if (f->in_fd >= 0)
        close(f->in_fd);
    f->in_fd = -1;
    if (f->has_out)
        keep ? (void)run_output_commit(&f->out, f->ro->prog) : run_output_discard(&f->out);
    if (f->has_err)
        keep ? (void)run_output_commit(&f->err, f->ro->prog) : run_output_discard(&f->err);
    if (f->has_outcome)
        run_output_discard(&f->outcome);
    f->has_out = f->has_err = f->has_outcome = 0;
}

/* Returns 0, or the exit code (4: --stdin unreadable; 6: an output). */
static int open_files(struct st_run_options *ro, struct run_files *f)
{
    memset(f, 0, sizeof *f);
    f->ro = ro;
    f->in_fd = -1;
    if (ro->stdin_file && (f->in_fd = open(ro->stdin_file, O_RDONLY | O_CLOEXEC)) < 0) {
        fprintf(stderr, "sandtrace %s: cannot read '%s': %s\n", ro->prog, ro->stdin_file,
                strerror(errno));
        return ST_EXIT_UNREADABLE;
    }
    int bad = 0;
    if (ro->stdout_file && !(bad = run_output_open(&f->out, ro->prog, ro->stdout_file) < 0))
        f->has_out = 1;
    if (!bad && ro->stderr_file && !(bad = run_output_open(&f->err, ro->prog, ro->stderr_file) < 0))
        f->has_err = 1;
    if (!bad && ro->outcome_file &&
        !(bad = run_output_open(&f->outcome, ro->prog, ro->outcome_file) < 0))
        f->has_outcome = 1;
    if (!bad && ro->tmp_export)
        bad = run_output_check_dir(ro->prog, ro->tmp_export) < 0;
    if (bad) {
        close_files(f, 0);
        return ST_EXIT_OUTPUT;
    }
    return 0;
}

/* An observer's on_start: the guest runs, the run's files replace their
 * targets (the trace of record among them). */
static void place_files(void *ctx, const struct st_run_control *control)
{
    (void)control;
    struct run_files *f = ctx;
    f->ro->started = 1;
    if (f->has_out && run_output_place(&f->out, f->ro->prog) < 0)
        f->place_failed = 1;
    if (f->has_err && run_output_place(&f->err, f->ro->prog) < 0)
        f->place_failed = 1;
    if (f->ro->trace_output && run_output_place(f->ro->trace_output, f->ro->prog) < 0)
        f->place_failed = 1;
}

/* Where the guest's streams go and how they are shown: raw into a file or
 * a pipe, sanitised on a terminal (unless --raw-*), coloured per --color. */
static void configure_streams(const struct st_run_options *ro, const struct run_files *f,
                              struct st_session_config *cfg)
{
    if (f->in_fd >= 0)
        cfg->in_fd = f->in_fd;
    if (f->has_out)
        cfg->out_fd = f->out.fd;
    if (f->has_err)
        cfg->err_fd = f->err.fd;
    cfg->raw_stdout = ro->raw_stdout || f->has_out || !isatty(cfg->out_fd);
    cfg->raw_stderr = ro->raw_stderr || f->has_err || !isatty(cfg->err_fd);
    const char *no_color = getenv("NO_COLOR");
    if (ro->color == ST_RUN_COLOR_ALWAYS ||
        (ro->color == ST_RUN_COLOR_AUTO && !(no_color && *no_color) && !f->has_out &&
         !f->has_err && isatty(1) && isatty(2))) {
        cfg->out_before = "\033[32m"; /* green */
        cfg->err_before = "\033[31m"; /* red */
        cfg->out_after = cfg->err_after = "\033[0m";
    }
}

/* The jail's layers: refused, saying what is missing, when the file-system
 * layers are wanted and this system has none. */
static int check_jail(const struct st_run_options *ro, unsigned *layers)
{
    *layers = 0;
    if (st_fsjail_layers(ro->cfg.no_fs_jail, ro->cfg.seccomp, layers) == 0)
        return 0;
    char missing[300];
    st_fsjail_missing(missing, sizeof missing);
    fprintf(stderr,
            "sandtrace %s: cannot jail the guest's file system: %s %s not available here; "
            "--no-fs-jail runs the guest without (it then sees the host's files)\n",
            ro->prog, missing, strstr(missing, " and ") ? "are" : "is");
    return ST_E_NOJAIL;
}

/* The session with its world, observers and handlers; NULL after a message. */
static struct st_session *new_session(struct st_run_options *ro, struct st_session_config *cfg,
                                      const struct st_observer *extra, struct run_files *f)
{
    if (build_vfs(ro, &cfg->vfs) < 0)
        return NULL;
    struct st_session *s;
    int rc = st_session_new(cfg, &s);
    if (rc < 0) {
        fprintf(stderr, "sandtrace %s: %s\n", ro->prog, st_error_name(rc));
        return NULL;
    }
    struct st_observer placer = { .ctx = f, .on_start = place_files };
    st_session_add_observer(s, &placer);
    if (ro->debug) {
        struct st_observer dbg = { .on_note = note_to_stderr };
        st_session_add_observer(s, &dbg);
    }
    if (extra)
        st_session_add_observer(s, extra);
    if (add_user_handlers(ro, s) < 0) {
        st_session_free(s);
        return NULL;
    }
    return s;
}

/* --outcome: the JSON document into its file. Returns 0 or ST_EXIT_OUTPUT. */
static int write_outcome(const struct st_run_options *ro, struct run_files *f,
                         const struct st_outcome *out)
{
    char json[2048];
    run_outcome_to_json(out, json, sizeof json);
    size_t len = strlen(json);
    json[len++] = '\n';
    int bad = st_write_all(f->outcome.fd, json, len) < 0;
    int err = errno;
    f->has_outcome = 0;
    if (bad) {
        fprintf(stderr, "sandtrace %s: cannot write outcome '%s': %s\n", ro->prog,
                ro->outcome_file, strerror(err));
        run_output_discard(&f->outcome);
        return ST_EXIT_OUTPUT;
    }
    return run_output_commit(&f->outcome, ro->prog) < 0 ? ST_EXIT_OUTPUT : 0;
}

/* After the guest ended: --export-tmp, the closing line, --outcome, the
 * stream files. Returns the exit code. */
static int finish_run(struct st_run_options *ro, struct run_files *f, struct st_session *s,
                      struct st_outcome *out, int rc)
{
    int code = rc < 0 ? ST_EXIT_ERROR : run_outcome_exit_code(out);
    if (rc == 0 && ro->tmp_export) {
        int e = st_vfs_export_tmp(st_session_vfs(s), ro->tmp_export);
        if (e < 0) {
            vfs_error(ro->prog, "export /tmp to", ro->tmp_export, NULL, e);
            code = ST_EXIT_OUTPUT;
        }
    }
    if (!ro->quiet && (out->status != ST_STATUS_EXITED || rc < 0))
        fprintf(stderr, "sandtrace %s: %s\n", ro->prog, out->reason);
    if (f->has_outcome && write_outcome(ro, f, out) != 0)
        code = ST_EXIT_OUTPUT;
    if (f->place_failed)
        code = ST_EXIT_OUTPUT;
    close_files(f, ro->started);
    return code;
}

/* st_run_execute with the signals set (run_signals). */
static int execute(struct st_run_options *ro, const struct st_observer *extra,
                   struct st_outcome *out)
{
    memset(out, 0, sizeof *out);
    out->status = ST_STATUS_ERROR;
    out->exit_code = -1;
    snprintf(out->reason, sizeof out->reason, "the run could not be set up");
    ro->started = 0;
    struct run_files f;
    int code = open_files(ro, &f);
    if (code)
        return code;
    struct st_session_config cfg = ro->cfg;
    configure_streams(ro, &f, &cfg);
    char tz_env[200], lang_env[80];
    const char *real_env[2] = { lang_env, tz_env };
    st_run_real_env(ro, lang_env, sizeof lang_env, tz_env, sizeof tz_env);
    cfg.real_env = real_env;
    cfg.nreal_env = 2;
    cfg.interrupt = &run_interrupted;
    unsigned layers;
    struct st_session *s = NULL;
    if (check_jail(ro, &layers) < 0 || !(s = new_session(ro, &cfg, extra, &f))) {
        close_files(&f, 0);
        return ST_EXIT_ERROR;
    }
    if (run_interrupted) {
        /* Before the guest started: nothing ran, nothing is replaced. */
        int sig = (int)run_interrupted;
        snprintf(out->reason, sizeof out->reason, "interrupted by signal %d (%s) before the guest "
                 "started", sig, strsignal(sig));
        out->status = ST_STATUS_INTERRUPTED;
        out->signal = sig;
        fprintf(stderr, "sandtrace %s: %s\n", ro->prog, out->reason);
        st_session_free(s);
        close_files(&f, 0);
        return ST_EXIT_SIGNAL_BASE + sig;
    }
    fflush(stdout);
    int rc = st_session_run(s, out);
    /* st_spawn sets up exactly these layers or does not start the guest. */
    if (rc == 0)
        st_fsjail_layers_name(layers, out->jail_layers, sizeof out->jail_layers);
    code = finish_run(ro, &f, s, out, rc);
    st_session_free(s);
    return code;
}

int st_run_execute(struct st_run_options *ro, const struct st_observer *extra,
                   struct st_outcome *out)
{
    struct run_signals old;
    signals_install(&old);
    int code = execute(ro, extra, out);
    signals_restore(&old);
    return code;
}
