/* pypy_mimic SCRIPT: replays, request by request, what a real PyPy asked a
 * controller for (tests/pypy/data/pypy{,3}-startup-calls.txt, converted to SCRIPT by
 * tests/pypy/test_pypy_transcripts.c) and checks each answer against the one
 * the reference controller gave.
 *
 * SCRIPT is read through the protocol (open/read/close before the mimicked
 * sequence). One request per line, space-separated tokens:
 *   SIGNATURE ARG... [=EXPECT...]
 * ARG:    iDEC integer | n NULL | sHEX pointer to that NUL-terminated string |
 *         bHEX pointer to those bytes | o pointer to a zeroed 64 KiB scratch |
 *         hHEX a pointer the controller handed out earlier (recorded value;
 *         mapped to the one this run handed out)
 * EXPECT: =rDEC integer result | =eDEC errno set by E | =p0 NULL result |
 *         =pHEX non-NULL result, remembered as the live value of HEX |
 *         =stMODE,SIZE,INO the struct stat written to the scratch (SIZE -1:
 *         not meaningful) | =deTYPE,HEX struct dirent at the result |
 *         =tvSEC gettimeofday's seconds | =env environ block that is empty
 *
 * Every difference is either allowed (a category listed in allowed() with
 * the reason) or a failure. The summary goes to fd 2 (write requests after
 * the mimicked sequence); the exit status is 0 only without failures. */
#include "guest/sandbox_guest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXARGS 8
#define SCRATCH (64 * 1024)
#define MAXHANDLES 64
#define NCAT 16

static unsigned char scratch[SCRATCH];

struct handle {
    uint64_t rec, live;
};
static struct handle handles[MAXHANDLES];
static size_t nhandles;

static char cat_names[NCAT][120];
static long cat_counts[NCAT];
static long n_req, n_same, n_allowed, n_fail;
static char fail_text[8][300];

