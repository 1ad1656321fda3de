/* Process handlers: identity (uid/gid/pid...), environment (get_environ,
 * getenv), PyPy's home, uname, sysconf, scheduling and _exit. The answers
 * come from the session's configuration; nothing about the real machine
 * leaks through. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/calls/calls.h"
#include "controller/session_int.h"

int call__exit(struct st_session *s, struct st_call *c)
{
    /* The guest wants to end with this code: no answer, end it now. */
    s->exit_code_requested = (int)(st_arg_int(c, 0) & 0xff);
    st_session_stop(s, ST_STATUS_EXITED, "exited with code %d (_exit request)",
                    s->exit_code_requested);
    return 0;
}

int call_getuid(struct st_session *s, struct st_call *c)
{
    st_call_ok(c, s->cfg.uid);
    return 0;
}

int call_geteuid(struct st_session *s, struct st_call *c)
{
    st_call_ok(c, s->cfg.uid);
    return 0;
}

int call_getgid(struct st_session *s, struct st_call *c)
{
    st_call_ok(c, s->cfg.gid);
    return 0;
}

int call_getegid(struct st_session *s, struct st_call *c)
{
    st_call_ok(c, s->cfg.gid);
    return 0;
}

int call_getpid(struct st_session *s, struct st_call *c)
{
    st_call_ok(c, (uint64_t)s->cfg.pid);
    return 0;
}

int call_getppid(struct st_session *s, struct st_call *c)
{
    st_call_ok(c, (uint64_t)s->cfg.ppid);
    return 0;
}

int call_getpgrp(struct st_session *s, struct st_call *c)
{
    st_call_ok(c, (uint64_t)s->cfg.pid);
    return 0;
}

/* getpgid/getsid: the guest leads its own group and session. */
static void own_group(struct st_session *s, struct st_call *c)
{
    int64_t pid = st_arg_int(c, 0);
    if (pid == 0 || pid == s->cfg.pid)
        st_call_ok(c, (uint64_t)s->cfg.pid);
    else
        st_call_fail(c, ESRCH);
}

int call_getpgid(struct st_session *s, struct st_call *c)
{
    own_group(s, c);
    return 0;
}

int call_getsid(struct st_session *s, struct st_call *c)
{
    own_group(s, c);
    return 0;
}

/* getresuid/getresgid: three 4-byte ids. */
static int write_three_ids(struct st_session *s, struct st_call *c, uint32_t id)
{
    for (unsigned i = 0; i < 3; i++) {
        if (!st_arg_ptr(c, i))
            continue;
        int rc = st_guest_write(s, st_arg_ptr(c, i), &id, sizeof id);
        if (rc < 0)
            return rc;
    }
    st_call_ok(c, 0);
    return 0;
}

int call_getresuid(struct st_session *s, struct st_call *c)
{
    return write_three_ids(s, c, s->cfg.uid);
}

int call_getresgid(struct st_session *s, struct st_call *c)
{
    return write_three_ids(s, c, s->cfg.gid);
}

int call_getgroups(struct st_session *s, struct st_call *c)
{
    int64_t size = st_arg_int(c, 0);
    if (size < 0) {
        st_call_fail(c, EINVAL);
        return 0;
    }
    if (size > 0 && !st_arg_ptr(c, 1)) {
        st_call_fail(c, EFAULT);
        return 0;
    }
    if (size > 0) {
        uint32_t gid = s->cfg.gid;
        int rc = st_guest_write(s, st_arg_ptr(c, 1), &gid, sizeof gid);
        if (rc < 0)
            return rc;
    }
    st_call_ok(c, 1);
    return 0;
}

int call_getpriority(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_ok(c, 0);
    return 0;
}

