/* format/trace.h: the sandtrace trace file (public API).
 *
 * A trace is a file header (magic, version, the run's header record), then
 * chunks (a checksummed header and one zstd frame of length-delimited
 * events), then on clean close a footer (chunk index, signature table, final
 * hash-chain value) ending in an end magic. docs/trace-format.md describes the
 * bytes exactly. This header exposes plain C structs only: no protobuf-c or
 * zstd type leaks through it.
 *
 * A writer or a reader is not thread-safe: a caller that uses one from
 * several threads serialises the calls itself.
 *
 * Conventions: functions return 0 (or a documented positive value) on
 * success and a negative `enum trace_error` on failure; trace_strerror()
 * names a code. Every `_new`/`_open` has a `_free` that accepts NULL. The
 * library never prints and never exits. */
#ifndef SANDTRACE_FORMAT_TRACE_H
#define SANDTRACE_FORMAT_TRACE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The format version this library writes. A reader accepts any minor
 * version of its major version and rejects other majors. */
#define TRACE_FORMAT_MAJOR 1
#define TRACE_FORMAT_MINOR 0

/* Hard limits (a hostile file cannot make the reader exceed them). */
#define TRACE_MAX_ARGS 32                          /* arguments of one request */
#define TRACE_MAX_SIG_LEN 255                      /* bytes of one signature text */
#define TRACE_MAX_SIGNATURES 65536                 /* distinct signatures in a trace */
#define TRACE_MAX_BLOB (64u * 1024 * 1024)         /* data bytes of one event */
#define TRACE_MAX_TEXT (64u * 1024)                /* bytes of one text field */
#define TRACE_MAX_CHUNK_RAW (TRACE_MAX_BLOB + 1024u * 1024) /* raw bytes of one chunk */
#define TRACE_MAX_HEADER (16u * 1024 * 1024)       /* bytes of the header record */

#define TRACE_HASH_BYTES 32   /* BLAKE2b-256: exe hash, chain values */
#define TRACE_KEY_BYTES 32    /* key of the keyed (MAC) chain */

/* `seq` of "no request" (a memory command outside any request). */
#define TRACE_SEQ_NONE UINT64_MAX
/* trace_event.time_ns value asking the writer to stamp the event itself. */
#define TRACE_TIME_NOW UINT64_MAX

enum trace_error {
    TRACE_OK = 0,
    TRACE_E_NOMEM = -1,        /* out of memory */
    TRACE_E_IO = -2,           /* read/write/seek failed (errno kept by the backend) */
    TRACE_E_BAD_MAGIC = -3,    /* not a sandtrace trace */
    TRACE_E_VERSION = -4,      /* a major format version this library does not know */
    TRACE_E_TRUNCATED = -5,    /* the file ends early (inside a chunk, or without footer):
                                  still being written, or cut short */
    TRACE_E_CHECKSUM = -6,     /* an XXH3 checksum does not match */
    TRACE_E_CORRUPT = -7,      /* malformed structure (bad sync, sizes, counts, records) */
    TRACE_E_CHAIN = -8,        /* the hash chain does not match (edited, dropped, reordered) */
    TRACE_E_KEY_REQUIRED = -9, /* the trace is keyed and no key was given */
    TRACE_E_WRONG_KEY = -10,   /* the key given is not the trace's key */
    TRACE_E_NOT_KEYED = -11,   /* a key was given but the trace is not keyed */
    TRACE_E_INDEX = -12,       /* the footer's index disagrees with the chunks */
    TRACE_E_LIMIT = -13,       /* a size or count exceeds a TRACE_MAX_* limit */
    TRACE_E_INVAL = -14,       /* invalid argument */
    TRACE_E_STATE = -15,       /* call not valid in this state (e.g. writer closed) */
    TRACE_E_RANGE = -16,       /* seek beyond the last event */
    TRACE_E_UNSUPPORTED = -17, /* the I/O backend cannot do this (e.g. seek a pipe) */
    TRACE_E_COMPRESS = -18,    /* zstd failed to compress or decompress */
};

