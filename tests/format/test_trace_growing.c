/* format/: reading a trace that is still being written (`record` running
 * while `dump` or `info` reads its file), or that was cut short.
 *
 * The reader learns the file's size when it opens it; chunks written after
 * that must still be read, a footer written after that must still end the
 * trace cleanly, and a trace that ends without its footer must say so
 * plainly (trace_reader_stats' `incomplete`), never with a size computed
 * from a stale one ("(18446744073709551512 of 36989 bytes)"). */
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "format/trace.h"
#include "tests/format/trace_samples.h"
#include "tests/testutil.h"

/* What the reader says when the data ends without the footer. */
#define INCOMPLETE_WORDS "still being written, or was cut short"
/* A chunk header's size (docs/trace-format.md). */
#define CHUNK_HEAD 104

struct growing {
    char *dir;
    char path[4096];
    struct trace_writer *w;
    uint64_t next; /* the next sample event to add */
};

/* Starts a trace file whose chunks close only on trace_writer_flush. */
static void growing_start(struct growing *g)
{
    g->dir = tu_mkdtemp();
    snprintf(g->path, sizeof g->path, "%s/growing.sbt", g->dir);
    struct trace_io *io;
    assert_int_equal(trace_io_open_file(g->path, TRACE_IO_WRITE, &io), 0);
    struct trace_writer_options o;
    trace_writer_options_init(&o);
    o.chunk_ns = UINT64_MAX;
    struct trace_header h = ts_header();
    assert_int_equal(trace_writer_new(&g->w, io, 1, &h, &o), 0);
    g->next = 0;
}

/* Adds `n` sample events and writes them as one chunk (not closing the trace). */
static void growing_chunk(struct growing *g, uint64_t n)
{
    for (uint64_t end = g->next + n; g->next < end; g->next++) {
        struct trace_event ev;
        ts_event(g->next, &ev);
        assert_int_equal(trace_writer_add_event(g->w, &ev), 0);
    }
    assert_int_equal(trace_writer_flush(g->w), 0);
}

