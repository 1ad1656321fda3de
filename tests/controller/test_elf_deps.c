/* Reading an ELF file's loader needs (controller/elf_deps.h), which is
 * hostile input, and planning the guest's root from them
 * (controller/fsjail.h): a real guest and crafted objects give what
 * readelf would; every truncation and thousands of corruptions of real and
 * crafted files give an error or a bounded result, never a crash (make
 * check runs this under ASan); a crafted executable cannot get a host file
 * that is not a library put into the guest's root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "controller/elf_deps.h"
#include "controller/error.h"
#include "controller/fsjail.h"
#include "tests/testutil.h"

/* Builds a small ELF64 shared object or executable of this machine in
 * `buf`: one PT_LOAD covering the file, PT_INTERP when `interp`, PT_DYNAMIC
 * with DT_NEEDED for each of `needed` (NULL-terminated) and DT_RUNPATH when
 * `runpath`. Returns its size. */
static size_t make_elf(unsigned char *buf, size_t cap, int type, const char *interp,
                       const char *const *needed, const char *runpath)
{
    memset(buf, 0, cap);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_type = (Elf64_Half)type;
#if defined(__x86_64__)
    eh->e_machine = EM_X86_64;
#elif defined(__aarch64__)
    eh->e_machine = EM_AARCH64;
#endif
    eh->e_version = EV_CURRENT;
    eh->e_phoff = sizeof *eh;
    eh->e_phentsize = sizeof(Elf64_Phdr);
    eh->e_ehsize = sizeof *eh;
    eh->e_phnum = 3;
    Elf64_Phdr *ph = (Elf64_Phdr *)(buf + eh->e_phoff);
    size_t off = eh->e_phoff + 3 * sizeof(Elf64_Phdr);
    /* Strings first. */
    size_t str_off = off, n = 1;
    char *str = (char *)buf + str_off;
    size_t interp_at = 0, runpath_at = 0, needed_at[128];
    size_t nneeded = 0;
    if (interp) {
        interp_at = n;
        strcpy(str + n, interp);
        n += strlen(interp) + 1;
    }
    for (; needed && needed[nneeded]; nneeded++) {
        needed_at[nneeded] = n;
        strcpy(str + n, needed[nneeded]);
        n += strlen(needed[nneeded]) + 1;
    }
    if (runpath) {
        runpath_at = n;
        strcpy(str + n, runpath);
        n += strlen(runpath) + 1;
    }
    size_t dyn_off = (str_off + n + 7) & ~(size_t)7;
    Elf64_Dyn *dyn = (Elf64_Dyn *)(buf + dyn_off);
    size_t nd = 0;
    for (size_t i = 0; i < nneeded; i++)
        dyn[nd++] = (Elf64_Dyn){ DT_NEEDED, { needed_at[i] } };
    if (runpath)
        dyn[nd++] = (Elf64_Dyn){ DT_RUNPATH, { runpath_at } };
    dyn[nd++] = (Elf64_Dyn){ DT_STRTAB, { 0x10000 + str_off } };
    dyn[nd++] = (Elf64_Dyn){ DT_STRSZ, { n } };
    dyn[nd++] = (Elf64_Dyn){ DT_NULL, { 0 } };
    size_t size = dyn_off + nd * sizeof(Elf64_Dyn);
    assert_true(size <= cap);
    ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0, .p_vaddr = 0x10000,
                          .p_filesz = size, .p_memsz = size };
    ph[1] = (Elf64_Phdr){ .p_type = PT_DYNAMIC, .p_offset = dyn_off, .p_vaddr = 0x10000 + dyn_off,
                          .p_filesz = nd * sizeof(Elf64_Dyn) };
    if (interp)
        ph[2] = (Elf64_Phdr){ .p_type = PT_INTERP, .p_offset = str_off + interp_at,
                              .p_filesz = strlen(interp) + 1 };
    else
        ph[2] = (Elf64_Phdr){ .p_type = PT_NOTE };
    return size;
}

