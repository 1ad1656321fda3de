/* hostile: a guest that tries one attack on its controller, named by argv[1].
 *
 *   hostile ATTACK [ARG...]
 *
 * Built with the guest runtime (guest/) and $(GUEST_CFLAGS) only: it runs
 * under the seccomp jail, where no sanitizer belongs. Attacks on the wire
 * use the runtime's raw access (sg_raw_write/sg_raw_read/sg_raw_serve);
 * the others use the ordinary wrappers with arguments a well-behaved
 * program would never pass, or direct system calls. An attack that the
 * controller answers (with a refusal) prints what it got on stdout, one
 * "name: result" line per probe, and exits 0; tests/hostile/test_hostile.c
 * checks the controller's reaction to each (docs/security.md tabulates
 * them). `hostile list` prints every attack. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest/sandbox_guest.h"

#define PAGE 4096u

static const char *ename(int e)
{
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

/* The guest fd the probes report on (2 once an attack closed fd 1). */
static int report_fd = 1;

/* One probe's result: "what: value" or "what: -1 ENAME". */
static void report(const char *what, int64_t r, int err)
{
    if (r < 0)
        sg_dprintf(report_fd, "%s: %lld %s\n", what, (long long)r, ename(err));
    else
        sg_dprintf(report_fd, "%s: %lld\n", what, (long long)r);
}

/* Runs one probe with errno cleared first and reports its result. */
#define PROBE(what, expr)                                                      \
    do {                                                                       \
        errno = 0;                                                             \
        int64_t probe_r_ = (int64_t)(expr);                                    \
        report((what), probe_r_, errno);                                       \
    } while (0)

/* Waits for the controller: returns only when the command pipe ends (the
 * controller is expected to end this guest before that). */
static int wait_for_controller(void)
{
    char c;
    while (sg_raw_read(&c, 1) == 1)
        ;
    return 0;
}

/* A request built by hand: length byte, text (as given, any bytes), args. */
static size_t raw_request(unsigned char *dst, size_t cap, unsigned len_byte, const void *text,
                          size_t text_len, const uint64_t *args, size_t nargs)
{
    size_t n = 1 + text_len + 8 * nargs;
    if (n > cap)
        abort();
    dst[0] = (unsigned char)len_byte;
    memcpy(dst + 1, text, text_len);
    if (nargs)
        memcpy(dst + 1 + text_len, args, 8 * nargs);
    return n;
}

static void send_text(const char *text, const uint64_t *args, size_t nargs)
{
    unsigned char buf[1024];
    size_t len = strlen(text);
    size_t n = raw_request(buf, sizeof buf, (unsigned)len, text, len, args, nargs);
    sg_raw_write(buf, n);
}

/* Two pages mapped, the second one unmapped again: the first page's end is
 * a cliff (any access past it faults). Returns the start of the first page. */
static unsigned char *page_before_cliff(void)
{
    unsigned char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        abort();
    munmap(p + PAGE, PAGE);
    return p;
}

/* ------------------------------------------------ malformed requests */

static int a_zero_length(int argc, char **argv)
{
    unsigned char b = 0;
    sg_raw_write(&b, 1);
    return wait_for_controller();
}

static int a_name_255_no_parens(int argc, char **argv)
{
    unsigned char buf[256];
    buf[0] = 255;
    memset(buf + 1, 'a', 255);
    sg_raw_write(buf, sizeof buf);
    return wait_for_controller();
}

static int a_name_255_unknown(int argc, char **argv)
{
    /* A well-formed text of the largest length, naming nothing known. */
    char text[256];
    memset(text, 'x', 251);
    memcpy(text + 251, "()i", 4);
    send_text(text, NULL, 0);
    return wait_for_controller();
}

static int a_length_past_eof(int argc, char **argv)
{
    /* The length byte promises 200 bytes; 10 come, then the guest exits. */
    unsigned char buf[11];
    buf[0] = 200;
    memcpy(buf + 1, "getpid()i\0", 10);
    sg_raw_write(buf, sizeof buf);
    return 0;
}

static int a_no_parens(int argc, char **argv)
{
    send_text("getpid", NULL, 0);
    return wait_for_controller();
}

static int a_unknown_arg_kind(int argc, char **argv)
{
    uint64_t a = 1;
    send_text("close(x)i", &a, 1);
    return wait_for_controller();
}

static int a_unknown_result_kind(int argc, char **argv)
{
    send_text("getpid()q", NULL, 0);
    return wait_for_controller();
}

static int a_nul_in_text(int argc, char **argv)
{
    unsigned char buf[16];
    size_t n = raw_request(buf, sizeof buf, 10, "get\0pid()i", 10, NULL, 0);
    sg_raw_write(buf, n);
    return wait_for_controller();
}

static int a_binary_text(int argc, char **argv)
{
    static const unsigned char text[] = { 'g', 0xff, 0x01, 't', 'p', 'i', 'd', '(', ')', 'i' };
    unsigned char buf[16];
    size_t n = raw_request(buf, sizeof buf, sizeof text, text, sizeof text, NULL, 0);
    sg_raw_write(buf, n);
    return wait_for_controller();
}

static int a_unbalanced_parens(int argc, char **argv)
{
    uint64_t a = 1;
    send_text("close((i)i", &a, 1);
    return wait_for_controller();
}

