/* The man page (docs/sandtrace.1) and the help texts agree: every command
 * that `sandtrace help` lists has a section, every command's --help works,
 * and every long option a --help mentions is documented. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/testutil.h"

#define MAN_PATH ST_SOURCE_DIR "/docs/sandtrace.1"

/* The man page as plain text: roff's \- and \fX font escapes removed. */
static char *man_text(void)
{
    FILE *f = fopen(MAN_PATH, "r");
    if (!f)
        fail_msg("cannot open '%s'", MAN_PATH);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *raw = malloc((size_t)n + 1), *txt = malloc((size_t)n + 1);
    assert_non_null(raw);
    assert_non_null(txt);
    assert_int_equal(fread(raw, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    raw[n] = '\0';
    size_t j = 0;
    for (long i = 0; i < n; i++) {
        if (raw[i] == '\\' && raw[i + 1] == '-') {
            txt[j++] = '-';
            i++;
        } else if (raw[i] == '\\' && raw[i + 1] == 'f' && raw[i + 2]) {
            i += 2;
        } else {
            txt[j++] = raw[i];
        }
    }
    txt[j] = '\0';
    free(raw);
    return txt;
}

/* The command names of `sandtrace help` ("  NAME  summary" lines). */
static size_t help_commands(char names[][32], size_t cap)
{
    struct tu_run r = tu_run_sandtrace((const char *[]){ "help", NULL }, NULL);
    assert_int_equal(r.status, 0);
    size_t n = 0;
    const char *p = strstr(r.out, "commands:\n");
    assert_non_null(p);
    p += strlen("commands:\n");
    while (*p == ' ' && n < cap) {
        while (*p == ' ')
            p++;
        size_t k = strcspn(p, " \n");
        if (k == 0 || k >= 32)
            break;
        memcpy(names[n], p, k);
        names[n][k] = '\0';
        n++;
        p = strchr(p, '\n');
        if (!p)
            break;
        p++;
    }
    tu_run_release(&r);
    return n;
}

static void test_man_page_has_a_section_for_every_command(void **state)
{
    (void)state;
    char names[64][32];
    size_t n = help_commands(names, 64);
    assert_true(n >= 11);
    char *man = man_text();
    for (size_t i = 0; i < n; i++) {
        char want[64];
        snprintf(want, sizeof want, ".SS \"sandtrace %s ", names[i]);
        if (!strstr(man, want))
            fail_msg("docs/sandtrace.1 has no section for command '%s'", names[i]);
    }
    assert_non_null(strstr(man, ".SS \"sandtrace help"));
    assert_non_null(strstr(man, ".SH EXIT STATUS"));
    assert_non_null(strstr(man, ".SH EXPORT SCHEMA"));
    free(man);
}

static void test_every_command_help_exits_zero_and_its_options_are_documented(void **state)
{
    (void)state;
    char names[64][32];
    size_t n = help_commands(names, 64);
    char *man = man_text();
    for (size_t i = 0; i < n; i++) {
        struct tu_run r = tu_run_sandtrace((const char *[]){ names[i], "--help", NULL }, NULL);
        if (r.status != 0)
            fail_msg("'sandtrace %s --help' exited %d", names[i], r.status);
        char usage[64];
        snprintf(usage, sizeof usage, "usage: sandtrace %s", names[i]);
        if (!strstr(r.out, usage))
            fail_msg("'sandtrace %s --help' does not start with '%s'", names[i], usage);
        /* Every --long-option it mentions is in the man page. */
        for (const char *p = r.out; (p = strstr(p, "--")); ) {
            const char *s = p + 2;
            size_t k = 0;
            while ((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= '0' && s[k] <= '9') || (s[k] == '-' && k > 0))
                k++;
            while (k > 0 && s[k - 1] == '-')
                k--;
            if (k > 0) {
                char opt[64];
                snprintf(opt, sizeof opt, "--%.*s", (int)k, s);
                /* Followed by something that ends the name in the man page. */
                const char *m = man;
                int found = 0;
                while ((m = strstr(m, opt))) {
                    char after = m[strlen(opt)];
                    if (!((after >= 'a' && after <= 'z') || after == '-')) {
                        found = 1;
                        break;
                    }
                    m++;
                }
                if (!found)
                    fail_msg("option '%s' of 'sandtrace %s' is not in docs/sandtrace.1", opt, names[i]);
            }
            p = s + k;
        }
        tu_run_release(&r);
    }
    free(man);
}

static void test_help_command_matches_command_help(void **state)
{
    (void)state;
    struct tu_run a = tu_run_sandtrace((const char *[]){ "help", "dump", NULL }, NULL);
    struct tu_run b = tu_run_sandtrace((const char *[]){ "dump", "--help", NULL }, NULL);
    assert_int_equal(a.status, 0);
    assert_string_equal(a.out, b.out);
    tu_run_release(&a);
    tu_run_release(&b);
}

/* groff, where installed, renders the page without a warning. */
static void test_man_page_renders_without_warnings(void **state)
{
    (void)state;
    if (access("/usr/bin/groff", X_OK) != 0)
        skip();
    const char *argv[] = { "/usr/bin/groff", "-man", "-ww", "-z", MAN_PATH, NULL };
    struct tu_run r = tu_run(argv, NULL);
    assert_int_equal(r.status, 0);
    if (r.err_len)
        fail_msg("groff warns: %s", r.err);
    tu_run_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_man_page_has_a_section_for_every_command),
        cmocka_unit_test(test_every_command_help_exits_zero_and_its_options_are_documented),
        cmocka_unit_test(test_help_command_matches_command_help),
        cmocka_unit_test(test_man_page_renders_without_warnings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
