/* The wire codec against scripted byte streams over pipes: well-formed
 * requests, every malformed kind with its own error, replies, the command
 * encoder's batching and the command-stream parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "controller/error.h"
#include "controller/wire.h"

/* A pipe holding `len` scripted bytes, its write end closed (so EOF follows). */
static int scripted(const void *bytes, size_t len)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_true(len < 65536);
    if (len)
        assert_int_equal(write(p[1], bytes, len), (ssize_t)len);
    close(p[1]);
    return p[0];
}

static struct st_wire_reader *reader_on(int fd)
{
    struct st_wire_reader *r = malloc(sizeof *r);
    assert_non_null(r);
    st_wire_reader_init(r, fd, NULL, NULL);
    return r;
}

static void done(struct st_wire_reader *r)
{
    close(r->fd);
    free(r);
}

/* Builds "len text args" into buf. */
static size_t req_bytes(unsigned char *buf, const char *text, const uint64_t *args, unsigned n)
{
    size_t len = strlen(text);
    buf[0] = (unsigned char)len;
    memcpy(buf + 1, text, len);
    if (n)
        memcpy(buf + 1 + len, args, 8u * n);
    return 1 + len + 8u * n;
}

static int read_one(const void *bytes, size_t len, struct st_wire_request *req)
{
    struct st_wire_reader *r = reader_on(scripted(bytes, len));
    int rc = st_wire_read_request(r, req);
    done(r);
    return rc;
}

static void test_wire_reads_a_write_request_as_in_protocol_md(void **state)
{
    (void)state;
    /* PROTOCOL.md's example: write(1, 0x7f0000001000, 3), 36 bytes. */
    unsigned char buf[64];
    uint64_t args[3] = { 1, 0x7f0000001000ull, 3 };
    size_t n = req_bytes(buf, "write(ipi)i", args, 3);
    assert_int_equal(n, 36);
    struct st_wire_request req;
    assert_int_equal(read_one(buf, n, &req), 0);
    assert_string_equal(req.text, "write(ipi)i");
    assert_int_equal(req.text_len, 11);
    assert_int_equal(req.name_len, 5);
    assert_string_equal(req.arg_kinds, "ipi");
    assert_int_equal(req.nargs, 3);
    assert_int_equal(req.res_kind, 'i');
    assert_true(req.args[1] == 0x7f0000001000ull);
    assert_int_equal(req.args[2], 3);
    assert_int_equal(req.raw_len, 36);
    assert_memory_equal(req.raw, buf, 36);
}

static void test_wire_reads_consecutive_requests_and_clean_eof(void **state)
{
    (void)state;
    unsigned char buf[256];
    size_t n = req_bytes(buf, "getpid()i", NULL, 0);
    uint64_t a = (uint64_t)-1;
    n += req_bytes(buf + n, "_exit(i)v", &a, 1);
    struct st_wire_reader *r = reader_on(scripted(buf, n));
    struct st_wire_request req;
    assert_int_equal(st_wire_read_request(r, &req), 0);
    assert_string_equal(req.text, "getpid()i");
    assert_int_equal(req.nargs, 0);
    assert_int_equal(st_wire_read_request(r, &req), 0);
    assert_string_equal(req.text, "_exit(i)v");
    assert_int_equal(req.res_kind, 'v');
    assert_true(req.args[0] == (uint64_t)-1);
    assert_int_equal(st_wire_read_request(r, &req), ST_E_EOF);
    assert_int_equal(r->bytes_in, n);
    done(r);
}

static void test_wire_accepts_the_largest_request(void **state)
{
    (void)state;
    /* 255 bytes of text with 32 arguments: 512 bytes in all. */
    char text[256];
    memset(text, 'a', sizeof text);
    size_t name = 255 - 1 - 32 - 2; /* "(", 32 kinds, ")f" */
    memcpy(text + name, "(", 1);
    memset(text + name + 1, 'p', 32);
    memcpy(text + name + 33, ")f", 2);
    text[255] = '\0';
    assert_int_equal(strlen(text), 255);
    uint64_t args[32];
    for (unsigned i = 0; i < 32; i++)
        args[i] = i * 0x0101010101010101ull;
    unsigned char buf[600];
    size_t n = req_bytes(buf, text, args, 32);
    assert_int_equal(n, ST_WIRE_MAX_REQUEST);
    struct st_wire_request req;
    assert_int_equal(read_one(buf, n, &req), 0);
    assert_int_equal(req.nargs, 32);
    assert_int_equal(req.res_kind, 'f');
    assert_true(req.args[31] == 31 * 0x0101010101010101ull);
}

