/* format/: writer -> reader round trips in memory and through files, for
 * every event kind, large blobs, keyed traces, seeking and signatures. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "format/trace.h"
#include "tests/format/trace_samples.h"
#include "tests/testutil.h"

static struct trace_reader *open_mem(const uint8_t *data, size_t len, const uint8_t *key)
{
    struct trace_reader *r = NULL;
    struct trace_reader_options o = { 0, key };
    char err[256];
    int rc = trace_reader_open(&r, trace_io_mem_reader(data, len), 1, &o, err, sizeof err);
    if (rc < 0)
        fail_msg("open failed: %s (%s)", trace_error_name(rc), err);
    return r;
}

/* Compares a read event with what ts_event(seq) wrote. */
static void assert_event_matches(const struct trace_event *got, uint64_t seq,
                                 uint64_t want_req_seq)
{
    struct trace_event want;
    ts_event(seq, &want);
    assert_int_equal(got->seq, seq);
    assert_int_equal(got->kind, want.kind);
    assert_int_equal(got->time_ns, want.time_ns);
    switch (want.kind) {
    case TRACE_EV_REQUEST:
        assert_string_equal(got->request.sig, want.request.sig);
        assert_int_equal(got->request.nargs, want.request.nargs);
        for (size_t k = 0; k < want.request.nargs; k++)
            assert_int_equal(got->request.args[k], want.request.args[k]);
        break;
    case TRACE_EV_MEM_READ:
    case TRACE_EV_MEM_READ_STR:
    case TRACE_EV_MEM_WRITE:
    case TRACE_EV_MEM_ALLOC:
    case TRACE_EV_MEM_FREE:
        assert_int_equal(got->mem.ptr, want.mem.ptr);
        assert_int_equal(got->mem.size, want.mem.size);
        assert_int_equal(got->mem.len, want.mem.len);
        if (want.mem.len)
            assert_memory_equal(got->mem.data, want.mem.data, want.mem.len);
        break;
    case TRACE_EV_SET_ERRNO:
        assert_int_equal(got->set_errno.value, want.set_errno.value);
        break;
    case TRACE_EV_RESULT:
        assert_int_equal(got->result.kind, want.result.kind);
        assert_int_equal(got->result.value, want.result.value);
        break;
    case TRACE_EV_GUEST_STDERR:
        assert_int_equal(got->guest_stderr.len, want.guest_stderr.len);
        assert_memory_equal(got->guest_stderr.data, want.guest_stderr.data, want.guest_stderr.len);
        break;
    case TRACE_EV_GUEST_EXIT:
        assert_int_equal(got->guest_exit.code, want.guest_exit.code);
        assert_int_equal(got->guest_exit.signal, want.guest_exit.signal);
        assert_string_equal(got->guest_exit.reason,
                            want.guest_exit.reason ? want.guest_exit.reason : "");
        break;
    case TRACE_EV_LIMIT:
        assert_string_equal(got->limit.name, want.limit.name);
        assert_string_equal(got->limit.detail, want.limit.detail);
        assert_int_equal(got->limit.value, want.limit.value);
        break;
    case TRACE_EV_VIOLATION:
        assert_string_equal(got->violation.text, want.violation.text);
        assert_int_equal(got->violation.len, want.violation.len);
        assert_memory_equal(got->violation.data, want.violation.data, want.violation.len);
        break;
    case TRACE_EV_NOTE:
        assert_string_equal(got->note.text, want.note.text);
        break;
    }
    assert_int_equal(got->req_seq, want_req_seq);
}

/* The request each sample event belongs to, computed independently of the
 * writer: memory commands, errno and results belong to the last request
 * not yet closed by a result. */
