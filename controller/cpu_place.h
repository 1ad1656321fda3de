/* Where a guest and the thread that answers it run.
 *
 * The sandbox-2 protocol is one side at a time: while the guest waits for
 * its answer the controller works, and the other way round. Two CPUs buy
 * such a pair nothing, and cost it a great deal where a wake-up on another
 * CPU is expensive: on a virtual machine it is an inter-processor interrupt
 * and an exit from the other virtual CPU's idle state. Measured on the
 * 2-core VM `make bench` runs on: a ping round trip took 60 to 110 us with
 * the pair free to run on both CPUs, 8 us with both on one (and the
 * system time of the run fell by the same factor).
 *
 * So by default (ST_CPU_SHARED) the link pins the calling thread to one
 * CPU before it spawns a jailed guest (one thread, no children), which
 * inherits the pin, and restores the thread's own set when the link
 * closes; an unjailed guest is pinned only to a CPU named (ST_CPU_FIXED).
 *
 * The CPU: the allowed one with the fewest processes of the machine pinned
 * to it (other sandboxes, of any program or user: /proc is read, one
 * sched_getaffinity() a process) plus links of this process on it, so
 * that sandboxes spread over the CPUs. Among equals the search starts at a
 * CPU drawn from the pid: sandboxes started at the same moment, each
 * counting before the others pinned, spread at random rather than all on
 * the CPU they were started on (measured: 10 pings at once, chosen by
 * sched_getcpu(), once all on one CPU of two). The cost of pinning: a
 * pair is not moved when another program takes its CPU. ST_CPU_ANY leaves
 * placement to the scheduler; ST_CPU_FIXED names the CPU. */
#ifndef SANDTRACE_CONTROLLER_CPU_PLACE_H
#define SANDTRACE_CONTROLLER_CPU_PLACE_H

#include <sched.h>
#include <stddef.h>

enum st_cpu_policy {
    ST_CPU_SHARED,  /* guest and controller on one CPU, chosen here (the default) */
    ST_CPU_ANY,     /* no pinning */
    ST_CPU_FIXED,   /* guest and controller on the CPU given */
};

/* Zeroed: nothing pinned (st_cpu_release may be called on it). */
struct st_cpu_place {
    int pinned;         /* 1: this thread is pinned to `cpu` */
    int cpu;            /* the CPU both run on, when pinned */
    cpu_set_t saved;    /* the thread's own set, restored by st_cpu_release */
};

/* Pins the calling thread as `policy` says (`cpu` with ST_CPU_FIXED) and
 * fills `p`. Returns 0, also when nothing was pinned (ST_CPU_ANY, a single
 * allowed CPU, or a kernel that refuses: p->pinned is then 0); -1 with
 * errno EINVAL when ST_CPU_FIXED names a CPU this thread may not use. */
int st_cpu_pin(struct st_cpu_place *p, enum st_cpu_policy policy, int cpu);

/* Gives the thread its own set back (no-op when nothing was pinned). */
void st_cpu_release(struct st_cpu_place *p);

/* Whether this thread may run on `cpu` (for a caller checking a user's
 * choice before it starts anything): 1 or 0. */
int st_cpu_allowed(int cpu);

/* The (n mod count)-th CPU this thread may run on, for a caller that
 * spreads several runs itself; -1 when it may run on one CPU only. */
int st_cpu_nth_allowed(size_t n);

/* The CPU of `allowed` with the lowest score[] (indexed by CPU number),
 * the first of equals counting from the (seed mod count)-th allowed CPU;
 * -1 when `allowed` is empty. (st_cpu_pin's choice, given its counts.) */
int st_cpu_choose(const cpu_set_t *allowed, const unsigned *score, unsigned seed);

/* A user's choice: "auto" (ST_CPU_SHARED), "any" (ST_CPU_ANY) or a CPU
 * number (ST_CPU_FIXED; at most CPU_SETSIZE - 1). 0, or -1 for anything
 * else. Whether the CPU may be used is st_cpu_allowed()'s question. */
int st_cpu_parse(const char *s, enum st_cpu_policy *policy, int *cpu);

/* A user's --pin: st_cpu_parse, and a CPU named must be one this thread
 * may use. NULL, or what is wrong with it ("not auto, any or a CPU
 * number", "not a CPU this process may run on"). */
const char *st_cpu_choice(const char *s, enum st_cpu_policy *policy, int *cpu);

#endif
