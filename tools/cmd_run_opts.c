/* The options of `sandtrace run` (and `record`): parsing, --config FILE,
 * building the virtual world, running, reporting. */
#include "tools/cmd_run_opts.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/st_util.h"
#include "controller/registry.h"
#include "controller/call.h"
#include "controller/handler.h"
#include "controller/vfs.h"
#include "controller/fsjail.h"

#define DEFAULT_TMP_QUOTA (64ull << 20)

enum opt_id {
    O_HELP = 'h',
    O_MOUNT = 256, O_FILE, O_TMP, O_TMP_WRITE, O_TMP_EXPORT, O_LIB_PATH, O_SEED, O_CWD,
    O_ENV, O_TIME, O_ARGV0, O_HOME, O_STDIN, O_STDOUT, O_STDERR, O_RAW_STDOUT, O_NOCOLOR,
    O_COLOR, O_MAX_OUTPUT, O_TIMEOUT, O_CPU, O_MEMORY, O_MAX_CALLS, O_OUTCOME, O_NO_SECCOMP,
    O_ALLOW_UNKNOWN, O_DEBUG, O_CONFIG, O_NO_ASLR, O_ASLR, O_PROTOCOL_MEMORY, O_QUIET, O_UID, O_GID, O_PID, O_STRICT_JAIL, O_LOOSE_JAIL, O_TZ, O_LOCALE, O_EXCLUDE, O_DOTFILES, O_FOLLOW,
    O_PLUGIN, O_HANDLER, O_HANDLER_TIMEOUT,
    O_NO_FS_JAIL,
};

static const struct option long_opts[] = {
    { "help", no_argument, NULL, O_HELP },
    { "mount", required_argument, NULL, O_MOUNT },
    { "file", required_argument, NULL, O_FILE },
    { "tmp", required_argument, NULL, O_TMP },
    { "tmp-write", optional_argument, NULL, O_TMP_WRITE },
    { "export-tmp", required_argument, NULL, O_TMP_EXPORT },
    { "tmp-export", required_argument, NULL, O_TMP_EXPORT }, /* an earlier name */
    { "lib-path", required_argument, NULL, O_LIB_PATH },
    { "seed", required_argument, NULL, O_SEED },
    { "cwd", required_argument, NULL, O_CWD },
    { "env", required_argument, NULL, O_ENV },
    { "time", required_argument, NULL, O_TIME },
    { "argv0", required_argument, NULL, O_ARGV0 },
    { "home", required_argument, NULL, O_HOME },
    { "stdin", required_argument, NULL, O_STDIN },
    { "stdout", required_argument, NULL, O_STDOUT },
    { "stderr", required_argument, NULL, O_STDERR },
    { "raw-stdout", no_argument, NULL, O_RAW_STDOUT },
    { "nocolor", no_argument, NULL, O_NOCOLOR },
    { "color", no_argument, NULL, O_COLOR },
    { "max-output", required_argument, NULL, O_MAX_OUTPUT },
    { "timeout", required_argument, NULL, O_TIMEOUT },
    { "cpu", required_argument, NULL, O_CPU },
    { "memory", required_argument, NULL, O_MEMORY },
    { "heapsize", required_argument, NULL, O_MEMORY }, /* the old pypy_interact.py name */
    { "max-calls", required_argument, NULL, O_MAX_CALLS },
    { "outcome", required_argument, NULL, O_OUTCOME },
    { "no-seccomp", no_argument, NULL, O_NO_SECCOMP },
    { "strict-jail", no_argument, NULL, O_STRICT_JAIL },
    { "loose-jail", no_argument, NULL, O_LOOSE_JAIL },
    { "no-fs-jail", no_argument, NULL, O_NO_FS_JAIL },
    { "tz", required_argument, NULL, O_TZ },
    { "locale", required_argument, NULL, O_LOCALE },
    { "exclude", required_argument, NULL, O_EXCLUDE },
    { "show-dotfiles", no_argument, NULL, O_DOTFILES },
    { "follow-symlinks", no_argument, NULL, O_FOLLOW },
    { "allow-unknown", no_argument, NULL, O_ALLOW_UNKNOWN },
    { "debug", no_argument, NULL, O_DEBUG },
    { "config", required_argument, NULL, O_CONFIG },
    { "no-aslr", no_argument, NULL, O_NO_ASLR },
    { "aslr", no_argument, NULL, O_ASLR },
    { "protocol-memory", no_argument, NULL, O_PROTOCOL_MEMORY },
    { "quiet", no_argument, NULL, O_QUIET },
    { "uid", required_argument, NULL, O_UID },
    { "gid", required_argument, NULL, O_GID },
    { "pid", required_argument, NULL, O_PID },
    { "plugin", required_argument, NULL, O_PLUGIN },
    { "handler", required_argument, NULL, O_HANDLER },
    { "handler-timeout", required_argument, NULL, O_HANDLER_TIMEOUT },
    { NULL, 0, NULL, 0 },
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
        "  --raw-stdout         pass fd 1's bytes unchanged (default: non-printables as ?)\n"
        "  --nocolor            no green/red on a terminal; --color forces it\n"
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
        "  --no-seccomp         no seccomp jail (docs/security.md lists what it allows)\n"
        "  --no-fs-jail         no namespaces, empty root or Landlock under the seccomp\n"
        "                       jail (default: every one this system allows; without\n"
        "                       user namespaces and Landlock, runs are refused unless\n"
        "                       this is given): the guest sees the host's file system\n"
        "  --loose-jail         a direct system call the jail forbids is refused with EPERM\n"
        "                       (and reported) instead of ending the guest (default: ended,\n"
        "                       status seccomp; --strict-jail says so explicitly)\n"
        "  --protocol-memory    read and write the guest's memory only with the protocol's\n"
        "                       R/Z/W commands (default: directly, where the kernel allows)\n"
        "  --aslr               randomise the guest's addresses (default: not, so that a\n"
        "                       guest whose behaviour depends on them, as pypy3's does,\n"
        "                       replays identically; --no-aslr says so explicitly)\n"
        "  --allow-unknown      refuse unknown functions with ENOSYS instead of ending the guest\n"
        "  --debug              list unhandled functions first (dump mode), log refused calls\n"
        "  --outcome FILE       write the outcome as one JSON object\n"
        "  --config FILE        read options from FILE: one 'option value' per line, # comments\n"
        "  --quiet              no closing line on stderr\n";
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
    memset(ro, 0, sizeof *ro);
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        fprintf(stderr, "sandtrace: out of memory\n");
        exit(ST_RUN_EXIT_ERROR);
    }
    return d;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "sandtrace: out of memory\n");
        exit(ST_RUN_EXIT_ERROR);
    }
    return q;
}