static int a_too_many_args(int argc, char **argv)
{
    char text[64] = "sum(";
    size_t n = strlen(text);
    for (int i = 0; i < 33; i++)
        text[n++] = 'i';
    memcpy(text + n, ")i", 3);
    uint64_t args[33] = { 0 };
    send_text(text, args, 33);
    return wait_for_controller();
}

static int a_args_cut_by_eof(int argc, char **argv)
{
    /* write(ipi)i with one of its three arguments, then the end. */
    unsigned char buf[32];
    uint64_t fd = 1;
    size_t n = raw_request(buf, sizeof buf, 11, "write(ipi)i", 11, &fd, 1);
    sg_raw_write(buf, n);
    return 0;
}

static int a_garbage_after_request(int argc, char **argv)
{
    /* A valid getpid() and, in the same write, bytes that are no request. */
    unsigned char buf[64];
    size_t n = raw_request(buf, sizeof buf, 9, "getpid()i", 9, NULL, 0);
    memcpy(buf + n, "\x08garbage!", 9);
    sg_raw_write(buf, n + 9);
    uint64_t pid = sg_raw_serve('i');
    (void)pid;
    return wait_for_controller();
}

static int a_unknown_function(int argc, char **argv)
{
    /* With --allow-unknown the controller refuses it with ENOSYS instead. */
    errno = 0;
    int64_t r = sg_res_i(sg_call("escape_sandbox(i)i", SG_ARGS(sg_arg_i(1))));
    report("escape_sandbox", r, errno);
    return 0;
}

/* ------------------------------------------------ replies to R, Z, M */

/* Sends `text` raw and reads the first command's header (op, then two
 * 8-byte fields for R/Z, one for M). */
static char send_and_read_command(const char *text, const uint64_t *args, size_t nargs,
                                  uint64_t *f1, uint64_t *f2)
{
    send_text(text, args, nargs);
    char op = 0;
    if (sg_raw_read(&op, 1) != 1)
        exit(3);
    *f1 = *f2 = 0;
    if (op == 'R' || op == 'Z' || op == 'W') {
        sg_raw_read(f1, 8);
        sg_raw_read(f2, 8);
    } else if (op == 'M') {
        sg_raw_read(f1, 8);
    }
    return op;
}

static int a_z_reply_too_long(int argc, char **argv)
{
    static const char path[] = "/tmp";
    uint64_t ptr, maxlen;
    char op = send_and_read_command("open(pii)i", SG_ARGS(sg_arg_p(path), 0, 0), &ptr, &maxlen);
    if (op != 'Z')
        return 4;
    uint64_t len = maxlen + 1; /* one more than asked for */
    sg_raw_write(&len, sizeof len);
    return wait_for_controller();
}

static int a_z_reply_huge(int argc, char **argv)
{
    static const char path[] = "/tmp";
    uint64_t ptr, maxlen;
    char op = send_and_read_command("open(pii)i", SG_ARGS(sg_arg_p(path), 0, 0), &ptr, &maxlen);
    if (op != 'Z')
        return 4;
    uint64_t len = (uint64_t)1 << 40;
    sg_raw_write(&len, sizeof len);
    return wait_for_controller();
}

static int a_r_reply_short(int argc, char **argv)
{
    static const char text[] = "0123456789abcdef0123456789abcdef";
    uint64_t ptr, size;
    char op = send_and_read_command("write(ipi)i", SG_ARGS(1, sg_arg_p(text), 32), &ptr, &size);
    if (op != 'R')
        return 4;
    sg_raw_write(text, 10); /* 10 of the 32 bytes, then the end */
    return 0;
}

/* Sends opendir("/") raw, answers the controller's Z with "/", and reads
 * the M that would allocate the DIR *, leaving its pointer reply to the
 * caller. Returns 0, or 4 / 5 when the controller did not send Z / M. */
static int opendir_until_its_m(void)
{
    static const char path[] = "/";
    uint64_t ptr, maxlen;
    char op = send_and_read_command("opendir(p)p", SG_ARGS(sg_arg_p(path)), &ptr, &maxlen);
    if (op != 'Z')
        return 4;
    uint64_t len = 1;
    sg_raw_write(&len, 8);
    sg_raw_write("/", 1);
    char m;
    uint64_t size = 0;
    if (sg_raw_read(&m, 1) != 1 || m != 'M' || sg_raw_read(&size, 8) != 8 || size > 4096)
        return 5;
    char payload[4096];
    sg_raw_read(payload, (size_t)size);
    return 0;
}

static int a_m_reply_null(int argc, char **argv)
{
    /* opendir's DIR * comes from an M: answer it with NULL. */
    int rc = opendir_until_its_m();
    if (rc)
        return rc;
    uint64_t null = 0;
    sg_raw_write(&null, 8);
    errno = 0;
    uint64_t r = sg_raw_serve('p');
    report("opendir with M answered NULL", r ? 0 : -1, errno);
    return 0;
}

