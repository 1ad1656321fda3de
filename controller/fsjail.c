/* Namespaces, an empty root and Landlock for the guest (controller/fsjail.h). */
#include "controller/fsjail.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/landlock.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "controller/elf_deps.h"
#include "controller/error.h"

/* ------------------------------------------------------------ Landlock */

/* The kernel's values; the system's header may be older than the kernel. */
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif
#define LL_FS_EXECUTE (1ULL << 0)
#define LL_FS_READ_FILE (1ULL << 2)
#define LL_FS_READ_DIR (1ULL << 3)
#define LL_FS_ABI1 ((1ULL << 13) - 1)       /* EXECUTE .. MAKE_SYM */
#define LL_FS_REFER (1ULL << 13)            /* ABI 2 */
#define LL_FS_TRUNCATE (1ULL << 14)         /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ULL << 15)        /* ABI 5 */
#define LL_NET_BIND_TCP (1ULL << 0)         /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0)  /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)
#define LL_RULE_PATH_BENEATH 1
#define LL_CREATE_RULESET_VERSION (1U << 0)

struct ll_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

struct ll_path_beneath {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

/* ------------------------------------------------------------ probing */

#define NS_FLAGS (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)

/* Where the child mounts its tmpfs before pivot_root: any directory will do
 * (the mount is private to the child's namespace); the first that exists. */
static const char *const tmpfs_points[] = { "/tmp", "/mnt", "/var/tmp", "/run", "/dev", NULL };

static int probed;
static unsigned available;
static int ll_abi;
static int userns_errno, landlock_errno;

/* Writes `s` to `path` (a /proc file); no allocation. */
static int write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = strlen(s);
    ssize_t n = write(fd, s, len);
    int e = errno;
    close(fd);
    errno = e;
    return n == (ssize_t)len ? 0 : -1;
}

/* Formats the uid_map / gid_map line "INSIDE OUTSIDE 1". */
static void map_line(char *buf, size_t cap, unsigned outside)
{
    snprintf(buf, cap, "%u %u 1\n", (unsigned)ST_FSJAIL_UID, outside);
}

/* Enters new namespaces and maps one uid and gid: the first steps of the
 * jail, shared by the probe and the child. */
