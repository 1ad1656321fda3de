/* format/: how the writer holds, compresses and writes its chunks. Its
 * memory is fixed once its first full chunk is written (issue 15, figure 7:
 * a recording's peak RSS must not grow with its length); its background
 * compressor (issue 15, figure 4) writes the same bytes as the writer
 * alone, reports its write errors and finishes its chunk when freed; and
 * neither changes a byte of the trace.
 *
 * Chunks of every zstd size class (a few KiB to a whole chunk) are written
 * in turn, as chunks closed by their age are in a real recording: a
 * compression context that follows each chunk's class is resized, freed and
 * allocated again; buffers that double as a chunk fills are copied and,
 * when an event straddles the chunk's end, doubled past it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

/* ZSTD_estimateCCtxSize: the size of the context the writer must not exceed. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "format/trace.h"

#define CHUNK (256u * 1024)

struct feed {
    struct trace_io *io;
    struct trace_writer *w;
    uint64_t rnd, next_time;
    uint64_t events;
    uint8_t text[64 * 1024];
};

static uint64_t next_rnd(struct feed *f)
{
    f->rnd ^= f->rnd << 13;
    f->rnd ^= f->rnd >> 7;
    f->rnd ^= f->rnd << 17;
    return f->rnd;
}

/* Starts a trace in memory (of up to `max_size` bytes; 0: 4 GiB), its
 * chunks compressed in the background or not. */
static void feed_start_with(struct feed *f, int background, size_t max_size)
{
    memset(f, 0, sizeof *f);
    f->rnd = 88172645463325252ull;
    /* Text of a few letters: it compresses, so zstd finds matches. */
    for (size_t i = 0; i < sizeof f->text; i++)
        f->text[i] = (uint8_t)('a' + next_rnd(f) % 7);
    f->io = trace_io_mem_writer(max_size ? max_size : (size_t)1 << 32);
    assert_non_null(f->io);
    struct trace_writer_options o;
    trace_writer_options_init(&o);
    o.chunk_ns = UINT64_MAX; /* chunks close on their size or a flush only */
    o.background = background;
    struct trace_header h;
    memset(&h, 0, sizeof h);
    h.created_unix_ns = 1;
    assert_int_equal(trace_writer_new(&f->w, f->io, 0, &h, &o), 0);
}

static void feed_end(struct feed *f)
{
    trace_writer_free(f->w);
    trace_io_free(f->io);
}

/* One call: a request, often a memory write of up to 3 KiB, a result.
 * Returns the first error of trace_writer_add_event (0: all added). */
static int feed_call_rc(struct feed *f)
{
    static const char *const sigs[] = { "getpid()i", "read(ipi)i", "stat64(pp)i" };
    struct trace_event ev = { .kind = TRACE_EV_REQUEST };
    ev.time_ns = f->next_time += next_rnd(f) % 5000;
    ev.request.sig = sigs[next_rnd(f) % 3];
    ev.request.nargs = 2;
    ev.request.args[0] = next_rnd(f) % 100;
    ev.request.args[1] = next_rnd(f);
    int rc = trace_writer_add_event(f->w, &ev);
    if (rc == 0 && next_rnd(f) % 2) {
        ev = (struct trace_event){ .kind = TRACE_EV_MEM_WRITE, .time_ns = f->next_time += 50 };
        ev.mem.ptr = next_rnd(f);
        ev.mem.len = next_rnd(f) % 3072;
        ev.mem.data = f->text + next_rnd(f) % (sizeof f->text - ev.mem.len);
        f->events++;
        rc = trace_writer_add_event(f->w, &ev);
    }
    if (rc < 0)
        return rc;
    ev = (struct trace_event){ .kind = TRACE_EV_RESULT, .time_ns = f->next_time += 700 };
    ev.result.kind = 'i';
    ev.result.value = next_rnd(f) % 1000;
    f->events += 2;
    return trace_writer_add_event(f->w, &ev);
}

static void feed_call(struct feed *f)
{
    assert_int_equal(feed_call_rc(f), 0);
}

/* Writes calls until the open chunk holds about `raw` bytes (calls of about
 * 800 bytes on average), then closes it; a `raw` of a chunk or more lets
 * the chunks close on their size. */
