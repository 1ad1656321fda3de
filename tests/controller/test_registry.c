/* The signature registry: every real signature is known, with consistent
 * metadata, and lookups reject near misses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "controller/error.h"
#include "controller/registry.h"

static void test_registry_every_entry_is_consistent(void **state)
{
    (void)state;
    assert_int_equal(st_registry_count(), 160);
    for (size_t i = 0; i < st_registry_count(); i++) {
        const struct st_sig *s = st_registry_get((enum st_sig_id)i);
        assert_non_null(s);
        assert_int_equal(s->id, i);
        /* One meaning per wire argument, and a known result kind. */
        if (strlen(s->args) != s->nargs)
            fail_msg("'%s': %zu meanings for %u arguments", s->text, strlen(s->args), s->nargs);
        assert_non_null(strchr("ipfv", s->res_kind));
        for (unsigned a = 0; a < s->nargs; a++)
            assert_non_null(strchr("ipf", s->arg_kinds[a]));
        /* Every meaning is one of argtable.def's. */
        for (unsigned a = 0; a < s->nargs; a++)
            if (!st_arg_info(s->args[a]))
                fail_msg("'%s': argument %u means '%c', which argtable.def lacks", s->text, a, s->args[a]);
        /* Meanings that read or write guest memory sit on pointer arguments. */
        for (unsigned a = 0; a < s->nargs; a++)
            if ((strchr("siogx", s->args[a]) || st_arg_info(s->args[a])->size) && s->arg_kinds[a] != 'p')
                fail_msg("'%s': argument %u means '%c' but is not a pointer", s->text, a, s->args[a]);
        /* A buffer is followed by its length. */
        for (unsigned a = 0; a < s->nargs; a++)
            if ((s->args[a] == 'i' || s->args[a] == 'o') && s->args[a + 1] != 'l')
                fail_msg("'%s': buffer argument %u has no length after it", s->text, a);
        assert_ptr_equal(st_registry_lookup(s->text, strlen(s->text)), s);
        if (i > 0)
            assert_true(strcmp(st_registry_get((enum st_sig_id)(i - 1))->text, s->text) < 0);
    }
}

static void test_registry_lookup_by_text_finds_known_functions(void **state)
{
    (void)state;
    const struct st_sig *s = st_registry_lookup("write(ipi)i", 11);
    assert_non_null(s);
    assert_int_equal(s->id, ST_SIG_write);
    assert_string_equal(s->name, "write");
    assert_string_equal(s->arg_kinds, "ipi");
    assert_int_equal(s->res_kind, 'i');
    assert_int_equal(s->cls, ST_CLASS_DESC);
    assert_int_equal(s->action, ST_ACT_HANDLED);
    s = st_registry_lookup("fork()i", 7);
    assert_non_null(s);
    assert_int_equal(s->action, ST_ACT_REFUSED);
    assert_int_equal(s->nargs, 0);
    s = st_registry_lookup("_pypy_init_home()p", 18);
    assert_non_null(s);
    assert_int_equal(s->res_kind, 'p');
    assert_string_equal(st_sig_class_name(st_registry_lookup("stat64(pp)i", 11)->cls), "file");
}

static void test_registry_lookup_rejects_near_misses(void **state)
{
    (void)state;
    /* Same name, other signature: another function, unknown. */
    assert_null(st_registry_lookup("stat64(pi)i", 11));
    /* A prefix or an extension of a known text. */
    assert_null(st_registry_lookup("write(ipi)", 10));
    assert_null(st_registry_lookup("write(ipi)ii", 12));
    assert_null(st_registry_lookup("write(ipi)i\0", 12));
    assert_null(st_registry_lookup("", 0));
    assert_null(st_registry_get(ST_SIG_COUNT));
}

/* The lookup remembers its last hit: right after a hit, a text of the same
 * length that differs (by a letter, or by an embedded NUL) is still unknown,
 * and the hit is found again. */
static void test_registry_lookup_after_a_hit_rejects_same_length_misses(void **state)
{
    (void)state;
    const struct st_sig *r = st_registry_lookup("read(ipi)i", 10);
    assert_non_null(r);
    assert_string_equal(r->text, "read(ipi)i");
    assert_null(st_registry_lookup("reaX(ipi)i", 10));
    assert_ptr_equal(st_registry_lookup("read(ipi)i", 10), r);
    assert_null(st_registry_lookup("read\0ipi)i", 10));
    assert_null(st_registry_lookup("read(ipi)p", 10));
    assert_ptr_equal(st_registry_lookup("read(ipi)i", 10), r);
    /* Another function of the same length in between. */
    const struct st_sig *o = st_registry_lookup("open(pii)i", 10);
    assert_non_null(o);
    assert_string_equal(o->text, "open(pii)i");
    assert_ptr_equal(st_registry_lookup("read(ipi)i", 10), r);
}

/* The one parser of signature texts takes them apart and refuses what the
 * wire refuses. */