static int enter_namespaces(const char *uid_map, const char *gid_map)
{
    if (unshare(NS_FLAGS) != 0)
        return -1;
    /* An unprivileged process may map its gid only with setgroups denied;
     * the guest then keeps no supplementary group either. */
    if (write_file("/proc/self/setgroups", "deny") != 0 && errno != ENOENT)
        return -1;
    if (write_file("/proc/self/uid_map", uid_map) != 0 ||
        write_file("/proc/self/gid_map", gid_map) != 0)
        return -1;
    /* Nothing mounted from here on may reach the host's mount table. */
    return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

static const char *tmpfs_point(void)
{
    struct stat st;
    for (size_t i = 0; tmpfs_points[i]; i++)
        if (stat(tmpfs_points[i], &st) == 0 && S_ISDIR(st.st_mode))
            return tmpfs_points[i];
    return NULL;
}

#define TMPFS_OPTS "mode=0755,size=64k,nr_inodes=4096"

static void probe(void)
{
    probed = 1;
    const char *pretend = getenv("SANDTRACE_JAIL_PRETEND_MISSING");
    int no_userns = pretend && strstr(pretend, "userns");
    int no_landlock = pretend && strstr(pretend, "landlock");
    long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
    if (no_landlock) {
        landlock_errno = ENOSYS;
    } else if (abi > 0) {
        ll_abi = abi > 7 ? 7 : (int)abi;
        available |= ST_LAYER_LANDLOCK;
    } else {
        landlock_errno = errno;
    }
    if (no_userns) {
        userns_errno = EPERM;
        return;
    }
    /* Whether this process may make namespaces (sysctls, an LSM, a
     * container's seccomp profile all have a say) is learnt by trying, in
     * a child that does what the guest's child will: enter them, map its
     * ids, mount a tmpfs. */
    char um[64], gm[64];
    map_line(um, sizeof um, (unsigned)geteuid());
    map_line(gm, sizeof gm, (unsigned)getegid());
    const char *point = tmpfs_point();
    int p[2];
    if (!point || pipe2(p, O_CLOEXEC) != 0) {
        userns_errno = point ? errno : ENOENT;
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        int e = 0;
        if (enter_namespaces(um, gm) != 0 ||
            mount("tmpfs", point, "tmpfs", MS_NOSUID | MS_NODEV, TMPFS_OPTS) != 0)
            e = errno ? errno : EPERM;
        ssize_t w = write(p[1], &e, sizeof e);
        (void)w;
        _exit(0);
    }
    close(p[1]);
    int e = EAGAIN;
    if (pid > 0) {
        ssize_t n;
        while ((n = read(p[0], &e, sizeof e)) < 0 && errno == EINTR)
            ;
        if (n != (ssize_t)sizeof e)
            e = EPERM;
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    } else {
        e = errno;
    }
    close(p[0]);
    if (e == 0)
        available |= ST_LAYERS_NS;
    else
        userns_errno = e;
}

unsigned st_fsjail_available(void)
{
    if (!probed)
        probe();
    return available;
}

int st_fsjail_landlock_abi(void)
{
    if (!probed)
        probe();
    return ll_abi;
}

int st_fsjail_layers(int no_fs_jail, int seccomp, unsigned *layers)
{
    unsigned l = no_fs_jail ? 0 : st_fsjail_available();
    if (seccomp)
        l |= ST_LAYER_SECCOMP;
    *layers = l;
    if (!no_fs_jail && !(l & ST_LAYERS_FS))
        return ST_E_NOJAIL;
    return 0;
}

void st_fsjail_layers_name(unsigned layers, char *buf, size_t cap)
{
    static const char *const names[] = { "userns", "mntns", "netns", "ipcns", "utsns",
                                         "landlock", "seccomp" };
    if (cap == 0)
        return;
    buf[0] = '\0';
    size_t n = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(layers & (1u << i)))
            continue;
        int w = snprintf(buf + n, cap - n, "%s%s", n ? "," : "", names[i]);
        if (w < 0 || (size_t)w >= cap - n)
            return;
        n += (size_t)w;
    }
    if (n == 0)
        snprintf(buf, cap, "none");
}

void st_fsjail_missing(char *buf, size_t cap)
{
    unsigned a = st_fsjail_available();
    char ns[128] = "", ll[128] = "";
    if (!(a & ST_LAYER_MNTNS))
        snprintf(ns, sizeof ns, "user namespaces (%s)", strerror(userns_errno));
    if (!(a & ST_LAYER_LANDLOCK))
        snprintf(ll, sizeof ll, "Landlock (%s)",
                 landlock_errno == ENOSYS || landlock_errno == EOPNOTSUPP
                     ? "not in this kernel, or disabled"
                     : strerror(landlock_errno));
    snprintf(buf, cap, "%s%s%s", ns, ns[0] && ll[0] ? " and " : "", ll);
}

/* ------------------------------------------------------------ the plan */

#define MAX_ENTRIES 256
#define MAX_OBJECTS 128

struct entry {
    char *src;          /* the host's file (its real path; "/oldroot" before it in the namespaces) */
    char *dst;          /* where the guest sees it (namespaces), or NULL */
    int dir;            /* a directory (locale data) */
};

struct st_fsjail {
    unsigned layers;
    int ns;
    int landlock_abi;
    char *exec_path;
    char exe_root[PATH_MAX];        /* /sandbox/NAME */
    char uid_map[64], gid_map[64];
    const char *tmpfs_at;
    struct entry e[MAX_ENTRIES];
    size_t n;
};

/* An object the loader will map: where it is on the host, where in the
 * guest's root, and what it asks for. */
struct object {
    char host[PATH_MAX];
    char root[PATH_MAX];
    char host_origin[PATH_MAX];
    char root_origin[PATH_MAX];
    struct st_elf_deps deps;
};