/* A short lowercase description of `err` ("checksum mismatch"); never NULL. */
const char *trace_strerror(int err);
/* The enum name of `err` ("TRACE_E_CHECKSUM"); never NULL. */
const char *trace_error_name(int err);

/* ---------------------------------------------------------------------------
 * I/O interface, with file, fd and memory backends (like redis rio). */

struct trace_io {
    /* Reads up to `cap` bytes; *got = 0 at end of file. */
    int (*read)(struct trace_io *io, void *buf, size_t cap, size_t *got);
    /* Writes all `len` bytes, or fails. */
    int (*write)(struct trace_io *io, const void *buf, size_t len);
    /* Absolute seek; NULL when the backend cannot seek (a pipe). */
    int (*seek)(struct trace_io *io, uint64_t offset);
    /* Total size; NULL when unknown. */
    int (*size)(struct trace_io *io, uint64_t *size);
    /* Durably stores what was written (fsync); NULL means nothing to do. */
    int (*sync)(struct trace_io *io);
    /* Releases the backend (closes what it owns). */
    void (*free)(struct trace_io *io);
    void *ctx;
    int last_errno; /* errno of the last failed operation, for messages */
};

enum trace_io_mode { TRACE_IO_READ = 0, TRACE_IO_WRITE = 1 /* create or truncate */ };

/* Opens `path` for reading or writing. On success *out owns the file. */
int trace_io_open_file(const char *path, enum trace_io_mode mode, struct trace_io **out);
/* Wraps an open fd; closes it on free when `close_on_free`. NULL on OOM. */
struct trace_io *trace_io_from_fd(int fd, int close_on_free);
/* Reads from `data` (not copied: it must outlive the io). NULL on OOM. */
struct trace_io *trace_io_mem_reader(const void *data, size_t len);
/* Writes to a growable buffer of at most `max_size` bytes (0: 4 GiB). */
struct trace_io *trace_io_mem_writer(size_t max_size);
/* The bytes written so far to a mem writer; valid until the next write/free. */
const uint8_t *trace_io_mem_data(const struct trace_io *io, size_t *len);
/* Calls io->free; accepts NULL. */
void trace_io_free(struct trace_io *io);

/* ---------------------------------------------------------------------------
 * The header: under which rules and on what a trace was made. */

struct trace_kv {
    const char *key;
    const char *value;
};

struct trace_header {
    /* Filled by the writer (input ignored) and by the reader. */
    uint32_t format_major, format_minor;
    int keyed;                  /* the hash chain is keyed (a MAC) */
    /* NULL: "sandtrace <version>". */
    const char *writer_version;
    /* Wall-clock creation time in ns since the Unix epoch; 0: now. */
    int64_t created_unix_ns;
    /* The host; fields left NULL/0 are filled from uname() and the build. */
    const char *host_arch;          /* "x86_64" */
    uint32_t host_pointer_size;     /* bytes */
    uint32_t host_big_endian;       /* 0 little, 1 big (set host_byte_order_set) */
    int host_byte_order_set;
    const char *host_kernel_release;
    /* The guest. */
    const char *guest_exe_path;
    uint64_t guest_exe_size;
    uint8_t guest_exe_blake2b[TRACE_HASH_BYTES]; /* BLAKE2b-256 of the file */
    int guest_exe_hash_set;
    size_t guest_argc;
    const char *const *guest_argv;  /* the argv the guest saw */
    size_t guest_envc;
    const char *const *guest_env;   /* "NAME=value" strings */
    /* The real environment given to execve ("NAME=value"): what libc and the
     * interpreter read directly (LANG, TZ...). Replay starts the guest with it. */
    size_t guest_real_envc;
    const char *const *guest_real_env;
    /* The controller's policy (mounts, limits, time policy, seed...). */
    size_t policy_count;
    const struct trace_kv *policy;
};

/* The keys of the header's policy entries, as the recorder writes them and
 * the replayer and the tools read them back (values are text). */