static int memfd_with(const void *data, size_t len)
{
    int fd = memfd_create("elf", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    return fd;
}

/* A successful parse stays inside its arena, every string NUL-terminated. */
static void check_bounded(const struct st_elf_deps *d)
{
    const char *lo = d->arena, *hi = d->arena + sizeof d->arena;
    const char *strs[ST_ELF_MAX_NEEDED + 3];
    size_t n = 0;
    strs[n++] = d->interp;
    strs[n++] = d->runpath;
    strs[n++] = d->rpath;
    assert_true(d->nneeded <= ST_ELF_MAX_NEEDED);
    for (size_t i = 0; i < d->nneeded; i++)
        strs[n++] = d->needed[i];
    for (size_t i = 0; i < n; i++) {
        if (!strs[i])
            continue;
        assert_true(strs[i] >= lo && strs[i] < hi);
        assert_non_null(memchr(strs[i], 0, (size_t)(hi - strs[i])));
    }
}

static void test_elf_deps_reads_a_real_guest(void **state)
{
    (void)state;
    int fd = open(tu_guest("hello"), O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    static struct st_elf_deps d;
    assert_int_equal(st_elf_deps_read(fd, &d), 0);
    close(fd);
    assert_true(d.dynamic);
    assert_non_null(d.interp);
    assert_true(d.interp[0] == '/' && strstr(d.interp, "ld-"));
    int libc = 0;
    for (size_t i = 0; i < d.nneeded; i++)
        libc |= !strcmp(d.needed[i], "libc.so.6");
    assert_true(libc);
}

static void test_elf_deps_reads_a_crafted_object(void **state)
{
    (void)state;
    static unsigned char buf[8192];
    size_t len = make_elf(buf, sizeof buf, ET_DYN, "/lib/ld.so",
                          (const char *[]){ "liba.so.1", "libb.so", NULL }, "$ORIGIN/../lib");
    int fd = memfd_with(buf, len);
    static struct st_elf_deps d;
    assert_int_equal(st_elf_deps_read(fd, &d), 0);
    close(fd);
    assert_string_equal(d.interp, "/lib/ld.so");
    assert_int_equal(d.nneeded, 2);
    assert_string_equal(d.needed[0], "liba.so.1");
    assert_string_equal(d.needed[1], "libb.so");
    assert_string_equal(d.runpath, "$ORIGIN/../lib");
    assert_null(d.rpath);
}

/* Every prefix of a real guest and of a crafted object: an error or a
 * bounded result, and the whole file parses. */
static void test_elf_deps_survives_every_truncation(void **state)
{
    (void)state;
    static unsigned char crafted[8192];
    size_t clen = make_elf(crafted, sizeof crafted, ET_DYN, "/lib/ld.so",
                           (const char *[]){ "liba.so.1", NULL }, "/x");
    int rfd = open(tu_guest("hello"), O_RDONLY | O_CLOEXEC);
    assert_true(rfd >= 0);
    struct stat st;
    assert_int_equal(fstat(rfd, &st), 0);
    size_t rlen = (size_t)st.st_size < 65536 ? (size_t)st.st_size : 65536;
    unsigned char *real = malloc(rlen);
    assert_int_equal(pread(rfd, real, rlen, 0), (ssize_t)rlen);
    close(rfd);
    static struct st_elf_deps d;
    const unsigned char *files[2] = { crafted, real };
    size_t lens[2] = { clen, rlen };
    for (int f = 0; f < 2; f++) {
        int fd = memfd_create("elf", MFD_CLOEXEC);
        int ok = 0;
        for (size_t cut = 0; cut <= lens[f]; cut++) {
            assert_int_equal(ftruncate(fd, 0), 0);
            assert_int_equal(pwrite(fd, files[f], cut, 0), (ssize_t)cut);
            int rc = st_elf_deps_read(fd, &d);
            if (rc == 0) {
                check_bounded(&d);
                ok++;
            } else if (rc != ST_E_ELF) {
                fail_msg("file %d cut at %zu: %d", f, cut, rc);
            }
            if (cut < sizeof(Elf64_Ehdr))
                assert_int_equal(rc, ST_E_ELF);
        }
        /* The crafted file parses only whole (its dynamic segment ends it). */
        if (f == 0)
            assert_int_equal(ok, 1);
        close(fd);
    }
    free(real);
}

/* Random corruption (a fixed seed: the same every run) of headers, the
 * dynamic segment and the strings. */
static void test_elf_deps_survives_corruption(void **state)
{
    (void)state;
    static unsigned char orig[8192], buf[8192];
    size_t len = make_elf(orig, sizeof orig, ET_DYN, "/lib/ld.so",
                          (const char *[]){ "liba.so.1", "libb.so", "libc.so", NULL }, "$ORIGIN");
    static struct st_elf_deps d;
    unsigned seed = 12345;
    int fd = memfd_create("elf", MFD_CLOEXEC);
    size_t parsed = 0;
    for (int trial = 0; trial < 20000; trial++) {
        memcpy(buf, orig, len);
        int flips = 1 + (int)(rand_r(&seed) % 4);
        for (int k = 0; k < flips; k++) {
            size_t at = (size_t)rand_r(&seed) % len;
            /* Half the time an extreme value (0, 0xff), else random. */
            int how = rand_r(&seed) % 4;
            buf[at] = how == 0 ? 0 : how == 1 ? 0xff : (unsigned char)rand_r(&seed);
        }
        assert_int_equal(ftruncate(fd, 0), 0);
        assert_int_equal(pwrite(fd, buf, len, 0), (ssize_t)len);
        int rc = st_elf_deps_read(fd, &d);
        if (rc == 0) {
            check_bounded(&d);
            parsed++;
        } else {
            assert_int_equal(rc, ST_E_ELF);
        }
    }
    close(fd);
    /* Some corruptions hit bytes nobody reads: the test saw both sides. */
    assert_true(parsed > 0 && parsed < 20000);
}

/* Hand-made lies: counts and offsets past the end, a string with no NUL,
 * too many libraries, another machine. */
static void test_elf_deps_refuses_lies(void **state)
{
    (void)state;
    static unsigned char buf[8192];
    static struct st_elf_deps d;
    const char *many[80];
    for (int i = 0; i < 79; i++)
        many[i] = "l.so";
    many[79] = NULL;
    size_t len = make_elf(buf, sizeof buf, ET_DYN, NULL, many, NULL);
    int fd = memfd_with(buf, len);
    assert_int_equal(st_elf_deps_read(fd, &d), ST_E_ELF);
    close(fd);
    for (int lie = 0; lie < 6; lie++) {
        len = make_elf(buf, sizeof buf, ET_DYN, "/lib/ld.so", (const char *[]){ "a.so", NULL }, NULL);
        Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
        Elf64_Phdr *ph = (Elf64_Phdr *)(buf + eh->e_phoff);
        Elf64_Dyn *dyn = (Elf64_Dyn *)(buf + ph[1].p_offset);
        switch (lie) {
        case 0: eh->e_phnum = 0xffff; break;
        case 1: eh->e_phoff = UINT64_MAX - 8; break;
        case 2: ph[1].p_offset = UINT64_MAX - 100; break;
        case 3: dyn[0].d_un.d_val = 1u << 30; break;           /* DT_NEEDED past DT_STRSZ */
        case 4: dyn[2].d_un.d_val = UINT64_MAX; break;         /* DT_STRSZ past the file */
        case 5: eh->e_machine = EM_SPARCV9; break;
        }
        fd = memfd_with(buf, len);
        if (st_elf_deps_read(fd, &d) != ST_E_ELF)
            fail_msg("lie %d accepted", lie);
        close(fd);
    }
    /* A string that runs to the end of the string table without its NUL. */
    len = make_elf(buf, sizeof buf, ET_DYN, NULL, (const char *[]){ "a.so", NULL }, NULL);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
    Elf64_Phdr *ph = (Elf64_Phdr *)(buf + eh->e_phoff);
    Elf64_Dyn *dyn = (Elf64_Dyn *)(buf + ph[1].p_offset);
    size_t str_off = eh->e_phoff + 3 * sizeof(Elf64_Phdr), at = dyn[0].d_un.d_val;
    buf[str_off + at + 4] = 'X';         /* "a.soX..." */
    dyn[2].d_un.d_val = at + 5;          /* DT_STRSZ ends right after the X */
    fd = memfd_with(buf, len);
    assert_int_equal(st_elf_deps_read(fd, &d), ST_E_ELF);
    close(fd);
}

/* The plan for a real guest: the executable at /sandbox/NAME, its
 * interpreter and libc. */
static void test_fsjail_plan_of_a_real_guest(void **state)
{
    (void)state;
    unsigned avail = st_fsjail_available();
    if (!(avail & ST_LAYER_MNTNS))
        skip();
    struct st_fsjail *j;
    char *envp[] = { "LANG=C.UTF-8", NULL };
    assert_int_equal(st_fsjail_plan(&j, tu_guest("hello"), envp, ST_LAYERS_NS), 0);
    assert_string_equal(st_fsjail_exec_path(j), "/sandbox/hello");
    assert_string_equal(st_fsjail_exe_dir(j), "/sandbox/");
    assert_true(st_fsjail_count(j) >= 4); /* exe, interpreter, libc, ld.so.cache */
    st_fsjail_free(j);
    /* No file-system layer: nothing to plan. */
    assert_int_equal(st_fsjail_plan(&j, tu_guest("hello"), envp, ST_LAYER_SECCOMP), ST_E_NOJAIL);
}

/* A crafted executable naming a host file that is not a library, or a
 * library that is nowhere, is refused: the planner binds only ELF shared
 * objects from the system's library directories and the executable's own. */
static void test_fsjail_plan_refuses_what_is_not_a_library(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char secret_dir[2048];
    snprintf(secret_dir, sizeof secret_dir, "%s/secret", dir);
    assert_int_equal(mkdir(secret_dir, 0700), 0);
    tu_write_file(secret_dir, "notes.txt", "secret\n", 7);
    static unsigned char buf[8192];
    char exe[2048], lib[2048];
    snprintf(exe, sizeof exe, "%s/bin/guest", dir);
    char bindir[2048];
    snprintf(bindir, sizeof bindir, "%s/bin", dir);
    assert_int_equal(mkdir(bindir, 0755), 0);
    static const char *const lies[][2] = {
        { "/etc/passwd", NULL },               /* a host file by absolute path */
        { "$ORIGIN/../secret/notes.txt", NULL },
        { "notes.txt", "$ORIGIN/../secret" },  /* found by RUNPATH, but not ELF */
        { "libnowhere.so.9", NULL },
        { "libsecret.so", "$ORIGIN/../secret" }, /* ELF, but outside the allowed places */
    };
    /* An ELF library outside the executable's directory. */
    size_t llen = make_elf(buf, sizeof buf, ET_DYN, NULL, NULL, NULL);
    snprintf(lib, sizeof lib, "%s/secret", dir);
    tu_write_file(lib, "libsecret.so", buf, llen);
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        size_t len = make_elf(buf, sizeof buf, ET_EXEC, NULL,
                              (const char *[]){ lies[i][0], NULL }, lies[i][1]);
        tu_write_file(bindir, "guest", buf, len);
        struct st_fsjail *j = NULL;
        int rc = st_fsjail_plan(&j, exe, NULL, ST_LAYERS_NS);
        if (rc != ST_E_ELF)
            fail_msg("needed '%s' (runpath %s): %d", lies[i][0], lies[i][1] ? lies[i][1] : "-", rc);
        assert_null(j);
    }
    /* The same library beside the executable is taken, at /sandbox. */
    llen = make_elf(buf, sizeof buf, ET_DYN, NULL, NULL, NULL);
    tu_write_file(bindir, "libmine.so", buf, llen);
    size_t len = make_elf(buf, sizeof buf, ET_EXEC, NULL, (const char *[]){ "libmine.so", NULL },
                          "$ORIGIN");
    tu_write_file(bindir, "guest", buf, len);
    struct st_fsjail *j = NULL;
    assert_int_equal(st_fsjail_plan(&j, exe, NULL, ST_LAYERS_NS), 0);
    assert_int_equal(st_fsjail_count(j), 3); /* the executable, libmine.so, ld.so.cache */
    st_fsjail_free(j);
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elf_deps_reads_a_real_guest),
        cmocka_unit_test(test_elf_deps_reads_a_crafted_object),
        cmocka_unit_test(test_elf_deps_survives_every_truncation),
        cmocka_unit_test(test_elf_deps_survives_corruption),
        cmocka_unit_test(test_elf_deps_refuses_lies),
        cmocka_unit_test(test_fsjail_plan_of_a_real_guest),
        cmocka_unit_test(test_fsjail_plan_refuses_what_is_not_a_library),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