static uint64_t *expected_req_seqs(uint64_t n)
{
    uint64_t *out = calloc(n ? n : 1, sizeof *out);
    uint64_t open = TRACE_SEQ_NONE;
    for (uint64_t i = 0; i < n; i++) {
        struct trace_event ev;
        ts_event(i, &ev);
        out[i] = TRACE_SEQ_NONE;
        if (ev.kind == TRACE_EV_REQUEST) {
            open = i;
        } else if (ev.kind >= TRACE_EV_MEM_READ && ev.kind <= TRACE_EV_RESULT) {
            out[i] = open;
            if (ev.kind == TRACE_EV_RESULT)
                open = TRACE_SEQ_NONE;
        }
    }
    return out;
}

static void read_all_and_check(const uint8_t *data, size_t len, uint64_t n, const uint8_t *key)
{
    struct trace_reader *r = open_mem(data, len, key);
    uint64_t *req = expected_req_seqs(n);
    struct trace_event ev;
    uint64_t i = 0;
    int rc;
    while ((rc = trace_reader_next(r, &ev)) == 1) {
        assert_true(i < n);
        assert_event_matches(&ev, i, req[i]);
        i++;
    }
    if (rc != 0)
        fail_msg("next: %s: %s", trace_error_name(rc), trace_reader_error_message(r));
    assert_int_equal(i, n);
    struct trace_reader_stats st;
    trace_reader_stats(r, &st);
    assert_true(st.footer_seen);
    assert_true(st.chain_checked);
    assert_int_equal(st.events, n);
    free(req);
    trace_reader_free(r);
}

static void test_roundtrip_every_event_kind(void **state)
{
    (void)state;
    size_t len;
    uint8_t *t = ts_make_trace(64, 0, NULL, &len);
    read_all_and_check(t, len, 64, NULL);
    free(t);
}

