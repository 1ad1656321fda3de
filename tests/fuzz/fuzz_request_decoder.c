/* libFuzzer target: the controller's request decoder on any bytes a guest
 * may send. The bytes are put in a memfd and read with st_wire_reader, as
 * the session reads the guest's stdout: request after request until an
 * error. Each request decoded must respect the protocol's limits and
 * re-encode (st_wire_encode_request) to exactly the bytes it consumed.
 * The same bytes are also parsed as a controller -> guest command stream
 * (st_wire_read_command, what tap reads) and as one signature text.
 * fuzz-libs: controller format common */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "controller/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;

/* The input in the memfd, offset 0. */
static void load(const uint8_t *data, size_t size)
{
    if (memfd < 0) {
        memfd = memfd_create("fuzz_request_decoder", 0);
        if (memfd < 0)
            abort();
    }
    if (ftruncate(memfd, 0) != 0)
        abort();
    size_t off = 0;
    while (off < size) {
        ssize_t w = pwrite(memfd, data + off, size - off, (off_t)off);
        if (w <= 0)
            abort();
        off += (size_t)w;
    }
    if (lseek(memfd, 0, SEEK_SET) != 0)
        abort();
}

static void decode_requests(size_t size)
{
    static struct st_wire_reader r;
    static struct st_wire_request req;
    st_wire_reader_init(&r, memfd, NULL, NULL);
    uint64_t consumed = 0;
    for (;;) {
        int rc = st_wire_read_request(&r, &req);
        if (rc < 0) {
            /* The report's raw bytes never exceed the largest request. */
            if (req.raw_len > sizeof req.raw)
                abort();
            if (rc == ST_E_EOF && consumed != size)
                abort(); /* a clean end only at the end of the bytes */
            break;
        }
        if (req.text_len < 1 || req.text_len > ST_WIRE_MAX_TEXT || req.nargs > ST_MAX_ARGS ||
            req.raw_len != 1 + req.text_len + 8u * req.nargs || req.name_len == 0 ||
            req.name_len >= req.text_len || strlen(req.text) != req.text_len ||
            strlen(req.arg_kinds) != req.nargs)
            abort();
        if (!strchr("ifpv", req.res_kind))
            abort();
        /* Round trip: the decoded request encodes to the bytes it came from. */
        unsigned char enc[ST_WIRE_MAX_REQUEST];
        int n = st_wire_encode_request(enc, sizeof enc, req.text, req.args, req.nargs);
        if (n < 0 || (size_t)n != req.raw_len || memcmp(enc, req.raw, (size_t)n) != 0)
            abort();
        consumed += req.raw_len;
        if (r.bytes_in != consumed)
            abort();
    }
}

static void decode_commands(void)
{
    static struct st_wire_reader r;
    static unsigned char payload[4096];
    st_wire_reader_init(&r, memfd, NULL, NULL);
    struct st_wire_command cmd;
    for (;;) {
        int rc = st_wire_read_command(&r, &cmd);
        if (rc < 0)
            break;
        if (cmd.op == 'W' || cmd.op == 'M') {
            /* tap reads a payload only after checking its size. */
            if (cmd.size > sizeof payload)
                break;
            if (st_wire_read_exact(&r, payload, (size_t)cmd.size) < 0)
                break;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load(data, size);
    decode_requests(size);
    if (lseek(memfd, 0, SEEK_SET) != 0)
        abort();
    decode_commands();
    static struct st_wire_request req;
    (void)st_wire_parse_text((const char *)data, size, &req);
    return 0;
}