struct planner {
    struct st_fsjail *j;
    char exe_dir[PATH_MAX];         /* the executable's real directory, with '/' */
    struct object *obj;             /* MAX_OBJECTS */
    size_t nobj;
    unsigned char *cache;           /* /etc/ld.so.cache, or NULL */
    size_t cache_len;
};

/* Removes "." and ".." and doubled slashes from an absolute path (the
 * guest's root has no symlinks in its directories, so this is how the
 * kernel will resolve it there). Returns 0, or -1 when not absolute or too
 * long. */
static int normalize(const char *in, char *out, size_t cap)
{
    if (in[0] != '/' || cap < 2)
        return -1;
    size_t n = 0;
    out[n++] = '/';
    const char *p = in;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 1 && p[0] == '.') {
            /* nothing */
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            while (n > 1 && out[n - 1] != '/')
                n--;
            if (n > 1)
                n--;
            while (n > 1 && out[n - 1] != '/')
                n--;
        } else {
            if (n > 1 && out[n - 1] != '/')
                out[n++] = '/';
            if (n + len + 1 >= cap)
                return -1;
            memcpy(out + n, p, len);
            n += len;
        }
        p += len;
    }
    while (n > 1 && out[n - 1] == '/')
        n--;
    out[n] = '\0';
    return 0;
}

/* Replaces $ORIGIN and ${ORIGIN} in `in` with `origin`. Returns 0, or -1
 * when `in` names another dynamic string token ($LIB, $PLATFORM: not
 * resolved here, so that directory is not given) or the result is too long. */
