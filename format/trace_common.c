/* format/trace_common.c: error names, hashing helpers, varints, key files. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <xxhash.h>

#include "format/trace_internal.h"

static const struct {
    int code;
    const char *name;
    const char *text;
} errors[] = {
    { TRACE_OK, "TRACE_OK", "success" },
    { TRACE_E_NOMEM, "TRACE_E_NOMEM", "out of memory" },
    { TRACE_E_IO, "TRACE_E_IO", "input/output error" },
    { TRACE_E_BAD_MAGIC, "TRACE_E_BAD_MAGIC", "not a sandtrace trace (bad magic number)" },
    { TRACE_E_VERSION, "TRACE_E_VERSION", "unsupported trace format version" },
    { TRACE_E_TRUNCATED, "TRACE_E_TRUNCATED", "trace is truncated" },
    { TRACE_E_CHECKSUM, "TRACE_E_CHECKSUM", "checksum mismatch" },
    { TRACE_E_CORRUPT, "TRACE_E_CORRUPT", "trace is corrupt" },
    { TRACE_E_CHAIN, "TRACE_E_CHAIN", "hash chain mismatch" },
    { TRACE_E_KEY_REQUIRED, "TRACE_E_KEY_REQUIRED", "trace is keyed: a key is required" },
    { TRACE_E_WRONG_KEY, "TRACE_E_WRONG_KEY", "wrong key for this trace" },
    { TRACE_E_NOT_KEYED, "TRACE_E_NOT_KEYED", "a key was given but the trace is not keyed" },
    { TRACE_E_INDEX, "TRACE_E_INDEX", "footer index does not match the chunks" },
    { TRACE_E_LIMIT, "TRACE_E_LIMIT", "size or count limit exceeded" },
    { TRACE_E_INVAL, "TRACE_E_INVAL", "invalid argument" },
    { TRACE_E_STATE, "TRACE_E_STATE", "operation not valid in this state" },
    { TRACE_E_RANGE, "TRACE_E_RANGE", "event number out of range" },
    { TRACE_E_UNSUPPORTED, "TRACE_E_UNSUPPORTED", "operation not supported by this input" },
    { TRACE_E_COMPRESS, "TRACE_E_COMPRESS", "compression error" },
};

const char *trace_strerror(int err)
{
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (errors[i].code == err)
            return errors[i].text;
    return "unknown error";
}

const char *trace_error_name(int err)
{
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (errors[i].code == err)
            return errors[i].name;
    return "TRACE_E_UNKNOWN";
}

const char *trace_event_kind_name(enum trace_event_kind kind)
{
    static const char *const names[] = {
        [TRACE_EV_REQUEST] = "request",           [TRACE_EV_MEM_READ] = "mem_read",
        [TRACE_EV_MEM_READ_STR] = "mem_read_str", [TRACE_EV_MEM_WRITE] = "mem_write",
        [TRACE_EV_MEM_ALLOC] = "mem_alloc",       [TRACE_EV_MEM_FREE] = "mem_free",
        [TRACE_EV_SET_ERRNO] = "set_errno",       [TRACE_EV_RESULT] = "result",
        [TRACE_EV_GUEST_STDERR] = "guest_stderr", [TRACE_EV_GUEST_EXIT] = "guest_exit",
        [TRACE_EV_LIMIT] = "limit",               [TRACE_EV_VIOLATION] = "violation",
        [TRACE_EV_NOTE] = "note",
    };
    if ((int)kind < 1 || (int)kind > TRACE_EV_KIND_MAX)
        return "?";
    return names[kind];
}

const char *trace_header_policy(const struct trace_header *h, const char *key)
{
    for (size_t i = 0; h && key && i < h->policy_count; i++)
        if (h->policy[i].key && !strcmp(h->policy[i].key, key))
            return h->policy[i].value;
    return NULL;
}

/* trace_event_pack's cursor: sizes (out == NULL) or copies. */
struct packer {
    uint8_t *out;
    size_t used, max_text, max_data;
};