static void test_roundtrip_header_fields(void **state)
{
    (void)state;
    size_t len;
    uint8_t *t = ts_make_trace(3, 0, NULL, &len);
    struct trace_reader *r = open_mem(t, len, NULL);
    const struct trace_header *h = trace_reader_header(r);
    struct trace_header want = ts_header();
    assert_int_equal(h->format_major, TRACE_FORMAT_MAJOR);
    assert_int_equal(h->format_minor, TRACE_FORMAT_MINOR);
    assert_false(h->keyed);
    assert_string_equal(h->writer_version, "sandtrace " SANDTRACE_VERSION);
    assert_int_equal(h->created_unix_ns, want.created_unix_ns);
    assert_true(h->host_arch[0] != '\0'); /* filled from uname */
    assert_true(h->host_kernel_release[0] != '\0');
    assert_int_equal(h->host_pointer_size, sizeof(void *));
    assert_true(h->host_byte_order_set);
    assert_string_equal(h->guest_exe_path, "/bin/guest");
    assert_int_equal(h->guest_exe_size, 12345);
    assert_true(h->guest_exe_hash_set);
    assert_memory_equal(h->guest_exe_blake2b, want.guest_exe_blake2b, TRACE_HASH_BYTES);
    assert_int_equal(h->guest_argc, 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(h->guest_argv[i], ts_argv[i]);
    assert_int_equal(h->guest_envc, 2);
    assert_string_equal(h->guest_env[1], "HOME=/tmp");
    assert_int_equal(h->policy_count, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(h->policy[i].key, ts_policy[i].key);
        assert_string_equal(h->policy[i].value, ts_policy[i].value);
    }
    trace_reader_free(r);
    free(t);
}

static void test_roundtrip_many_small_chunks(void **state)
{
    (void)state;
    size_t len;
    uint8_t *t = ts_make_trace(3000, 1024, NULL, &len);
    read_all_and_check(t, len, 3000, NULL);
    struct trace_verify_result vr;
    struct trace_io *io = trace_io_mem_reader(t, len);
    assert_int_equal(trace_verify(io, NULL, &vr), 0);
    assert_true(vr.chunks > 50);
    assert_int_equal(vr.events, 3000);
    trace_io_free(io);
    free(t);
}

static void test_roundtrip_keyed_trace(void **state)
{
    (void)state;
    uint8_t key[TRACE_KEY_BYTES];
    for (int i = 0; i < TRACE_KEY_BYTES; i++)
        key[i] = (uint8_t)(0xa0 + i);
    size_t len;
    uint8_t *t = ts_make_trace(500, 2048, key, &len);
    read_all_and_check(t, len, 500, key);
    struct trace_reader *r = open_mem(t, len, NULL);
    assert_true(trace_reader_header(r)->keyed);
    trace_reader_free(r);
    free(t);
}

static void test_seek_with_index_names_signatures(void **state)
{
    (void)state;
    size_t len;
    const uint64_t n = 2000;
    uint8_t *t = ts_make_trace(n, 1024, NULL, &len);
    uint64_t *req = expected_req_seqs(n);
    struct trace_reader *r = open_mem(t, len, NULL);
    struct trace_reader_stats st;
    trace_reader_stats(r, &st);
    assert_true(st.has_index);
    const uint64_t targets[] = { 1999, 0, 1000, 1001, 16 * 50, 16 * 51 + 7, 5, 1999 };
    for (size_t k = 0; k < sizeof targets / sizeof targets[0]; k++) {
        assert_int_equal(trace_reader_seek(r, targets[k]), 0);
        struct trace_event ev;
        for (uint64_t i = targets[k]; i < targets[k] + 20 && i < n; i++) {
            assert_int_equal(trace_reader_next(r, &ev), 1);
            assert_event_matches(&ev, i, req[i]);
        }
    }
    assert_int_equal(trace_reader_seek(r, n), TRACE_E_RANGE);
    free(req);
    trace_reader_free(r);
    free(t);
}

static void test_seek_without_footer_scans_chunks(void **state)
{
    (void)state;
    /* A writer freed without close leaves no footer (like a crash). */
    struct trace_io *io = trace_io_mem_writer(0);
    struct trace_writer_options o;
    trace_writer_options_init(&o);
    o.chunk_bytes = 512;
    o.chunk_ns = UINT64_MAX;
    struct trace_header h = ts_header();
    struct trace_writer *w;
    assert_int_equal(trace_writer_new(&w, io, 0, &h, &o), 0);
    for (uint64_t i = 0; i < 800; i++) {
        struct trace_event ev;
        ts_event(i, &ev);
        assert_int_equal(trace_writer_add_event(w, &ev), 0);
    }
    assert_int_equal(trace_writer_flush(w), 0);
    trace_writer_free(w);
    size_t len;
    const uint8_t *d = trace_io_mem_data(io, &len);
    uint64_t *req = expected_req_seqs(800);
    struct trace_reader *r = open_mem(d, len, NULL);
    struct trace_reader_stats st;
    trace_reader_stats(r, &st);
    assert_false(st.has_index);
    /* Backwards and forwards: the scanned chunks are remembered. */
    static const uint64_t targets[] = { 400, 5, 777, 0, 401 };
    struct trace_event ev;
    for (size_t k = 0; k < sizeof targets / sizeof targets[0]; k++) {
        assert_int_equal(trace_reader_seek(r, targets[k]), 0);
        for (uint64_t i = targets[k]; i < targets[k] + 30 && i < 800; i++) {
            assert_int_equal(trace_reader_next(r, &ev), 1);
            assert_event_matches(&ev, i, req[i]);
        }
    }
    assert_int_equal(trace_reader_seek(r, 777), 0);
    for (uint64_t i = 777; i < 800; i++) {
        assert_int_equal(trace_reader_next(r, &ev), 1);
        assert_event_matches(&ev, i, req[i]);
    }
    assert_int_equal(trace_reader_next(r, &ev), TRACE_E_TRUNCATED);
    assert_non_null(strstr(trace_reader_error_message(r), "without a footer"));
    assert_int_equal(trace_reader_seek(r, 800), TRACE_E_RANGE);
    free(req);
    trace_reader_free(r);
    trace_io_free(io);
}

static void test_large_blob_64mib_roundtrips(void **state)
{
    (void)state;
    size_t big = TRACE_MAX_BLOB;
    uint8_t *blob = malloc(big);
    assert_non_null(blob);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < big; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* every 1 MiB repeats, so that zstd keeps the trace small */
        if ((i & ((1u << 20) - 1)) == 0)
            x = 88172645463325252ull;
        memcpy(blob + i, &x, 8);
    }
    blob[big - 1] ^= 0x5a;
    struct trace_io *io = trace_io_mem_writer(0);
    struct trace_writer *w;
    struct trace_header h = ts_header();
    assert_int_equal(trace_writer_new(&w, io, 0, &h, NULL), 0);
    struct trace_event ev = { .kind = TRACE_EV_REQUEST, .time_ns = 1 };
    ev.request.sig = "read(ipi)i";
    ev.request.nargs = 3;
    assert_int_equal(trace_writer_add_event(w, &ev), 0);
    memset(&ev, 0, sizeof ev);
    ev.kind = TRACE_EV_MEM_WRITE;
    ev.time_ns = 2;
    ev.mem.ptr = 0x1000;
    ev.mem.data = blob;
    ev.mem.len = big;
    assert_int_equal(trace_writer_add_event(w, &ev), 0);
    ev.mem.len = big + 1; /* one byte more than the limit is refused */
    assert_int_equal(trace_writer_add_event(w, &ev), TRACE_E_LIMIT);
    memset(&ev, 0, sizeof ev);
    ev.kind = TRACE_EV_RESULT;
    ev.time_ns = 3;
    ev.result.kind = 'i';
    ev.result.value = big;
    assert_int_equal(trace_writer_add_event(w, &ev), 0);
    assert_int_equal(trace_writer_close(w), 0);
    trace_writer_free(w);
    size_t len;
    const uint8_t *d = trace_io_mem_data(io, &len);
    struct trace_reader *r = open_mem(d, len, NULL);
    assert_int_equal(trace_reader_next(r, &ev), 1);
    assert_int_equal(ev.kind, TRACE_EV_REQUEST);
    assert_int_equal(trace_reader_next(r, &ev), 1);
    assert_int_equal(ev.kind, TRACE_EV_MEM_WRITE);
    assert_int_equal(ev.mem.len, big);
    assert_int_equal(ev.req_seq, 0);
    assert_memory_equal(ev.mem.data, blob, big);
    assert_int_equal(trace_reader_next(r, &ev), 1);
    assert_int_equal(ev.kind, TRACE_EV_RESULT);
    assert_int_equal(ev.result.value, big);
    assert_int_equal(trace_reader_next(r, &ev), 0);
    trace_reader_free(r);
    trace_io_free(io);
    free(blob);
}