/* Replaces a string option (the last one wins). */
static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = xstrdup(v);
}

static int add_kv(struct st_run_kv **arr, size_t *n, const char *opt, const char *arg,
                  const char *prog)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) {
        fprintf(stderr, "sandtrace %s: --%s wants VPATH=REAL, not '%s'\n", prog, opt, arg);
        return ST_RUN_OPT_USAGE;
    }
    *arr = xrealloc(*arr, (*n + 1) * sizeof **arr);
    (*arr)[*n].key = xstrdup(arg);
    (*arr)[*n].key[eq - arg] = '\0';
    (*arr)[*n].value = xstrdup(eq + 1);
    (*n)++;
    return 0;
}

static int read_config(struct st_run_options *ro, const char *path);

static int bad_value(const char *prog, const char *opt, const char *arg)
{
    fprintf(stderr, "sandtrace %s: invalid value '%s' for --%s\n", prog, arg ? arg : "", opt);
    return ST_RUN_OPT_USAGE;
}

/* Applies one option (from argv or --config). */
static int apply(struct st_run_options *ro, int id, const char *name, const char *arg)
{
    const char *prog = ro->prog;
    struct st_session_config *c = &ro->cfg;
    uint64_t u;
    int64_t i;
    switch (id) {
    case O_HELP: return ST_RUN_OPT_HELP;
    case O_MOUNT: return add_kv(&ro->mounts, &ro->nmounts, name, arg, prog);
    case O_FILE: return add_kv(&ro->files, &ro->nfiles, name, arg, prog);
    case O_TMP: set_str(&ro->tmp_dir, arg); return 0;
    case O_TMP_WRITE:
        ro->tmp_write = 1;
        if (arg && *arg && st_parse_u64(arg, &ro->tmp_quota, 1) < 0)
            return bad_value(prog, name, arg);
        return 0;
    case O_TMP_EXPORT: set_str(&ro->tmp_export, arg); return 0;
    case O_LIB_PATH: set_str(&ro->lib_path, arg); return 0;
    case O_SEED:
        if (st_parse_u64(arg, &ro->seed, 0) < 0)
            return bad_value(prog, name, arg);
        return 0;
    case O_CWD: set_str(&ro->cwd, arg); return 0;
    case O_ENV: {
        char *entry;
        if (!*arg || *arg == '=')
            return bad_value(prog, name, arg);
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
            fprintf(stderr, "sandtrace %s: too many --env entries (1024 at most)\n", prog);
            free(entry);
            return ST_RUN_OPT_USAGE;
        }
        ro->env = xrealloc(ro->env, (ro->nenv + 1) * sizeof *ro->env);
        ro->env[ro->nenv++] = entry;
        return 0;
    }
    case O_TIME:
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
            return bad_value(prog, name, arg);
        }
        return 0;
    case O_ARGV0: set_str(&ro->argv0, arg); return 0;
    case O_HOME: set_str(&ro->home, arg); return 0;
    case O_STDIN: set_str(&ro->stdin_file, arg); return 0;
    case O_STDOUT: set_str(&ro->stdout_file, arg); return 0;
    case O_STDERR: set_str(&ro->stderr_file, arg); return 0;
    case O_RAW_STDOUT: c->raw_stdout = 1; return 0;
    case O_NOCOLOR: ro->nocolor = 1; ro->force_color = 0; return 0;
    case O_COLOR: ro->force_color = 1; ro->nocolor = 0; return 0;
    case O_MAX_OUTPUT:
        if (st_parse_u64(arg, &c->max_output, 1) < 0 || c->max_output == 0)
            return bad_value(prog, name, arg);
        return 0;
    case O_TIMEOUT:
        if (st_parse_seconds(arg, &c->timeout_seconds) < 0)
            return bad_value(prog, name, arg);
        return 0;
    case O_CPU:
        if (st_parse_u64(arg, &c->cpu_seconds, 0) < 0 || c->cpu_seconds == 0)
            return bad_value(prog, name, arg);
        return 0;
    case O_MEMORY:
        if (st_parse_u64(arg, &c->memory_bytes, 1) < 0 || c->memory_bytes < 4096)
            return bad_value(prog, name, arg);
        return 0;
    case O_MAX_CALLS:
        if (st_parse_u64(arg, &c->max_calls, 0) < 0 || c->max_calls == 0)
            return bad_value(prog, name, arg);
        return 0;
    case O_OUTCOME: set_str(&ro->outcome_file, arg); return 0;
    case O_NO_SECCOMP: c->seccomp = 0; return 0;
    case O_STRICT_JAIL: c->loose_jail = 0; return 0;
    case O_LOOSE_JAIL: c->loose_jail = 1; return 0;
    case O_NO_FS_JAIL: c->no_fs_jail = 1; return 0;
    case O_TZ:
        if (st_run_tz_resolve(arg, NULL, 0) < 0)
            return bad_value(prog, name, arg);
        set_str(&ro->tz, arg);
        return 0;
    case O_LOCALE:
        if (!*arg || strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.@-") != strlen(arg) ||
            strlen(arg) > 64)
            return bad_value(prog, name, arg);
        set_str(&ro->locale, arg);
        return 0;
    case O_EXCLUDE:
        if (!*arg)
            return bad_value(prog, name, arg);
        if (ro->nexclude >= 256) {
            fprintf(stderr, "sandtrace %s: too many --exclude patterns (256 at most)\n", prog);
            return ST_RUN_OPT_USAGE;
        }
        ro->exclude = xrealloc(ro->exclude, (ro->nexclude + 1) * sizeof *ro->exclude);
        ro->exclude[ro->nexclude++] = xstrdup(arg);
        return 0;
    case O_DOTFILES: ro->show_dotfiles = 1; return 0;
    case O_FOLLOW: ro->follow_symlinks = 1; return 0;
    case O_ALLOW_UNKNOWN: c->allow_unknown = 1; return 0;
    case O_DEBUG: ro->debug = 1; c->log_refused = 1; return 0;
    case O_CONFIG: return read_config(ro, arg);
    case O_NO_ASLR: c->no_aslr = 1; return 0;
    case O_ASLR: c->no_aslr = 0; return 0;
    case O_PROTOCOL_MEMORY: c->protocol_memory = 1; return 0;
    case O_QUIET: ro->quiet = 1; return 0;
    case O_UID:
        if (st_parse_u64(arg, &u, 0) < 0 || u > 0xfffffffeu)
            return bad_value(prog, name, arg);
        c->uid = (uint32_t)u;
        return 0;
    case O_GID:
        if (st_parse_u64(arg, &u, 0) < 0 || u > 0xfffffffeu)
            return bad_value(prog, name, arg);
        c->gid = (uint32_t)u;
        return 0;
    case O_PID:
        if (st_parse_u64(arg, &u, 0) < 0 || u == 0 || u > 4194304)
            return bad_value(prog, name, arg);
        c->pid = (int64_t)u;
        return 0;
    case O_PLUGIN:
        if (!*arg || *arg == ':' || ro->nplugins >= 16)
            return bad_value(prog, name, arg);
        ro->plugins = xrealloc(ro->plugins, (ro->nplugins + 1) * sizeof *ro->plugins);
        ro->plugins[ro->nplugins++] = xstrdup(arg);
        return 0;
    case O_HANDLER: {
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg || !eq[1] || ro->nhandlers >= 64)
            return bad_value(prog, name, arg);
        ro->handlers = xrealloc(ro->handlers, (ro->nhandlers + 1) * sizeof *ro->handlers);
        ro->handlers[ro->nhandlers++] = xstrdup(arg);
        return 0;
    }
    case O_HANDLER_TIMEOUT:
        if (st_parse_seconds(arg, &ro->handler_timeout) < 0)
            return bad_value(prog, name, arg);
        return 0;
    }
    return ST_RUN_OPT_USAGE;
}