static void count_cat(const char *name)
{
    for (int i = 0; i < NCAT; i++) {
        if (!cat_names[i][0])
            snprintf(cat_names[i], sizeof cat_names[i], "%s", name);
        if (!strcmp(cat_names[i], name)) {
            cat_counts[i]++;
            return;
        }
    }
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes HEX in place (tok points at the hex digits); returns the length. */
static size_t unhex(char *tok)
{
    size_t n = 0;
    for (size_t i = 0; hexval(tok[i]) >= 0 && hexval(tok[i + 1]) >= 0; i += 2)
        tok[n++] = (char)(hexval(tok[i]) * 16 + hexval(tok[i + 1]));
    tok[n] = '\0';
    return n;
}

static uint64_t live_of(uint64_t rec, int *found)
{
    for (size_t i = 0; i < nhandles; i++)
        if (handles[i].rec == rec) {
            *found = 1;
            return handles[i].live;
        }
    *found = 0;
    return 0;
}

static void remember(uint64_t rec, uint64_t live)
{
    for (size_t i = 0; i < nhandles; i++)
        if (handles[i].rec == rec) {
            handles[i].live = live;
            return;
        }
    if (nhandles < MAXHANDLES)
        handles[nhandles++] = (struct handle){ rec, live };
}

/* One request being checked. */
struct req {
    const char *sig;
    const char *path; /* the first string argument, or "" */
    int64_t iargs[MAXARGS];
    char what[2][200]; /* differences: allowed category, or failure text */
    const char *allowed_cat;
    char cat_buf[120];
    int failed;
};

__attribute__((format(printf, 2, 3))) static void fail(struct req *q, const char *fmt, ...)
{
    if (!q->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(q->what[1], sizeof q->what[1], fmt, ap);
        va_end(ap);
    }
    q->failed = 1;
}

static int starts(const char *s, const char *p)
{
    return !strncmp(s, p, strlen(p));
}

/* The allow-list: differences from the reference controller that a real
 * PyPy accepts. Returns the category name, or NULL (a failure). */
static const char *allowed_errno(const struct req *q, long want_res, long want_errno, long got_res,
                                 long got_errno)
{
    /* uname(): the reference refuses with ENOSYS; PyPy falls back on its
     * defaults either way, and a real answer is what CPython would see. */
    if (starts(q->sig, "uname(") && want_res == -1 && want_errno == ENOSYS && got_res == 0)
        return "uname answered (reference: ENOSYS)";
    /* The declared machine's /proc/cpuinfo and /proc/meminfo: the reference
     * has none (ENOENT) and PyPy's GC then guesses, with a warning; we
     * answer (the mimic closes the fd at once, as PyPy does once read). */
    if (starts(q->sig, "open(") && starts(q->path, "/proc/") && want_res == -1 &&
        want_errno == ENOENT && got_res >= 0) {
        sg_call("close(i)i", (uint64_t[]){ (uint64_t)got_res }, 1);
        return "/proc file answered (reference: ENOENT)";
    }
    /* fcntl(1, F_GETFL): ENOSYS in the reference; PyPy only uses the flags
     * to decide on non-blocking mode, and an answer is as good. */
    if (starts(q->sig, "fcntl(") && want_res == -1 && want_errno == ENOSYS && got_res >= 0)
        return "fcntl answered (reference: ENOSYS)";
    /* Writing a .pyc (unlink, open O_CREAT|O_EXCL, mkdir __pycache__) in the
     * read-only /lib: both refuse, PyPy ignores the errno and goes on
     * without caching; the reference says EPERM/ENOENT, we may say EROFS or
     * EACCES. */
    int writes = starts(q->sig, "unlink(") || starts(q->sig, "mkdir(") ||
                 (starts(q->sig, "open(") && (q->iargs[1] & (O_WRONLY | O_RDWR | O_CREAT)));
    if (writes && want_res == -1 && got_res == -1 && starts(q->path, "/lib/") &&
        (got_errno == EROFS || got_errno == EACCES || got_errno == EPERM ||
         got_errno == ENOENT)) {
        static char buf[120];
        snprintf(buf, sizeof buf, "%.*s in read-only /lib refused with %s, reference %s",
                 (int)(strchr(q->sig, '(') - q->sig), q->sig, strerrorname_np((int)got_errno),
                 strerrorname_np((int)want_errno));
        return buf;
    }
    return NULL;
}

static void check_int(struct req *q, long want, int have_e, long want_e, long got, long got_e)
{
    if (want == got && (!have_e || want_e == got_e))
        return;
    if (want == got && want >= 0) {
        /* Same success result, errno differs (e.g. isatty's ENOTTY). */
        fail(q, "%s: result %ld as expected but errno %ld (reference %ld)", q->sig, got, got_e,
             want_e);
        return;
    }
    const char *cat = allowed_errno(q, want, have_e ? want_e : 0, got, got < 0 ? got_e : 0);
    if (cat) {
        snprintf(q->cat_buf, sizeof q->cat_buf, "%s", cat);
        q->allowed_cat = q->cat_buf;
        return;
    }
    fail(q, "%s: result %ld errno %ld, reference %ld errno %ld", q->sig, got, got_e, want,
         have_e ? want_e : 0L);
}

static void check_stat(struct req *q, const char *spec)
{
    long mode = 0, size = 0;
    unsigned long long ino = 0;
    if (sscanf(spec, "%ld,%ld,%llu", &mode, &size, &ino) != 3) {
        fail(q, "%s: bad stat spec '%s'", q->sig, spec);
        return;
    }
    struct stat st;
    memcpy(&st, scratch, sizeof st);
    if ((long)st.st_mode != mode) {
        fail(q, "%s: st_mode 0%lo, reference 0%lo", q->sig, (long)st.st_mode, mode);
        return;
    }
    if (size >= 0 && (long)st.st_size != size) {
        fail(q, "%s: st_size %ld, reference %ld", q->sig, (long)st.st_size, size);
        return;
    }
    /* Inode numbers: the reference numbers nodes in the order it met them,
     * we number them our own way; PyPy compares st_ino only with itself
     * (samefile), never with a constant. */
    if ((unsigned long long)st.st_ino != ino && !q->allowed_cat)
        q->allowed_cat = "st_ino numbered differently";
}

static void check_dirent(struct req *q, uint64_t res, char *spec)
{
    int type = atoi(spec);
    char *comma = strchr(spec, ',');
    if (!comma || !res) {
        fail(q, "%s: NULL, reference an entry", q->sig);
        return;
    }
    unhex(comma + 1);
    const struct dirent *d = (const struct dirent *)(uintptr_t)res;
    char name[256];
    memcpy(name, d->d_name, 255);
    name[255] = '\0';
    if (strcmp(name, comma + 1)) {
        fail(q, "readdir: entry '%s' where the reference has '%s'", name, comma + 1);
        return;
    }
    if (d->d_type != type)
        fail(q, "readdir: '%s' d_type %d, reference %d", name, (int)d->d_type, type);
}

static void run_line(char *line)
{
    char *tok[2 * MAXARGS + 16];
    size_t nt = 0;
    for (char *s = strtok(line, " "); s && nt < sizeof tok / sizeof tok[0]; s = strtok(NULL, " "))
        tok[nt++] = s;
    if (nt == 0)
        return;
    struct req q = { 0 };
    q.sig = tok[0];
    q.path = "";
    uint64_t args[MAXARGS];
    size_t na = 0, t = 1;
    int outbuf = 0;
    n_req++;
    for (; t < nt && tok[t][0] != '=' && na < MAXARGS; t++, na++) {
        char *a = tok[t];
        int found;
        switch (a[0]) {
        case 'i': q.iargs[na] = strtoll(a + 1, NULL, 10); args[na] = (uint64_t)q.iargs[na]; break;
        case 'n': args[na] = 0; break;
        case 's':
        case 'b':
            unhex(a + 1);
            if (a[0] == 's' && !*q.path)
                q.path = a + 1;
            args[na] = (uint64_t)(uintptr_t)(a + 1);
            break;
        case 'o': args[na] = (uint64_t)(uintptr_t)scratch; outbuf = 1; break;
        case 'h':
            args[na] = live_of(strtoull(a + 1, NULL, 16), &found);
            if (!found) {
                fail(&q, "%s: handle %s never handed out", q.sig, a + 1);
                goto done;
            }
            break;
        default: fail(&q, "%s: bad argument token '%s'", q.sig, a); goto done;
        }
    }
    if (outbuf)
        memset(scratch, 0, 4096);
    errno = 0;
    uint64_t res = sg_call(q.sig, args, na);
    long got_e = errno;
    char kind = q.sig[strlen(q.sig) - 1];
    int have_r = 0, have_e = 0;
    long want_r = 0, want_e = 0;
    for (size_t k = t; k < nt; k++)
        if (starts(tok[k], "=r")) {
            have_r = 1;
            want_r = strtol(tok[k] + 2, NULL, 10);
        } else if (starts(tok[k], "=e")) {
            have_e = 1;
            want_e = strtol(tok[k] + 2, NULL, 10);
        }
    if (kind == 'i' && have_r)
        check_int(&q, want_r, have_e, want_e, (long)(int64_t)res, got_e);
    if (q.failed)
        goto done;
    for (size_t k = t; k < nt && !q.failed; k++) {
        char *e = tok[k];
        if (starts(e, "=p0")) {
            if (res)
                fail(&q, "%s: result 0x%lx, reference NULL", q.sig, (unsigned long)res);
        } else if (starts(e, "=p")) {
            if (!res)
                fail(&q, "%s: NULL (errno %ld), reference non-NULL", q.sig, got_e);
            else
                remember(strtoull(e + 2, NULL, 16), res);
        } else if (starts(e, "=st")) {
            if ((int64_t)res == 0)
                check_stat(&q, e + 3);
        } else if (starts(e, "=de")) {
            check_dirent(&q, res, e + 3);
        } else if (starts(e, "=tv")) {
            struct timeval tv;
            memcpy(&tv, scratch, sizeof tv);
            if ((long)tv.tv_sec != strtol(e + 3, NULL, 10))
                fail(&q, "%s: tv_sec %ld, reference %ld", q.sig, (long)tv.tv_sec,
                     strtol(e + 3, NULL, 10));
        } else if (starts(e, "=env")) {
            /* Empty, but for the PYTHONIOENCODING=utf-8 a PyPy run gets
             * under a UTF-8 locale (the reference gives none). */
            char **env = (char **)(uintptr_t)res;
            if (!env || (env[0] && (strcmp(env[0], "PYTHONIOENCODING=utf-8") || env[1])))
                fail(&q, "%s: environ neither empty nor PYTHONIOENCODING=utf-8 alone", q.sig);
        }
    }
done:
    if (q.failed) {
        if (n_fail < 8)
            snprintf(fail_text[n_fail], sizeof fail_text[0], "request %ld %s [%s]: %s", n_req,
                     q.sig, q.path, q.what[1]);
        n_fail++;
    } else if (q.allowed_cat) {
        n_allowed++;
        count_cat(q.allowed_cat);
    } else {
        n_same++;
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        sg_eprintf("usage: pypy_mimic SCRIPT\n");
        return 2;
    }
    int fd = sg_open(argv[1], O_RDONLY, 0);
    if (fd < 0) {
        sg_eprintf("pypy_mimic: cannot open '%s': %s\n", argv[1], strerror(errno));
        return 2;
    }
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap + 1);
    ssize_t n;
    while (text && (n = sg_read(fd, text + len, cap - len)) > 0) {
        len += (size_t)n;
        if (len == cap) {
            cap *= 2;
            text = realloc(text, cap + 1);
        }
    }
    sg_close(fd);
    if (!text) {
        sg_eprintf("pypy_mimic: out of memory\n");
        return 2;
    }
    text[len] = '\0';
    for (char *line = text, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl)
            nl = line + strlen(line) - 1;
        else
            *nl = '\0';
        run_line(line);
    }
    sg_eprintf("pypy_mimic: %ld requests, %ld identical, %ld allowed differences, %ld failures\n",
               n_req, n_same, n_allowed, n_fail);
    for (int i = 0; i < NCAT && cat_names[i][0]; i++)
        sg_eprintf("  allowed: %ld x %s\n", cat_counts[i], cat_names[i]);
    for (long i = 0; i < n_fail && i < 8; i++)
        sg_eprintf("  FAIL %s\n", fail_text[i]);
    free(text);
    return n_fail ? 1 : 0;
}