static void test_record_sizes_around_length_prefix_boundaries(void **state)
{
    (void)state;
    /* Records of every size from 0 to 20000 bytes of data cross the 1-, 2-
     * and 3-byte length prefixes, and the chunk bound, in every position. */
    static uint8_t data[20000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 131 + 17);
    struct trace_io *io = trace_io_mem_writer(0);
    struct trace_writer_options o;
    trace_writer_options_init(&o);
    o.chunk_bytes = 3000;
    o.chunk_ns = UINT64_MAX;
    struct trace_writer *w;
    assert_int_equal(trace_writer_new(&w, io, 0, NULL, &o), 0);
    size_t lens[600];
    size_t n = 0;
    for (size_t len = 0; len < 400; len++)
        lens[n++] = len;
    for (size_t len = 16300; len < 16500 && n < 600; len++)
        lens[n++] = len;
    for (size_t i = 0; i < n; i++) {
        struct trace_event ev = { .kind = TRACE_EV_MEM_WRITE, .time_ns = i };
        ev.mem.ptr = i;
        ev.mem.data = data + i;
        ev.mem.len = lens[i];
        assert_int_equal(trace_writer_add_event(w, &ev), 0);
    }
    assert_int_equal(trace_writer_close(w), 0);
    trace_writer_free(w);
    size_t tlen;
    const uint8_t *t = trace_io_mem_data(io, &tlen);
    struct trace_reader *r = open_mem(t, tlen, NULL);
    struct trace_event ev;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(trace_reader_next(r, &ev), 1);
        assert_int_equal(ev.mem.ptr, i);
        assert_int_equal(ev.time_ns, i);
        assert_int_equal(ev.mem.len, lens[i]);
        if (lens[i])
            assert_memory_equal(ev.mem.data, data + i, lens[i]);
    }
    assert_int_equal(trace_reader_next(r, &ev), 0);
    trace_reader_free(r);
    trace_io_free(io);
}