static void feed_chunk(struct feed *f, size_t raw)
{
    for (size_t i = 0; i < raw / 800 + 1; i++)
        feed_call(f);
    assert_int_equal(trace_writer_flush(f->w), 0);
}

/* One chunk of each zstd size class, smallest first (the context grows)
 * and biggest first (a context that follows the source shrinks). */
static const size_t class_sizes[] = { 4096, 60 * 1024, 150 * 1024, 3 * CHUNK,
                                      150 * 1024, 60 * 1024, 4096 };
#define NCLASSES (sizeof class_sizes / sizeof *class_sizes)

/* Starts a trace and writes `rounds` runs of every size class in it. */
static void feed_classes_with(struct feed *f, int rounds, int background)
{
    feed_start_with(f, background, 0);
    for (int round = 0; round < rounds; round++)
        for (size_t i = 0; i < NCLASSES; i++)
            feed_chunk(f, class_sizes[i]);
}

static void feed_classes(struct feed *f, int rounds)
{
    feed_classes_with(f, rounds, 0);
}

/* The writer's memory (trace_writer_memory) after a run of every size
 * class, then at every chunk of 200 small ones (zstd shrinks a context
 * that stays three times too big for 128 frames) and of another run of
 * every class: it changes by the chunk index's growth only (24 bytes a
 * chunk, at most doubled). */
static void test_writer_memory_is_fixed_after_the_first_chunks(void **state)
{
    (void)state;
    struct feed f;
    feed_classes(&f, 1);
    size_t first = trace_writer_memory(f.w);
    size_t chunks = NCLASSES + 3; /* the 3-chunk class closes up to 4 */
    for (size_t i = 0; i < 200 + NCLASSES; i++) {
        feed_chunk(&f, i < 200 ? 2048 : class_sizes[i - 200]);
        chunks += i >= 200 && class_sizes[i - 200] > CHUNK ? 4 : 1;
        size_t now = trace_writer_memory(f.w);
        assert_true(now >= first);
        assert_true(now - first <= 2 * 24 * chunks);
    }
    feed_end(&f);
}

/* The bound itself: the compressor's context for any chunk, one chunk of
 * raw bytes, one chunk's compressed bound with its header, and the small
 * tables (signatures, index) on top. A raw buffer that doubled past a
 * chunk when an event straddled its end (512 KiB for 256) is over it. */