static const char *pack_text(struct packer *k, const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    if (k->out) {
        memcpy(k->out + k->used, s, n);
        k->out[k->used + n] = '\0';
        s = (const char *)k->out + k->used;
    }
    k->used += n + 1;
    return s;
}

static const uint8_t *pack_data(struct packer *k, const uint8_t *d, size_t len)
{
    static const uint8_t none[1];
    size_t n = len < k->max_data ? len : k->max_data;
    if (!k->out)
        d = d ? d : none;
    else if (!d || !n)
        d = none;
    else {
        memcpy(k->out + k->used, d, n);
        d = k->out + k->used;
    }
    k->used += n;
    return d;
}

static void pack_fields(struct packer *k, struct trace_event *e)
{
    size_t mt = k->max_text ? k->max_text - 1 : 0;
    switch (e->kind) {
    case TRACE_EV_REQUEST:
        e->request.sig = pack_text(k, e->request.sig ? e->request.sig : "", SIZE_MAX);
        break;
    case TRACE_EV_MEM_READ: case TRACE_EV_MEM_READ_STR: case TRACE_EV_MEM_WRITE:
    case TRACE_EV_MEM_ALLOC: case TRACE_EV_MEM_FREE:
        e->mem.data = pack_data(k, e->mem.data, e->mem.len);
        break;
    case TRACE_EV_GUEST_STDERR:
        e->guest_stderr.data = pack_data(k, e->guest_stderr.data, e->guest_stderr.len);
        break;
    case TRACE_EV_GUEST_EXIT:
        if (e->guest_exit.reason)
            e->guest_exit.reason = pack_text(k, e->guest_exit.reason, mt);
        break;
    case TRACE_EV_LIMIT:
        e->limit.name = pack_text(k, e->limit.name ? e->limit.name : "", mt);
        if (e->limit.detail)
            e->limit.detail = pack_text(k, e->limit.detail, mt);
        break;
    case TRACE_EV_VIOLATION:
        e->violation.text = pack_text(k, e->violation.text ? e->violation.text : "", mt);
        e->violation.data = pack_data(k, e->violation.data, e->violation.len);
        break;
    case TRACE_EV_NOTE:
        e->note.text = pack_text(k, e->note.text ? e->note.text : "", mt);
        break;
    default:
        break;
    }
}

/* The bytes of `e` its kind uses: the common fields and its kind's member
 * of the union, a request's arguments up to nargs (a whole event is 300
 * bytes, most of them a request's 32 possible arguments). */
static size_t event_size(const struct trace_event *e)
{
    const size_t at = offsetof(struct trace_event, request);
    switch (e->kind) {
    case TRACE_EV_REQUEST: {
        size_t n = e->request.nargs < TRACE_MAX_ARGS ? e->request.nargs : TRACE_MAX_ARGS;
        return offsetof(struct trace_event, request.args) + n * sizeof e->request.args[0];
    }
    case TRACE_EV_MEM_READ: case TRACE_EV_MEM_READ_STR: case TRACE_EV_MEM_WRITE:
    case TRACE_EV_MEM_ALLOC: case TRACE_EV_MEM_FREE:
        return at + sizeof e->mem;
    case TRACE_EV_SET_ERRNO:
        return at + sizeof e->set_errno;
    case TRACE_EV_RESULT:
        return at + sizeof e->result;
    case TRACE_EV_GUEST_STDERR:
        return at + sizeof e->guest_stderr;
    case TRACE_EV_GUEST_EXIT:
        return at + sizeof e->guest_exit;
    case TRACE_EV_LIMIT:
        return at + sizeof e->limit;
    case TRACE_EV_VIOLATION:
        return at + sizeof e->violation;
    case TRACE_EV_NOTE:
        return at + sizeof e->note;
    default:
        return sizeof *e;
    }
}