static int config_depth;

/* --config FILE: one option per line, "name value", "name = value" or a
 * bare "name" for flags; blank lines and lines starting with # are skipped. */
static int read_config(struct st_run_options *ro, const char *path)
{
    if (config_depth >= 4) {
        fprintf(stderr, "sandtrace %s: --config files nested too deeply at '%s'\n", ro->prog, path);
        return ST_RUN_OPT_USAGE;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "sandtrace %s: cannot open config '%s': %s\n", ro->prog, path, strerror(errno));
        return ST_RUN_OPT_ERROR;
    }
    config_depth++;
    char line[8192];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            fprintf(stderr, "sandtrace %s: %s:%d: line too long\n", ro->prog, path, lineno);
            rc = ST_RUN_OPT_USAGE;
            break;
        }
        while (len && isspace((unsigned char)line[len - 1]))
            line[--len] = '\0';
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p || *p == '#')
            continue;
        char *key = p;
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
        const struct option *o = NULL;
        for (const struct option *q = long_opts; q->name; q++)
            if (!strcmp(q->name, key))
                o = q;
        if (!o || o->val == O_HELP) {
            fprintf(stderr, "sandtrace %s: %s:%d: unknown option '%s'\n", ro->prog, path, lineno, key);
            rc = ST_RUN_OPT_USAGE;
            break;
        }
        if (o->has_arg == required_argument && !*p) {
            fprintf(stderr, "sandtrace %s: %s:%d: '%s' needs a value\n", ro->prog, path, lineno, key);
            rc = ST_RUN_OPT_USAGE;
            break;
        }
        if (o->has_arg == no_argument && *p && strcmp(p, "true") && strcmp(p, "yes") && strcmp(p, "1")) {
            if (!strcmp(p, "false") || !strcmp(p, "no") || !strcmp(p, "0"))
                continue;
            fprintf(stderr, "sandtrace %s: %s:%d: '%s' takes no value\n", ro->prog, path, lineno, key);
            rc = ST_RUN_OPT_USAGE;
            break;
        }
        char *val = xstrdup(p);
        ro->owned = xrealloc(ro->owned, (ro->nowned + 1) * sizeof *ro->owned);
        ro->owned[ro->nowned++] = val;
        rc = apply(ro, o->val, o->name, o->has_arg == no_argument ? NULL : val);
        if (rc == ST_RUN_OPT_HELP)
            rc = 0;
    }
    config_depth--;
    fclose(f);
    return rc;
}