#define TRACE_POLICY_CONTROLLER "controller"   /* "sandtrace", or "foreign (sandtrace tap)" */
#define TRACE_POLICY_TAP_REAL_ENV_COUNT "tap.real_env_count"
#define TRACE_POLICY_TAP_ENV_REDACTED "tap.env_redacted"
#define TRACE_POLICY_TAP_KEEP_ENV "tap.keep_env"
#define TRACE_POLICY_DUMP_MODE "dump_mode"     /* the guest ran in RPython's dump mode */
#define TRACE_POLICY_UID "uid"
#define TRACE_POLICY_GID "gid"
#define TRACE_POLICY_PID "pid"
#define TRACE_POLICY_PPID "ppid"
#define TRACE_POLICY_HOSTNAME "hostname"
#define TRACE_POLICY_PYPY_HOME "pypy_home"
#define TRACE_POLICY_TIME_MODE "time.mode"
#define TRACE_POLICY_TIME_BASE "time.base"
#define TRACE_POLICY_TIME_OFFSET "time.offset"
#define TRACE_POLICY_LIMIT_TIMEOUT_SECONDS "limit.timeout_seconds"
#define TRACE_POLICY_LIMIT_CPU_SECONDS "limit.cpu_seconds"
#define TRACE_POLICY_LIMIT_MEMORY_BYTES "limit.memory_bytes"
#define TRACE_POLICY_LIMIT_MAX_CALLS "limit.max_calls"
#define TRACE_POLICY_LIMIT_MAX_OUTPUT "limit.max_output"
#define TRACE_POLICY_SECCOMP "seccomp"
#define TRACE_POLICY_JAIL_LOOSE "jail.loose"
#define TRACE_POLICY_NO_ASLR "no_aslr"
#define TRACE_POLICY_ALLOW_UNKNOWN "allow_unknown"
#define TRACE_POLICY_LOG_REFUSED "log_refused"
#define TRACE_POLICY_MOUNT "mount"             /* one per mount: "GUEST=HOST" */
#define TRACE_POLICY_FILE "file"               /* one per virtual file: "GUEST=HOST" */
#define TRACE_POLICY_LIB_PATH "lib_path"
#define TRACE_POLICY_TMP "tmp"
#define TRACE_POLICY_TMP_WRITE_QUOTA "tmp_write_quota"
#define TRACE_POLICY_CWD "cwd"
#define TRACE_POLICY_SEED "seed"
#define TRACE_POLICY_STDIN "stdin"
#define TRACE_POLICY_EXE "exe"
#define TRACE_POLICY_TZ "tz"
#define TRACE_POLICY_LOCALE "locale"
#define TRACE_POLICY_RUN_OPTION "run.option"   /* one per word of the run's options */

/* The value of the first policy entry `key` of `h`, or NULL. */
const char *trace_header_policy(const struct trace_header *h, const char *key);

/* Hashes the file at `path` with BLAKE2b-256 into `out` and stores its size
 * in *size (may be NULL). TRACE_E_IO when it cannot be read. */
int trace_hash_file(const char *path, uint8_t out[TRACE_HASH_BYTES], uint64_t *size);

/* Loads a chain key from a key file: the key is BLAKE2b-256 of the file's
 * bytes, which must be 16 bytes to 64 KiB long (TRACE_E_LIMIT otherwise). */
int trace_key_load(const char *path, uint8_t key[TRACE_KEY_BYTES]);

/* ---------------------------------------------------------------------------
 * Events. */

enum trace_event_kind {
    TRACE_EV_REQUEST = 1,      /* the guest asks for a function */
    TRACE_EV_MEM_READ = 2,     /* R: controller read [ptr, ptr+len) = data */
    TRACE_EV_MEM_READ_STR = 3, /* Z: controller read a string at ptr, maxlen; data without NUL */
    TRACE_EV_MEM_WRITE = 4,    /* W: controller wrote data at ptr */
    TRACE_EV_MEM_ALLOC = 5,    /* M: guest malloc'd len bytes of data, returned ptr */
    TRACE_EV_MEM_FREE = 6,     /* F: guest freed ptr */
    TRACE_EV_SET_ERRNO = 7,    /* E: errno the call returns with */
    TRACE_EV_RESULT = 8,       /* the result, ends the request */
    TRACE_EV_GUEST_STDERR = 9, /* bytes the guest wrote to its real stderr */
    TRACE_EV_GUEST_EXIT = 10,  /* the guest ended */
    TRACE_EV_LIMIT = 11,       /* a limit was hit */
    TRACE_EV_VIOLATION = 12,   /* a protocol violation by the guest */
    TRACE_EV_NOTE = 13,        /* a controller note (decision, refusal...) */
};
#define TRACE_EV_KIND_MAX 13