static int a_m_reply_forged(int argc, char **argv)
{
    /* opendir's M answered with an address the guest never allocated: the
     * controller keeps it only as a handle; its readdir W then faults in
     * the guest, not in the controller. */
    int rc = opendir_until_its_m();
    if (rc)
        return rc;
    uint64_t forged = 0x10;
    sg_raw_write(&forged, 8);
    SG_DIR *d = sg_res_p(sg_raw_serve('p'));
    sg_printf("opendir returned %p\n", (void *)d);
    sg_readdir(d);
    sg_printf("readdir survived\n");
    return 0;
}

static int a_m_reply_eof(int argc, char **argv)
{
    uint64_t f1, f2;
    char op = send_and_read_command("getcwd(pi)p", SG_ARGS(0, 0), &f1, &f2);
    if (op != 'M')
        return 4;
    return 0; /* the end, no pointer */
}

/* ------------------------------------------------ lying counts and pointers */

static int a_write_count_1gib(int argc, char **argv)
{
    /* 1 GiB claimed; only 1 MiB exists. The controller reads at most its
     * per-call cap and gives a short count. */
    size_t have = 1u << 20;
    unsigned char *buf = mmap(NULL, have, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        return 3;
    memset(buf, 'w', have);
    errno = 0;
    ssize_t r = sg_write(1, buf, (size_t)1 << 30);
    sg_printf("\n");
    report("write of 1 GiB", r, errno);
    return 0;
}

static int a_write_count_past_mapping(int argc, char **argv)
{
    /* 16 real bytes before a cliff, 1 GiB claimed: the controller's R makes
     * the guest fault on its own memory. */
    unsigned char *p = page_before_cliff();
    memset(p, 'x', PAGE);
    sg_write(1, p + PAGE - 16, (size_t)1 << 30);
    return 0;
}

static int a_read_count_1gib(int argc, char **argv)
{
    size_t have = 1u << 20;
    unsigned char *buf = mmap(NULL, have, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        return 3;
    errno = 0;
    ssize_t r = sg_read(0, buf, (size_t)1 << 30);
    report("read of 1 GiB", r, errno);
    return 0;
}

static int a_read_count_past_mapping(int argc, char **argv)
{
    unsigned char *p = page_before_cliff();
    sg_read(0, p + PAGE - 16, (size_t)1 << 30);
    return 0;
}

static int a_negative_count(int argc, char **argv)
{
    static char buf[16];
    PROBE("write count -1", sg_write(1, buf, (size_t)-1));
    PROBE("read count -1", sg_read(0, buf, (size_t)-1));
    return 0;
}

static int a_z_no_nul(int argc, char **argv)
{
    /* A whole page of 'A' with no NUL in it, as a path: the controller's Z
     * is bounded by its path limit. */
    unsigned char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 3;
    memset(p, 'A', 2 * PAGE);
    PROBE("open of a path without NUL", sg_open((const char *)p, O_RDONLY, 0));
    return 0;
}

static int a_z_no_nul_at_cliff(int argc, char **argv)
{
    /* 100 bytes without NUL, then unmapped memory: the guest's own strnlen
     * faults when the controller asks for the string. */
    unsigned char *p = page_before_cliff();
    memset(p, 'A', PAGE);
    sg_open((const char *)p + PAGE - 100, O_RDONLY, 0);
    return 0;
}

static int a_wild_pointer_path(int argc, char **argv)
{
    struct stat st;
    sg_stat64((const char *)(uintptr_t)0xdead0000ull, &st);
    return 0;
}

static int a_wild_pointer_buffer(int argc, char **argv)
{
    /* stat of a real path into a pointer the guest never owned. */
    sg_stat64("/", (struct stat *)(uintptr_t)0x10);
    return 0;
}

static int a_kernel_pointer(int argc, char **argv)
{
    sg_write(1, (const void *)(uintptr_t)0xffffffff81000000ull, 64);
    return 0;
}

static int a_null_pointers(int argc, char **argv)
{
    struct stat st;
    PROBE("open(NULL)", sg_open(NULL, O_RDONLY, 0));
    PROBE("stat64(NULL)", sg_stat64(NULL, &st));
    PROBE("stat64(\"/\", NULL)", sg_stat64("/", NULL));
    PROBE("write(1, NULL, 5)", sg_write(1, NULL, 5));
    PROBE("read(0, NULL, 5)", sg_read(0, NULL, 5));
    return 0;
}

/* ------------------------------------------------ M size bombs */

static int a_m_bomb_opendir(int argc, char **argv)
{
    /* Each opendir costs an M of a struct dirent in the guest: never
     * closed, the count is bounded by the fd table. */
    int n = 0;
    errno = 0;
    while (n < 100000 && sg_opendir("/"))
        n++;
    sg_printf("opendir succeeded %d times, then %s\n", n, ename(errno));
    return 0;
}

static int a_m_bomb_getcwd(int argc, char **argv)
{
    /* getcwd(NULL, huge): the controller allocates the path's length, not
     * the size the guest names. */
    errno = 0;
    char *p = sg_getcwd(NULL, (size_t)1 << 62);
    if (!p) {
        report("getcwd(NULL, 2^62)", -1, errno);
        return 0;
    }
    sg_printf("getcwd(NULL, 2^62): '%s' (%zu bytes)\n", p, strlen(p));
    return 0;
}

static int a_m_bomb_getenv(int argc, char **argv)
{
    /* 20000 getenv of the same name: one allocation, handed out again. */
    char *first = NULL;
    int distinct = 0;
    for (int i = 0; i < 20000; i++) {
        char *v = sg_getenv("HOSTILE");
        if (v != first) {
            distinct++;
            first = v;
        }
    }
    sg_printf("getenv: %d distinct pointer(s), value '%s'\n", distinct, first ? first : "(null)");
    return 0;
}

/* ------------------------------------------------ paths */

/* Opens `path` read-only; prints the result and the first bytes read. */
static int open_and_show(const char *path)
{
    errno = 0;
    int fd = sg_open(path, O_RDONLY, 0);
    report("open", fd, errno);
    if (fd >= 0) {
        char buf[65];
        errno = 0;
        ssize_t n = sg_read(fd, buf, 64);
        if (n >= 0) {
            buf[n] = '\0';
            sg_printf("read: %zd '%s'\n", n, buf);
        } else {
            report("read", n, errno);
        }
    }
    return 0;
}

static int a_open_path(int argc, char **argv)
{
    return open_and_show(argc > 2 ? argv[2] : "/");
}

static int a_path_embedded_nul(int argc, char **argv)
{
    /* What the controller sees ends at the first NUL. */
    static const char path[] = "/data/secret\0/../../../../etc/passwd";
    return open_and_show(path);
}

static int a_path_very_long(int argc, char **argv)
{
    static char path[8192];
    for (size_t i = 0; i + 3 < sizeof path - 16; i += 3)
        memcpy(path + i, "/./", 3);
    PROBE("open of an 8 KiB path", sg_open(path, O_RDONLY, 0));
    char name[300];
    name[0] = '/';
    memset(name + 1, 'n', 298);
    name[299] = '\0';
    PROBE("stat of a 298-byte name", sg_access(name, 0));
    return 0;
}

static int a_proc_self(int argc, char **argv)
{
    char buf[256];
    struct stat st;
    PROBE("open /proc/self/exe", sg_open("/proc/self/exe", O_RDONLY, 0));
    PROBE("readlink /proc/self/exe", sg_readlink("/proc/self/exe", buf, sizeof buf));
    PROBE("open /proc/self/mem", sg_open("/proc/self/mem", O_RDWR, 0));
    PROBE("stat /proc/1/root", sg_stat64("/proc/1/root", &st));
    PROBE("open /proc/self/fd/1", sg_open("/proc/self/fd/1", O_WRONLY, 0));
    return 0;
}

static int a_chdir_escape(int argc, char **argv)
{
    PROBE("chdir /data", sg_chdir("/data"));
    for (int i = 0; i < 10; i++)
        sg_chdir("..");
    char cwd[256];
    sg_printf("cwd after 10 x chdir(\"..\"): '%s'\n", sg_getcwd(cwd, sizeof cwd) ? cwd : "?");
    PROBE("open etc/passwd", sg_open("etc/passwd", O_RDONLY, 0));
    int dfd = sg_open("/data", O_RDONLY | O_DIRECTORY, 0);
    PROBE("openat(/data, ../../etc/passwd)", sg_openat(dfd, "../../etc/passwd", O_RDONLY, 0));
    PROBE("openat(/data, ../data/secret)", sg_openat(dfd, "../data/secret", O_RDONLY, 0));
    return 0;
}

static int a_write_outside_tmp(int argc, char **argv)
{
    PROBE("open /data/new O_CREAT", sg_open("/data/new", O_WRONLY | O_CREAT, 0644));
    PROBE("open /data/secret O_RDWR", sg_open("/data/secret", O_RDWR, 0));
    PROBE("mkdir /evil", sg_mkdir("/evil", 0755));
    PROBE("unlink /data/secret", sg_unlink("/data/secret"));
    PROBE("rename /data/secret /tmp/x", sg_rename("/data/secret", "/tmp/x"));
    return 0;
}

static int a_tmp_quota(int argc, char **argv)
{
    /* 1 MiB into a writable /tmp whose quota is smaller. */
    int fd = sg_open("/tmp/big", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        report("open /tmp/big", fd, errno);
        return 0;
    }
    static char chunk[16384];
    memset(chunk, 'q', sizeof chunk);
    long total = 0;
    ssize_t r = 0;
    errno = 0;
    for (int i = 0; i < 64; i++) {
        r = sg_write(fd, chunk, sizeof chunk);
        if (r <= 0)
            break;
        total += r;
    }
    sg_printf("wrote %ld bytes to /tmp/big, then %s\n", total, r < 0 ? ename(errno) : "no error");
    PROBE("pwrite at 1 TiB", sg_pwrite(fd, chunk, 1, (off_t)1 << 40));
    PROBE("ftruncate to 1 TiB", sg_ftruncate(fd, (off_t)1 << 40));
    PROBE("lseek to 2^62", sg_lseek(fd, (off_t)1 << 62, SEEK_SET));
    PROBE("write at 2^62", sg_write(fd, chunk, 1));
    return 0;
}

static int a_tmp_grow_truncate(int argc, char **argv)
{
    /* Grows a file to most of the quota (3 MiB of --tmp-write=4M), truncates
     * it to 0 and goes on with the next file, by ftruncate and by writes:
     * a quota that counts sizes and not buffers lets the controller hold
     * 3 MiB per file. */
    static char chunk[256 * 1024];
    memset(chunk, 'g', sizeof chunk);
    char path[64];
    int grown = 0, written = 0, r = 0;
    errno = 0;
    for (int i = 0; i < 48 && r >= 0; i++) {
        snprintf(path, sizeof path, "/tmp/g%d", i);
        int fd = r = sg_open(path, O_RDWR | O_CREAT, 0644);
        if (fd < 0)
            break;
        if ((r = sg_ftruncate(fd, 3 << 20)) == 0 && (r = sg_ftruncate(fd, 0)) == 0)
            grown++;
        sg_close(fd);
    }
    sg_printf("ftruncate to 3 MiB and back to 0, 48 files: %d grew, then %s\n", grown,
              r < 0 ? ename(errno) : "no error");
    errno = 0;
    for (int i = 0; i < 16 && r >= 0; i++) {
        snprintf(path, sizeof path, "/tmp/w%d", i);
        int fd = r = sg_open(path, O_RDWR | O_CREAT, 0644);
        if (fd < 0)
            break;
        for (int k = 0; k < 12 && r >= 0; k++)
            r = sg_write(fd, chunk, sizeof chunk) == (ssize_t)sizeof chunk ? 0 : -1;
        if (r == 0 && (r = sg_ftruncate(fd, 0)) == 0)
            written++;
        sg_close(fd);
    }
    sg_printf("write 3 MiB and ftruncate to 0, 16 files: %d grew, then %s\n", written,
              r < 0 ? ename(errno) : "no error");
    return 0;
}

static int a_tmp_entry_bomb(int argc, char **argv)
{
    /* Empty files and directories cost the controller memory too: each
     * is charged to the /tmp quota. */
    int n = 0, r = 0;
    char path[64];
    errno = 0;
    for (; n < 100000; n++) {
        snprintf(path, sizeof path, n % 2 ? "/tmp/d%d" : "/tmp/f%d", n);
        if (n % 2) {
            r = sg_mkdir(path, 0755);
        } else {
            r = sg_open(path, O_WRONLY | O_CREAT, 0644);
            if (r >= 0)
                r = sg_close(r);
        }
        if (r < 0)
            break;
    }
    sg_printf("created %d entries in /tmp, then %s\n", n, r < 0 ? ename(errno) : "no error");
    return 0;
}

static int a_tmp_tricks(int argc, char **argv)
{
    /* Renames and removals that would corrupt a naive tree: a directory
     * moved into itself, the cwd or an open directory removed under the
     * guest's feet. */
    PROBE("mkdir /tmp/a", sg_mkdir("/tmp/a", 0755));
    PROBE("mkdir /tmp/a/b", sg_mkdir("/tmp/a/b", 0755));
    PROBE("rename /tmp/a /tmp/a/b/c", sg_rename("/tmp/a", "/tmp/a/b/c"));
    PROBE("rename /tmp/a /tmp/a", sg_rename("/tmp/a", "/tmp/a"));
    PROBE("rename /tmp/a/b /tmp", sg_rename("/tmp/a/b", "/tmp"));
    PROBE("rename /tmp /tmp/x", sg_rename("/tmp", "/tmp/x"));
    PROBE("rmdir /tmp", sg_rmdir("/tmp"));
    PROBE("rmdir /tmp/a", sg_rmdir("/tmp/a"));
    PROBE("unlink /tmp/a", sg_unlink("/tmp/a"));
    PROBE("rmdir /tmp/a/b/..", sg_rmdir("/tmp/a/b/.."));
    PROBE("chdir /tmp/a/b", sg_chdir("/tmp/a/b"));
    int dfd = sg_open("/tmp/a/b", O_RDONLY | O_DIRECTORY, 0);
    SG_DIR *d = sg_opendir("/tmp/a/b");
    PROBE("rmdir /tmp/a/b (cwd, open, streamed)", sg_rmdir("/tmp/a/b"));
    char cwd[256];
    PROBE("getcwd in a removed directory", sg_getcwd(cwd, sizeof cwd) ? 0 : -1);
    PROBE("create in the removed cwd", sg_open("x", O_WRONLY | O_CREAT, 0644));
    PROBE("openat the removed directory", sg_openat(dfd, "y", O_WRONLY | O_CREAT, 0644));
    PROBE("mkdir ../b again", sg_mkdir("/tmp/a/b", 0755));
    PROBE("readdir of the removed stream", sg_readdir(d) ? 0 : -1);
    PROBE("closedir", sg_closedir(d));
    PROBE("close dfd", sg_close(dfd));
    PROBE("chdir /", sg_chdir("/"));
    PROBE("rmdir /tmp/a/b", sg_rmdir("/tmp/a/b"));
    PROBE("rmdir /tmp/a", sg_rmdir("/tmp/a"));
    return 0;
}

/* ------------------------------------------------ descriptors */

static int a_fd_exhaustion(int argc, char **argv)
{
    int n = 0, fd;
    errno = 0;
    while (n < 100000 && (fd = sg_open("/dev/null", O_RDONLY, 0)) >= 0)
        n++;
    sg_printf("opened /dev/null %d times, then %s\n", n, ename(errno));
    /* The table is full; closing one makes room for exactly one more. */
    PROBE("close 3", sg_close(3));
    PROBE("open after close", sg_open("/dev/null", O_RDONLY, 0));
    return 0;
}

static int a_fd_never_opened(int argc, char **argv)
{
    char buf[16];
    struct stat st;
    static const int64_t fds[] = { 77, -1, 255, 256, 100000, (int64_t)1 << 40, INT64_MIN };
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        int64_t fd = fds[i];
        char what[64];
        snprintf(what, sizeof what, "read(%lld)", (long long)fd);
        PROBE(what, sg_res_i(sg_call("read(ipi)i", SG_ARGS(sg_arg_i(fd), sg_arg_p(buf), 16))));
        snprintf(what, sizeof what, "lseek(%lld)", (long long)fd);
        PROBE(what, sg_res_i(sg_call("lseek(iii)i", SG_ARGS(sg_arg_i(fd), 0, SEEK_SET))));
        snprintf(what, sizeof what, "close(%lld)", (long long)fd);
        PROBE(what, sg_res_i(sg_call("close(i)i", SG_ARGS(sg_arg_i(fd)))));
        snprintf(what, sizeof what, "fstat64(%lld)", (long long)fd);
        PROBE(what, sg_res_i(sg_call("fstat64(ip)i", SG_ARGS(sg_arg_i(fd), sg_arg_p(&st)))));
    }
    return 0;
}

static int a_fd_closed_std(int argc, char **argv)
{
    /* Closing the virtual fd 1, then writing to it, then reusing the number. */
    report_fd = 2;
    PROBE("close(1)", sg_close(1));
    PROBE("write(1) after close", sg_write(1, "lost\n", 5));
    errno = 0;
    int fd = sg_open("/dev/null", O_RDONLY, 0);
    report("open /dev/null", fd, errno);
    PROBE("write(1) now /dev/null read-only", sg_write(1, "lost\n", 5));
    return 0;
}

static int a_readdir_not_dir(int argc, char **argv)
{
    char cwdblock_probe[8];
    (void)cwdblock_probe;
    char *block = sg_getcwd(NULL, 0); /* a block the controller allocated: not a DIR */
    void *bogus[] = { (void *)(uintptr_t)0x1234, block, (void *)cwdblock_probe };
    static const char *names[] = { "0x1234", "getcwd's block", "a stack address" };
    for (int i = 0; i < 3; i++) {
        char what[64];
        snprintf(what, sizeof what, "readdir(%s)", names[i]);
        errno = 0;
        struct dirent *d = sg_readdir(bogus[i]);
        report(what, d ? 0 : -1, errno);
        snprintf(what, sizeof what, "closedir(%s)", names[i]);
        PROBE(what, sg_closedir(bogus[i]));
        snprintf(what, sizeof what, "dirfd(%s)", names[i]);
        PROBE(what, sg_dirfd(bogus[i]));
    }
    /* A real stream, closed twice. */
    SG_DIR *d = sg_opendir("/");
    PROBE("closedir(d)", sg_closedir(d));
    PROBE("closedir(d) again", sg_closedir(d));
    PROBE("readdir(d) after closedir", sg_readdir(d) ? 0 : -1);
    return 0;
}

/* ------------------------------------------------ resources */

static int a_busy_loop(int argc, char **argv)
{
    volatile unsigned long n = 0;
    for (;;)
        n++;
    return 0;
}

static int a_request_never_completed(int argc, char **argv)
{
    /* Half a request, then the guest waits for an answer that cannot come. */
    unsigned char buf[8] = { 50, 'g', 'e', 't', 'p', 'i', 'd', '(' };
    sg_raw_write(buf, sizeof buf);
    return wait_for_controller();
}

static int a_never_reads_commands(int argc, char **argv)
{
    /* A read(0) whose answer (a W of up to 256 KiB) the guest never takes
     * from its stdin; it sends more requests instead, until its own pipe
     * is full. The controller, blocked writing, must still end it. */
    static char buf[1 << 18];
    uint64_t args[3] = { 0, sg_arg_p(buf), sizeof buf };
    send_text("read(ipi)i", args, 3);
    for (;;)
        send_text("getpid()i", NULL, 0);
    return 0;
}

static int a_exit_with_request_open(int argc, char **argv)
{
    /* A request, and the end before its answer. */
    send_text("getpid()i", NULL, 0);
    return 5;
}

static int a_memory_bomb(int argc, char **argv)
{
    size_t total = 0;
    for (;;) {
        unsigned char *p = malloc(1u << 20);
        if (!p)
            abort(); /* as any program would on an allocation failure */
        memset(p, 1, 1u << 20);
        total += 1u << 20;
        if (total > ((size_t)16 << 30))
            break;
    }
    sg_printf("allocated %zu bytes without a limit\n", total);
    return 0;
}

static int a_stdout_flood(int argc, char **argv)
{
    static char chunk[8192];
    memset(chunk, 'o', sizeof chunk);
    for (int i = 0; i < 100000; i++)
        if (sg_write(1, chunk, sizeof chunk) < 0)
            break;
    return 0;
}

static int a_devnull_flood(int argc, char **argv)
{
    /* 256 KiB writes to /dev/null: no output, nothing against --max-output,
     * but every byte crosses the pipe and goes into the trace. Bytes a
     * compressor cannot shrink; 64 MiB in all. */
    static unsigned char chunk[256 * 1024];
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < sizeof chunk; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        chunk[i] = (unsigned char)x;
    }
    int fd = sg_open("/dev/null", O_WRONLY, 0);
    int n = 0;
    for (; n < 256; n++)
        if (sg_write(fd, chunk, sizeof chunk) != (ssize_t)sizeof chunk)
            break;
    sg_printf("wrote %d blocks of 256 KiB to /dev/null\n", n);
    return 0;
}