static void growing_end(struct growing *g)
{
    trace_writer_free(g->w);
    tu_rm_rf(g->dir);
    free(g->dir);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

static struct trace_reader *open_path(const char *path)
{
    struct trace_io *io;
    assert_int_equal(trace_io_open_file(path, TRACE_IO_READ, &io), 0);
    struct trace_reader *r = NULL;
    char err[256];
    int rc = trace_reader_open(&r, io, 1, NULL, err, sizeof err);
    if (rc < 0)
        fail_msg("open failed: %s (%s)", trace_error_name(rc), err);
    return r;
}

/* Reads every event, checking each against the samples; returns the last rc. */
static int read_all(struct trace_reader *r, uint64_t *count)
{
    struct trace_event ev;
    int rc;
    *count = 0;
    while ((rc = trace_reader_next(r, &ev)) == 1) {
        struct trace_event want;
        ts_event(*count, &want);
        assert_int_equal(ev.seq, *count);
        assert_int_equal(ev.kind, want.kind);
        assert_int_equal(ev.time_ns, want.time_ns);
        (*count)++;
    }
    return rc;
}

/* No number in the message is a negative one printed unsigned. */
static void assert_sane_message(const char *m)
{
    if (strstr(m, "18446744"))
        fail_msg("the message holds an underflowed size: %s", m);
}

static void test_chunks_written_after_open_are_read(void **state)
{
    (void)state;
    struct growing g;
    growing_start(&g);
    growing_chunk(&g, 100);
    struct trace_reader *r = open_path(g.path);
    /* The recorder goes on after the reader looked at the file. */
    growing_chunk(&g, 150);
    growing_chunk(&g, 50);
    uint64_t n;
    int rc = read_all(r, &n);
    const char *m = trace_reader_error_message(r);
    assert_sane_message(m);
    assert_int_equal(n, 300);
    assert_int_equal(rc, TRACE_E_TRUNCATED);
    assert_non_null(strstr(m, "without a footer"));
    assert_non_null(strstr(m, INCOMPLETE_WORDS));
    struct trace_reader_stats st;
    trace_reader_stats(r, &st);
    assert_int_equal(st.chunks, 3);
    assert_int_equal(st.events, 300);
    assert_int_equal(st.file_bytes, file_size(g.path));
    assert_false(st.footer_seen);
    assert_true(st.incomplete);
    trace_reader_free(r);
    growing_end(&g);
}

static void test_a_footer_written_after_open_ends_the_trace_cleanly(void **state)
{
    (void)state;
    struct growing g;
    growing_start(&g);
    growing_chunk(&g, 40);
    struct trace_reader *r = open_path(g.path);
    growing_chunk(&g, 60);
    assert_int_equal(trace_writer_close(g.w), 0);
    uint64_t n;
    int rc = read_all(r, &n);
    assert_sane_message(trace_reader_error_message(r));
    assert_int_equal(n, 100);
    assert_int_equal(rc, 0);
    struct trace_reader_stats st;
    trace_reader_stats(r, &st);
    assert_true(st.footer_seen);
    assert_false(st.incomplete);
    assert_int_equal(st.file_bytes, file_size(g.path));
    trace_reader_free(r);
    growing_end(&g);
}

/* The reader opens a file holding one chunk; then the file grows by two
 * chunks, the second only partly there (the writer is in the middle of
 * writing it). The reader reads the complete ones and says how much of
 * the last one is there. */
static void test_a_chunk_being_written_is_reported_with_its_real_size(void **state)
{
    (void)state;
    /* The whole trace in memory, with the offsets where its chunks start. */
    struct trace_io *mem = trace_io_mem_writer(0);
    struct trace_writer_options o;
    trace_writer_options_init(&o);
    o.chunk_ns = UINT64_MAX;
    struct trace_header h = ts_header();
    struct trace_writer *w;
    assert_int_equal(trace_writer_new(&w, mem, 0, &h, &o), 0);
    size_t at[4];
    trace_io_mem_data(mem, &at[0]);
    uint64_t seq = 0;
    for (int c = 1; c < 4; c++) {
        for (uint64_t end = seq + 80; seq < end; seq++) {
            struct trace_event ev;
            ts_event(seq, &ev);
            assert_int_equal(trace_writer_add_event(w, &ev), 0);
        }
        assert_int_equal(trace_writer_flush(w), 0);
        trace_io_mem_data(mem, &at[c]);
    }
    size_t len;
    const uint8_t *data = trace_io_mem_data(mem, &len);
    assert_int_equal(len, at[3]);

    char *dir = tu_mkdtemp();
    tu_write_file(dir, "t.sbt", data, at[1]);
    char path[4096];
    snprintf(path, sizeof path, "%s/t.sbt", dir);
    struct trace_reader *r = open_path(path);
    /* Chunk 2 whole, chunk 3's header and half its payload. */
    size_t cut = at[2] + CHUNK_HEAD + (at[3] - at[2] - CHUNK_HEAD) / 2;
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    assert_int_equal(fwrite(data + at[1], 1, cut - at[1], f), cut - at[1]);
    fclose(f);

    uint64_t n;
    int rc = read_all(r, &n);
    const char *m = trace_reader_error_message(r);
    assert_sane_message(m);
    assert_int_equal(n, 160);
    assert_int_equal(rc, TRACE_E_TRUNCATED);
    char want[128];
    snprintf(want, sizeof want, "(%zu of %zu bytes)", cut - at[2] - CHUNK_HEAD, at[3] - at[2] - CHUNK_HEAD);
    if (!strstr(m, want))
        fail_msg("expected '%s' in: %s", want, m);
    assert_non_null(strstr(m, INCOMPLETE_WORDS));
    assert_int_equal(trace_reader_error_offset(r), at[2]);
    struct trace_reader_stats st;
    trace_reader_stats(r, &st);
    assert_true(st.incomplete);
    assert_int_equal(st.file_bytes, cut);
    trace_reader_free(r);
    trace_writer_free(w);
    trace_io_free(mem);
    tu_rm_rf(dir);
    free(dir);
}

/* Cut anywhere after the file header, a trace is incomplete, from memory
 * (size known), from a pipe (size unknown) and for trace_verify alike; a
 * damaged one is not. */
static void test_every_cut_is_incomplete_and_damage_is_not(void **state)
{
    (void)state;
    size_t len;
    uint8_t *t = ts_make_trace(200, 600, NULL, &len);
    struct trace_reader *r;
    struct trace_reader_stats st;
    uint64_t n;
    for (size_t cut = len - 1; cut > len / 3; cut -= 37) {
        char err[256];
        int rc = trace_reader_open(&r, trace_io_mem_reader(t, cut), 1, NULL, err, sizeof err);
        assert_int_equal(rc, 0);
        rc = read_all(r, &n);
        assert_int_equal(rc, TRACE_E_TRUNCATED);
        assert_sane_message(trace_reader_error_message(r));
        assert_non_null(strstr(trace_reader_error_message(r), INCOMPLETE_WORDS));
        trace_reader_stats(r, &st);
        assert_true(st.incomplete);
        assert_false(st.footer_seen);
        trace_reader_free(r);

        struct trace_verify_result vr;
        struct trace_io *io = trace_io_mem_reader(t, cut);
        assert_int_equal(trace_verify(io, NULL, &vr), TRACE_E_TRUNCATED);
        assert_true(vr.incomplete);
        assert_non_null(strstr(vr.message, INCOMPLETE_WORDS));
        trace_io_free(io);

        int p[2];
        assert_int_equal(pipe(p), 0);
        assert_int_equal(write(p[1], t, cut), (ssize_t)cut);
        close(p[1]);
        assert_int_equal(trace_reader_open(&r, trace_io_from_fd(p[0], 1), 1, NULL, NULL, 0), 0);
        assert_int_equal(read_all(r, &n), TRACE_E_TRUNCATED);
        trace_reader_stats(r, &st);
        assert_true(st.incomplete);
        trace_reader_free(r);
    }
    /* Whole: a clean end. */
    assert_int_equal(trace_reader_open(&r, trace_io_mem_reader(t, len), 1, NULL, NULL, 0), 0);
    assert_int_equal(read_all(r, &n), 0);
    assert_int_equal(n, 200);
    trace_reader_stats(r, &st);
    assert_false(st.incomplete);
    trace_reader_free(r);
    /* A flipped byte in the middle: damaged, not incomplete. */
    t[len / 2] ^= 0x40;
    assert_int_equal(trace_reader_open(&r, trace_io_mem_reader(t, len), 1, NULL, NULL, 0), 0);
    int rc = read_all(r, &n);
    assert_true(rc < 0 && rc != TRACE_E_TRUNCATED);
    trace_reader_stats(r, &st);
    assert_false(st.incomplete);
    trace_reader_free(r);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunks_written_after_open_are_read),
        cmocka_unit_test(test_a_footer_written_after_open_ends_the_trace_cleanly),
        cmocka_unit_test(test_a_chunk_being_written_is_reported_with_its_real_size),
        cmocka_unit_test(test_every_cut_is_incomplete_and_damage_is_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
