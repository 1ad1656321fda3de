/* tracer/tap.h: `tap`, the recording proxy between a foreign controller and
 * a guest.
 *
 * Two parts:
 * - st_tap_parser: a push parser of the two byte streams of a sandbox-2
 *   session (guest -> controller: requests and replies; controller -> guest:
 *   commands). It is fed arbitrary slices of either stream (split anywhere)
 *   and reports what it understands through an st_observer, in wire order,
 *   exactly as the controller's session would: so the tracer's observer
 *   records a tapped session with the same events as `record`. It models
 *   what the controller reads: guest bytes are consumed only when the
 *   controller expects them (a request when none is open, a reply after R, Z
 *   or M). The signature text is checked with the controller's codec
 *   (st_wire_parse_text). At the first thing it cannot parse it reports a
 *   violation with the offending bytes and stops parsing: later bytes are
 *   reported raw (as violations, up to ST_TAP_RAW_MAX bytes).
 * - st_tap_run: starts the real guest (no jail, the environment given) and
 *   relays both streams unchanged and unreordered, and the guest's stderr,
 *   feeding copies to a parser (or, in dump mode, keeping the guest's
 *   function list).
 * - st_tap_env_redact: the copy of the real environment that goes into the
 *   trace, with the values of variables that look secret replaced.
 *
 * Nothing here prints or exits; errors are negative ST_TRACER_E_*. */
#ifndef SANDTRACE_TRACER_TAP_H
#define SANDTRACE_TRACER_TAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "controller/observer.h"

/* The largest piece of data reported in one callback: an R or W larger than
 * this is reported as consecutive pieces (ptr advancing); an M or a Z reply
 * larger than this is a violation (no real guest or controller does it). */
#define ST_TAP_PIECE_MAX (64u * 1024 * 1024)
/* Raw bytes reported after parsing stopped, per stream. */
#define ST_TAP_RAW_MAX (16u * 1024 * 1024)

struct st_tap_parser;

/* Creates a parser reporting to `obs` (copied; its ctx is not owned).
 * Returns 0 or ST_TRACER_E_NOMEM / ST_TRACER_E_INVALID. */
int st_tap_parser_new(struct st_tap_parser **out, const struct st_observer *obs);

/* Bytes that went from the guest (its stdout) to the controller. */
void st_tap_parser_feed_guest(struct st_tap_parser *p, const void *data, size_t len);
/* Bytes that went from the controller to the guest (its stdin). */
void st_tap_parser_feed_controller(struct st_tap_parser *p, const void *data, size_t len);

/* Both streams have ended: reports a message cut short, or bytes nobody
 * consumed, as a violation. Call once, before on_exit is reported. */
void st_tap_parser_finish(struct st_tap_parser *p);

/* 1 once the parser stopped parsing (after a violation), else 0. */
int st_tap_parser_failed(const struct st_tap_parser *p);

struct st_tap_counts {
    uint64_t requests;           /* requests parsed */
    uint64_t results;            /* results parsed */
    uint64_t guest_bytes;        /* bytes fed from the guest */
    uint64_t controller_bytes;   /* bytes fed from the controller */
};
void st_tap_parser_counts(const struct st_tap_parser *p, struct st_tap_counts *c);

/* Frees the parser; accepts NULL. */
void st_tap_parser_free(struct st_tap_parser *p);

/* ---------------------------------------------------------------------------
 * The real environment, as recorded. */

/* What replaces a secret variable's value in the recorded environment. */
#define ST_TAP_REDACTED "<redacted by sandtrace>"

/* 1 when the variable `kv` ("NAME=value", or just "NAME") looks like it
 * holds a secret, else 0. Secret are (names compared case-insensitively):
 * a name containing TOKEN, SECRET, KEY, PASS, PWD (but not PWD and OLDPWD,
 * the current directories), CREDENTIAL, AUTH, COOKIE, SESSION, PRIVATE,
 * or SIGNATURE; a name starting with AWS_, GITHUB_, GH_, GITLAB_,
 * AZURE_, GOOGLE_, GCP_, GCLOUD_, NPM_, PYPI_, TWINE_, DOCKER_, VAULT_,
 * HEROKU_, SLACK_, OPENAI_, ANTHROPIC_, HF_ or HUGGING (credential families
 * whose other variables are not worth the risk); and any value holding a
 * URL with a password ("scheme://user:password@host", e.g. DATABASE_URL or
 * https_proxy). The list errs on the side of redacting: a redacted
 * variable the guest needs is a visible, fixable replay difference; a
 * leaked secret is not fixable. docs/sandtrace.1 (tap) lists it too. */
