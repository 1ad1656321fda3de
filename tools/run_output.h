/* The output files of `run` and `record` (the trace, --stdout, --stderr,
 * --outcome): checked before the guest starts, written to a temporary file
 * beside the target, and put in place only when they are worth keeping, so
 * that a run that could not start never destroys an existing file.
 *
 *   struct run_output o;
 *   if (run_output_open(&o, "record", "t.sbt") < 0) return ST_EXIT_OUTPUT;
 *   ... write to o.fd; once the guest started: run_output_place(&o) ...
 *   on a setup error instead: run_output_discard(&o);
 *
 * A target that exists and is not a regular file (/dev/null, /dev/stdout, a
 * pipe) is opened and written directly: there is nothing to replace. */
#ifndef SANDTRACE_TOOLS_RUN_OUTPUT_H
#define SANDTRACE_TOOLS_RUN_OUTPUT_H

struct run_output {
    const char *path;   /* the target (not owned) */
    char *tmp;          /* the temporary file beside it, or NULL (written directly, or placed) */
    int fd;             /* open for writing, -1 once closed */
};

/* Opens a temporary file beside `path` (or `path` itself, see above).
 * Returns 0, or -1 after "sandtrace PROG: cannot write 'PATH': WHY". */
int run_output_open(struct run_output *o, const char *prog, const char *path);

/* Renames the temporary file to the target (the fd stays open and valid).
 * Returns 0, or -1 after a message (the temporary file is kept and named). */
int run_output_place(struct run_output *o, const char *prog);

/* Closes the fd (reporting a failed close) unless it was handed over
 * (o->fd = -1), then places the file. Returns 0 or -1 after a message. */
int run_output_commit(struct run_output *o, const char *prog);

/* Closes the fd (unless handed over) and removes the temporary file:
 * the target is left as it was. */
void run_output_discard(struct run_output *o);

/* A directory that will be created or written into later (--export-tmp):
 * 0 when it is a writable directory or can be created, else -1 after a
 * message. */
int run_output_check_dir(const char *prog, const char *path);

#endif