static void test_writer_rejects_invalid_events_and_stays_usable(void **state)
{
    (void)state;
    struct trace_io *io = trace_io_mem_writer(0);
    struct trace_writer *w;
    assert_int_equal(trace_writer_new(&w, io, 1, NULL, NULL), 0);
    struct trace_event ev = { .kind = TRACE_EV_REQUEST };
    assert_int_equal(trace_writer_add_event(w, &ev), TRACE_E_INVAL); /* no signature */
    ev.request.sig = "f()i";
    ev.request.nargs = TRACE_MAX_ARGS + 1;
    assert_int_equal(trace_writer_add_event(w, &ev), TRACE_E_INVAL);
    ev.kind = (enum trace_event_kind)99;
    assert_int_equal(trace_writer_add_event(w, &ev), TRACE_E_INVAL);
    memset(&ev, 0, sizeof ev);
    ev.kind = TRACE_EV_RESULT;
    ev.result.kind = 'x';
    assert_int_equal(trace_writer_add_event(w, &ev), TRACE_E_INVAL);
    ev.result.kind = 'i';
    assert_int_equal(trace_writer_add_event(w, &ev), 0);
    assert_int_equal(trace_writer_event_count(w), 1);
    assert_int_equal(trace_writer_close(w), 0);
    assert_int_equal(trace_writer_add_event(w, &ev), TRACE_E_STATE);
    trace_writer_free(w);
}

static void test_writer_stamps_time_now_monotonically(void **state)
{
    (void)state;
    struct trace_io *io = trace_io_mem_writer(0);
    struct trace_writer *w;
    assert_int_equal(trace_writer_new(&w, io, 0, NULL, NULL), 0);
    struct trace_event ev = { .kind = TRACE_EV_NOTE, .time_ns = TRACE_TIME_NOW };
    ev.note.text = "x";
    for (int i = 0; i < 50; i++)
        assert_int_equal(trace_writer_add_event(w, &ev), 0);
    assert_int_equal(trace_writer_close(w), 0);
    trace_writer_free(w);
    size_t len;
    const uint8_t *d = trace_io_mem_data(io, &len);
    struct trace_reader *r = open_mem(d, len, NULL);
    uint64_t prev = 0;
    int n = 0;
    while (trace_reader_next(r, &ev) == 1) {
        assert_true(ev.time_ns >= prev);
        assert_true(ev.time_ns != TRACE_TIME_NOW);
        prev = ev.time_ns;
        n++;
    }
    assert_int_equal(n, 50);
    trace_reader_free(r);
    trace_io_free(io);
}

static void test_poll_flushes_a_chunk_once_its_time_bound_passed(void **state)
{
    (void)state;
    struct trace_io *io = trace_io_mem_writer(0);
    struct trace_writer_options o;
    trace_writer_options_init(&o);
    o.chunk_ns = 2000000; /* 2 ms */
    struct trace_writer *w;
    assert_int_equal(trace_writer_new(&w, io, 0, NULL, &o), 0);
    size_t empty;
    trace_io_mem_data(io, &empty);
    struct trace_event ev = { .kind = TRACE_EV_NOTE, .time_ns = TRACE_TIME_NOW };
    ev.note.text = "quiet guest";
    assert_int_equal(trace_writer_add_event(w, &ev), 0);
    struct timespec ts = { 0, 30000000 }; /* well past the bound, even on a coarse clock */
    nanosleep(&ts, NULL);
    assert_int_equal(trace_writer_poll(w), 0);
    size_t len;
    const uint8_t *d = trace_io_mem_data(io, &len);
    assert_true(len > empty);
    /* What reached the io is one complete chunk holding the event. */
    struct trace_reader *r = open_mem(d, len, NULL);
    assert_int_equal(trace_reader_next(r, &ev), 1);
    assert_string_equal(ev.note.text, "quiet guest");
    assert_int_equal(trace_reader_next(r, &ev), TRACE_E_TRUNCATED);
    trace_reader_free(r);
    trace_writer_free(w);
    trace_io_free(io);
}