static void test_writer_memory_is_bounded_by_a_chunk(void **state)
{
    (void)state;
    struct feed f;
    feed_classes(&f, 3);
    size_t bound = ZSTD_estimateCCtxSize(3) + CHUNK + 104 + ZSTD_compressBound(CHUNK) + 16 * 1024;
    assert_true(trace_writer_memory(f.w) <= bound);
    feed_end(&f);
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Every chunk's payload is the zstd frame a fresh context makes of its raw
 * bytes at level 3 (ZSTD_compress: the content size in the frame, as the
 * writer asks): the writer's fixed context, reused for chunk after chunk
 * of every size class, writes the bytes of one made for each chunk. */
static void test_writer_chunks_are_the_frames_of_a_fresh_context(void **state)
{
    (void)state;
    struct feed f;
    feed_classes(&f, 2);
    assert_int_equal(trace_writer_close(f.w), 0);
    size_t len;
    const uint8_t *t = trace_io_mem_data(f.io, &len);
    size_t off = 48 + le32(t + 16), nchunks = 0;
    while (off + 104 <= len && memcmp(t + off, "\x8eSBTCHNK", 8) == 0) {
        uint32_t raw = le32(t + off + 44), payload = le32(t + off + 48);
        uint8_t *plain = malloc(raw), *again = malloc(ZSTD_compressBound(raw));
        assert_non_null(plain);
        assert_non_null(again);
        assert_int_equal(ZSTD_decompress(plain, raw, t + off + 104, payload), raw);
        size_t n = ZSTD_compress(again, ZSTD_compressBound(raw), plain, raw, 3);
        assert_int_equal(n, payload);
        assert_memory_equal(again, t + off + 104, payload);
        free(plain);
        free(again);
        off += 104 + payload;
        nchunks++;
    }
    assert_true(nchunks >= 2 * NCLASSES);
    assert_int_equal(le64(t + off + 16), nchunks); /* the footer's chunk count */
    feed_end(&f);
}

/* The process's resident bytes (/proc/self/statm). */
static size_t resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    assert_non_null(f);
    unsigned long size = 0, resident = 0;
    assert_int_equal(fscanf(f, "%lu %lu", &size, &resident), 2);
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* The compressor's workspace is resident from trace_writer_new on, not as
 * zstd reaches its pages: a short recording holds what a long one will
 * (figure 7), instead of growing into it chunk by chunk. */
static void test_writer_workspace_is_resident_from_the_start(void **state)
{
    (void)state;
    size_t before = resident_bytes();
    static struct feed f;
    feed_start_with(&f, 0, 0);
    size_t after = resident_bytes();
    assert_true(after - before >= ZSTD_estimateCCtxSize(3) * 9 / 10);
    feed_end(&f);
}

/* `n` calls, no flush: the chunks close on their size. */
static void feed_calls(struct feed *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        feed_call(f);
}

/* The bytes written so far; the writer is freed first when `drop` is set
 * (its open chunk lost, as in a crash), closed otherwise. */
static const uint8_t *feed_bytes(struct feed *f, int drop, size_t *len)
{
    if (drop) {
        trace_writer_free(f->w);
        f->w = NULL;
    } else {
        assert_int_equal(trace_writer_close(f->w), 0);
    }
    return trace_io_mem_data(f->io, len);
}

/* Two writers, alone and with the background compressor, fed the same
 * calls (about 5 MB: chunks closed on their size, and on flushes), end
 * with the same bytes, closed or freed with chunks still to write. */
static void check_background_bytes(int drop)
{
    static struct feed fg, bg;
    feed_start_with(&fg, 0, 0);
    feed_start_with(&bg, 1, 0);
    for (int round = 0; round < 3; round++) {
        feed_calls(&fg, 2000);
        feed_calls(&bg, 2000);
        assert_int_equal(trace_writer_flush(fg.w), 0);
        assert_int_equal(trace_writer_flush(bg.w), 0);
    }
    feed_calls(&fg, 2345);
    feed_calls(&bg, 2345);
    size_t fg_len, bg_len;
    const uint8_t *a = feed_bytes(&fg, drop, &fg_len), *b = feed_bytes(&bg, drop, &bg_len);
    assert_true(fg_len > 20 * CHUNK / 10);
    assert_int_equal(bg_len, fg_len);
    assert_memory_equal(b, a, fg_len);
    feed_end(&fg);
    feed_end(&bg);
}

static void test_background_compressor_writes_the_same_bytes(void **state)
{
    (void)state;
    check_background_bytes(0);
}

/* Freed without a close while its compressor holds a chunk, the writer
 * lets it finish: only the open chunk is lost, as without the thread. */
static void test_background_compressor_finishes_its_chunk_when_freed(void **state)
{
    (void)state;
    check_background_bytes(1);
}

/* A write that fails in the compressor's thread is not lost: the writer's
 * next call returns it, and every call after that TRACE_E_STATE. */
static void test_background_write_error_reaches_the_next_call(void **state)
{
    (void)state;
    static struct feed f;
    feed_start_with(&f, 1, 600 * 1024); /* the file header and a few chunks */
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < 20000; i++)
        rc = feed_call_rc(&f);
    if (rc == 0)
        rc = trace_writer_flush(f.w);
    assert_int_equal(rc, TRACE_E_IO);
    assert_int_equal(trace_writer_flush(f.w), TRACE_E_STATE);
    assert_int_equal(trace_writer_close(f.w), TRACE_E_STATE);
    feed_end(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* first: before any test's freed memory is there to be reused */
        cmocka_unit_test(test_writer_workspace_is_resident_from_the_start),
        cmocka_unit_test(test_writer_memory_is_fixed_after_the_first_chunks),
        cmocka_unit_test(test_writer_memory_is_bounded_by_a_chunk),
        cmocka_unit_test(test_writer_chunks_are_the_frames_of_a_fresh_context),
        cmocka_unit_test(test_background_compressor_writes_the_same_bytes),
        cmocka_unit_test(test_background_compressor_finishes_its_chunk_when_freed),
        cmocka_unit_test(test_background_write_error_reaches_the_next_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