static void test_wire_rejects_each_malformed_request_with_its_error(void **state)
{
    (void)state;
    static const struct { const char *text; int want; } cases[] = {
        { "write", ST_E_BAD_TEXT },          /* no parentheses */
        { "(i)i", ST_E_BAD_TEXT },           /* no name */
        { "wr-te(i)i", ST_E_BAD_TEXT },      /* bad character in the name */
        { "write(i", ST_E_BAD_TEXT },        /* unclosed */
        { "write(i)", ST_E_BAD_TEXT },       /* no result kind */
        { "write(i)ii", ST_E_BAD_TEXT },     /* two result kinds */
        { "write(x)i", ST_E_BAD_KIND },      /* unknown argument kind */
        { "write(v)i", ST_E_BAD_KIND },      /* void is no argument kind */
        { "write(i)x", ST_E_BAD_KIND },      /* unknown result kind */
        { "f(iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii)i", ST_E_TOO_MANY_ARGS }, /* 33 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char buf[600];
        uint64_t args[40] = { 0 };
        size_t n = req_bytes(buf, cases[i].text, args, 33);
        struct st_wire_request req;
        int rc = read_one(buf, n, &req);
        if (rc != cases[i].want)
            fail_msg("'%s': got %d (%s), want %d", cases[i].text, rc, st_error_name(rc), cases[i].want);
        /* The bytes consumed so far are kept for the report. */
        assert_true(req.raw_len >= 1);
    }
}

static void test_wire_rejects_zero_length(void **state)
{
    (void)state;
    unsigned char z[4] = { 0, 'a', 'b', 'c' };
    struct st_wire_request req;
    assert_int_equal(read_one(z, sizeof z, &req), ST_E_ZERO_LENGTH);
    assert_int_equal(req.raw_len, 1);
}

static void test_wire_reports_truncation_inside_text_and_args(void **state)
{
    (void)state;
    unsigned char buf[64];
    uint64_t args[3] = { 1, 2, 3 };
    size_t n = req_bytes(buf, "write(ipi)i", args, 3);
    struct st_wire_request req;
    /* Every cut inside the request is a truncation, never a crash. */
    for (size_t cut = 1; cut < n; cut++) {
        int rc = read_one(buf, cut, &req);
        if (rc != ST_E_TRUNCATED)
            fail_msg("cut at %zu: got %d", cut, rc);
        assert_int_equal(req.raw_len, cut);
    }
    assert_int_equal(read_one(buf, 0, &req), ST_E_EOF);
}

static void test_wire_survives_random_garbage(void **state)
{
    (void)state;
    /* Whatever the bytes, each read ends in success or a named error. */
    srand(42);
    for (int round = 0; round < 300; round++) {
        unsigned char buf[2048];
        size_t n = (size_t)(rand() % (int)sizeof buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)rand();
        if (round % 3 == 0 && n > 8)
            memcpy(buf + 1, "open(pii)i", 8); /* half-plausible */
        struct st_wire_reader *r = reader_on(scripted(buf, n));
        struct st_wire_request req;
        int rc;
        int guard = 0;
        while ((rc = st_wire_read_request(r, &req)) == 0 && guard++ < 1000)
            assert_true(req.nargs <= ST_MAX_ARGS);
        assert_true(rc < 0);
        assert_string_not_equal(st_error_name(rc), "unknown error");
        done(r);
    }
}

static void test_wire_reads_replies_r_z_m(void **state)
{
    (void)state;
    unsigned char buf[256];
    size_t n = 0;
    memcpy(buf, "hello", 5); /* R reply */
    n += 5;
    uint64_t len = 4;
    memcpy(buf + n, &len, 8); /* Z reply */
    memcpy(buf + n + 8, "/tmp", 4);
    n += 12;
    uint64_t ptr = 0x5555deadbeefull;
    memcpy(buf + n, &ptr, 8); /* M reply */
    n += 8;
    len = 10; /* a Z reply longer than its maxlen */
    memcpy(buf + n, &len, 8);
    n += 8;
    struct st_wire_reader *r = reader_on(scripted(buf, n));
    char got[16];
    assert_int_equal(st_wire_read_exact(r, got, 5), 0);
    assert_memory_equal(got, "hello", 5);
    size_t slen = 0;
    assert_int_equal(st_wire_read_str_reply(r, 256, got, sizeof got, &slen), 0);
    assert_int_equal(slen, 4);
    assert_string_equal(got, "/tmp");
    uint64_t p = 0;
    assert_int_equal(st_wire_read_u64(r, &p), 0);
    assert_true(p == ptr);
    assert_int_equal(st_wire_read_str_reply(r, 5, got, sizeof got, &slen), ST_E_BAD_REPLY);
    assert_int_equal(st_wire_read_u64(r, &p), ST_E_TRUNCATED);
    done(r);
}