size_t trace_event_pack(struct trace_event *dst, const struct trace_event *src, void *buf, size_t cap,
                        size_t max_text, size_t max_data)
{
    size_t head = event_size(src);
    struct trace_event e;
    memcpy(&e, src, head);
    struct packer k = { NULL, 0, max_text, max_data };
    pack_fields(&k, &e);
    if (k.used > cap || !buf)
        return k.used;
    memcpy(dst, src, head);
    k.out = buf;
    k.used = 0;
    pack_fields(&k, dst);
    return k.used;
}

uint64_t tf_xxh3(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

int tf_hash_init(tf_hash *h, const uint8_t *key)
{
    /* sodium_init() is idempotent and picks the fastest BLAKE2b code. */
    if (sodium_init() < 0)
        return TRACE_E_NOMEM;
    if (crypto_generichash_init(&h->st, key, key ? TRACE_KEY_BYTES : 0, TRACE_HASH_BYTES) != 0)
        return TRACE_E_INVAL;
    return 0;
}

void tf_hash_update(tf_hash *h, const void *data, size_t len)
{
    crypto_generichash_update(&h->st, data, len);
}

void tf_hash_final(tf_hash *h, uint8_t out[TRACE_HASH_BYTES])
{
    crypto_generichash_final(&h->st, out, TRACE_HASH_BYTES);
}

void tf_key_check(const uint8_t key[TRACE_KEY_BYTES], uint8_t out[8])
{
    tf_hash h;
    uint8_t full[TRACE_HASH_BYTES];
    tf_hash_init(&h, key);
    tf_hash_update(&h, TRACE_KEY_CHECK_DOMAIN, strlen(TRACE_KEY_CHECK_DOMAIN));
    tf_hash_final(&h, full);
    memcpy(out, full, 8);
}

int tf_memcmp_ct(const void *a, const void *b, size_t n)
{
    return sodium_memcmp(a, b, n);
}

size_t tf_varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

size_t tf_varint_get(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (size_t i = 0; i < 10 && p + i < end; i++) {
        uint64_t b = p[i];
        if (i == 9 && b > 1)
            return 0; /* more than 64 bits */
        r |= (b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

static int read_all_fd(int fd, uint8_t *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = read(fd, buf + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

int trace_hash_file(const char *path, uint8_t out[TRACE_HASH_BYTES], uint64_t *size)
{
    if (!path || !out)
        return TRACE_E_INVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return TRACE_E_IO;
    tf_hash h;
    int rc = tf_hash_init(&h, NULL);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    uint8_t buf[65536];
    uint64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            close(fd);
            return TRACE_E_IO;
        }
        if (n == 0)
            break;
        tf_hash_update(&h, buf, (size_t)n);
        total += (uint64_t)n;
    }
    close(fd);
    tf_hash_final(&h, out);
    if (size)
        *size = total;
    return 0;
}

int trace_key_load(const char *path, uint8_t key[TRACE_KEY_BYTES])
{
    if (!path || !key)
        return TRACE_E_INVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return TRACE_E_IO;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return TRACE_E_IO;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < 16 || st.st_size > 65536) {
        close(fd);
        return S_ISREG(st.st_mode) ? TRACE_E_LIMIT : TRACE_E_INVAL;
    }
    size_t len = (size_t)st.st_size;
    uint8_t *buf = malloc(len);
    if (!buf) {
        close(fd);
        return TRACE_E_NOMEM;
    }
    int rc = read_all_fd(fd, buf, len);
    close(fd);
    if (rc < 0) {
        free(buf);
        return TRACE_E_IO;
    }
    tf_hash h;
    rc = tf_hash_init(&h, NULL);
    if (rc == 0) {
        tf_hash_update(&h, buf, len);
        tf_hash_final(&h, key);
    }
    sodium_memzero(buf, len);
    free(buf);
    return rc;
}
