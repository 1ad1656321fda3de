/* The layers of the guest's jail under its seccomp filter (docs/security.md):
 *
 *  - namespaces: new user, mount, network, IPC and UTS namespaces. The guest
 *    runs as uid/gid 1000 inside, mapped to the caller's (setgroups denied),
 *    so it never is uid 0 there and execve leaves it no capability. Its root
 *    is an empty, read-only tmpfs (pivot_root, the old root detached) that
 *    holds only what the dynamic loader needs: the executable at
 *    /sandbox/NAME, the shared objects of its own directory it needs beside
 *    it, the system's shared objects it needs (DT_NEEDED, DT_RUNPATH,
 *    DT_RPATH, $ORIGIN, PT_INTERP and /etc/ld.so.cache resolved here, by
 *    reading the ELF files: controller/elf_deps.h), /etc/ld.so.cache, the
 *    locale data of the guest's LANG, each bind-mounted read-only, and a
 *    /proc/self/exe symlink to /sandbox/NAME (glibc's $ORIGIN). execve uses
 *    /sandbox/NAME, so AT_EXECFN holds no host path. The network namespace
 *    has only a loopback interface, down.
 *  - Landlock (ABI 1 to 7): read and execute only, beneath exactly those
 *    files (in the new root; on the host's paths where user namespaces are
 *    not allowed, where it is the wall that remains); with ABI 4 no TCP
 *    bind or connect, with ABI 6 no signal and no abstract unix socket out
 *    of the guest's domain.
 *
 * The plan (what to mount where) is made in the controller before fork;
 * the child applies it after fork without allocating. Nothing here prints
 * or exits. */
#ifndef SANDTRACE_CONTROLLER_FSJAIL_H
#define SANDTRACE_CONTROLLER_FSJAIL_H

#include <stddef.h>

/* The jail's layers, as bits. */
enum {
    ST_LAYER_USERNS = 1u << 0,
    ST_LAYER_MNTNS = 1u << 1,      /* and the empty read-only root */
    ST_LAYER_NETNS = 1u << 2,
    ST_LAYER_IPCNS = 1u << 3,
    ST_LAYER_UTSNS = 1u << 4,
    ST_LAYER_LANDLOCK = 1u << 5,
    ST_LAYER_SECCOMP = 1u << 6,    /* controller/jail.h */
};
#define ST_LAYERS_NS (ST_LAYER_USERNS | ST_LAYER_MNTNS | ST_LAYER_NETNS | ST_LAYER_IPCNS | ST_LAYER_UTSNS)
#define ST_LAYERS_FS (ST_LAYER_MNTNS | ST_LAYER_LANDLOCK)

/* The uid and gid the guest has inside its user namespace. */
#define ST_FSJAIL_UID 1000

/* The directory of the executable in the guest's root, with its '/'. */
#define ST_FSJAIL_EXE_DIR "/sandbox/"

/* The layers this system lets an unprivileged process set up (probed once
 * per process by a short-lived child: user and other namespaces, a tmpfs
 * mount; Landlock's ABI), ST_LAYER_SECCOMP not included. The environment
 * variable SANDTRACE_JAIL_PRETEND_MISSING (a list naming "userns" and/or
 * "landlock") removes layers, so that tests can see what happens on a
 * system without them. */
unsigned st_fsjail_available(void);

/* Landlock's ABI version here (0: none), after the same pretence. */
int st_fsjail_landlock_abi(void);

/* The layers a guest gets: everything available unless `no_fs_jail`, plus
 * seccomp when `seccomp`. Returns them, or ST_E_NOJAIL when the file-system
 * layers are wanted and neither namespaces nor Landlock are available. */
int st_fsjail_layers(int no_fs_jail, int seccomp, unsigned *layers);

/* Writes "userns,mntns,netns,ipcns,utsns,landlock,seccomp" (the layers in
 * `layers`, in that order; "none" for none) into buf. */
void st_fsjail_layers_name(unsigned layers, char *buf, size_t cap);

/* Writes what is missing for the file-system layers, in words ("user
 * namespaces (unshare: Operation not permitted), Landlock (not in this
 * kernel)") into buf. */
void st_fsjail_missing(char *buf, size_t cap);

struct st_fsjail;

/* Plans the jail for executable `exe` (any path) whose real environment is
 * `envp` (NULL-terminated, may be NULL: its LANG and LC_* name the locale
 * data to give), with `layers` (ST_LAYER_MNTNS and/or ST_LAYER_LANDLOCK;
 * the other namespace bits go with MNTNS). Reads the ELF files. Returns
 * 0 and *out (free with st_fsjail_free), ST_E_NOJAIL (no file-system layer
 * in `layers`), ST_E_SPAWN (the executable cannot be found or read; errno
 * kept), ST_E_ELF (a malformed ELF file, or a library it needs was not
 * found in the places the loader would find it and this jail allows:
 * the system's library directories and the executable's own), ST_E_NOMEM. */
int st_fsjail_plan(struct st_fsjail **out, const char *exe, char *const *envp, unsigned layers);

/* The path to give execve: /sandbox/NAME in the namespaces, else the
 * executable's real path. */
const char *st_fsjail_exec_path(const struct st_fsjail *j);

/* The executable's directory as the guest sees it (ST_FSJAIL_EXE_DIR) in
 * the namespaces, NULL when it sees the host's paths. */
const char *st_fsjail_exe_dir(const struct st_fsjail *j);

/* How many paths the plan gives the guest (tests). */
size_t st_fsjail_count(const struct st_fsjail *j);

/* In the child after fork, before its seccomp filter and rlimits: sets up
 * the planned layers. Allocates nothing. Returns 0, or ST_E_FSJAIL with
 * errno telling the failed step's error. */
int st_fsjail_apply(const struct st_fsjail *j);

/* Frees; NULL is fine. */
void st_fsjail_free(struct st_fsjail *j);

#endif