static void test_wire_str_reply_larger_than_buffer_is_too_big(void **state)
{
    (void)state;
    unsigned char buf[16];
    uint64_t len = 100;
    memcpy(buf, &len, 8);
    struct st_wire_reader *r = reader_on(scripted(buf, 8));
    char got[16];
    size_t slen;
    assert_int_equal(st_wire_read_str_reply(r, 1000, got, sizeof got, &slen), ST_E_TOO_BIG);
    done(r);
}

static void test_wire_large_r_reply_bypasses_the_buffer(void **state)
{
    (void)state;
    /* 1 MiB through a pipe needs a writer running alongside. */
    size_t n = 1u << 20;
    unsigned char *src = malloc(n), *dst = malloc(n);
    assert_non_null(src);
    assert_non_null(dst);
    for (size_t i = 0; i < n; i++)
        src[i] = (unsigned char)(i * 7);
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        size_t off = 0;
        while (off < n) {
            ssize_t w = write(p[1], src + off, n - off);
            if (w <= 0)
                _exit(1);
            off += (size_t)w;
        }
        _exit(0);
    }
    close(p[1]);
    struct st_wire_reader *r = reader_on(p[0]);
    assert_int_equal(st_wire_read_exact(r, dst, n), 0);
    assert_memory_equal(src, dst, n);
    assert_int_equal(r->bytes_in, n);
    done(r);
    waitpid(pid, NULL, 0);
    free(src);
    free(dst);
}

/* Reads everything a pipe holds now. */
static size_t drain(int fd, unsigned char *buf, size_t cap)
{
    fcntl(fd, F_SETFL, O_NONBLOCK);
    size_t n = 0;
    ssize_t got;
    while (n < cap && (got = read(fd, buf + n, cap - n)) > 0)
        n += (size_t)got;
    return n;
}

static void test_wire_encoder_batches_one_answer_and_parses_back(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct st_wire_out *o = malloc(sizeof *o);
    assert_non_null(o);
    st_wire_out_init(o, p[1], NULL, NULL);
    static const unsigned char stat_bytes[144] = { 1, 2, 3 };
    assert_int_equal(st_wire_out_mem_write(o, 0x1000, stat_bytes, sizeof stat_bytes), 0);
    assert_int_equal(st_wire_out_errno(o, 2), 0);
    assert_int_equal(st_wire_out_result(o, 'i', (uint64_t)-1), 0);
    /* Nothing leaves before the flush, then all of it in one write. */
    unsigned char buf[512];
    assert_int_equal(drain(p[0], buf, sizeof buf), 0);
    assert_int_equal(st_wire_out_flush(o), 0);
    size_t n = drain(p[0], buf, sizeof buf);
    assert_int_equal(n, 17 + 144 + 5 + 9);
    assert_int_equal(o->bytes_out, n);
    assert_int_equal(st_wire_out_result(o, 'x', 0), ST_E_BAD_KIND);
    close(p[1]);
    free(o);
    /* The command parser reads the same stream back. */
    struct st_wire_reader *r = reader_on(scripted(buf, n));
    struct st_wire_command cmd;
    assert_int_equal(st_wire_read_command(r, &cmd), 0);
    assert_int_equal(cmd.op, 'W');
    assert_int_equal(cmd.ptr, 0x1000);
    assert_int_equal(cmd.size, 144);
    unsigned char payload[144];
    assert_int_equal(st_wire_read_exact(r, payload, 144), 0);
    assert_memory_equal(payload, stat_bytes, 144);
    assert_int_equal(st_wire_read_command(r, &cmd), 0);
    assert_int_equal(cmd.op, 'E');
    assert_int_equal(cmd.err, 2);
    assert_int_equal(st_wire_read_command(r, &cmd), 0);
    assert_int_equal(cmd.op, 'i');
    assert_true(cmd.value == (uint64_t)-1);
    assert_true(st_wire_is_result(cmd.op));
    assert_int_equal(st_wire_read_command(r, &cmd), ST_E_EOF);
    done(r);
}

static void test_wire_command_parser_names_bad_opcodes_and_truncation(void **state)
{
    (void)state;
    struct st_wire_command cmd;
    struct st_wire_reader *r = reader_on(scripted("Q", 1));
    assert_int_equal(st_wire_read_command(r, &cmd), ST_E_BAD_OPCODE);
    done(r);
    r = reader_on(scripted("R\x01\x02", 3));
    assert_int_equal(st_wire_read_command(r, &cmd), ST_E_TRUNCATED);
    done(r);
    unsigned char m[9] = { 'M', 5 };
    r = reader_on(scripted(m, 9));
    assert_int_equal(st_wire_read_command(r, &cmd), 0);
    assert_int_equal(cmd.op, 'M');
    assert_int_equal(cmd.size, 5);
    done(r);
    r = reader_on(scripted("v", 1));
    assert_int_equal(st_wire_read_command(r, &cmd), 0);
    assert_int_equal(cmd.op, 'v');
    done(r);
}