/* The name of an event kind ("request", "mem_read"...); "?" if unknown. */
const char *trace_event_kind_name(enum trace_event_kind kind);

/* One event. On read, every pointer stays valid until the next call to
 * trace_reader_next/seek/free on the same reader (the reader's arena); the
 * signature text stays valid until trace_reader_free. On write the writer
 * copies what it needs before trace_writer_add_event returns. */
struct trace_event {
    enum trace_event_kind kind;
    /* Index of the event in the trace, from 0. Set by the writer/reader;
     * ignored on write. */
    uint64_t seq;
    /* Monotonic time offset in ns since the start of the recording. On write,
     * TRACE_TIME_NOW lets the writer stamp it. */
    uint64_t time_ns;
    /* For memory commands, SET_ERRNO and RESULT: the seq of the request they
     * belong to (the most recent REQUEST not yet closed by a RESULT), or
     * TRACE_SEQ_NONE. Computed by the writer (ignored on write). */
    uint64_t req_seq;
    union {
        struct {
            uint32_t sig_id;   /* assigned by the writer on first use; ignored on write */
            const char *sig;   /* "write(ipi)i", NUL-terminated, required on write */
            size_t nargs;      /* <= TRACE_MAX_ARGS */
            uint64_t args[TRACE_MAX_ARGS]; /* raw 8-byte values */
        } request;
        /* R, Z, W, M, F. ptr: the address (for M, the pointer the guest
         * returned); size: Z's maxlen (0 for the others); data/len: the bytes
         * read, the string read (without NUL), written, or allocated; none for F. */
        struct {
            uint64_t ptr;
            uint64_t size;
            const uint8_t *data;
            size_t len;
        } mem;
        struct {
            int32_t value;
        } set_errno;
        struct {
            char kind;      /* 'v', 'i', 'f' or 'p' */
            uint64_t value; /* the 8 raw bytes (a double's bits for 'f'; 0 for 'v') */
        } result;
        struct {
            const uint8_t *data;
            size_t len;
        } guest_stderr;
        struct {
            int32_t code;       /* exit code when signal == 0 */
            int32_t signal;     /* the signal that killed it, or 0 */
            const char *reason; /* e.g. "exited", "killed by the time limit"; may be NULL on write */
        } guest_exit;
        struct {
            const char *name;   /* "memory", "time", "requests"... */
            uint64_t value;     /* the limit's value */
            const char *detail; /* may be NULL on write */
        } limit;
        struct {
            const char *text;   /* what was wrong */
            const uint8_t *data; /* raw bytes involved, if any */
            size_t len;
        } violation;
        struct {
            const char *text;
        } note;
    };
};

/* Copies `src` to `dst` with every byte field of it (signature, data,
 * texts) packed into `buf` (`cap` bytes), so that `dst` lives as long as
 * `buf`: the signature whole, texts cut to `max_text` - 1 bytes, data to
 * `max_data` bytes (the lengths stay `src`'s: a reader of a cut copy shows
 * no more than `max_data`). A NULL signature, limit name, violation text or
 * note becomes "", NULL data an empty block. Only the fields of `src`'s
 * kind are copied (a request's arguments up to nargs): `dst`'s others are
 * left as they were. Returns the bytes the copy needs; when that is above
 * `cap`, nothing was copied (call with buf = NULL, cap = 0 to size a
 * buffer). */
size_t trace_event_pack(struct trace_event *dst, const struct trace_event *src, void *buf, size_t cap,
                        size_t max_text, size_t max_data);

/* ---------------------------------------------------------------------------
 * Writer. */