static int a_signature_flood(int argc, char **argv)
{
    /* 70000 distinct signatures nobody knows (refused with ENOSYS under
     * --allow-unknown): more than a trace can name (TRACE_MAX_SIGNATURES). */
    char sig[32];
    int n = 0;
    for (; n < 70000; n++) {
        snprintf(sig, sizeof sig, "unknown_%d()i", n);
        errno = 0;
        if (sg_res_i(sg_call(sig, NULL, 0)) != -1 || errno != ENOSYS)
            break;
    }
    sg_printf("%d distinct unknown signatures refused\n", n);
    return 0;
}

static int a_stderr_flood(int argc, char **argv)
{
    /* Straight onto its real fd 2, bypassing the protocol. */
    static char chunk[8192];
    memset(chunk, 'e', sizeof chunk);
    for (int i = 0; i < 100000; i++)
        if (write(2, chunk, sizeof chunk) < 0)
            break;
    return 0;
}

static int a_calls_flood(int argc, char **argv)
{
    for (int i = 0; i < 1000000; i++)
        sg_getpid();
    return 0;
}

/* ------------------------------------------------ direct system calls */

static int a_direct_open_write(int argc, char **argv)
{
    int fd = open("/tmp/hostile-was-here", O_WRONLY | O_CREAT, 0644);
    sg_printf("direct open for writing returned %d\n", fd);
    return 0;
}

