/* One CPU for a guest and its controller (controller/cpu_place.h). */
#include "controller/cpu_place.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/st_util.h"

/* How many pinned links of this process use each CPU. */
static pthread_mutex_t counts_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned counts[CPU_SETSIZE];

int st_cpu_allowed(int cpu)
{
    cpu_set_t allowed;
    if (cpu < 0 || cpu >= CPU_SETSIZE ||
        pthread_getaffinity_np(pthread_self(), sizeof allowed, &allowed) != 0)
        return 0;
    return CPU_ISSET(cpu, &allowed) ? 1 : 0;
}

/* The k-th CPU of `s` (k < its count), or -1. */
static int nth_set(const cpu_set_t *s, int k)
{
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, s) && k-- == 0)
            return c;
    return -1;
}

int st_cpu_nth_allowed(size_t n)
{
    cpu_set_t allowed;
    if (pthread_getaffinity_np(pthread_self(), sizeof allowed, &allowed) != 0)
        return -1;
    int count = CPU_COUNT(&allowed);
    if (count < 2)
        return -1;
    return nth_set(&allowed, (int)(n % (size_t)count));
}

/* Adds to score[c], for each CPU c, the processes of this machine that
 * may run on c alone: other pinned pairs (sandtrace's, of any process and
 * user), and the per-CPU kernel threads, as many on every CPU. One
 * sched_getaffinity() a process: about a millisecond for a few hundred. */
static void count_pinned_processes(unsigned *score)
{
    DIR *d = opendir("/proc");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        cpu_set_t s;
        if (sched_getaffinity((pid_t)pid, sizeof s, &s) == 0 && CPU_COUNT(&s) == 1)
            score[nth_set(&s, 0)]++;
    }
    closedir(d);
}

int st_cpu_choose(const cpu_set_t *allowed, const unsigned *score, unsigned seed)
{
    int n = CPU_COUNT(allowed);
    if (n == 0)
        return -1;
    int best = -1;
    for (int i = 0; i < n; i++) {
        int c = nth_set(allowed, (int)((seed + (unsigned)i) % (unsigned)n));
        if (c >= 0 && (best < 0 || score[c] < score[best]))
            best = c;
    }
    return best;
}

/* The allowed CPU with the fewest pinned processes on the machine plus
 * links of this process on it, the search starting at a CPU drawn from
 * the pid: several sandboxes started at the same moment (each counting
 * before the others pinned) then spread at random rather than all taking
 * the CPU they were started on. Called with counts_mu held. */
static int least_used(const cpu_set_t *allowed)
{
    static unsigned score[CPU_SETSIZE];
    memcpy(score, counts, sizeof score);
    count_pinned_processes(score);
    return st_cpu_choose(allowed, score, ((uint32_t)getpid() * 2654435761u) >> 16);
}

int st_cpu_pin(struct st_cpu_place *p, enum st_cpu_policy policy, int cpu)
{
    p->pinned = 0;
    p->cpu = -1;
    if (policy == ST_CPU_ANY)
        return 0;
    if (pthread_getaffinity_np(pthread_self(), sizeof p->saved, &p->saved) != 0)
        return 0;
    if (policy == ST_CPU_FIXED && (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &p->saved))) {
        errno = EINVAL;
        return -1;
    }
    if (policy == ST_CPU_SHARED && CPU_COUNT(&p->saved) < 2)
        return 0; /* one CPU already: nothing to choose */
    pthread_mutex_lock(&counts_mu);
    if (policy == ST_CPU_SHARED)
        cpu = least_used(&p->saved);
    if (cpu >= 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        if (pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0) {
            counts[cpu]++;
            p->cpu = cpu;
            p->pinned = 1;
        }
    }
    pthread_mutex_unlock(&counts_mu);
    return 0;
}

void st_cpu_release(struct st_cpu_place *p)
{
    if (!p->pinned)
        return;
    pthread_mutex_lock(&counts_mu);
    if (counts[p->cpu] > 0)
        counts[p->cpu]--;
    pthread_mutex_unlock(&counts_mu);
    pthread_setaffinity_np(pthread_self(), sizeof p->saved, &p->saved);
    p->pinned = 0;
}

int st_cpu_parse(const char *s, enum st_cpu_policy *policy, int *cpu)
{
    uint64_t n;
    if (!strcmp(s, "auto")) {
        *policy = ST_CPU_SHARED;
        *cpu = 0;
    } else if (!strcmp(s, "any")) {
        *policy = ST_CPU_ANY;
        *cpu = 0;
    } else if (st_parse_u64(s, &n, 0) == 0 && n < CPU_SETSIZE) {
        *policy = ST_CPU_FIXED;
        *cpu = (int)n;
    } else {
        return -1;
    }
    return 0;
}

const char *st_cpu_choice(const char *s, enum st_cpu_policy *policy, int *cpu)
{
    if (st_cpu_parse(s, policy, cpu) < 0)
        return "not auto, any or a CPU number";
    if (*policy == ST_CPU_FIXED && !st_cpu_allowed(*cpu))
        return "not a CPU this process may run on";
    return NULL;
}
