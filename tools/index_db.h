/* tools/index_db.h: the audit database of `sandtrace index` (SQLite).
 *
 * One database holds many runs: a `runs` row per trace, a `calls` row per
 * call, a `paths` row per path the guest named, a `policy` row per policy
 * entry, and a `meta` table with the schema version (docs/index.md
 * describes every column). A run is identified by the BLAKE2b-256 of its
 * trace file: indexing the same bytes twice adds nothing.
 *
 * A run is inserted first with complete = 0, its calls and paths follow,
 * and ix_db_run_finish() sets complete = 1 with the summary; a run left
 * incomplete (the indexer was killed) is not taken as indexed, and the next
 * indexer replaces it. Every value from a trace is bound as a parameter,
 * never pasted into SQL text.
 *
 * One thread uses a struct ix_db at a time. Functions return 0 or a negative
 * IX_E_* code; ix_db_error() says why in words (lowercase, no newline). */
#ifndef SANDTRACE_TOOLS_INDEX_DB_H
#define SANDTRACE_TOOLS_INDEX_DB_H

#include <stddef.h>
#include <stdint.h>

#define IX_SCHEMA_VERSION 1

enum ix_error {
    IX_OK = 0,
    IX_E_SQL = -1,      /* SQLite failed (disk full, corrupt database...) */
    IX_E_VERSION = -2,  /* the database has another schema version */
    IX_E_BUSY = -3,     /* another indexer holds the database */
    IX_E_NOT_DB = -4,   /* the file is not an audit database */
    IX_E_IO = -5,       /* cannot open or lock the file */
};

/* What the run's trace header says (strings are NUL-terminated, already
 * made safe by the caller; NULL is stored as NULL). */
struct ix_run_head {
    const char *trace_path;
    const char *trace_hash;     /* 64 hex digits */
    uint64_t trace_bytes;
    const char *exe_path;
    const char *exe_hash;       /* 64 hex digits, or NULL when the trace has none */
    uint64_t exe_size;
    const char *argv_json;      /* a JSON array of strings */
    const char *policy_json;    /* a JSON array of [key, value] pairs */
    const char *writer_version;
    const char *host_arch;
    const char *started_at;     /* ISO 8601 UTC, or NULL */
    int64_t started_unix_ns;
};

/* What reading the whole trace found. */
struct ix_run_end {
    const char *status;         /* exited, signaled, timeout, ... (docs/index.md) */
    const char *reason;         /* the recorded reason, or NULL */
    const char *limits_hit;     /* comma-separated limit names, or NULL */
    int has_exit;
    int exit_code, signal;
    uint64_t events, calls, failed_calls, refused_calls, unknown_calls, unfinished_calls;
    uint64_t stderr_bytes, duration_ns;
    int damaged;
    const char *damage;         /* why, or NULL */
};

struct ix_call_row {
    uint64_t seq, time_ns, duration_ns;
    const char *name, *cls, *sig, *args, *result_text; /* cls, result_text may be NULL */
    int finished, failed;
    char result_kind;           /* 'i', 'p', 'f', 'v', or 0 (unfinished) */
    uint64_t result;            /* raw */
    int has_errno;
    int32_t err;
    const char *errno_name;     /* NULL when unknown or none */
    uint64_t bytes_in, bytes_out;
};

struct ix_path_row {
    uint64_t seq;
    const char *path, *how, *call;
    int ok;
};

struct ix_db;

/* Opens (creating if needed) the database at `path`, creates or checks the
 * schema, and takes an exclusive lock on the file for the life of the
 * handle (two indexers never write one database). Errors: IX_E_IO, IX_E_BUSY,
 * IX_E_VERSION, IX_E_NOT_DB, IX_E_SQL; the message goes to err. */
int ix_db_open(struct ix_db **out, const char *path, char *err, size_t err_cap);
/* Commits nothing: an open transaction is rolled back. Accepts NULL. */
void ix_db_close(struct ix_db *db);
const char *ix_db_error(const struct ix_db *db);

int ix_db_begin(struct ix_db *db);
int ix_db_commit(struct ix_db *db);
int ix_db_in_transaction(const struct ix_db *db);

/* Looks a trace hash up: 0 and *id = 0 when unknown; else *id and
 * *complete (1: fully indexed). */
int ix_db_run_find(struct ix_db *db, const char *trace_hash, int64_t *id, int *complete);
/* Removes a run and its rows. */
int ix_db_run_delete(struct ix_db *db, int64_t id);
int ix_db_run_insert(struct ix_db *db, const struct ix_run_head *h, int64_t *id);
int ix_db_policy_insert(struct ix_db *db, int64_t run, const char *key, const char *value);
int ix_db_call_insert(struct ix_db *db, int64_t run, const struct ix_call_row *c);
int ix_db_path_insert(struct ix_db *db, int64_t run, const struct ix_path_row *p);
int ix_db_run_finish(struct ix_db *db, int64_t run, const struct ix_run_end *e);

/* Adds the complete runs of the database at `other` that this one lacks
 * (by trace hash), with their calls, paths and policy, in one transaction.
 * *added and *skipped count runs. Errors: IX_E_IO, IX_E_NOT_DB, IX_E_VERSION
 * (the shard cannot be read, or is not an audit database of this schema),
 * IX_E_SQL (this database failed); the message is ix_db_error's. */
int ix_db_merge(struct ix_db *db, const char *other, uint64_t *added, uint64_t *skipped);

#endif
