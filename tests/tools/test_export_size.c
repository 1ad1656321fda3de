/* export --format perfetto warns when its output will be larger than 1 GB:
 * the estimate (bytes written so far, scaled by the share of the trace read)
 * is tested here on the exporter's own function, since a test cannot write
 * a gigabyte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/testutil.h"
#include "tools/options.c"
#include "tools/progress.c"
#include "tools/trace_calls.c"
#include "tools/trace_cli.c"
#include "tools/trace_print.c"
#include "tools/trace_print_args.c"
#include "tools/trace_print_filter.c"
#include "tools/cmd_export.c"

/* Runs export_flush with `written` bytes pending after `in` of `total`
 * input bytes were read; returns what it printed on stderr. */
static char *flush_warning(uint64_t written, uint64_t in, uint64_t total, int quiet,
                           uint64_t first, const char *what)
{
    char path[] = "/tmp/sandtrace-export-size-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    assert_int_equal(dup2(fd, 2), 2);
    struct tcli_trace t;
    memset(&t, 0, sizeof t);
    t.bytes_read = in;
    t.total = total;
    struct tcli_out out;
    memset(&out, 0, sizeof out);
    out.cmd = "export";
    out.f = fopen("/dev/null", "w");
    struct tcli_common c;
    tcli_common_init(&c);
    c.first = first;
    struct export x = { .t = &t, .out = &out, .c = &c, .warned = quiet };
    st_buf_init(&x.b, 0);
    x.written = written - (2u << 20);
    for (size_t i = 0; i < (2u << 20); i += 8)
        st_buf_add(&x.b, "01234567", 8);
    export_flush(&x, 0, what);
    st_buf_release(&x.b);
    fclose(out.f);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    char *buf = calloc(1, 4096);
    assert_non_null(buf);
    assert_true(read(fd, buf, 4095) >= 0);
    close(fd);
    unlink(path);
    return buf;
}

static void test_perfetto_export_warns_when_the_output_will_pass_1_gb(void **state)
{
    (void)state;
    /* 200 MB written after 10% of the trace: about 2 GB. */
    char *m = flush_warning(200000000, 5000000, 50000000, 0, 0, "Perfetto");
    assert_string_equal(m, "sandtrace export: warning: the Perfetto output will be about 2.0 GB "
                           "(0.2 GB written after 10% of the trace); ui.perfetto.dev may not "
                           "load it: --events A..B or -e trace=SET export a part\n");
    free(m);
    /* 50 MB after 10%: about 0.5 GB, no warning. */
    m = flush_warning(50000000, 5000000, 50000000, 0, 0, "Perfetto");
    assert_string_equal(m, "");
    free(m);
    /* -q, a range (the share is unknown), JSON lines, and too early to tell: none. */
    m = flush_warning(200000000, 5000000, 50000000, 1, 0, "Perfetto");
    assert_string_equal(m, "");
    free(m);
    m = flush_warning(200000000, 5000000, 50000000, 0, 10, "Perfetto");
    assert_string_equal(m, "");
    free(m);
    m = flush_warning(200000000, 5000000, 50000000, 0, 0, NULL);
    assert_string_equal(m, "");
    free(m);
    m = flush_warning(200000000, 1000000, 50000000, 0, 0, "Perfetto");
    assert_string_equal(m, "");
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_perfetto_export_warns_when_the_output_will_pass_1_gb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