int call_getrusage(struct st_session *s, struct st_call *c)
{
    int64_t who = st_arg_int(c, 0);
    if (who != 0 && who != -1 && who != 1) {
        st_call_fail(c, EINVAL);
        return 0;
    }
    if (!st_arg_ptr(c, 1)) {
        st_call_fail(c, EFAULT);
        return 0;
    }
    /* The guest's struct rusage is all zeros. */
    static const unsigned char zero[ST_GUEST_RUSAGE_SIZE];
    int rc = st_guest_write(s, st_arg_ptr(c, 1), zero, sizeof zero);
    if (rc < 0)
        return rc;
    st_call_ok(c, 0);
    return 0;
}

int call_umask(struct st_session *s, struct st_call *c)
{
    uint32_t old = s->umask;
    s->umask = (uint32_t)st_arg_int(c, 0) & 0777;
    st_call_ok(c, old);
    return 0;
}

int call_uname(struct st_session *s, struct st_call *c)
{
    if (!st_arg_ptr(c, 0)) {
        st_call_fail(c, EFAULT);
        return 0;
    }
    /* struct utsname: six fields. */
    char u[6][ST_GUEST_UTSNAME_FIELD];
    memset(u, 0, sizeof u);
    snprintf(u[0], sizeof u[0], "Linux");
    snprintf(u[1], sizeof u[1], "%s", s->cfg.hostname ? s->cfg.hostname : "sandbox");
    snprintf(u[2], sizeof u[2], "5.10.0");
    snprintf(u[3], sizeof u[3], "#1 SMP");
    snprintf(u[4], sizeof u[4], "x86_64");
    snprintf(u[5], sizeof u[5], "(none)");
    int rc = st_guest_write(s, st_arg_ptr(c, 0), u, sizeof u);
    if (rc < 0)
        return rc;
    st_call_ok(c, 0);
    return 0;
}

int call_ctermid(struct st_session *s, struct st_call *c)
{
    static const char tty[] = "/dev/tty";
    uint64_t buf = st_arg_ptr(c, 0);
    if (buf) {
        int rc = st_guest_write(s, buf, tty, sizeof tty);
        if (rc < 0)
            return rc;
        st_call_ok(c, buf);
        return 0;
    }
    /* NULL: a static string, allocated once. */
    if (!s->ctermid_ptr) {
        int rc = st_guest_alloc(s, tty, sizeof tty, &s->ctermid_ptr);
        if (rc < 0)
            return rc;
    }
    st_call_ok(c, s->ctermid_ptr);
    return 0;
}

int call_sysconf(struct st_session *s, struct st_call *c)
{
    int64_t v;
    switch (st_arg_int(c, 0)) {
    case 0: v = 2097152; break;                 /* _SC_ARG_MAX */
    case 2: v = 100; break;                     /* _SC_CLK_TCK */
    case 3: v = 65536; break;                   /* _SC_NGROUPS_MAX */
    case 4: v = 256; break;                     /* _SC_OPEN_MAX */
    case 30: v = 4096; break;                   /* _SC_PAGESIZE */
    case 83: case 84: v = 1; break;             /* _SC_NPROCESSORS_CONF/ONLN */
    case 85:                                    /* _SC_PHYS_PAGES */
        v = s->cfg.memory_bytes ? (int64_t)(s->cfg.memory_bytes / 4096) : 262144;
        break;
    case 86: v = 131072; break;                 /* _SC_AVPHYS_PAGES */
    default:
        st_call_fail(c, EINVAL);
        return 0;
    }
    st_call_ok(c, (uint64_t)v);
    return 0;
}

int call_sched_yield(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_ok(c, 0);
    return 0;
}

/* SCHED_OTHER 0, FIFO 1, RR 2, BATCH 3, IDLE 5. */
static void sched_priority(struct st_call *c, int64_t rt_value)
{
    switch (st_arg_int(c, 0)) {
    case 0: case 3: case 5: st_call_ok(c, 0); break;
    case 1: case 2: st_call_ok(c, (uint64_t)rt_value); break;
    default: st_call_fail(c, EINVAL); break;
    }
}