static void test_wire_encoder_writes_large_payloads_whole(void **state)
{
    (void)state;
    /* A W larger than the encoder's buffer, read by a child. */
    size_t n = 3 * ST_WIRE_OUT_SIZE + 5;
    unsigned char *data = malloc(n);
    assert_non_null(data);
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)(i ^ (i >> 8));
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[1]);
        struct st_wire_reader *r = reader_on(p[0]);
        struct st_wire_command cmd;
        unsigned char *got = malloc(n);
        int ok = got && st_wire_read_command(r, &cmd) == 0 && cmd.op == 'E' &&
                 st_wire_read_command(r, &cmd) == 0 && cmd.op == 'W' && cmd.size == n &&
                 st_wire_read_exact(r, got, n) == 0 && memcmp(got, data, n) == 0 &&
                 st_wire_read_command(r, &cmd) == 0 && cmd.op == 'p' && cmd.value == 0x1234;
        _exit(ok ? 0 : 1);
    }
    close(p[0]);
    struct st_wire_out *o = malloc(sizeof *o);
    assert_non_null(o);
    st_wire_out_init(o, p[1], NULL, NULL);
    assert_int_equal(st_wire_out_errno(o, 0), 0);
    assert_int_equal(st_wire_out_mem_write(o, 0x2000, data, n), 0);
    assert_int_equal(st_wire_out_result(o, 'p', 0x1234), 0);
    assert_int_equal(st_wire_out_flush(o), 0);
    close(p[1]);
    int st = 0;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    free(o);
    free(data);
}

static void test_wire_encode_request_round_trips_and_refuses_bad_text(void **state)
{
    (void)state;
    unsigned char buf[600];
    uint64_t args[2] = { 7, 8 };
    int n = st_wire_encode_request(buf, sizeof buf, "stat64(pp)i", args, 2);
    assert_int_equal(n, 1 + 11 + 16);
    struct st_wire_request req;
    assert_int_equal(read_one(buf, (size_t)n, &req), 0);
    assert_int_equal(req.args[1], 8);
    assert_int_equal(st_wire_encode_request(buf, sizeof buf, "stat64(pp)i", args, 1), ST_E_INVALID);
    assert_int_equal(st_wire_encode_request(buf, sizeof buf, "stat64(px)i", args, 2), ST_E_BAD_KIND);
    assert_int_equal(st_wire_encode_request(buf, 5, "stat64(pp)i", args, 2), ST_E_TOO_BIG);
}

static void test_wire_every_error_has_a_name(void **state)
{
    (void)state;
    for (int e = ST_E_NOJAIL; e <= ST_E_EOF; e++)
        assert_string_not_equal(st_error_name(e), "unknown error");
    assert_string_equal(st_error_name(ST_OK), "success");
    assert_string_equal(st_error_name(ST_E_NOJAIL - 1), "unknown error");
    /* No code collides with an errno: handlers mix them. */
    for (int e = ST_E_NOJAIL; e <= ST_E_EOF; e++)
        assert_false(st_error_is_errno(e));
    assert_true(st_error_is_errno(-ENOENT));
    assert_true(st_error_is_errno(-ST_ERRNO_MAX));
    assert_int_not_equal(ST_E_TRUNCATED, -ENOENT);
    assert_string_equal(st_error_name(-ENOENT), strerror(ENOENT));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_reads_a_write_request_as_in_protocol_md),
        cmocka_unit_test(test_wire_reads_consecutive_requests_and_clean_eof),
        cmocka_unit_test(test_wire_accepts_the_largest_request),
        cmocka_unit_test(test_wire_rejects_each_malformed_request_with_its_error),
        cmocka_unit_test(test_wire_rejects_zero_length),
        cmocka_unit_test(test_wire_reports_truncation_inside_text_and_args),
        cmocka_unit_test(test_wire_survives_random_garbage),
        cmocka_unit_test(test_wire_reads_replies_r_z_m),
        cmocka_unit_test(test_wire_str_reply_larger_than_buffer_is_too_big),
        cmocka_unit_test(test_wire_large_r_reply_bypasses_the_buffer),
        cmocka_unit_test(test_wire_encoder_batches_one_answer_and_parses_back),
        cmocka_unit_test(test_wire_command_parser_names_bad_opcodes_and_truncation),
        cmocka_unit_test(test_wire_encoder_writes_large_payloads_whole),
        cmocka_unit_test(test_wire_encode_request_round_trips_and_refuses_bad_text),
        cmocka_unit_test(test_wire_every_error_has_a_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