static void test_repeated_calls_compress_to_few_bytes(void **state)
{
    (void)state;
    /* Byte-identical repeated events (implicit seq, delta times) must
     * compress well: 100000 getpid calls in well under 1 byte each. */
    struct trace_io *io = trace_io_mem_writer(0);
    struct trace_writer_options o;
    trace_writer_options_init(&o);
    o.chunk_ns = UINT64_MAX;
    struct trace_writer *w;
    assert_int_equal(trace_writer_new(&w, io, 0, NULL, &o), 0);
    for (uint64_t i = 0; i < 100000; i++) {
        struct trace_event ev = { .kind = TRACE_EV_REQUEST, .time_ns = i * 1000 };
        ev.request.sig = "getpid()i";
        assert_int_equal(trace_writer_add_event(w, &ev), 0);
        struct trace_event res = { .kind = TRACE_EV_RESULT, .time_ns = i * 1000 + 500 };
        res.result.kind = 'i';
        res.result.value = 4242;
        assert_int_equal(trace_writer_add_event(w, &res), 0);
    }
    assert_int_equal(trace_writer_close(w), 0);
    trace_writer_free(w);
    size_t len;
    trace_io_mem_data(io, &len);
    assert_true(len < 100000);
    trace_io_free(io);
}

static void test_file_and_fd_backends_roundtrip(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[4096];
    snprintf(path, sizeof path, "%s/t.sbt", dir);
    struct trace_io *io;
    assert_int_equal(trace_io_open_file(path, TRACE_IO_WRITE, &io), 0);
    struct trace_writer *w;
    struct trace_header h = ts_header();
    struct trace_writer_options o;
    trace_writer_options_init(&o);
    o.sync = 1;
    o.chunk_bytes = 700;
    assert_int_equal(trace_writer_new(&w, io, 1, &h, &o), 0);
    for (uint64_t i = 0; i < 300; i++) {
        struct trace_event ev;
        ts_event(i, &ev);
        assert_int_equal(trace_writer_add_event(w, &ev), 0);
    }
    assert_int_equal(trace_writer_close(w), 0);
    trace_writer_free(w);

    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct trace_reader *r;
    assert_int_equal(trace_reader_open(&r, trace_io_from_fd(fd, 1), 1, NULL, NULL, 0), 0);
    uint64_t *req = expected_req_seqs(300);
    assert_int_equal(trace_reader_seek(r, 250), 0);
    struct trace_event ev;
    assert_int_equal(trace_reader_next(r, &ev), 1);
    assert_event_matches(&ev, 250, req[250]);
    trace_reader_free(r);

    /* A pipe cannot seek, but it can be read from start to end. */
    size_t len;
    uint8_t *t = ts_make_trace(40, 0, NULL, &len);
    assert_true(len < 60000);
    int p[2], rc;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], t, len), (ssize_t)len);
    close(p[1]);
    assert_int_equal(trace_reader_open(&r, trace_io_from_fd(p[0], 1), 1, NULL, NULL, 0), 0);
    assert_int_equal(trace_reader_seek(r, 3), TRACE_E_UNSUPPORTED);
    for (uint64_t i = 0; i < 40; i++) {
        assert_int_equal(trace_reader_next(r, &ev), 1);
        assert_event_matches(&ev, i, req[i]);
    }
    assert_int_equal(trace_reader_next(r, &ev), 0);
    trace_reader_free(r);
    /* Data after the footer is refused even when the size is unknown. */
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], t, len), (ssize_t)len);
    assert_int_equal(write(p[1], "x", 1), 1);
    close(p[1]);
    assert_int_equal(trace_reader_open(&r, trace_io_from_fd(p[0], 1), 1, NULL, NULL, 0), 0);
    while ((rc = trace_reader_next(r, &ev)) == 1)
        ;
    assert_int_equal(rc, TRACE_E_CORRUPT);
    assert_non_null(strstr(trace_reader_error_message(r), "after the footer"));
    trace_reader_free(r);
    free(t);
    free(req);
    tu_rm_rf(dir);
    free(dir);
}