static int expand_origin(const char *in, const char *origin, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = in; *p;) {
        const char *tok = NULL;
        size_t toklen = 0;
        if (!strncmp(p, "$ORIGIN", 7) && !(p[7] == '_' || (p[7] >= 'A' && p[7] <= 'Z') ||
                                          (p[7] >= 'a' && p[7] <= 'z') || (p[7] >= '0' && p[7] <= '9')))
            tok = origin, toklen = 7;
        else if (!strncmp(p, "${ORIGIN}", 9))
            tok = origin, toklen = 9;
        else if (*p == '$')
            return -1;
        if (tok) {
            size_t l = strlen(tok);
            if (n + l + 1 >= cap)
                return -1;
            memcpy(out + n, tok, l);
            n += l;
            p += toklen;
        } else {
            if (n + 2 >= cap)
                return -1;
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    return 0;
}

/* The system's library directories: where a library may come from (after
 * its real path is known), and the loader's last resort. */
#if defined(__x86_64__)
#define TRIPLET "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define TRIPLET "aarch64-linux-gnu"
#else
#define TRIPLET "unknown-linux-gnu"
#endif
static const char *const default_dirs[] = { "/lib/" TRIPLET, "/usr/lib/" TRIPLET, "/lib64",
                                            "/usr/lib64", "/lib", "/usr/lib", NULL };
static const char *const system_prefixes[] = { "/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/",
                                               "/usr/local/lib/", NULL };

static int under(const char *path, const char *dir)
{
    return !strncmp(path, dir, strlen(dir));
}

/* A library's real path is one this jail gives: in the system's library
 * directories or beneath the executable's own directory (the warden's
 * start-up allow-list is the same, controller/jail.c). */
static int source_allowed(const struct planner *pl, const char *real)
{
    for (size_t i = 0; system_prefixes[i]; i++)
        if (under(real, system_prefixes[i]))
            return 1;
    return under(real, pl->exe_dir);
}

static int add_entry(struct st_fsjail *j, const char *src, const char *dst, int dir)
{
    for (size_t i = 0; i < j->n; i++)
        if (dst ? (j->e[i].dst && !strcmp(j->e[i].dst, dst)) : !strcmp(j->e[i].src, src))
            return 0;
    if (j->n == MAX_ENTRIES)
        return ST_E_ELF;
    /* The guest's root keeps its own names: nothing may land on the jail's
     * /proc/self/exe or hide the root itself. */
    if (dst && (!strcmp(dst, "/") || under(dst, "/proc/") || !strcmp(dst, "/proc") ||
                under(dst, "/oldroot")))
        return ST_E_ELF;
    struct entry *e = &j->e[j->n];
    char buf[PATH_MAX + 16];
    snprintf(buf, sizeof buf, "%s%s", j->ns ? "/oldroot" : "", src);
    e->src = strdup(buf);
    e->dst = dst ? strdup(dst) : NULL;
    e->dir = dir;
    if (!e->src || (dst && !e->dst)) {
        free(e->src);
        free(e->dst);
        return ST_E_NOMEM;
    }
    j->n++;
    return 1;
}

/* Looks `name` up in /etc/ld.so.cache as the loader does (new format, this
 * machine's entries, not a hwcaps variant). Returns the path or NULL. */
static const char *cache_lookup(const struct planner *pl, const char *name)
{
#if defined(__x86_64__)
    const int32_t want = 0x0303;  /* FLAG_ELF_LIBC6 | FLAG_X8664_LIB64 */
#elif defined(__aarch64__)
    const int32_t want = 0x0a03;  /* FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64 */
#else
    const int32_t want = -1;
#endif
    static const char new_magic[] = "glibc-ld.so.cache1.1";
    static const char old_magic[] = "ld.so-1.7.0";
    const unsigned char *c = pl->cache;
    size_t len = pl->cache_len, base = 0;
    if (!c || want < 0)
        return NULL;
    if (len >= 16 && !memcmp(c, old_magic, sizeof old_magic - 1)) {
        uint32_t nold;
        memcpy(&nold, c + 12, 4);
        if (nold > (len - 16) / 12)
            return NULL;
        base = (16 + (size_t)nold * 12 + 7) & ~(size_t)7;
    }
    if (base > len || len - base < 48 || memcmp(c + base, new_magic, sizeof new_magic - 1))
        return NULL;
    uint32_t nlibs;
    memcpy(&nlibs, c + base + 20, 4);
    if (nlibs > (len - base - 48) / 24)
        return NULL;
    const unsigned char *hdr = c + base;
    size_t avail = len - base;
    for (uint32_t i = 0; i < nlibs; i++) {
        const unsigned char *ent = hdr + 48 + (size_t)i * 24;
        int32_t flags;
        uint32_t key, value;
        uint64_t hwcap;
        memcpy(&flags, ent, 4);
        memcpy(&key, ent + 4, 4);
        memcpy(&value, ent + 8, 4);
        memcpy(&hwcap, ent + 16, 8);
        if (flags != want || hwcap != 0 || key >= avail || value >= avail)
            continue;
        const char *k = (const char *)hdr + key, *v = (const char *)hdr + value;
        if (!memchr(k, 0, avail - key) || !memchr(v, 0, avail - value))
            continue;
        if (!strcmp(k, name) && v[0] == '/')
            return v;
    }
    return NULL;
}

/* Adds one object the loader will map (the executable, its interpreter, a
 * library) when `host` is an ELF object of this machine (a shared object,
 * unless it is the executable) whose real path this jail may give. `host`
 * is the path the loader opens it by on the host, `root` the one in the
 * guest's root. Returns 1 (added, or already there), 0 (not usable: the
 * loader would look further), or <0. Its own needs are resolved later,
 * breadth first as the loader does (st_fsjail_plan). */
static int add_object(struct planner *pl, const char *host, const char *root, int is_exe)
{
    char norm_root[PATH_MAX], real[PATH_MAX];
    if (normalize(root, norm_root, sizeof norm_root) != 0)
        return 0;
    for (size_t i = 0; i < pl->nobj; i++)
        if (!strcmp(pl->obj[i].root, norm_root))
            return 1;
    if (pl->nobj == MAX_OBJECTS)
        return ST_E_ELF;
    if (!realpath(host, real))
        return is_exe ? ST_E_SPAWN : 0;
    if (!is_exe && !source_allowed(pl, real))
        return 0;
    struct object *o = &pl->obj[pl->nobj];
    memset(o, 0, sizeof *o);
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return is_exe ? ST_E_SPAWN : 0;
    int rc = st_elf_deps_read(fd, &o->deps);
    close(fd);
    if (rc < 0)
        return is_exe ? (rc == ST_E_IO ? ST_E_SPAWN : rc) : 0;
    if (!is_exe && o->deps.type != ET_DYN)
        return 0;
    snprintf(o->host, sizeof o->host, "%s", host);
    snprintf(o->root, sizeof o->root, "%s", norm_root);
    /* $ORIGIN: the directory of the path it was opened by (the executable:
     * its real path, which is what /proc/self/exe gives). */
    const char *h = is_exe ? real : host;
    const char *slash = strrchr(h, '/');
    snprintf(o->host_origin, sizeof o->host_origin, "%.*s", slash == h ? 1 : (int)(slash - h), h);
    slash = strrchr(norm_root, '/');
    snprintf(o->root_origin, sizeof o->root_origin, "%.*s",
             slash == norm_root ? 1 : (int)(slash - norm_root), norm_root);
    rc = add_entry(pl->j, real, pl->j->ns ? norm_root : NULL, 0);
    if (rc < 0)
        return rc;
    pl->nobj++;
    return 1;
}

/* Searches a colon-separated list of directories. */
static int search_dirs(struct planner *pl, const struct object *o, const char *list,
                       const char *name)
{
    char dir[PATH_MAX], host[PATH_MAX], root[PATH_MAX], hd[PATH_MAX], rd[PATH_MAX];
    const char *p = list;
    while (p && *p) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0 && len < sizeof dir) {
            memcpy(dir, p, len);
            dir[len] = '\0';
            if (expand_origin(dir, o->host_origin, hd, sizeof hd) == 0 &&
                expand_origin(dir, o->root_origin, rd, sizeof rd) == 0 && hd[0] == '/' &&
                snprintf(host, sizeof host, "%s/%s", hd, name) < (int)sizeof host &&
                snprintf(root, sizeof root, "%s/%s", rd, name) < (int)sizeof root) {
                int rc = add_object(pl, host, root, 0);
                if (rc != 0)
                    return rc;
            }
        }
        p = end ? end + 1 : NULL;
    }
    return 0;
}

