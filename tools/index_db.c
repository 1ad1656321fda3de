/* The audit database of `sandtrace index`: see index_db.h and docs/index.md. */
#include "tools/index_db.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* The schema, version IX_SCHEMA_VERSION. docs/index.md documents it column by
 * column; a change to it is a new version. */
static const char schema_sql[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
    "CREATE TABLE runs (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  trace_path TEXT NOT NULL,\n"
    "  trace_hash TEXT NOT NULL UNIQUE,\n"
    "  trace_bytes INTEGER NOT NULL,\n"
    "  exe_path TEXT,\n"
    "  exe_hash TEXT,\n"
    "  exe_size INTEGER,\n"
    "  argv TEXT NOT NULL,\n"
    "  policy TEXT NOT NULL,\n"
    "  writer_version TEXT,\n"
    "  host_arch TEXT,\n"
    "  started_at TEXT,\n"
    "  started_unix_ns INTEGER,\n"
    "  status TEXT,\n"
    "  reason TEXT,\n"
    "  exit_code INTEGER,\n"
    "  signal INTEGER,\n"
    "  limits_hit TEXT,\n"
    "  events INTEGER,\n"
    "  calls INTEGER,\n"
    "  failed_calls INTEGER,\n"
    "  refused_calls INTEGER,\n"
    "  unknown_calls INTEGER,\n"
    "  unfinished_calls INTEGER,\n"
    "  stderr_bytes INTEGER,\n"
    "  duration_ns INTEGER,\n"
    "  damaged INTEGER NOT NULL DEFAULT 0,\n"
    "  damage TEXT,\n"
    "  complete INTEGER NOT NULL DEFAULT 0,\n"
    "  indexed_at TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE calls (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
    "  seq INTEGER NOT NULL,\n"
    "  name TEXT NOT NULL,\n"
    "  class TEXT,\n"
    "  sig TEXT NOT NULL,\n"
    "  args TEXT NOT NULL,\n"
    "  result,\n"
    "  result_text TEXT,\n"
    "  errno INTEGER,\n"
    "  errno_name TEXT,\n"
    "  failed INTEGER NOT NULL,\n"
    "  finished INTEGER NOT NULL,\n"
    "  time_ns INTEGER NOT NULL,\n"
    "  duration_ns INTEGER,\n"
    "  bytes_in INTEGER NOT NULL,\n"
    "  bytes_out INTEGER NOT NULL,\n"
    "  PRIMARY KEY (run_id, seq)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE paths (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
    "  seq INTEGER NOT NULL,\n"
    "  path TEXT NOT NULL,\n"
    "  how TEXT NOT NULL,\n"
    "  call TEXT NOT NULL,\n"
    "  ok INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE policy (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
    "  key TEXT NOT NULL,\n"
    "  value TEXT NOT NULL\n"
    ");\n"
    "CREATE INDEX paths_by_path ON paths(path);\n"
    "CREATE INDEX paths_by_run ON paths(run_id);\n"
    "CREATE INDEX policy_by_run ON policy(run_id);\n"
    "CREATE INDEX calls_by_name ON calls(name);\n"
    "CREATE INDEX runs_by_status ON runs(status);\n";

enum {
    ST_FIND, ST_DEL_CALLS, ST_DEL_PATHS, ST_DEL_POLICY, ST_DEL_RUN, ST_RUN, ST_POLICY, ST_CALL,
    ST_PATH, ST_FINISH, ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_FIND] = "SELECT id, complete FROM runs WHERE trace_hash = ?1",
    [ST_DEL_CALLS] = "DELETE FROM calls WHERE run_id = ?1",
    [ST_DEL_PATHS] = "DELETE FROM paths WHERE run_id = ?1",
    [ST_DEL_POLICY] = "DELETE FROM policy WHERE run_id = ?1",
    [ST_DEL_RUN] = "DELETE FROM runs WHERE id = ?1",
    [ST_RUN] = "INSERT INTO runs (trace_path, trace_hash, trace_bytes, exe_path, exe_hash, exe_size, "
               "argv, policy, writer_version, host_arch, started_at, started_unix_ns, indexed_at) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
               "strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
    [ST_POLICY] = "INSERT INTO policy (run_id, key, value) VALUES (?1, ?2, ?3)",
    [ST_CALL] = "INSERT INTO calls (run_id, seq, name, class, sig, args, result, result_text, errno, "
                "errno_name, failed, finished, time_ns, duration_ns, bytes_in, bytes_out) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    [ST_PATH] = "INSERT INTO paths (run_id, seq, path, how, call, ok) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_FINISH] = "UPDATE runs SET status = ?2, reason = ?3, exit_code = ?4, signal = ?5, "
                  "limits_hit = ?6, events = ?7, calls = ?8, failed_calls = ?9, refused_calls = ?10, "
                  "unknown_calls = ?11, unfinished_calls = ?12, stderr_bytes = ?13, duration_ns = ?14, "
                  "damaged = ?15, damage = ?16, complete = 1 WHERE id = ?1",
};