static void test_hash_file_and_key_load(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    tu_write_file(dir, "exe", "hello", 5);
    tu_write_file(dir, "short.key", "0123456789", 10);
    tu_write_file(dir, "good.key", "0123456789abcdef0123", 20);
    tu_write_file(dir, "good2.key", "0123456789abcdef0124", 20);
    char path[4096];
    uint8_t h1[TRACE_HASH_BYTES], h2[TRACE_HASH_BYTES];
    uint64_t size = 0;
    snprintf(path, sizeof path, "%s/exe", dir);
    assert_int_equal(trace_hash_file(path, h1, &size), 0);
    assert_int_equal(size, 5);
    tu_write_file(dir, "exe", "hellO", 5);
    assert_int_equal(trace_hash_file(path, h2, NULL), 0);
    assert_memory_not_equal(h1, h2, TRACE_HASH_BYTES);
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_int_equal(trace_hash_file(path, h1, NULL), TRACE_E_IO);
    snprintf(path, sizeof path, "%s/short.key", dir);
    assert_int_equal(trace_key_load(path, h1), TRACE_E_LIMIT);
    snprintf(path, sizeof path, "%s/good.key", dir);
    assert_int_equal(trace_key_load(path, h1), 0);
    snprintf(path, sizeof path, "%s/good2.key", dir);
    assert_int_equal(trace_key_load(path, h2), 0);
    assert_memory_not_equal(h1, h2, TRACE_KEY_BYTES);
    tu_rm_rf(dir);
    free(dir);
}

static void test_error_codes_have_distinct_names(void **state)
{
    (void)state;
    for (int a = TRACE_E_COMPRESS; a <= 0; a++) {
        assert_string_not_equal(trace_error_name(a), "TRACE_E_UNKNOWN");
        for (int b = a + 1; b <= 0; b++) {
            assert_string_not_equal(trace_error_name(a), trace_error_name(b));
            assert_string_not_equal(trace_strerror(a), trace_strerror(b));
        }
    }
    assert_string_equal(trace_error_name(-1000), "TRACE_E_UNKNOWN");
    assert_string_equal(trace_event_kind_name(TRACE_EV_MEM_READ_STR), "mem_read_str");
    assert_string_equal(trace_event_kind_name((enum trace_event_kind)0), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_event_kind),
        cmocka_unit_test(test_roundtrip_header_fields),
        cmocka_unit_test(test_roundtrip_many_small_chunks),
        cmocka_unit_test(test_roundtrip_keyed_trace),
        cmocka_unit_test(test_seek_with_index_names_signatures),
        cmocka_unit_test(test_seek_without_footer_scans_chunks),
        cmocka_unit_test(test_large_blob_64mib_roundtrips),
        cmocka_unit_test(test_record_sizes_around_length_prefix_boundaries),
        cmocka_unit_test(test_writer_rejects_invalid_events_and_stays_usable),
        cmocka_unit_test(test_writer_stamps_time_now_monotonically),
        cmocka_unit_test(test_poll_flushes_a_chunk_once_its_time_bound_passed),
        cmocka_unit_test(test_repeated_calls_compress_to_few_bytes),
        cmocka_unit_test(test_file_and_fd_backends_roundtrip),
        cmocka_unit_test(test_hash_file_and_key_load),
        cmocka_unit_test(test_error_codes_have_distinct_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