int call_sched_get_priority_max(struct st_session *s, struct st_call *c)
{
    (void)s;
    sched_priority(c, 99);
    return 0;
}

int call_sched_get_priority_min(struct st_session *s, struct st_call *c)
{
    (void)s;
    sched_priority(c, 1);
    return 0;
}

int call_rpy_cpu_count(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_ok(c, 1);
    return 0;
}

int call_pypy__allow_attach(struct st_session *s, struct st_call *c)
{
    /* Debugger attachment: nothing to allow in a sandbox. */
    (void)s;
    st_call_ok(c, 0);
    return 0;
}

/* ------------------------------------------------------------ environment */

int call_get_environ(struct st_session *s, struct st_call *c)
{
    size_t n = s->cfg.nenv;
    /* The strings in one block, then the pointer array (NULL-terminated). */
    uint64_t strings = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(s->cfg.env[i]) + 1;
    if (total > ST_GUEST_READ_MAX)
        return ST_E_TOO_BIG;
    if (n > 0) {
        char *block = malloc(total);
        if (!block)
            return ST_E_NOMEM;
        size_t off = 0;
        for (size_t i = 0; i < n; i++) {
            size_t l = strlen(s->cfg.env[i]) + 1;
            memcpy(block + off, s->cfg.env[i], l);
            off += l;
        }
        int rc = st_guest_alloc(s, block, total, &strings);
        free(block);
        if (rc < 0)
            return rc;
    }
    uint64_t *ptrs = calloc(n + 1, sizeof *ptrs);
    if (!ptrs)
        return ST_E_NOMEM;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        ptrs[i] = strings + off;
        off += strlen(s->cfg.env[i]) + 1;
    }
    uint64_t array = 0;
    int rc = st_guest_alloc(s, ptrs, (n + 1) * sizeof *ptrs, &array);
    free(ptrs);
    if (rc < 0)
        return rc;
    st_call_ok(c, array);
    return 0;
}

int call_getenv(struct st_session *s, struct st_call *c)
{
    /* With no entries, not even the name is read (as the reference does). */
    if (s->cfg.nenv == 0 || !st_arg_ptr(c, 0)) {
        st_call_ok(c, 0);
        return 0;
    }
    char name[ST_GUEST_STR_MAX + 1];
    size_t len = 0;
    int rc = st_guest_read_str(s, st_arg_ptr(c, 0), ST_GUEST_STR_MAX, name, &len);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < s->cfg.nenv; i++) {
        const char *e = s->cfg.env[i];
        if (strncmp(e, name, len) != 0 || e[len] != '=')
            continue;
        /* Each value is allocated in the guest once and handed out again. */
        if (!s->env_ptr[i]) {
            const char *v = e + len + 1;
            rc = st_guest_alloc(s, v, strlen(v) + 1, &s->env_ptr[i]);
            if (rc < 0)
                return rc;
        }
        st_call_ok(c, s->env_ptr[i]);
        return 0;
    }
    st_call_ok(c, 0);
    return 0;
}

/* ---------------------------------------------------------------- PyPy */

int call__pypy_init_home(struct st_session *s, struct st_call *c)
{
    const char *home = s->cfg.pypy_home;
    if (!home) {
        st_call_ok(c, 0);
        return 0;
    }
    if (!s->home_ptr) {
        int rc = st_guest_alloc(s, home, strlen(home) + 1, &s->home_ptr);
        if (rc < 0)
            return rc;
    }
    st_call_ok(c, s->home_ptr);
    return 0;
}

int call__pypy_init_free(struct st_session *s, struct st_call *c)
{
    /* Only the block this controller handed out is freed; anything else is
     * ignored (freeing a made-up pointer would only hurt the guest). */
    uint64_t p = st_arg_ptr(c, 0);
    if (p && p == s->home_ptr) {
        int rc = st_guest_free(s, p);
        if (rc < 0)
            return rc;
        s->home_ptr = 0;
    }
    st_call_ok(c, 0);
    return 0;
}