/* Finds `name`, needed by `o`, the way glibc's loader does: DT_RPATH (of
 * the object and the executable, when the object has no DT_RUNPATH),
 * DT_RUNPATH, /etc/ld.so.cache, the default directories. */
static int resolve_needed(struct planner *pl, const struct object *o, const char *name)
{
    int rc;
    if (strchr(name, '/')) {
        char host[PATH_MAX], root[PATH_MAX];
        if (expand_origin(name, o->host_origin, host, sizeof host) != 0 ||
            expand_origin(name, o->root_origin, root, sizeof root) != 0 || host[0] != '/')
            return ST_E_ELF;
        rc = add_object(pl, host, root, 0);
        return rc == 0 ? ST_E_ELF : rc;
    }
    if (!o->deps.runpath) {
        if ((rc = search_dirs(pl, o, o->deps.rpath, name)) != 0)
            return rc;
        if (o != &pl->obj[0] && !pl->obj[0].deps.runpath &&
            (rc = search_dirs(pl, &pl->obj[0], pl->obj[0].deps.rpath, name)) != 0)
            return rc;
    }
    if ((rc = search_dirs(pl, o, o->deps.runpath, name)) != 0)
        return rc;
    const char *cached = cache_lookup(pl, name);
    if (cached && (rc = add_object(pl, cached, cached, 0)) != 0)
        return rc;
    for (size_t i = 0; default_dirs[i]; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", default_dirs[i], name);
        if ((rc = add_object(pl, path, path, 0)) != 0)
            return rc;
    }
    /* Not found: the loader would fail the same way; say so now. */
    return ST_E_ELF;
}