struct trace_writer_options {
    size_t chunk_bytes;     /* close a chunk at this many raw bytes; 0: 256 KiB; max 64 MiB */
    uint64_t chunk_ns;      /* ... or this long after it opened; 0: 100 ms; UINT64_MAX: never */
    int zstd_level;         /* 0: 3 */
    int sync;               /* fsync after every chunk and the footer */
    const uint8_t *key;     /* TRACE_KEY_BYTES bytes for a keyed chain, or NULL */
    /* Compress and write a chunk closed by its size or age in a thread of
     * the writer's (started with the first such chunk), while the next one
     * fills: a killed writer may then lose that chunk too. Flush, poll and
     * close still write everything before they return; the thread's write
     * errors are returned by the next call. */
    int background;
};

/* Fills `o` with the defaults. */
void trace_writer_options_init(struct trace_writer_options *o);

struct trace_writer;

/* Starts a trace on `io` and writes its file header. With `own_io` the writer
 * frees io in trace_writer_free. `opt` may be NULL (defaults). The header is
 * copied. Errors: TRACE_E_INVAL, TRACE_E_LIMIT, TRACE_E_NOMEM, TRACE_E_IO. */
int trace_writer_new(struct trace_writer **out, struct trace_io *io, int own_io,
                     const struct trace_header *header, const struct trace_writer_options *opt);

/* Appends one event (copied). Closes the open chunk when it reaches its size
 * or time bound. Errors: TRACE_E_INVAL (bad kind, nargs, missing signature),
 * TRACE_E_LIMIT, TRACE_E_STATE (after close or a previous write error),
 * TRACE_E_IO, TRACE_E_COMPRESS. A write error is sticky. */
int trace_writer_add_event(struct trace_writer *w, const struct trace_event *ev);

/* Writes the open chunk now, if it holds any event. */
int trace_writer_flush(struct trace_writer *w);

/* Writes the open chunk if its time bound has passed. The bound is also
 * checked by every add_event; call this from an idle event loop so that a
 * quiet guest's last events reach the disk within the bound too. */
int trace_writer_poll(struct trace_writer *w);

/* Flushes, writes the footer and syncs (with the sync option). Later adds
 * fail with TRACE_E_STATE. */
int trace_writer_close(struct trace_writer *w);

/* Frees the writer (and io if owned). Without a close before, the open chunk
 * is lost and the trace has no footer, exactly like a crash. Accepts NULL. */
void trace_writer_free(struct trace_writer *w);

/* Monotonic ns since the writer was created (what TRACE_TIME_NOW stamps). */
uint64_t trace_writer_now_ns(const struct trace_writer *w);
/* Events added so far. */
uint64_t trace_writer_event_count(const struct trace_writer *w);
/* Bytes the writer holds on the heap: its compressor's workspace (fixed at
 * creation), the open chunk's raw and compressed buffers (a chunk's size
 * each, unless an event is bigger than a chunk; with the background option
 * a second raw buffer), the signatures and the chunk index (24 bytes a
 * chunk: the footer needs them). Waits for the background compressor. */
size_t trace_writer_memory(struct trace_writer *w);

/* ---------------------------------------------------------------------------
 * Reader. */

struct trace_reader_options {
    /* Skip a damaged region to the next valid chunk instead of stopping. */
    int recover;
    /* The key of a keyed trace (TRACE_KEY_BYTES), or NULL. Without it a keyed
     * trace is still readable (its chain is not checked); trace_verify
     * insists on it. */
    const uint8_t *key;
};

struct trace_reader;

/* Opens a trace: reads and checks the file header (magic, version,
 * checksums), and, when io can seek and has a size, the footer's index.
 * On failure *out is NULL, unless `out_err` is given: then a message is
 * written there (up to `err_cap` bytes). `opt` may be NULL. Errors:
 * TRACE_E_BAD_MAGIC, TRACE_E_VERSION, TRACE_E_TRUNCATED, TRACE_E_CHECKSUM,
 * TRACE_E_CORRUPT, TRACE_E_WRONG_KEY, TRACE_E_NOT_KEYED, TRACE_E_IO, TRACE_E_NOMEM.
 * io is freed on failure when own_io is set. */
int trace_reader_open(struct trace_reader **out, struct trace_io *io, int own_io,
                      const struct trace_reader_options *opt, char *out_err, size_t err_cap);