static int a_direct_socket(int argc, char **argv)
{
    long fd = syscall(SYS_socket, 2 /* AF_INET */, 1 /* SOCK_STREAM */, 0);
    sg_printf("direct socket returned %ld\n", fd);
    return 0;
}

static int a_direct_fork(int argc, char **argv)
{
    long pid = syscall(SYS_fork);
    if (pid == 0)
        _exit(0);
    sg_printf("direct fork returned %ld\n", pid);
    return 0;
}

static int a_direct_clone(int argc, char **argv)
{
    long pid = syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
    if (pid == 0)
        _exit(0);
    sg_printf("direct clone returned %ld\n", pid);
    return 0;
}

static int a_direct_execve(int argc, char **argv)
{
    char *const args[] = { "/bin/sh", "-c", "echo escaped", NULL };
    char *const env[] = { NULL };
    long r = syscall(SYS_execve, "/bin/sh", args, env);
    sg_printf("direct execve returned %ld\n", r);
    return 0;
}

static int a_direct_kill(int argc, char **argv)
{
    /* A harmless signal (SIGCONT to itself): the point is the call. */
    long r = syscall(SYS_kill, (long)getpid(), (long)SIGCONT);
    sg_printf("direct kill returned %ld\n", r);
    return 0;
}

static int a_direct_ptrace(int argc, char **argv)
{
    long r = syscall(SYS_ptrace, 0L /* PTRACE_TRACEME */, 0L, 0L, 0L);
    sg_printf("direct ptrace returned %ld\n", r);
    return 0;
}

