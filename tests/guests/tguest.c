/* tguest MODE [ARG]: a test guest for the controller's integration tests,
 * each mode one behaviour (good or hostile):
 *   getenv NAME     prints NAME's value or "(unset)"
 *   environ         prints every get_environ() entry, one per line
 *   ids             prints uid gid euid egid pid ppid, getresuid, getgroups
 *   uname           prints sysname and nodename
 *   home            prints _pypy_init_home()'s string, then frees it
 *   exit N          sends _exit(N)
 *   status N        prints one line then returns N from main
 *   unknown         calls a signature no registry knows
 *   refused         calls fork() (a deliberate refusal) and prints errno
 *   syscall         makes a direct socket() system call (jail test)
 *   spin            burns CPU forever
 *   hog             allocates memory until malloc fails, then aborts
 *   zero-length     sends a request with a zero length byte
 *   bad-kind        sends "f(x)i"
 *   too-many-args   sends a request with 33 arguments
 *   truncated       sends half a request and exits 0
 *   flood N         writes N bytes of 'x' to stdout
 *   calls N         makes N getpid() calls and prints nothing
 *   stderr N        writes N bytes to its real fd 2 (no request), then one request
 *   stderr-esc      writes an escape sequence to its real fd 2
 *   nullout         calls with NULL out-pointers and prints each errno
 *   badptr          stat64() of the address 1 (the controller's Z crashes it)
 *   lying-z         answers the controller's Z with a length beyond maxlen
 *   readreal PATH   opens and reads a real file directly (jail test)
 *   statreal PATH   stats a real path directly (newfstatat): prints its result
 *                   and, when it worked, the size it saw (jail test)
 *   prlimitpid PID  reads another process's limit directly (prlimit64):
 *                   prints the result (jail test)
 *   chaos SEED N    N requests, each a random registry signature with random
 *                   arguments (pointers mostly into a valid buffer)
 *   mkfile PATH     creates PATH (O_WRONLY|O_CREAT|O_TRUNC) holding "made\n" */
#include "guest/sandbox_guest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Every signature the controller's registry knows. */
static const char *const all_sigs[] = {
#define SIG(ident, text, cls, args, res, act, err, dec) text,
#include "controller/sigtable.def"
#undef SIG
};

static uint64_t rnd_state;
static uint64_t rnd(void)
{
    /* xorshift64*: deterministic per seed. */
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return rnd_state * 2685821657736338717ull;
}

static void chaos(uint64_t seed, long n)
{
    static char buf[1 << 16];
    static const char *const strs[] = { "/", "/tmp", "/tmp/f", "/dev/urandom", "/dev/null",
                                        "..", "", "/tmp/d/", "/lib", "x" };
    rnd_state = seed * 0x9e3779b97f4a7c15ull + 1;
    for (long i = 0; i < n; i++) {
        /* Fresh strings at known places; the rest of the buffer random. */
        for (size_t k = 0; k < 64; k++)
            buf[4096 + k * 8] = (char)rnd();
        for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++)
            strcpy(buf + k * 32, strs[k]);
        const char *sig = all_sigs[rnd() % (sizeof all_sigs / sizeof all_sigs[0])];
        if (!strncmp(sig, "_exit(", 6))
            continue;
        const char *open = strchr(sig, '(');
        uint64_t args[32];
        size_t na = 0;
        for (const char *k = open + 1; *k != ')' && na < 32; k++) {
            uint64_t r = rnd(), v;
            if (*k == 'p') {
                unsigned pick = (unsigned)(r % 10);
                if (pick < 5)
                    v = (uint64_t)(uintptr_t)(buf + (rnd() % 10) * 32);
                else if (pick < 8)
                    v = (uint64_t)(uintptr_t)(buf + 8192 + (rnd() % 4096) * 8);
                else if (pick < 9)
                    v = 0;
                else
                    v = (uint64_t)(uintptr_t)(buf + 32768);
            } else {
                unsigned pick = (unsigned)(r % 10);
                if (pick < 5)
                    v = (uint64_t)(int64_t)((int)(rnd() % 10) - 2);
                else if (pick < 7)
                    v = rnd() % 65536;
                else if (pick < 8)
                    v = (uint64_t)-100; /* AT_FDCWD */
                else
                    v = rnd();
            }
            args[na++] = v;
        }
        sg_call(sig, args, na);
    }
}