int st_run_options_takes_value(const char *word)
{
    if (!word || strncmp(word, "--", 2) != 0 || !word[2] || strchr(word, '='))
        return 0;
    const char *name = word + 2;
    size_t n = strlen(name);
    const struct option *match = NULL;
    for (const struct option *q = long_opts; q->name; q++) {
        if (strncmp(q->name, name, n) != 0)
            continue;
        if (q->name[n] == '\0')
            return q->has_arg == required_argument; /* an exact name wins */
        if (match)
            return 0; /* ambiguous: getopt refuses it anyway */
        match = q;
    }
    return match && match->has_arg == required_argument;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

int st_run_options_parse(struct st_run_options *ro, int argc, char **argv, const char *prog)
{
    ro->prog = prog;
    optind = 0;
    opterr = 0;
    for (;;) {
        int idx = -1;
        int id = getopt_long(argc, argv, "+h", long_opts, &idx);
        if (id == -1)
            break;
        if (id == '?' || id == ':') {
            if (optopt && optopt != '?')
                fprintf(stderr, "sandtrace %s: bad option '%s'\n", prog, argv[optind - 1]);
            else
                fprintf(stderr, "sandtrace %s: unknown option '%s'\n", prog, argv[optind - 1]);
            return ST_RUN_OPT_USAGE;
        }
        const char *name = idx >= 0 && long_opts[idx].val == id ? long_opts[idx].name : "help";
        int rc = apply(ro, id, name, optarg);
        if (rc != 0)
            return rc;
    }
    if (optind >= argc) {
        fprintf(stderr, "sandtrace %s: no executable given\n", prog);
        return ST_RUN_OPT_USAGE;
    }
    if (ro->tmp_dir && ro->tmp_write) {
        fprintf(stderr, "sandtrace %s: --tmp and --tmp-write exclude each other\n", prog);
        return ST_RUN_OPT_USAGE;
    }
    if (ro->tmp_export && !ro->tmp_write) {
        fprintf(stderr, "sandtrace %s: --export-tmp needs --tmp-write\n", prog);
        return ST_RUN_OPT_USAGE;
    }
    ro->exe = argv[optind];
    ro->guest_args = argv + optind + 1;
    ro->nguest_args = argc - optind - 1;
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
    struct st_session_config *c = &ro->cfg;
    c->exe = ro->exe;
    c->argv = ro->argv;
    c->argc = (size_t)ro->nguest_args + 1;
    c->env = (const char *const *)ro->env;
    c->nenv = ro->nenv;
    c->pypy_home = ro->home;
    return 0;
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

static int open_stream(const char *prog, const char *path, int flags, const char *what)
{
    int fd = open(path, flags | O_CLOEXEC, 0644);
    if (fd < 0)
        fprintf(stderr, "sandtrace %s: cannot open %s '%s': %s\n", prog, what, path, strerror(errno));
    return fd;
}

static void note_to_stderr(void *ctx, const char *text)
{
    (void)ctx;
    fprintf(stderr, "sandtrace: %s\n", text);
}

void st_run_debug_dump(const struct st_run_options *ro)
{
    char *text = NULL;
    int err = 0;
    int rc = st_dump_capture(ro->exe, 10, &text, &err);
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

/* Runs the session with the process-wide settings a run needs: SIGPIPE
 * ignored (a guest that dies mid-answer must not kill sandtrace),
 * interruptions turned into the session's flag; all restored after. */
static int run_session_with_signals(struct st_session *s, struct st_outcome *out)
{
    struct sigaction ign = { .sa_handler = SIG_IGN }, on_int = { .sa_handler = note_interrupt };
    struct sigaction old_pipe, old_int, old_term, old_hup;
    sigemptyset(&ign.sa_mask);
    sigemptyset(&on_int.sa_mask);
    run_interrupted = 0;
    sigaction(SIGPIPE, &ign, &old_pipe);
    sigaction(SIGINT, &on_int, &old_int);
    sigaction(SIGTERM, &on_int, &old_term);
    sigaction(SIGHUP, &on_int, &old_hup);
    int rc = st_session_run(s, out);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    sigaction(SIGPIPE, &old_pipe, NULL);
    return rc;
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

int st_run_execute(struct st_run_options *ro, const struct st_observer *extra,
                   struct st_outcome *out)
{
    memset(out, 0, sizeof *out);
    out->status = ST_STATUS_ERROR;
    out->exit_code = -1;
    struct st_session_config cfg = ro->cfg;
    int in_fd = -1, out_fd = -1, err_fd = -1, rc;
    if (ro->stdin_file && (in_fd = open_stream(ro->prog, ro->stdin_file, O_RDONLY, "input")) < 0)
        goto setup_failed;
    if (ro->stdout_file &&
        (out_fd = open_stream(ro->prog, ro->stdout_file, O_WRONLY | O_CREAT | O_TRUNC, "output")) < 0)
        goto setup_failed;
    if (ro->stderr_file &&
        (err_fd = open_stream(ro->prog, ro->stderr_file, O_WRONLY | O_CREAT | O_TRUNC, "output")) < 0)
        goto setup_failed;
    if (in_fd >= 0)
        cfg.in_fd = in_fd;
    if (out_fd >= 0) {
        cfg.out_fd = out_fd;
        cfg.raw_stdout = 1;
    }
    if (err_fd >= 0) {
        cfg.err_fd = err_fd;
        cfg.raw_stderr = 1;
    }
    char tz_env[200], lang_env[80];
    const char *real_env[2] = { lang_env, tz_env };
    st_run_real_env(ro, lang_env, sizeof lang_env, tz_env, sizeof tz_env);
    cfg.real_env = real_env;
    cfg.nreal_env = 2;
    cfg.interrupt = &run_interrupted;
    if (ro->force_color || (!ro->nocolor && out_fd < 0 && err_fd < 0 && isatty(1) && isatty(2))) {
        cfg.out_before = "\033[32m"; /* green */
        cfg.err_before = "\033[31m"; /* red */
        cfg.out_after = cfg.err_after = "\033[0m";
    }
    /* The jail's layers: refused here, saying what is missing, when the
     * file-system layers are wanted and this system has none. */
    unsigned layers = 0;
    if (st_fsjail_layers(cfg.no_fs_jail, cfg.seccomp, &layers) < 0) {
        char missing[300];
        st_fsjail_missing(missing, sizeof missing);
        fprintf(stderr,
                "sandtrace %s: cannot jail the guest's file system: %s %s not available here; "
                "--no-fs-jail runs the guest without (it then sees the host's files)\n",
                ro->prog, missing, strstr(missing, " and ") ? "are" : "is");
        rc = ST_E_NOJAIL;
        goto setup_failed;
    }
    rc = build_vfs(ro, &cfg.vfs);
    if (rc < 0)
        goto setup_failed;
    struct st_session *s;
    rc = st_session_new(&cfg, &s);
    if (rc < 0) {
        fprintf(stderr, "sandtrace %s: %s\n", ro->prog, st_error_name(rc));
        goto setup_failed;
    }
    if (ro->debug) {
        struct st_observer dbg = { .on_note = note_to_stderr };
        st_session_add_observer(s, &dbg);
    }
    if (extra)
        st_session_add_observer(s, extra);
    if ((rc = add_user_handlers(ro, s)) < 0) {
        st_session_free(s);
        goto setup_failed;
    }
    fflush(stdout);
    rc = run_session_with_signals(s, out);
    /* st_spawn sets up exactly these layers or does not start the guest. */
    if (rc == 0)
        st_fsjail_layers_name(layers, out->jail_layers, sizeof out->jail_layers);
    if (rc == 0 && ro->tmp_export) {
        int e = st_vfs_export_tmp(st_session_vfs(s), ro->tmp_export);
        if (e < 0)
            vfs_error(ro->prog, "export /tmp to", ro->tmp_export, NULL, e);
    }
    st_session_free(s);
    if (!ro->quiet && (out->status != ST_STATUS_EXITED || rc < 0))
        fprintf(stderr, "sandtrace %s: %s\n", ro->prog, out->reason);
    if (ro->outcome_file) {
        char json[2048];
        st_outcome_to_json(out, json, sizeof json);
        FILE *f = fopen(ro->outcome_file, "w");
        int bad = !f;
        if (f) {
            bad = fprintf(f, "%s\n", json) < 0;
            bad |= fclose(f) != 0;
        }
        if (bad)
            fprintf(stderr, "sandtrace %s: cannot write outcome '%s': %s\n", ro->prog,
                    ro->outcome_file, strerror(errno));
    }
    if (in_fd >= 0) close(in_fd);
    if (out_fd >= 0) close(out_fd);
    if (err_fd >= 0) close(err_fd);
    return rc;
setup_failed:
    snprintf(out->reason, sizeof out->reason, "the run could not be set up");
    if (in_fd >= 0) close(in_fd);
    if (out_fd >= 0) close(out_fd);
    if (err_fd >= 0) close(err_fd);
    return ST_E_CONFIG;
}