static void test_sig_parse_takes_texts_apart_and_refuses_malformed_ones(void **state)
{
    (void)state;
    struct st_sig_shape sh;
    assert_int_equal(st_sig_parse("fstatat64(ippi)i", 16, &sh), 0);
    assert_int_equal(sh.name_len, 9);
    assert_string_equal(sh.arg_kinds, "ippi");
    assert_int_equal(sh.nargs, 4);
    assert_int_equal(sh.res_kind, 'i');
    assert_int_equal(st_sig_parse("f()v", 4, &sh), 0);
    assert_int_equal(sh.nargs, 0);
    assert_int_equal(st_sig_parse("", 0, &sh), ST_E_ZERO_LENGTH);
    assert_int_equal(st_sig_parse("a-b(i)i", 7, &sh), ST_E_BAD_TEXT);
    assert_int_equal(st_sig_parse("(i)i", 4, &sh), ST_E_BAD_TEXT);
    assert_int_equal(st_sig_parse("f(i)ii", 6, &sh), ST_E_BAD_TEXT);
    assert_int_equal(st_sig_parse("f(x)i", 5, &sh), ST_E_BAD_KIND);
    assert_int_equal(st_sig_parse("f(i)x", 5, &sh), ST_E_BAD_KIND);
    char many[64] = "f(";
    memset(many + 2, 'i', ST_MAX_ARGS + 1);
    strcpy(many + 2 + ST_MAX_ARGS + 1, ")i");
    assert_int_equal(st_sig_parse(many, strlen(many), &sh), ST_E_TOO_MANY_ARGS);
}

/* The failure rule follows the result's meaning. */
static void test_sig_failed_follows_the_result_meaning(void **state)
{
    (void)state;
    const struct st_sig *rd = st_registry_lookup("read(ipi)i", 10);
    const struct st_sig *um = st_registry_lookup("umask(i)i", 9);
    const struct st_sig *gp = st_registry_lookup("getpid()i", 9);
    const struct st_sig *od = st_registry_lookup("opendir(p)p", 11);
    assert_true(st_sig_failed(rd, 'i', (uint64_t)-1, 1));
    assert_false(st_sig_failed(rd, 'i', 5, 0));
    assert_false(st_sig_failed(um, 'i', (uint64_t)-1, 1));
    assert_false(st_sig_failed(gp, 'i', (uint64_t)-1, 0));
    assert_true(st_sig_failed(gp, 'i', (uint64_t)-1, 1));
    assert_true(st_sig_failed(od, 'p', 0, 1));
    assert_false(st_sig_failed(od, 'p', 0x1000, 0));
    assert_true(st_sig_failed(NULL, 'p', 0, 1));
    assert_false(st_sig_failed(NULL, 'i', 0, 1));
}

/* Sizes and decoders come from the tables. */
static void test_registry_knows_sizes_and_decoders(void **state)
{
    (void)state;
    const struct st_sig *st = st_registry_lookup("stat64(pp)i", 11);
    uint64_t args[3] = { 0x1000, 0x2000, 7 };
    assert_int_equal(st_sig_arg_extent(st, args, 2, 1), ST_GUEST_STAT_SIZE);
    assert_int_equal(st_sig_arg_extent(st, args, 2, 0), 0);
    const struct st_sig *rd = st_registry_lookup("read(ipi)i", 10);
    assert_int_equal(st_sig_arg_extent(rd, args, 3, 1), 7);
    assert_int_equal(st_arg_info(ST_ARG_UTSNAME_OUT)->size, 390);
    assert_string_equal(st_arg_info(ST_ARG_DIRFD)->noun, "fd");
    assert_null(st_arg_info('#'));
    assert_int_equal(st_registry_get(ST_SIG_fcntl)->decoder, ST_DEC_FCNTL);
    assert_int_equal(st_registry_get(ST_SIG_read)->decoder, ST_DEC_NONE);
}

/* When the reference lists are beside the checkout (as in CI), every line of
 * them must be in the registry. */
static void test_registry_knows_every_real_signature(void **state)
{
    (void)state;
    const char *files[] = { ST_SOURCE_DIR "/../shared/signatures-pypy2.txt",
                            ST_SOURCE_DIR "/../shared/signatures-pypy3.txt" };
    int seen_files = 0;
    for (size_t f = 0; f < 2; f++) {
        FILE *fp = fopen(files[f], "r");
        if (!fp)
            continue;
        seen_files++;
        char line[256];
        int n = 0;
        while (fgets(line, sizeof line, fp)) {
            if (line[0] == '#' || line[0] == '\n')
                continue;
            line[strcspn(line, "\r\n")] = '\0';
            if (!st_registry_lookup(line, strlen(line)))
                fail_msg("'%s' from %s is not in the registry", line, files[f]);
            n++;
        }
        fclose(fp);
        assert_true(n > 100);
    }
    if (!seen_files)
        skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_every_entry_is_consistent),
        cmocka_unit_test(test_registry_lookup_by_text_finds_known_functions),
        cmocka_unit_test(test_registry_lookup_rejects_near_misses),
        cmocka_unit_test(test_registry_lookup_after_a_hit_rejects_same_length_misses),
        cmocka_unit_test(test_registry_knows_every_real_signature),
        cmocka_unit_test(test_sig_parse_takes_texts_apart_and_refuses_malformed_ones),
        cmocka_unit_test(test_sig_failed_follows_the_result_meaning),
        cmocka_unit_test(test_registry_knows_sizes_and_decoders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