struct ix_db {
    sqlite3 *db;
    int lock_fd;
    int in_txn;
    sqlite3_stmt *st[ST_COUNT];
    char err[512];
};

const char *ix_db_error(const struct ix_db *db)
{
    return db ? db->err : "no database";
}

static int sql_fail(struct ix_db *db, const char *what)
{
    snprintf(db->err, sizeof db->err, "%s: %s", what, sqlite3_errmsg(db->db));
    return IX_E_SQL;
}

static int exec(struct ix_db *db, const char *sql, const char *what)
{
    char *msg = NULL;
    if (sqlite3_exec(db->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(db->err, sizeof db->err, "%s: %s", what, msg ? msg : sqlite3_errmsg(db->db));
        sqlite3_free(msg);
        return IX_E_SQL;
    }
    return 0;
}

/* The schema version of an opened database: 0 when it has no tables at all
 * (a new file), -1 when it has tables but no `meta` version (not ours). */
static int schema_version(struct ix_db *db, int *version)
{
    sqlite3_stmt *s = NULL;
    *version = -1;
    if (sqlite3_prepare_v2(db->db, "SELECT count(*) FROM sqlite_master", -1, &s, NULL) != SQLITE_OK)
        return IX_E_NOT_DB;
    int rc = sqlite3_step(s);
    int ntables = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return IX_E_NOT_DB;
    if (ntables == 0) {
        *version = 0;
        return 0;
    }
    if (sqlite3_prepare_v2(db->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &s,
                           NULL) != SQLITE_OK)
        return 0; /* tables but no meta: someone else's database */
    if (sqlite3_step(s) == SQLITE_ROW)
        *version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return 0;
}

int ix_db_open(struct ix_db **out, const char *path, char *err, size_t err_cap)
{
    *out = NULL;
    struct ix_db *db = calloc(1, sizeof *db);
    if (!db) {
        snprintf(err, err_cap, "out of memory");
        return IX_E_IO;
    }
    /* The lock: flock() on the file itself, which SQLite's own (POSIX)
     * locks do not interfere with; held until ix_db_close. Readers (sqlite3,
     * queries) do not take it. */
    db->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (db->lock_fd < 0) {
        snprintf(err, err_cap, "cannot open database '%s': %s", path, strerror(errno));
        free(db);
        return IX_E_IO;
    }
    if (flock(db->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        snprintf(err, err_cap, "database '%s' is in use by another indexer", path);
        close(db->lock_fd);
        free(db);
        return IX_E_BUSY;
    }
    int rc = 0, version = 0;
    if (sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, err_cap, "cannot open database '%s': %s", path,
                 db->db ? sqlite3_errmsg(db->db) : "out of memory");
        rc = IX_E_IO;
        goto fail;
    }
    sqlite3_busy_timeout(db->db, 5000);
    if (schema_version(db, &version) < 0 || version < 0) {
        snprintf(err, err_cap, "'%s' is not a sandtrace audit database", path);
        rc = IX_E_NOT_DB;
        goto fail;
    }
    if (version != 0 && version != IX_SCHEMA_VERSION) {
        snprintf(err, err_cap, "audit database '%s' has schema version %d; this sandtrace reads and "
                 "writes version %d", path, version, IX_SCHEMA_VERSION);
        rc = IX_E_VERSION;
        goto fail;
    }
    /* WAL: queries may read the database while an indexer writes it.
     * synchronous=NORMAL: a power cut may lose the last transactions, never
     * corrupt the file; a lost run is simply indexed again. */
    if ((rc = exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                   "cannot configure the database")) < 0)
        goto fail_msg;
    if (version == 0) {
        char meta[256];
        snprintf(meta, sizeof meta,
                 "INSERT INTO meta VALUES ('schema_version', '%d'), ('created_by', 'sandtrace %s');",
                 IX_SCHEMA_VERSION, SANDTRACE_VERSION);
        if ((rc = exec(db, "BEGIN", "cannot create the schema")) < 0 ||
            (rc = exec(db, schema_sql, "cannot create the schema")) < 0 ||
            (rc = exec(db, meta, "cannot create the schema")) < 0 ||
            (rc = exec(db, "COMMIT", "cannot create the schema")) < 0)
            goto fail_msg;
    }
    for (int i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(db->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &db->st[i], NULL) !=
            SQLITE_OK) {
            snprintf(err, err_cap, "'%s' does not have the tables of schema version %d: %s", path,
                     IX_SCHEMA_VERSION, sqlite3_errmsg(db->db));
            rc = IX_E_NOT_DB;
            goto fail;
        }
    }
    *out = db;
    return 0;