int st_tap_env_is_secret(const char *kv);

/* Copies the NULL-terminated `envp` (NULL: empty) into *out: a
 * NULL-terminated array of *count new "NAME=value" strings, in order, each
 * secret value (st_tap_env_is_secret) replaced by ST_TAP_REDACTED unless
 * `keep_secrets`; *redacted says how many were. Entries without '=' are
 * copied as they are (and redacted as "NAME=<redacted by sandtrace>" when
 * they look secret). Returns 0 or ST_TRACER_E_NOMEM; free with
 * st_tap_env_free. */
int st_tap_env_redact(char *const *envp, int keep_secrets, char ***out, size_t *count,
                      size_t *redacted);

/* Frees what st_tap_env_redact made; accepts NULL. */
void st_tap_env_free(char **env);

/* ---------------------------------------------------------------------------
 * The relay. */

struct st_tap_config {
    const char *exe;          /* the real guest executable */
    char *const *argv;        /* NULL-terminated; argv[0] as the guest sees it */
    char *const *envp;        /* the guest's environment (NULL: empty) */
    int in_fd;                /* the controller's commands arrive here (0) */
    int out_fd;               /* requests and replies go back here (1) */
    int err_fd;               /* the guest's stderr goes here (2) */
    /* -1, or a non-blocking fd that becomes readable with one byte per
     * signal to forward to the guest (the signal number), e.g. the read end
     * of an O_NONBLOCK self-pipe a SIGTERM handler writes to. */
    int signal_fd;
    /* The guest runs in dump mode (RPY_SANDBOX_DUMP set in envp): it prints
     * its function list on stdout and exits instead of making requests.
     * Its stdout is then relayed and kept, not parsed, and recorded as
     * notes (ST_TAP_NOTE_DUMP_MODE first, ST_TAP_NOTE_DUMP_OUTPUT and the
     * text at the end), or as a violation with the raw bytes when it is
     * not text (a NUL byte, or more than ST_TAP_DUMP_TEXT_MAX bytes). */
    int dump_mode;
    /* Start the guest with ASLR off (personality ADDR_NO_RANDOMIZE), as
     * replay does: a real PyPy's garbage collector can move a pair of
     * gettimeofday calls by a few requests when its addresses change. */
    int no_aslr;
    /* Called once the guest has started (its executable is running), before
     * anything is relayed; NULL: nothing. `record`-like callers put their
     * trace file in place here, so that a guest that cannot start leaves an
     * existing trace as it was. */
    void (*on_started)(void *ctx);
    void *started_ctx;
};

#define ST_TAP_NOTE_DUMP_MODE \
    "dump mode: RPY_SANDBOX_DUMP is set; the guest prints its function list instead of requests"
/* docs/trace-format.md names this prefix: replay finds the recorded list by it. */
#define ST_TAP_NOTE_DUMP_OUTPUT "dump output:\n"
#define ST_TAP_DUMP_TEXT_MAX (60u * 1024)

void st_tap_config_init(struct st_tap_config *cfg);

struct st_tap_result {
    int wait_status;          /* the guest's wait status (when started) */
    int exec_errno;           /* why the guest could not be started */
    pid_t pid;
    uint64_t to_guest;        /* bytes relayed controller -> guest */
    uint64_t from_guest;      /* bytes relayed guest -> controller */
    uint64_t stderr_bytes;    /* bytes of the guest's stderr relayed */
    int parse_failed;         /* the parser stopped at a violation */
};

/* Starts the guest, relays until its stdout and stderr end, waits for it,
 * and reports everything to `obs` (requests... guest stderr, a violation
 * if any, then on_exit with the guest's outcome). Returns 0 when the guest
 * ran (whatever it did), ST_TRACER_E_SPAWN (res->exec_errno) or
 * ST_TRACER_E_NOMEM. The caller ignores SIGPIPE (tools/ does): a controller
 * that goes away must not kill tap before the trace ends; this library does
 * not touch signal dispositions. */
int st_tap_run(const struct st_tap_config *cfg, const struct st_observer *obs,
               struct st_tap_result *res);

#endif
