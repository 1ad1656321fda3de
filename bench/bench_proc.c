/* Measuring processes for `make bench` (see bench_proc.h for how CPU and
 * memory are attributed). */
#include "bench/bench_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "controller/cpu_place.h"

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int redirect(const char *path, int fd, int flags)
{
    int f = open(path ? path : "/dev/null", flags, 0644);
    if (f < 0)
        return -1;
    if (f != fd) {
        if (dup2(f, fd) < 0)
            return -1;
        close(f);
    }
    return 0;
}

int bench_spawn(char *const argv[], const char *out_path, const char *err_path,
                struct bench_proc *p)
{
    memset(p, 0, sizeof *p);
    fflush(NULL);
    p->t_start = bench_now();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (redirect(NULL, 0, O_RDONLY) < 0 ||
            redirect(out_path, 1, O_WRONLY | O_CREAT | O_TRUNC) < 0 ||
            redirect(err_path, 2, O_WRONLY | O_CREAT | O_TRUNC) < 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    p->pid = pid;
    return 0;
}

/* VmHWM of a live process in KiB, 0 if it cannot be read (it ended). */
static long read_hwm_kb(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[256];
    long kb = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmHWM:", 6)) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

/* utime, stime, cutime, cstime (fields 14..17) of /proc/PID/stat, seconds. */
static int read_stat_times(pid_t pid, double *self, double *children)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* The command name (field 2) may hold spaces: start after its ')'. */
    char *s = strrchr(buf, ')');
    if (!s)
        return -1;
    s++;
    unsigned long long v[4] = { 0 };
    int field = 2;
    char *save = NULL;
    for (char *tok = strtok_r(s, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        field++;
        if (field >= 14 && field <= 17)
            v[field - 14] = strtoull(tok, NULL, 10);
        if (field == 17)
            break;
    }
    if (field < 17)
        return -1;
    double hz = (double)sysconf(_SC_CLK_TCK);
    *self = (double)(v[0] + v[1]) / hz;
    *children = (double)(v[2] + v[3]) / hz;
    return 0;
}

int bench_wait(struct bench_proc *p, int sample_ms)
{
    int pidfd = -1;
#ifdef SYS_pidfd_open
    pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
#endif
    /* Wait for the end without reaping (WNOWAIT), sampling meanwhile. */
    for (;;) {
        if (sample_ms > 0) {
            long kb = read_hwm_kb(p->pid);
            if (kb > p->hwm_kb)
                p->hwm_kb = kb;
        }
        siginfo_t si;
        memset(&si, 0, sizeof si);
        int opts = WEXITED | WNOWAIT;
        if (sample_ms > 0 || pidfd >= 0)
            opts |= WNOHANG;
        if (waitid(P_PID, (id_t)p->pid, &si, opts) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (si.si_pid == p->pid)
            break;
        if (pidfd >= 0) {
            struct pollfd pf = { pidfd, POLLIN, 0 };
            poll(&pf, 1, sample_ms > 0 ? sample_ms : -1);
        } else {
            struct timespec ts = { 0, (sample_ms > 0 ? sample_ms : 5) * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    double end = bench_now();
    if (pidfd >= 0)
        close(pidfd);
    if (read_stat_times(p->pid, &p->proc_self_cpu, &p->proc_children_cpu) < 0)
        p->proc_self_cpu = p->proc_children_cpu = -1;
    struct rusage ru;
    pid_t got;
    while ((got = wait4(p->pid, &p->status, 0, &ru)) < 0 && errno == EINTR)
        ;
    if (got != p->pid)
        return -1;
    p->wall = end - p->t_start;
    p->cpu = tv_seconds(ru.ru_utime) + tv_seconds(ru.ru_stime);
    p->maxrss_kb = ru.ru_maxrss;
    return 0;
}

static int read_full(int fd, unsigned char *buf, size_t cap, size_t need)
{
    size_t have = 0;
    while (have < need) {
        ssize_t n = read(fd, buf + have, cap - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        have += (size_t)n;
    }
    return have == need ? 0 : -1;
}

static int write_full(int fd, const void *buf, size_t n)
{
    const unsigned char *b = buf;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads `need` bytes from a non-blocking fd, poll()ing it and `idle_fd`
 * whenever it has nothing. */
static int read_full_polling(int fd, int idle_fd, unsigned char *buf, size_t cap, size_t need)
{
    size_t have = 0;
    while (have < need) {
        ssize_t n = read(fd, buf + have, cap - have);
        if (n > 0) {
            have += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p[2] = { { fd, POLLIN, 0 }, { idle_fd, POLLIN, 0 } };
            if (poll(p, 2, -1) < 0 && errno != EINTR)
                return -1;
            continue;
        }
        return -1;
    }
    return have == need ? 0 : -1;
}

static int floor_pair(const void *req, size_t req_len, const void *res, size_t res_len,
                      long n, int nonblocking, double *wall, double *cpu);

static int floor_exchange(const void *req, size_t req_len, const void *res, size_t res_len,
                          long n, int nonblocking, int pinned, double *wall, double *cpu)
{
    /* Both sides on one CPU, as sandtrace's guest and controller are by
     * default (controller/cpu_place.h): pinned here, inherited at fork. */
    struct st_cpu_place place;
    memset(&place, 0, sizeof place);
    if (pinned)
        st_cpu_pin(&place, ST_CPU_SHARED, 0);
    int rc = floor_pair(req, req_len, res, res_len, n, nonblocking, wall, cpu);
    st_cpu_release(&place);
    return rc;
}

static int floor_pair(const void *req, size_t req_len, const void *res, size_t res_len,
                      long n, int nonblocking, double *wall, double *cpu)
{
    int to_parent[2], to_child[2];
    if (pipe(to_parent) < 0)
        return -1;
    if (pipe(to_child) < 0) {
        close(to_parent[0]);
        close(to_parent[1]);
        return -1;
    }
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    fflush(NULL);
    double t0 = bench_now();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* The guest's side: one write() per request, a 4 KiB buffered read
         * of the result, as guest/guest_runtime.c does. */
        close(to_parent[0]);
        close(to_child[1]);
        unsigned char buf[4096];
        for (long i = 0; i < n; i++) {
            if (write_full(to_parent[1], req, req_len) < 0 ||
                read_full(to_child[0], buf, res_len, res_len) < 0)
                _exit(1);
        }
        _exit(0);
    }
    close(to_parent[1]);
    close(to_child[0]);
    static unsigned char buf[16384];
    int rc = 0;
    int idle[2] = { -1, -1 };
    if (nonblocking) {
        if (pipe(idle) < 0 || fcntl(to_parent[0], F_SETFL, O_NONBLOCK) < 0)
            rc = -1;
    }
    for (long i = 0; i < n && rc == 0; i++) {
        int got = nonblocking ? read_full_polling(to_parent[0], idle[0], buf, sizeof buf, req_len)
                              : read_full(to_parent[0], buf, sizeof buf, req_len);
        if (got < 0 || write_full(to_child[1], res, res_len) < 0)
            rc = -1;
    }
    if (rc < 0)
        kill(pid, SIGKILL);
    if (idle[0] >= 0) {
        close(idle[0]);
        close(idle[1]);
    }
    close(to_parent[0]);
    close(to_child[1]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    *wall = bench_now() - t0;
    getrusage(RUSAGE_SELF, &r1);
    *cpu = tv_seconds(r1.ru_utime) - tv_seconds(r0.ru_utime) + tv_seconds(r1.ru_stime) -
           tv_seconds(r0.ru_stime);
    if (rc < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return 0;
}

int bench_floor(const void *req, size_t req_len, const void *res, size_t res_len, long n,
                int pinned, double *wall, double *cpu)
{
    return floor_exchange(req, req_len, res, res_len, n, 0, pinned, wall, cpu);
}

int bench_floor_nonblocking(const void *req, size_t req_len, const void *res, size_t res_len,
                            long n, double *wall, double *cpu)
{
    return floor_exchange(req, req_len, res, res_len, n, 1, 1, wall, cpu);
}

/* The number after "key": in a flat JSON object. */
static int json_number(const char *text, const char *key, double *v)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(text, pat);
    if (!p)
        return -1;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    char *end;
    errno = 0;
    *v = strtod(p, &end);
    return end == p || errno ? -1 : 0;
}

int bench_outcome_read(const char *path, struct bench_outcome *o)
{
    memset(o, 0, sizeof *o);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *s = strstr(text, "\"status\":\"");
    if (s) {
        s += 10;
        size_t i = 0;
        while (s[i] && s[i] != '"' && i + 1 < sizeof o->status) {
            o->status[i] = s[i];
            i++;
        }
        o->status[i] = '\0';
    }
    if (!s || json_number(text, "calls", &o->calls) < 0 ||
        json_number(text, "bytes_in", &o->bytes_in) < 0 ||
        json_number(text, "bytes_out", &o->bytes_out) < 0 ||
        json_number(text, "guest_user_seconds", &o->guest_user) < 0 ||
        json_number(text, "guest_sys_seconds", &o->guest_sys) < 0 ||
        json_number(text, "wall_seconds", &o->wall_seconds) < 0)
        return -1;
    double cu, cs;
    if (json_number(text, "controller_user_seconds", &cu) == 0 &&
        json_number(text, "controller_sys_seconds", &cs) == 0)
        o->controller_cpu = cu + cs;
    else
        o->controller_cpu = -1;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_median(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