static int raw_request(const char *text, size_t nargs)
{
    unsigned char buf[1024];
    size_t len = strlen(text);
    buf[0] = (unsigned char)len;
    memcpy(buf + 1, text, len);
    memset(buf + 1 + len, 0, nargs * 8);
    sg_raw_write(buf, 1 + len + nargs * 8);
    /* Wait for the controller's verdict (it ends us). */
    char c;
    sg_raw_read(&c, 1);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    const char *arg = argc > 2 ? argv[2] : "";
    if (!strcmp(mode, "getenv")) {
        char *v = sg_getenv(arg);
        sg_printf("%s\n", v ? v : "(unset)");
    } else if (!strcmp(mode, "environ")) {
        char **e = sg_get_environ();
        for (size_t i = 0; e && e[i]; i++)
            sg_printf("%s\n", e[i]);
        sg_printf("end\n");
    } else if (!strcmp(mode, "ids")) {
        uid_t r = 0, ef = 0, sv = 0;
        gid_t gr = 0, ge = 0, gs = 0, groups[4] = { 0 };
        sg_getresuid(&r, &ef, &sv);
        sg_getresgid(&gr, &ge, &gs);
        int ng = sg_getgroups(4, groups);
        sg_printf("uid %d gid %d euid %d egid %d pid %d ppid %d\n", (int)sg_getuid(),
                  (int)sg_getgid(), (int)sg_geteuid(), (int)sg_getegid(), (int)sg_getpid(),
                  (int)sg_getppid());
        sg_printf("resuid %d %d %d resgid %d %d %d groups %d:%d\n", (int)r, (int)ef, (int)sv,
                  (int)gr, (int)ge, (int)gs, ng, (int)groups[0]);
        sg_printf("cpus %d sysconf-page %ld yield %d\n", sg_rpy_cpu_count(), sg_sysconf(30),
                  sg_sched_yield());
    } else if (!strcmp(mode, "uname")) {
        struct utsname u;
        memset(&u, 0, sizeof u);
        if (sg_uname(&u) == 0)
            sg_printf("%s %s %s\n", u.sysname, u.nodename, u.machine);
        else
            sg_printf("uname: %s\n", strerror(errno));
    } else if (!strcmp(mode, "home")) {
        char *h = sg_pypy_init_home();
        sg_printf("home %s\n", h ? h : "(null)");
        if (h)
            sg_pypy_init_free(h);
    } else if (!strcmp(mode, "exit")) {
        sg_exit(atoi(arg));
    } else if (!strcmp(mode, "status")) {
        sg_printf("returning %d\n", atoi(arg));
        return atoi(arg);
    } else if (!strcmp(mode, "unknown")) {
        sg_call("frobnicate(i)i", SG_ARGS(sg_arg_i(1)));
        sg_printf("unknown call returned, errno %s\n", strerror(errno));
    } else if (!strcmp(mode, "refused")) {
        errno = 0;
        pid_t p = sg_fork();
        sg_printf("fork %d %s\n", (int)p, strerror(errno));
    } else if (!strcmp(mode, "syscall")) {
        sg_printf("making a direct system call\n");
        long fd = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
        sg_printf("socket returned %ld\n", fd);
    } else if (!strcmp(mode, "spin")) {
        volatile unsigned long n = 0;
        for (;;)
            n++;
    } else if (!strcmp(mode, "hog")) {
        for (;;) {
            char *p = malloc(1 << 20);
            if (!p)
                abort();
            memset(p, 1, 1 << 20);
        }
    } else if (!strcmp(mode, "zero-length")) {
        unsigned char z = 0;
        sg_raw_write(&z, 1);
        char c;
        sg_raw_read(&c, 1);
    } else if (!strcmp(mode, "bad-kind")) {
        raw_request("f(x)i", 1);
    } else if (!strcmp(mode, "too-many-args")) {
        char text[64] = "f(";
        for (int i = 0; i < 33; i++)
            strcat(text, "i");
        strcat(text, ")i");
        raw_request(text, 33);
    } else if (!strcmp(mode, "truncated")) {
        sg_raw_write("\x0bwrite(ipi)i\x01\x00", 14);
        return 0;
    } else if (!strcmp(mode, "flood")) {
        static char buf[65536];
        memset(buf, 'x', sizeof buf);
        long n = atol(arg);
        while (n > 0) {
            size_t k = n < (long)sizeof buf ? (size_t)n : sizeof buf;
            if (sg_write_all(1, buf, k) < 0)
                return 1;
            n -= (long)k;
        }
    } else if (!strcmp(mode, "mkfile")) {
        int fd = sg_open(arg, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || sg_write_all(fd, "made\n", 5) != 5 || sg_close(fd) != 0) {
            sg_printf("mkfile: %s\n", strerror(errno));
            return 1;
        }
        sg_printf("made %s\n", arg);
    } else if (!strcmp(mode, "stderr")) {
        static char buf[65536];
        memset(buf, 'e', sizeof buf);
        long n = atol(arg);
        while (n > 0) {
            size_t k = n < (long)sizeof buf ? (size_t)n : sizeof buf;
            ssize_t w = write(2, buf, k);
            if (w <= 0)
                return 1;
            n -= (long)w;
        }
        sg_getpid();
    } else if (!strcmp(mode, "stderr-esc")) {
        ssize_t w = write(2, "\033[2Jx\n", 6);
        return w == 6 ? 0 : 1;
    } else if (!strcmp(mode, "nullout")) {
        static const char *const sigs[] = { "uname(p)i", "getrusage(ip)i", "getgroups(ip)i",
                                            "clock_gettime(ip)i" };
        static const uint64_t first[] = { 0, 0, 1, 0 };
        for (size_t i = 0; i < 4; i++) {
            errno = 0;
            int64_t rc;
            if (i == 0)
                rc = sg_res_i(sg_call(sigs[i], SG_ARGS(0)));
            else
                rc = sg_res_i(sg_call(sigs[i], SG_ARGS(first[i], 0)));
            sg_printf("%s %lld %s\n", sigs[i], (long long)rc, strerror(errno));
        }
    } else if (!strcmp(mode, "badptr")) {
        struct stat st;
        sg_stat64((const char *)1, &st);
    } else if (!strcmp(mode, "lying-z")) {
        /* getenv's name is read with Z when the controller has entries. */
        unsigned char req[1 + 10 + 8] = { 10 };
        memcpy(req + 1, "getenv(p)p", 10);
        memset(req + 11, 0x11, 8);
        sg_raw_write(req, sizeof req);
        unsigned char cmd[17];
        if (sg_raw_read(cmd, sizeof cmd) != sizeof cmd || cmd[0] != 'Z')
            return 5;
        uint64_t len = 1ull << 40;
        sg_raw_write(&len, sizeof len);
        char c;
        sg_raw_read(&c, 1);
    } else if (!strcmp(mode, "readreal")) {
        int fd = open(arg, O_RDONLY);
        char buf[64];
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
        sg_printf("read %zd bytes directly\n", n);
    } else if (!strcmp(mode, "statreal")) {
        struct stat st;
        long r = syscall(SYS_newfstatat, AT_FDCWD, arg, &st, 0);
        sg_printf("stat %ld size %lld\n", r, r == 0 ? (long long)st.st_size : -1LL);
    } else if (!strcmp(mode, "prlimitpid")) {
        struct rlimit rl;
        long r = syscall(SYS_prlimit64, atol(arg), RLIMIT_NOFILE, NULL, &rl);
        sg_printf("prlimit %ld\n", r);
    } else if (!strcmp(mode, "chaos")) {
        chaos((uint64_t)atol(arg), argc > 3 ? atol(argv[3]) : 100);
    } else if (!strcmp(mode, "calls")) {
        long n = atol(arg);
        for (long i = 0; i < n; i++)
            sg_getpid();
    } else {
        sg_eprintf("tguest: unknown mode '%s'\n", mode);
        return 2;
    }
    return 0;
}