/* The header; valid until trace_reader_free. */
const struct trace_header *trace_reader_header(const struct trace_reader *r);

/* Reads the next event into *ev. Returns 1 (an event), 0 (clean end: the
 * footer was read and checked) or a negative error; after an error,
 * trace_reader_error_offset/message say where and why.
 *
 * A trace that ends without its footer is incomplete: `record` is still
 * writing it, or its writer stopped without closing it (killed, disk full).
 * The reader yields every complete chunk, then TRACE_E_TRUNCATED, with
 * trace_reader_stats' `incomplete` set and a message that ends in "it is
 * still being written, or was cut short". A file that grows while it is
 * read is read as far as it reaches when the reader gets there: the size
 * taken at open is asked again before anything is called missing. Once
 * TRACE_E_TRUNCATED was returned the reader stays there (open a new reader
 * to read further). */
int trace_reader_next(struct trace_reader *r, struct trace_event *ev);

/* Positions the reader so that the next event read is event `seq`. Uses the
 * footer's index, or scans the chunk headers when there is none. Errors:
 * TRACE_E_RANGE, TRACE_E_UNSUPPORTED (io cannot seek), and read errors. */
int trace_reader_seek(struct trace_reader *r, uint64_t seq);

/* The file offset of the last error (the chunk or byte where reading
 * stopped), and a lowercase message naming it ("" if none). */
uint64_t trace_reader_error_offset(const struct trace_reader *r);
const char *trace_reader_error_message(const struct trace_reader *r);

/* The text of signature `id` as far as read (or from the footer), or NULL. */
const char *trace_reader_signature(const struct trace_reader *r, uint32_t id);

struct trace_reader_stats {
    uint64_t chunks;            /* chunks read and checked */
    uint64_t events;            /* events returned */
    uint64_t raw_bytes;         /* uncompressed payload bytes of those chunks */
    uint64_t compressed_bytes;  /* payload bytes on disk of those chunks */
    uint64_t file_bytes;        /* size of the file, if known (as last seen: a growing
                                   file's size when reading reached its end) */
    uint64_t first_time_ns, last_time_ns;
    uint64_t damaged_regions;   /* recover mode: regions skipped */
    uint64_t skipped_bytes;     /* recover mode: bytes skipped */
    uint64_t events_missing;    /* events whose sequence numbers were skipped between
                                   those returned, counted from event 0 (or, after a
                                   seek, from the first event returned): the events
                                   lost to damaged regions in recover mode */
    int footer_seen;            /* the footer was read and checked */
    /* Reading stopped because the data ends without the footer (at a chunk
     * boundary, or inside the last chunk or the footer): the trace is still
     * being written, or was cut short. trace_reader_next returned
     * TRACE_E_TRUNCATED. Never set for damage (checksum, structure, chain). */
    int incomplete;
    int has_index;              /* a footer index was loaded at open */
    int chain_checked;          /* the chain was verified for every chunk read */
};
void trace_reader_stats(const struct trace_reader *r, struct trace_reader_stats *st);

/* Frees the reader (and io if owned). Accepts NULL. */
void trace_reader_free(struct trace_reader *r);

/* ---------------------------------------------------------------------------
 * Verification: every checksum, the chain, the index, every record. */

struct trace_verify_result {
    int error;               /* 0 if the trace is valid, or the first error */
    uint64_t error_offset;   /* where the first error is */
    char message[256];       /* why ("" if ok) */
    int keyed;
    uint64_t chunks, events;
    uint64_t raw_bytes, compressed_bytes, file_bytes;
    uint64_t first_time_ns, last_time_ns;
    int footer_seen;
    int incomplete;          /* error is TRACE_E_TRUNCATED: no footer (see trace_reader_stats) */
};

/* Verifies the trace read from `io` (not freed). `key` is required for a
 * keyed trace (TRACE_E_KEY_REQUIRED otherwise) and refused for an unkeyed one
 * (TRACE_E_NOT_KEYED). Returns res->error. */
int trace_verify(struct trace_io *io, const uint8_t *key, struct trace_verify_result *res);

#ifdef __cplusplus
}
#endif

#endif