/* Adds the executable and everything it needs, breadth first. */
static int plan_objects(struct planner *pl, const char *exe_real, const char *exe_root)
{
    int rc = add_object(pl, exe_real, exe_root, 1);
    if (rc <= 0)
        return rc < 0 ? rc : ST_E_ELF;
    /* Objects are appended behind the one whose needs are resolved;
     * obj is a fixed array, so `o` stays valid. */
    for (size_t i = 0; i < pl->nobj; i++) {
        const struct object *o = &pl->obj[i];
        if (o->deps.interp) {
            /* The kernel opens the interpreter by this very path. */
            if (o->deps.interp[0] != '/')
                return ST_E_ELF;
            rc = add_object(pl, o->deps.interp, o->deps.interp, 0);
            if (rc <= 0)
                return rc < 0 ? rc : ST_E_ELF;
        }
        for (size_t k = 0; k < o->deps.nneeded; k++) {
            rc = resolve_needed(pl, o, o->deps.needed[k]);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* Adds a data file or directory of the system (locale data) when it
 * exists: its real path, at its own path in the guest's root. */
static int add_data(struct st_fsjail *j, const char *path, int dir)
{
    struct stat st;
    char real[PATH_MAX];
    if (stat(path, &st) != 0 || (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) ||
        !realpath(path, real))
        return 0;
    int rc = add_entry(j, real, j->ns ? path : NULL, dir);
    return rc < 0 ? rc : 0;
}

/* The locale data libc reads for locale `name` (a LANG or LC_* value):
 * /usr/lib/locale/NAME and its normalized codeset form (C.UTF-8 ->
 * C.utf8), as glibc tries them. */
static int add_locale(struct st_fsjail *j, const char *name)
{
    if (!name[0] || !strcmp(name, "C") || !strcmp(name, "POSIX") || strchr(name, '/') ||
        strlen(name) > 200 || name[0] == '.')
        return 0;
    char path[512], norm[256];
    snprintf(path, sizeof path, "/usr/lib/locale/%s", name);
    int rc = add_data(j, path, 1);
    const char *dot = strchr(name, '.');
    if (rc < 0 || !dot)
        return rc;
    size_t n = (size_t)(dot - name) + 1;
    memcpy(norm, name, n);
    const char *p = dot + 1;
    for (; *p && *p != '@' && n + 2 < sizeof norm; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            norm[n++] = (char)(c - 'A' + 'a');
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            norm[n++] = c;
    }
    snprintf(norm + n, sizeof norm - n, "%s", p);
    snprintf(path, sizeof path, "/usr/lib/locale/%s", norm);
    return add_data(j, path, 1);
}

static int plan_locale(struct st_fsjail *j, char *const *envp)
{
    int rc = 0, any = 0;
    for (char *const *e = envp; e && *e && rc == 0; e++) {
        const char *v = NULL;
        if (!strncmp(*e, "LANG=", 5))
            v = *e + 5;
        else if (!strncmp(*e, "LC_", 3) && strchr(*e, '='))
            v = strchr(*e, '=') + 1;
        if (v) {
            rc = add_locale(j, v);
            any = 1;
        }
    }
    if (rc < 0 || !any)
        return rc;
    static const char *const files[] = {
        "/usr/lib/locale/locale-archive", "/usr/share/locale/locale.alias",
        "/usr/lib/" TRIPLET "/gconv/gconv-modules", "/usr/lib/" TRIPLET "/gconv/gconv-modules.cache",
        "/usr/lib64/gconv/gconv-modules", "/usr/lib64/gconv/gconv-modules.cache",
        "/usr/lib/gconv/gconv-modules", "/usr/lib/gconv/gconv-modules.cache", NULL,
    };
    for (size_t i = 0; files[i] && rc == 0; i++)
        rc = add_data(j, files[i], 0);
    static const char *const dirs[] = { "/usr/lib/" TRIPLET "/gconv/gconv-modules.d",
                                        "/usr/lib64/gconv/gconv-modules.d",
                                        "/usr/lib/gconv/gconv-modules.d", NULL };
    for (size_t i = 0; dirs[i] && rc == 0; i++)
        rc = add_data(j, dirs[i], 1);
    return rc;
}

static void read_cache(struct planner *pl)
{
    int fd = open("/etc/ld.so.cache", O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size <= (8 << 20)) {
        pl->cache = malloc((size_t)st.st_size);
        size_t got = 0;
        while (pl->cache && got < (size_t)st.st_size) {
            ssize_t n = read(fd, pl->cache + got, (size_t)st.st_size - got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        pl->cache_len = got;
    }
    close(fd);
}

int st_fsjail_plan(struct st_fsjail **out, const char *exe, char *const *envp, unsigned layers)
{
    *out = NULL;
    if (!(layers & ST_LAYERS_FS))
        return ST_E_NOJAIL;
    struct st_fsjail *j = calloc(1, sizeof *j);
    struct planner pl;
    memset(&pl, 0, sizeof pl);
    pl.obj = calloc(MAX_OBJECTS, sizeof *pl.obj);
    if (!j || !pl.obj) {
        free(j);
        free(pl.obj);
        return ST_E_NOMEM;
    }
    pl.j = j;
    j->layers = layers & (ST_LAYERS_NS | ST_LAYER_LANDLOCK);
    j->ns = (layers & ST_LAYER_MNTNS) != 0;
    if (j->ns)
        j->layers |= ST_LAYERS_NS;
    j->landlock_abi = (layers & ST_LAYER_LANDLOCK) ? st_fsjail_landlock_abi() : 0;
    map_line(j->uid_map, sizeof j->uid_map, (unsigned)geteuid());
    map_line(j->gid_map, sizeof j->gid_map, (unsigned)getegid());
    j->tmpfs_at = tmpfs_point();
    int rc = 0;
    char real[PATH_MAX];
    if (j->ns && !j->tmpfs_at)
        rc = ST_E_FSJAIL;
    else if (!realpath(exe, real))
        rc = ST_E_SPAWN;
    if (rc == 0) {
        char *slash = strrchr(real, '/');
        snprintf(pl.exe_dir, sizeof pl.exe_dir, "%.*s/", (int)(slash - real), real);
        const char *base = slash + 1;
        if (strlen(base) + sizeof ST_FSJAIL_EXE_DIR > sizeof j->exe_root)
            rc = ST_E_SPAWN;
        else
            snprintf(j->exe_root, sizeof j->exe_root, "%s%s", ST_FSJAIL_EXE_DIR, base);
    }
    if (rc == 0) {
        read_cache(&pl);
        rc = plan_objects(&pl, real, j->exe_root);
    }
    if (rc == 0)
        rc = add_data(j, "/etc/ld.so.cache", 0);
    if (rc == 0)
        rc = plan_locale(j, envp);
    if (rc == 0) {
        j->exec_path = strdup(j->ns ? j->exe_root : real);
        if (!j->exec_path)
            rc = ST_E_NOMEM;
    }
    int e = errno;
    free(pl.cache);
    free(pl.obj);
    if (rc < 0) {
        st_fsjail_free(j);
        errno = e;
        return rc;
    }
    *out = j;
    return 0;
}

const char *st_fsjail_exec_path(const struct st_fsjail *j)
{
    return j->exec_path;
}

const char *st_fsjail_exe_dir(const struct st_fsjail *j)
{
    return j->ns ? ST_FSJAIL_EXE_DIR : NULL;
}

size_t st_fsjail_count(const struct st_fsjail *j)
{
    return j->n;
}

void st_fsjail_free(struct st_fsjail *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->n; i++) {
        free(j->e[i].src);
        free(j->e[i].dst);
    }
    free(j->exec_path);
    free(j);
}

/* ------------------------------------------------------------ the child */

/* Creates the directories above `path` (absolute) and `path` itself: a
 * directory, or an empty file to bind a file onto. */
static int make_target(const char *path, int dir)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (dir)
        return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
    int fd = open(buf, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* Binds `src` read-only at `dst`, keeping the flags the kernel locks on a
 * mount made in a more privileged namespace (a remount must repeat them). */
static int bind_ro(const char *src, const char *dst, int dir)
{
    if (make_target(dst, dir) != 0 || mount(src, dst, NULL, MS_BIND, NULL) != 0)
        return -1;
    struct statvfs sv;
    if (statvfs(dst, &sv) != 0)
        return -1;
    unsigned long fl = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV;
    if (sv.f_flag & ST_NOEXEC)
        fl |= MS_NOEXEC;
    if (sv.f_flag & ST_NOATIME)
        fl |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME)
        fl |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME)
        fl |= MS_RELATIME;
    return mount(NULL, dst, NULL, fl, NULL);
}

static int build_root(const struct st_fsjail *j)
{
    if (enter_namespaces(j->uid_map, j->gid_map) != 0)
        return -1;
    /* Credentials changed: say again that the guest dies with us. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        return -1;
    if (mount("tmpfs", j->tmpfs_at, "tmpfs", MS_NOSUID | MS_NODEV, TMPFS_OPTS) != 0 ||
        chdir(j->tmpfs_at) != 0 || mkdir("oldroot", 0700) != 0)
        return -1;
    /* The tmpfs becomes the root and the host's is reachable at /oldroot
     * (with what the tmpfs covered visible again) while the files are
     * bound; then it is detached. */
    if (syscall(SYS_pivot_root, ".", "oldroot") != 0 || chdir("/") != 0)
        return -1;
    for (size_t i = 0; i < j->n; i++)
        if (bind_ro(j->e[i].src, j->e[i].dst, j->e[i].dir) != 0)
            return -1;
    /* glibc reads this link for $ORIGIN; no /proc is mounted. */
    if (mkdir("/proc", 0555) != 0 || mkdir("/proc/self", 0555) != 0 ||
        symlink(j->exe_root, "/proc/self/exe") != 0)
        return -1;
    if (umount2("/oldroot", MNT_DETACH) != 0 || rmdir("/oldroot") != 0)
        return -1;
    if (sethostname("sandbox", 7) != 0)
        return -1;
    return mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
}

static int apply_landlock(const struct st_fsjail *j)
{
    int abi = j->landlock_abi;
    struct ll_ruleset_attr attr = { 0, 0, 0 };
    attr.handled_access_fs = LL_FS_ABI1;
    if (abi >= 2)
        attr.handled_access_fs |= LL_FS_REFER;
    if (abi >= 3)
        attr.handled_access_fs |= LL_FS_TRUNCATE;
    if (abi >= 5)
        attr.handled_access_fs |= LL_FS_IOCTL_DEV;
    size_t size = 8;
    if (abi >= 4) {
        attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
        size = 16;
    }
    if (abi >= 6) {
        attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
        size = 24;
    }
    int fd = (int)syscall(__NR_landlock_create_ruleset, &attr, size, 0);
    if (fd < 0)
        return -1;
    for (size_t i = 0; i < j->n; i++) {
        const char *path = j->ns ? j->e[i].dst : j->e[i].src;
        int pfd = open(path, O_PATH | O_CLOEXEC);
        if (pfd < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        struct ll_path_beneath rule = {
            .allowed_access = j->e[i].dir ? LL_FS_READ_FILE | LL_FS_READ_DIR
                                          : LL_FS_READ_FILE | LL_FS_EXECUTE,
            .parent_fd = pfd,
        };
        long r = syscall(__NR_landlock_add_rule, fd, LL_RULE_PATH_BENEATH, &rule, 0);
        int e = errno;
        close(pfd);
        if (r != 0) {
            close(fd);
            errno = e;
            return -1;
        }
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(__NR_landlock_restrict_self, fd, 0) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    close(fd);
    return 0;
}

int st_fsjail_apply(const struct st_fsjail *j)
{
    if (j->ns && build_root(j) != 0)
        return ST_E_FSJAIL;
    if ((j->layers & ST_LAYER_LANDLOCK) && apply_landlock(j) != 0)
        return ST_E_FSJAIL;
    return 0;
}