fail_msg:
    snprintf(err, err_cap, "%s", db->err);
fail:
    ix_db_close(db);
    return rc;
}

void ix_db_close(struct ix_db *db)
{
    if (!db)
        return;
    if (db->in_txn)
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(db->st[i]);
    sqlite3_close(db->db);
    if (db->lock_fd >= 0)
        close(db->lock_fd);
    free(db);
}

int ix_db_begin(struct ix_db *db)
{
    if (db->in_txn)
        return 0;
    int rc = exec(db, "BEGIN IMMEDIATE", "cannot begin a transaction");
    if (rc == 0)
        db->in_txn = 1;
    return rc;
}

int ix_db_commit(struct ix_db *db)
{
    if (!db->in_txn)
        return 0;
    db->in_txn = 0;
    return exec(db, "COMMIT", "cannot commit");
}

int ix_db_in_transaction(const struct ix_db *db)
{
    return db->in_txn;
}

/* Binding helpers: NULL text is SQL NULL. Values from a trace are always
 * bound, never formatted into SQL. */
static void bind_text(sqlite3_stmt *s, int i, const char *t)
{
    if (t)
        sqlite3_bind_text(s, i, t, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

static void bind_u64(sqlite3_stmt *s, int i, uint64_t v)
{
    /* SQLite integers are signed 64-bit: a value above INT64_MAX (only a
     * forged trace has one) is stored as its two's complement. */
    sqlite3_bind_int64(s, i, (sqlite3_int64)v);
}

static int step_done(struct ix_db *db, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    int ok = rc == SQLITE_DONE;
    if (!ok)
        sql_fail(db, what);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return ok ? 0 : IX_E_SQL;
}

int ix_db_run_find(struct ix_db *db, const char *trace_hash, int64_t *id, int *complete)
{
    sqlite3_stmt *s = db->st[ST_FIND];
    *id = 0;
    *complete = 0;
    bind_text(s, 1, trace_hash);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(s, 0);
        *complete = sqlite3_column_int(s, 1);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sql_fail(db, "cannot look a trace up");
    return 0;
}

int ix_db_run_delete(struct ix_db *db, int64_t id)
{
    static const int order[] = { ST_DEL_CALLS, ST_DEL_PATHS, ST_DEL_POLICY, ST_DEL_RUN };
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        sqlite3_bind_int64(db->st[order[i]], 1, id);
        if (step_done(db, db->st[order[i]], "cannot remove an incomplete run") < 0)
            return IX_E_SQL;
    }
    return 0;
}

int ix_db_run_insert(struct ix_db *db, const struct ix_run_head *h, int64_t *id)
{
    sqlite3_stmt *s = db->st[ST_RUN];
    bind_text(s, 1, h->trace_path);
    bind_text(s, 2, h->trace_hash);
    bind_u64(s, 3, h->trace_bytes);
    bind_text(s, 4, h->exe_path);
    bind_text(s, 5, h->exe_hash);
    bind_u64(s, 6, h->exe_size);
    bind_text(s, 7, h->argv_json);
    bind_text(s, 8, h->policy_json);
    bind_text(s, 9, h->writer_version);
    bind_text(s, 10, h->host_arch);
    bind_text(s, 11, h->started_at);
    sqlite3_bind_int64(s, 12, h->started_unix_ns);
    if (step_done(db, s, "cannot insert a run") < 0)
        return IX_E_SQL;
    *id = sqlite3_last_insert_rowid(db->db);
    return 0;
}

int ix_db_policy_insert(struct ix_db *db, int64_t run, const char *key, const char *value)
{
    sqlite3_stmt *s = db->st[ST_POLICY];
    sqlite3_bind_int64(s, 1, run);
    bind_text(s, 2, key);
    bind_text(s, 3, value);
    return step_done(db, s, "cannot insert a policy entry");
}

int ix_db_call_insert(struct ix_db *db, int64_t run, const struct ix_call_row *c)
{
    sqlite3_stmt *s = db->st[ST_CALL];
    sqlite3_bind_int64(s, 1, run);
    bind_u64(s, 2, c->seq);
    bind_text(s, 3, c->name);
    bind_text(s, 4, c->cls);
    bind_text(s, 5, c->sig);
    bind_text(s, 6, c->args);
    switch (c->result_kind) {
    case 'i': case 'p':
        bind_u64(s, 7, c->result);
        break;
    case 'f': {
        double d;
        memcpy(&d, &c->result, sizeof d);
        sqlite3_bind_double(s, 7, d);
        break;
    }
    default:
        sqlite3_bind_null(s, 7);
        break;
    }
    bind_text(s, 8, c->result_text);
    if (c->has_errno)
        sqlite3_bind_int(s, 9, c->err);
    else
        sqlite3_bind_null(s, 9);
    bind_text(s, 10, c->errno_name);
    sqlite3_bind_int(s, 11, c->failed);
    sqlite3_bind_int(s, 12, c->finished);
    bind_u64(s, 13, c->time_ns);
    if (c->finished)
        bind_u64(s, 14, c->duration_ns);
    else
        sqlite3_bind_null(s, 14);
    bind_u64(s, 15, c->bytes_in);
    bind_u64(s, 16, c->bytes_out);
    return step_done(db, s, "cannot insert a call");
}

int ix_db_path_insert(struct ix_db *db, int64_t run, const struct ix_path_row *p)
{
    sqlite3_stmt *s = db->st[ST_PATH];
    sqlite3_bind_int64(s, 1, run);
    bind_u64(s, 2, p->seq);
    bind_text(s, 3, p->path);
    bind_text(s, 4, p->how);
    bind_text(s, 5, p->call);
    sqlite3_bind_int(s, 6, p->ok);
    return step_done(db, s, "cannot insert a path");
}

int ix_db_run_finish(struct ix_db *db, int64_t run, const struct ix_run_end *e)
{
    sqlite3_stmt *s = db->st[ST_FINISH];
    sqlite3_bind_int64(s, 1, run);
    bind_text(s, 2, e->status);
    bind_text(s, 3, e->reason);
    if (e->has_exit) {
        sqlite3_bind_int(s, 4, e->exit_code);
        sqlite3_bind_int(s, 5, e->signal);
    } else {
        sqlite3_bind_null(s, 4);
        sqlite3_bind_null(s, 5);
    }
    bind_text(s, 6, e->limits_hit);
    bind_u64(s, 7, e->events);
    bind_u64(s, 8, e->calls);
    bind_u64(s, 9, e->failed_calls);
    bind_u64(s, 10, e->refused_calls);
    bind_u64(s, 11, e->unknown_calls);
    bind_u64(s, 12, e->unfinished_calls);
    bind_u64(s, 13, e->stderr_bytes);
    bind_u64(s, 14, e->duration_ns);
    sqlite3_bind_int(s, 15, e->damaged);
    bind_text(s, 16, e->damage);
    return step_done(db, s, "cannot finish a run");
}

/* ------------------------------------------------------------- merge */

static int64_t count_of(struct ix_db *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db->db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

/* Attaches `other` as "shard" and checks that it is an audit database of
 * our schema: 0, or IX_E_* with the message in db->err (detached again). */
static int attach_shard(struct ix_db *db, const char *other)
{
    /* The shard's path is bound, not pasted: ATTACH takes an expression. */
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db->db, "ATTACH DATABASE ?1 AS shard", -1, &s, NULL) != SQLITE_OK)
        return sql_fail(db, "cannot attach");
    sqlite3_bind_text(s, 1, other, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        snprintf(db->err, sizeof db->err, "cannot open database '%s': %s", other, sqlite3_errmsg(db->db));
        return IX_E_IO;
    }
    int64_t v = count_of(db, "SELECT value FROM shard.meta WHERE key = 'schema_version'");
    if (v == IX_SCHEMA_VERSION)
        return 0;
    if (v < 0)
        snprintf(db->err, sizeof db->err, "'%s' is not a sandtrace audit database", other);
    else
        snprintf(db->err, sizeof db->err, "audit database '%s' has schema version %lld; this "
                 "sandtrace reads version %d", other, (long long)v, IX_SCHEMA_VERSION);
    exec(db, "DETACH DATABASE shard", "cannot detach");
    return v < 0 ? IX_E_NOT_DB : IX_E_VERSION;
}