static int a_direct_getppid(int argc, char **argv)
{
    long r = syscall(SYS_getppid);
    sg_printf("direct getppid returned %ld\n", r);
    return 0;
}

static int a_sigstop(int argc, char **argv)
{
    /* raise(SIGSTOP): a tgkill the jail does not allow. Without the jail
     * the guest stops, and only the timeout ends it. */
    raise(SIGSTOP);
    sg_printf("resumed after SIGSTOP\n");
    return 0;
}

static int a_close_stdout_then_spin(int argc, char **argv)
{
    /* The request pipe closes (EOF for the controller) while the guest
     * runs on. */
    close(1);
    volatile unsigned long n = 0;
    for (;;)
        n++;
    return 0;
}

static int a_close_stdout_then_exit(int argc, char **argv)
{
    sg_printf("before close\n");
    close(1);
    return 9;
}

static int a_close_stdout_then_request(int argc, char **argv)
{
    close(1);
    sg_getpid(); /* the runtime cannot send it: "sandbox:" line, abort() */
    return 0;
}

/* ------------------------------------------------ process */

static int a_fork_request(int argc, char **argv)
{
    PROBE("fork() request", sg_fork());
    PROBE("execve request",
           sg_res_i(sg_call("execve(ppp)i", SG_ARGS(sg_arg_p("/bin/sh"), 0, 0))));
    PROBE("kill request", sg_res_i(sg_call("kill(ii)i", SG_ARGS(1, 9))));
    return 0;
}

