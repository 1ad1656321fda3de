/* The sandbox-2 wire codec (PROTOCOL.md), shared by the controller, the
 * tracer's `tap` proxy and the replayer.
 *
 * - st_wire_reader: a buffered reader over one fd with a fixed buffer (no
 *   allocation). A whole request normally costs one read().
 * - st_wire_read_request(): reads and validates one request (guest -> controller)
 *   against the protocol's hard limits.
 * - st_wire_read_*_reply(): the guest's replies to R, Z and M.
 * - st_wire_out: appends commands (controller -> guest) to one buffer, so the
 *   W/E/result of one request leave in a single write().
 * - st_wire_read_command(): parses the controller -> guest command stream
 *   (for `tap`, which sees it from the outside).
 *
 * Nothing here prints or exits; errors are negative ST_E_* (controller/error.h). */
#ifndef SANDTRACE_CONTROLLER_WIRE_H
#define SANDTRACE_CONTROLLER_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "controller/error.h"
#include "controller/registry.h"

#define ST_WIRE_MAX_TEXT ST_SIG_MAX_TEXT                         /* text length byte: 1..255 */
#define ST_WIRE_MAX_REQUEST (1u + ST_WIRE_MAX_TEXT + 8u * ST_MAX_ARGS) /* 512 bytes */
#define ST_WIRE_READER_SIZE 16384u
/* Commands up to this size are buffered; a larger W/M payload is written
 * straight from the caller's memory after what is pending. */
#define ST_WIRE_OUT_SIZE 65536u

/* Called when the fd has no bytes yet (it is expected to be O_NONBLOCK): wait
 * until it is readable (and do anything else meanwhile, e.g. drain the
 * guest's stderr). Return 0 to retry the read, or a negative ST_E_* to give up
 * (e.g. ST_E_TIMEOUT). NULL: the reader polls the fd itself, without limit. */
typedef int st_wire_wait_fn(void *ctx, int fd);

struct st_wire_reader {
    int fd;
    size_t start, end;            /* unread bytes are buf[start, end) */
    uint64_t bytes_in;            /* every byte consumed so far */
    int last_errno;               /* errno of the last failed read() (ST_E_IO) */
    st_wire_wait_fn *wait;
    void *wait_ctx;
    unsigned char buf[ST_WIRE_READER_SIZE];
};

/* Prepares `r` to read from `fd` (not owned); `wait` may be NULL. */
void st_wire_reader_init(struct st_wire_reader *r, int fd, st_wire_wait_fn *wait, void *wait_ctx);

/* One request as it arrived. `raw` holds the exact bytes consumed for it (on
 * error, those consumed before the error was found). */
struct st_wire_request {
    char text[ST_WIRE_MAX_TEXT + 1]; /* NUL-terminated copy of the signature text */
    size_t text_len;
    size_t name_len;                 /* text[0, name_len) is the function name */
    char arg_kinds[ST_MAX_ARGS + 1]; /* "ipi" */
    unsigned nargs;
    char res_kind;                   /* 'i', 'f', 'p' or 'v' */
    uint64_t args[ST_MAX_ARGS];
    size_t raw_len;
    unsigned char raw[ST_WIRE_MAX_REQUEST];
};

/* Reads one request. Returns 0; ST_E_EOF when the stream ended cleanly
 * before it; ST_E_TRUNCATED (ended inside it), ST_E_ZERO_LENGTH, ST_E_BAD_TEXT,
 * ST_E_BAD_KIND, ST_E_TOO_MANY_ARGS, ST_E_IO, or what the wait function
 * returned. */
int st_wire_read_request(struct st_wire_reader *r, struct st_wire_request *req);

/* Checks a signature text ("name(ARGS)R", `len` bytes) without reading
 * anything; fills kinds/nargs/res_kind/name_len of `req` (text is not copied).
 * Same errors as st_wire_read_request's text checks. */
int st_wire_parse_text(const char *text, size_t len, struct st_wire_request *req);