int ix_db_merge(struct ix_db *db, const char *other, uint64_t *added, uint64_t *skipped)
{
    *added = *skipped = 0;
    if (db->in_txn && ix_db_commit(db) < 0)
        return IX_E_SQL;
    int rc = attach_shard(db, other);
    if (rc < 0)
        return rc;
    int64_t total = count_of(db, "SELECT count(*) FROM shard.runs WHERE complete = 1");
    /* New runs get new ids here: `moved` maps the shard's id to ours. */
    static const char *const steps[] = {
        "BEGIN IMMEDIATE",
        "CREATE TEMP TABLE moved (old_id INTEGER PRIMARY KEY, new_id INTEGER)",
        "INSERT INTO moved (old_id) SELECT id FROM shard.runs s WHERE s.complete = 1 AND NOT EXISTS "
        "(SELECT 1 FROM main.runs m WHERE m.trace_hash = s.trace_hash AND m.complete = 1)",
        /* An incomplete run here with the same hash is replaced. */
        "DELETE FROM main.calls WHERE run_id IN (SELECT m.id FROM main.runs m JOIN shard.runs s ON "
        "s.trace_hash = m.trace_hash JOIN moved ON moved.old_id = s.id)",
        "DELETE FROM main.paths WHERE run_id IN (SELECT m.id FROM main.runs m JOIN shard.runs s ON "
        "s.trace_hash = m.trace_hash JOIN moved ON moved.old_id = s.id)",
        "DELETE FROM main.policy WHERE run_id IN (SELECT m.id FROM main.runs m JOIN shard.runs s ON "
        "s.trace_hash = m.trace_hash JOIN moved ON moved.old_id = s.id)",
        "DELETE FROM main.runs WHERE trace_hash IN (SELECT s.trace_hash FROM shard.runs s JOIN moved "
        "ON moved.old_id = s.id)",
        "INSERT INTO main.runs (trace_path, trace_hash, trace_bytes, exe_path, exe_hash, exe_size, argv, "
        "policy, writer_version, host_arch, started_at, started_unix_ns, status, reason, exit_code, "
        "signal, limits_hit, events, calls, failed_calls, refused_calls, unknown_calls, "
        "unfinished_calls, stderr_bytes, duration_ns, damaged, damage, complete, indexed_at) "
        "SELECT trace_path, trace_hash, trace_bytes, exe_path, exe_hash, exe_size, argv, policy, "
        "writer_version, host_arch, started_at, started_unix_ns, status, reason, exit_code, signal, "
        "limits_hit, events, calls, failed_calls, refused_calls, unknown_calls, unfinished_calls, "
        "stderr_bytes, duration_ns, damaged, damage, complete, indexed_at FROM shard.runs s "
        "JOIN moved ON moved.old_id = s.id ORDER BY s.id",
        "UPDATE moved SET new_id = (SELECT m.id FROM main.runs m JOIN shard.runs s ON "
        "s.trace_hash = m.trace_hash WHERE s.id = moved.old_id)",
        "INSERT INTO main.calls SELECT moved.new_id, seq, name, class, sig, args, result, result_text, "
        "errno, errno_name, failed, finished, time_ns, duration_ns, bytes_in, bytes_out FROM "
        "shard.calls c JOIN moved ON moved.old_id = c.run_id",
        "INSERT INTO main.paths SELECT moved.new_id, seq, path, how, call, ok FROM shard.paths p "
        "JOIN moved ON moved.old_id = p.run_id",
        "INSERT INTO main.policy SELECT moved.new_id, key, value FROM shard.policy p JOIN moved ON "
        "moved.old_id = p.run_id",
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (exec(db, steps[i], "cannot merge") < 0) {
            sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
            sqlite3_exec(db->db, "DROP TABLE IF EXISTS temp.moved", NULL, NULL, NULL);
            sqlite3_exec(db->db, "DETACH DATABASE shard", NULL, NULL, NULL);
            return IX_E_SQL;
        }
    }
    int64_t n = count_of(db, "SELECT count(*) FROM temp.moved");
    if (exec(db, "COMMIT", "cannot commit the merge") < 0 ||
        exec(db, "DROP TABLE temp.moved", "cannot merge") < 0) {
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_exec(db->db, "DETACH DATABASE shard", NULL, NULL, NULL);
        return IX_E_SQL;
    }
    if (exec(db, "DETACH DATABASE shard", "cannot detach") < 0)
        return IX_E_SQL;
    *added = n > 0 ? (uint64_t)n : 0;
    *skipped = total > n ? (uint64_t)(total - n) : 0;
    return 0;
}
