/* tools/options.h: the one option parser of every sandtrace command.
 *
 * Each command describes its options in a table and loops:
 *
 *     static const struct opt_spec specs[] = {
 *         { O_OUT, 'o', "output", OPT_REQ },
 *         { O_RAW, 0, "raw", OPT_NONE },
 *         { 'h', 'h', "help", OPT_NONE },
 *         OPT_SPEC_END,
 *     };
 *     struct opt_parser p;
 *     opt_init(&p, "dump", specs, argc, argv, 0);
 *     for (int id; (id = opt_next(&p)) != OPT_DONE;) {
 *         if (id == OPT_ERROR) return opt_release(&p), ST_EXIT_USAGE;
 *         switch (id) { case O_OUT: out = p.arg; break; ... }
 *     }
 *     // the operands: p.operands[0 .. p.noperands)
 *
 * What every command accepts, as git's parse-options and GNU getopt do:
 * options anywhere before "--" ("dump t.sbt -s 100"); "--name=value",
 * "--name value", "-svalue", "-s value"; grouped short flags ("-Tq",
 * "-xx"); a long name abbreviated to any unique prefix; "-" as an operand
 * (standard input); "--" ends the options. With OPT_STOP_AT_OPERAND (run,
 * record, tap) the first operand (the guest's executable) ends the options,
 * and it and every word after it are operands.
 *
 * Errors are one format, printed on stderr with a one-line hint:
 *
 *     sandtrace dump: unknown option '--evnts' (did you mean '--events'?)
 *     sandtrace dump: option '-s' requires an argument
 *     Try 'sandtrace dump --help' for more information.
 */
#ifndef SANDTRACE_TOOLS_OPTIONS_H
#define SANDTRACE_TOOLS_OPTIONS_H

enum opt_arg {
    OPT_NONE,   /* a flag: "--raw"; "--raw=x" is an error */
    OPT_REQ,    /* a value is required: "--events=1..5", "--events 1..5", "-s5", "-s 5" */
    OPT_NUM,    /* OPT_REQ whose value must begin like a number (digit, '.', '-' or '+'):
                 * "dump -s t.sbt" is "requires a number", not a string size of 't.sbt' */
    OPT_OPT,    /* an optional value: "--tmp-write", "--tmp-write=16M", and, when the
                 * next word begins with a digit, "--tmp-write 16M" */
};

struct opt_spec {
    int id;             /* what opt_next returns for it: > 0 */
    char shrt;          /* its short letter, or 0 */
    const char *lng;    /* its long name without "--", or NULL */
    enum opt_arg arg;
};
#define OPT_SPEC_END { 0, 0, NULL, OPT_NONE }

enum {
    OPT_DONE = 0,       /* no more options: the operands are in p->operands */
    OPT_ERROR = -1,     /* a usage error, already printed with its hint */
};

enum {
    OPT_STOP_AT_OPERAND = 1, /* the first operand ends the options (run, record, tap) */
};

struct opt_parser {
    const char *cmd;              /* "dump", for messages */
    const struct opt_spec *specs;
    int argc;
    char **argv;
    int flags;
    int i;                        /* the next word of argv */
    const char *group;            /* the rest of a short-option group ("q" of "-Tq") */
    const char *group_word;       /* the whole group, for messages */
    /* The option just returned. */
    const struct opt_spec *spec;
    const char *arg;              /* its value, or NULL */
    char name[64];                /* as it is called in messages: "--events", "-s" */
    /* Filled as parsing goes; complete once opt_next returned OPT_DONE. */
    char **operands;
    int noperands;
};

/* argv[0] is the command's name and is skipped. */
void opt_init(struct opt_parser *p, const char *cmd, const struct opt_spec *specs, int argc,
              char **argv, int flags);

/* The next option's id; OPT_DONE at the end; OPT_ERROR after printing. */
int opt_next(struct opt_parser *p);

/* Prints "sandtrace CMD: MESSAGE" and the one-line hint; returns
 * ST_EXIT_USAGE, for a command's own checks ("no trace given"). */
int opt_usage(const struct opt_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The same, for a command's check of an option's value:
 * "sandtrace dump: option '-s': bad size 'x'". */
int opt_bad_value(const struct opt_parser *p, const char *what);

/* The spec whose long name is exactly `name` or its unique prefix; NULL when
 * none or ambiguous (for --config files, which use long names). */
const struct opt_spec *opt_find_long(const struct opt_spec *specs, const char *name);

/* The closest of `names` (NULL-terminated) to `word` when it is close enough
 * to be a typo (edit distance ≤ 2, or ≤ 1 for short words), else NULL. */
const char *opt_suggest(const char *word, const char *const *names);

void opt_release(struct opt_parser *p);

#endif
