/* The guest's jail: one seccomp filter, installed by the guest's own process
 * before execve, so that nothing of the guest ever runs outside it.
 *
 * What a running guest needs (memory, the protocol's pipes, output on fds 1
 * and 2, its own death) is allowed by the filter itself, at no cost. Every
 * other system call is handed to the controller (seccomp user notification)
 * and decided by the warden, a thread of the controller that owns the
 * filter's listener:
 *
 *  - while the dynamic loader starts the guest (until st_jail_mark_running,
 *    which the controller calls at the guest's first request): the one
 *    execve that starts it, and read-only opens, stats and access checks of
 *    the shared objects it needs (in the system's library directories and
 *    beside the executable) and of /etc/ld.so.cache, plus readlink of
 *    /proc/self/exe ($ORIGIN);
 *  - libc reading the system's locale data for the guest's LANG (which the
 *    controller chose): allowed read-only, and reported;
 *  - what libc or an interpreter does on its own behind the protocol's back
 *    (looking at a file read-only, asking for identity or system
 *    information): answered with the errno a locked-down Linux would give
 *    (ENOENT: the host's file system looks empty; EPERM, ENOTTY), and
 *    reported; the guest runs on;
 *  - anything else (sockets, new processes or threads, signals to others,
 *    writing files, a second execve, io_uring...): the guest is killed and
 *    the call reported, unless the jail is loose, which answers it with
 *    EPERM (and reports it) instead.
 *
 * Every decision other than the loader's is an event the controller drains
 * (st_jail_take_events) and reports, so an audit sees each denied call by
 * its system call name. The guest is single-threaded (clone is not allowed),
 * so a path read from its memory cannot change while the warden looks at it.
 * Nothing here prints or exits. */
#ifndef SANDTRACE_CONTROLLER_JAIL_H
#define SANDTRACE_CONTROLLER_JAIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct st_jail;

/* The compiled filter, built in the guest's process before its limits are
 * set (building allocates) and installed last. */
struct st_jail_filter {
    unsigned short len;
    struct sock_filter *insns;      /* points into static storage of the child */
};

/* One decision worth reporting: a denied call, or the call the guest was
 * killed for. */
struct st_jail_event {
    char call[32];                  /* the system call's name: "openat" */
    char text[352];                 /* as strace writes it: openat(AT_FDCWD, "/etc/localtime", 0x80000) = -1 ENOENT */
    int killed;                     /* 1: the guest was killed for it */
    int allowed;                    /* 1: allowed and reported (libc reading locale data) */
};

/* In the guest's process (after fork, before execve): compiles the filter.
 * `report_fd` is the socket the child reports to the controller through
 * (write and sendmsg on it stay allowed until execve closes it).
 * Returns 0 or ST_E_SECCOMP. */
int st_jail_filter_build(struct st_jail_filter *f, int report_fd);

/* In the guest's process, last before execve (no_new_privs must be set):
 * installs the filter and returns the listener fd, or ST_E_SECCOMP. */
int st_jail_filter_install(const struct st_jail_filter *f);

/* In the controller: starts the warden for the guest `pid`, taking ownership
 * of `listener` (closed even on failure). `exe` is the executable's path
 * (its directory's shared objects may be loaded); `exe_dir`, when not NULL,
 * is that directory as the guest sees it (with its '/': the neutral
 * directory of its namespaces' root, controller/fsjail.h) and is used
 * instead; `loose`: answer forbidden calls with EPERM instead of killing.
 * Returns 0, ST_E_NOMEM, ST_E_SECCOMP. */
int st_jail_start(struct st_jail **out, int listener, pid_t pid, const char *exe,
                  const char *exe_dir, int loose);

/* The loader's work is over: from now on no file is opened for the guest. */
void st_jail_mark_running(struct st_jail *j);

/* Moves up to `cap` pending events into `ev` (oldest first) and returns
 * their number; *dropped (may be NULL) gets how many were not kept since
 * the last call because the queue was full (they are still counted).
 * Cheap when there is nothing pending. NULL `j` gives 0. */
size_t st_jail_take_events(struct st_jail *j, struct st_jail_event *ev, size_t cap,
                           uint64_t *dropped);

/* Denied calls so far (the loader's allowed ones not counted), by name:
 * fills up to `cap` names and counts and returns how many distinct names
 * there were. */
size_t st_jail_denied_summary(struct st_jail *j, const char **names, uint64_t *counts, size_t cap);

/* 1 and the event when the warden killed the guest, else 0. */
int st_jail_killed(struct st_jail *j, struct st_jail_event *ev);

/* Stops the warden, closes the listener and frees; NULL is fine. Any call
 * the guest makes afterwards that needs the warden fails with ENOSYS. */
void st_jail_stop(struct st_jail *j);

#endif
