/* The options of `sandtrace run`, shared with `record` (which adds its own
 * observer): parsing from the command line and from --config FILE, building
 * the session (virtual file system, streams, limits), running it, and
 * reporting its end on stderr and in --outcome FILE. */
#ifndef SANDTRACE_TOOLS_CMD_RUN_OPTS_H
#define SANDTRACE_TOOLS_CMD_RUN_OPTS_H

#include <stddef.h>
#include <stdint.h>

#include "controller/observer.h"
#include "controller/session.h"

enum {
    ST_RUN_OPT_HELP = 1,     /* --help was asked for */
    ST_RUN_OPT_USAGE = -1,   /* bad command line (message printed) */
    ST_RUN_OPT_ERROR = -2,   /* a file could not be read (message printed) */
};

struct st_run_kv {
    char *key;               /* virtual path or env name=value */
    char *value;
};

struct st_run_options {
    struct st_session_config cfg;   /* filled as options are parsed */
    const char *prog;               /* "run" or "record", for messages */
    /* Guest. */
    const char *exe;
    char **guest_args;              /* ARGS after the executable (not owned) */
    int nguest_args;
    char *argv0;                    /* --argv0 or derived */
    const char **argv;              /* argv0 + guest args (owned array) */
    char *home;                     /* --home or derived */
    /* Environment entries "K=V" (owned). */
    char **env;
    size_t nenv;
    /* Virtual file system. */
    struct st_run_kv *mounts;
    size_t nmounts;
    struct st_run_kv *files;
    size_t nfiles;
    char *tmp_dir;                  /* --tmp DIR */
    int tmp_write;                  /* --tmp-write */
    uint64_t tmp_quota;
    char *tmp_export;               /* --export-tmp DIR */
    char *lib_path;                 /* --lib-path DIR */
    char *cwd;
    uint64_t seed;
    char **exclude;                 /* --exclude patterns (owned) */
    size_t nexclude;
    int show_dotfiles, follow_symlinks;
    /* Streams. */
    char *stdin_file, *stdout_file, *stderr_file;
    int nocolor, force_color;
    /* Report. */
    char *outcome_file;
    int debug;
    int quiet;                      /* no end-of-run line on stderr */
    char *tz;                       /* --tz ZONE (NULL: UTC) */
    char *locale;                   /* --locale NAME (NULL: C.UTF-8) */
    /* User handlers (docs/handlers.md), in the order given (owned). */
    char **plugins;                 /* --plugin FILE.so[:ARGS] */
    size_t nplugins;
    char **handlers;                /* --handler PATTERN=COMMAND */
    size_t nhandlers;
    double handler_timeout;         /* --handler-timeout SEC (default 5) */
    /* Owned strings from --config FILE. */
    char **owned;
    size_t nowned;
};

void st_run_options_init(struct st_run_options *ro);
void st_run_options_release(struct st_run_options *ro);

/* The option lines of --help (shared by run and record). */
const char *st_run_options_help(void);

/* Parses argv (argv[0] is the subcommand's name). Returns 0, ST_RUN_OPT_HELP,
 * or a negative ST_RUN_OPT_* after printing a message. `extra` options
 * unknown here are refused. */
int st_run_options_parse(struct st_run_options *ro, int argc, char **argv, const char *prog);

/* 1 when the command-line word `word` is a run option that takes its value
 * as the next word ("--mount" but not "--mount=X", "--tmp-write" or
 * "--no-seccomp"), with getopt's unambiguous abbreviations; else 0. Lets
 * `record` find its own options among the run options. */
int st_run_options_takes_value(const char *word);

/* --debug: runs the guest in dump mode and prints, on stderr, every
 * function it can request that the registry does not handle. */
void st_run_debug_dump(const struct st_run_options *ro);

/* Builds the session, adds `extra` (may be NULL) as an observer, runs it,
 * prints the end (unless it exited normally) on stderr and writes
 * --outcome. Returns 0 or a negative ST_E_*; `out` is always filled. */
int st_run_execute(struct st_run_options *ro, const struct st_observer *extra,
                   struct st_outcome *out);

/* --tz: a POSIX TZ string as it is, or a zone name of this host's zoneinfo
 * turned into its POSIX rule (into out, cap bytes, when cap > 0). Returns 0
 * or -1 when it is neither. */
int st_run_tz_resolve(const char *tz, char *out, size_t cap);

/* The guest's real environment: "LANG=..." and "TZ=..." into the buffers. */
void st_run_real_env(const struct st_run_options *ro, char *lang, size_t lang_cap, char *tz,
                     size_t tz_cap);

#endif