/* Reads exactly `n` bytes (an R reply, a W payload...). ST_E_TRUNCATED at EOF. */
int st_wire_read_exact(struct st_wire_reader *r, void *dst, size_t n);
/* Reads one native 8-byte integer (an M reply: the guest's pointer). */
int st_wire_read_u64(struct st_wire_reader *r, uint64_t *v);
/* A Z reply: length (8 bytes) then bytes. A length above `maxlen` is
 * ST_E_BAD_REPLY; one that does not fit `cap` - 1 is ST_E_TOO_BIG (nothing more is
 * read: the stream is then out of step and must be abandoned). `dst` is
 * NUL-terminated, *len gets the length. */
int st_wire_read_str_reply(struct st_wire_reader *r, uint64_t maxlen, char *dst, size_t cap,
                           size_t *len);

/* Number of bytes buffered and not yet consumed. */
static inline size_t st_wire_reader_pending(const struct st_wire_reader *r)
{
    return r->end - r->start;
}

/* The command encoder. Commands are appended to `buf`; st_wire_out_flush()
 * writes them with as few write()s as possible. */
struct st_wire_out {
    int fd;
    size_t len;
    uint64_t bytes_out;          /* every byte written so far */
    int last_errno;
    st_wire_wait_fn *wait;       /* called when the fd would block (see st_wire_reader) */
    void *wait_ctx;
    unsigned char buf[ST_WIRE_OUT_SIZE];
};

/* Prepares `o` to write to `fd` (not owned); `wait` (may be NULL) is called
 * when a non-blocking fd is full, and may give up with a negative ST_E_*. */
void st_wire_out_init(struct st_wire_out *o, int fd, st_wire_wait_fn *wait, void *wait_ctx);
int st_wire_out_mem_read(struct st_wire_out *o, uint64_t ptr, uint64_t size);   /* R */
int st_wire_out_str_read(struct st_wire_out *o, uint64_t ptr, uint64_t maxlen); /* Z */
/* W: `data` is copied into the buffer, or, when large, written before this
 * returns (after the pending bytes). */
int st_wire_out_mem_write(struct st_wire_out *o, uint64_t ptr, const void *data, size_t n);
int st_wire_out_alloc(struct st_wire_out *o, const void *data, size_t n);       /* M */
int st_wire_out_free(struct st_wire_out *o, uint64_t ptr);                      /* F */
int st_wire_out_errno(struct st_wire_out *o, int32_t err);                      /* E */
/* The result: `kind` is 'v', 'i', 'f' or 'p'; `value` is ignored for 'v'. */
int st_wire_out_result(struct st_wire_out *o, char kind, uint64_t value);
/* Writes what is pending. ST_E_IO (with last_errno) when the peer is gone. */
int st_wire_out_flush(struct st_wire_out *o);

/* Encodes a request (for scripted peers and tests): text then `nargs` 8-byte
 * args. Returns the length written to dst, or a negative ST_E_* when `text`
 * is invalid or `cap` too small. */
int st_wire_encode_request(void *dst, size_t cap, const char *text, const uint64_t *args,
                           unsigned nargs);

/* One command of the controller -> guest stream. For 'W' and 'M', `size`
 * payload bytes follow on the stream; the caller reads them (after checking
 * `size` against its own limit) with st_wire_read_exact(). */
struct st_wire_command {
    char op;          /* 'R', 'Z', 'W', 'M', 'F', 'E', 'v', 'i', 'f', 'p' */
    uint64_t ptr;     /* R, Z, W, F */
    uint64_t size;    /* R, W, M: byte count; Z: maxlen */
    int32_t err;      /* E */
    uint64_t value;   /* i, f, p */
};

/* Reads one command header. ST_E_EOF at a clean end, ST_E_BAD_OPCODE for an
 * unknown opcode, ST_E_TRUNCATED inside a command. */
int st_wire_read_command(struct st_wire_reader *r, struct st_wire_command *cmd);

/* 1 when `op` is a result opcode ('v', 'i', 'f', 'p'). */
static inline int st_wire_is_result(char op)
{
    return op == 'v' || op == 'i' || op == 'f' || op == 'p';
}

#endif