static int a_write_after_exit(int argc, char **argv)
{
    /* _exit(3) and a write request in the same write(): the write must
     * never be answered. */
    static const char text[] = "after _exit\n";
    unsigned char buf[128];
    uint64_t code = 3;
    size_t n = raw_request(buf, sizeof buf, 9, "_exit(i)v", 9, &code, 1);
    uint64_t wargs[3] = { 1, sg_arg_p(text), sizeof text - 1 };
    n += raw_request(buf + n, sizeof buf - n, 11, "write(ipi)i", 11, wargs, 3);
    sg_raw_write(buf, n);
    sg_raw_serve('v');
    sg_write(1, text, sizeof text - 1);
    return 0;
}

static int a_exit_with_status_code(int argc, char **argv)
{
    /* A guest exiting with a code the controller also uses for a status. */
    return 76;
}

/* ------------------------------------------------------------------ */

struct attack {
    const char *name;
    int (*fn)(int argc, char **argv);
};

static const struct attack attacks[] = {
    { "zero-length", a_zero_length },
    { "name-255-no-parens", a_name_255_no_parens },
    { "name-255-unknown", a_name_255_unknown },
    { "length-past-eof", a_length_past_eof },
    { "no-parens", a_no_parens },
    { "unknown-arg-kind", a_unknown_arg_kind },
    { "unknown-result-kind", a_unknown_result_kind },
    { "nul-in-text", a_nul_in_text },
    { "binary-text", a_binary_text },
    { "unbalanced-parens", a_unbalanced_parens },
    { "too-many-args", a_too_many_args },
    { "args-cut-by-eof", a_args_cut_by_eof },
    { "garbage-after-request", a_garbage_after_request },
    { "unknown-function", a_unknown_function },
    { "z-reply-too-long", a_z_reply_too_long },
    { "z-reply-huge", a_z_reply_huge },
    { "r-reply-short", a_r_reply_short },
    { "m-reply-null", a_m_reply_null },
    { "m-reply-forged", a_m_reply_forged },
    { "m-reply-eof", a_m_reply_eof },
    { "write-count-1gib", a_write_count_1gib },
    { "write-count-past-mapping", a_write_count_past_mapping },
    { "read-count-1gib", a_read_count_1gib },
    { "read-count-past-mapping", a_read_count_past_mapping },
    { "negative-count", a_negative_count },
    { "z-no-nul", a_z_no_nul },
    { "z-no-nul-at-cliff", a_z_no_nul_at_cliff },
    { "wild-pointer-path", a_wild_pointer_path },
    { "wild-pointer-buffer", a_wild_pointer_buffer },
    { "kernel-pointer", a_kernel_pointer },
    { "null-pointers", a_null_pointers },
    { "m-bomb-opendir", a_m_bomb_opendir },
    { "m-bomb-getcwd", a_m_bomb_getcwd },
    { "m-bomb-getenv", a_m_bomb_getenv },
    { "open-path", a_open_path },
    { "path-embedded-nul", a_path_embedded_nul },
    { "path-very-long", a_path_very_long },
    { "proc-self", a_proc_self },
    { "chdir-escape", a_chdir_escape },
    { "write-outside-tmp", a_write_outside_tmp },
    { "tmp-quota", a_tmp_quota },
    { "tmp-grow-truncate", a_tmp_grow_truncate },
    { "tmp-entry-bomb", a_tmp_entry_bomb },
    { "tmp-tricks", a_tmp_tricks },
    { "fd-exhaustion", a_fd_exhaustion },
    { "fd-never-opened", a_fd_never_opened },
    { "fd-closed-std", a_fd_closed_std },
    { "readdir-not-dir", a_readdir_not_dir },
    { "busy-loop", a_busy_loop },
    { "request-never-completed", a_request_never_completed },
    { "never-reads-commands", a_never_reads_commands },
    { "exit-with-request-open", a_exit_with_request_open },
    { "memory-bomb", a_memory_bomb },
    { "stdout-flood", a_stdout_flood },
    { "stderr-flood", a_stderr_flood },
    { "devnull-flood", a_devnull_flood },
    { "signature-flood", a_signature_flood },
    { "calls-flood", a_calls_flood },
    { "direct-open-write", a_direct_open_write },
    { "direct-socket", a_direct_socket },
    { "direct-fork", a_direct_fork },
    { "direct-clone", a_direct_clone },
    { "direct-execve", a_direct_execve },
    { "direct-kill", a_direct_kill },
    { "direct-ptrace", a_direct_ptrace },
    { "direct-getppid", a_direct_getppid },
    { "sigstop", a_sigstop },
    { "close-stdout-then-spin", a_close_stdout_then_spin },
    { "close-stdout-then-exit", a_close_stdout_then_exit },
    { "close-stdout-then-request", a_close_stdout_then_request },
    { "fork-request", a_fork_request },
    { "write-after-exit", a_write_after_exit },
    { "exit-with-status-code", a_exit_with_status_code },
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        sg_eprintf("usage: hostile ATTACK [ARG...] ('hostile list' lists them)\n");
        return 2;
    }
    if (!strcmp(argv[1], "list")) {
        for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++)
            sg_printf("%s\n", attacks[i].name);
        return 0;
    }
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++)
        if (!strcmp(argv[1], attacks[i].name))
            return attacks[i].fn(argc, argv);
    sg_eprintf("hostile: unknown attack '%s'\n", argv[1]);
    return 2;
}
