/* tracer/tap.c: the relay of `sandtrace tap`. One poll loop moves bytes
 * between the foreign controller and the guest in both directions, each
 * direction with its own small buffer so that neither can block the other
 * (a controller that pipelines commands while the guest writes a large
 * reply behaves exactly as it would connected directly). The controller's
 * bytes are passed on as soon as they are read, then fed to the parser; the
 * guest's are fed first (recording a request costs microseconds), so that a
 * controller that kills tap in answer to a request (at _exit) cannot outrun
 * its record. */
#include "tracer/tap.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/st_util.h"
#include "controller/session.h"
#include "controller/spawn.h"
#include "tracer/tracer.h"

#define RELAY_BUF (64u * 1024)

/* ------------------------------------------------ the recorded environment */

/* 1 when `name` (n bytes) contains `word` (upper case), ignoring case. */
static int name_contains(const char *name, size_t n, const char *word)
{
    size_t w = strlen(word);
    for (size_t i = 0; i + w <= n; i++) {
        size_t k = 0;
        while (k < w && toupper((unsigned char)name[i + k]) == word[k])
            k++;
        if (k == w)
            return 1;
    }
    return 0;
}

static int name_starts(const char *name, size_t n, const char *prefix)
{
    size_t w = strlen(prefix);
    if (w > n)
        return 0;
    for (size_t k = 0; k < w; k++)
        if (toupper((unsigned char)name[k]) != prefix[k])
            return 0;
    return 1;
}

/* "scheme://user:password@host...": a password inside a URL (proxies,
 * database URLs) is as secret as one in a variable named PASSWORD. */
static int value_has_url_password(const char *v)
{
    for (const char *s = strstr(v, "://"); s; s = strstr(s + 3, "://")) {
        const char *auth = s + 3;
        size_t end = strcspn(auth, "/?#@ ");
        if (auth[end] != '@')
            continue;
        if (memchr(auth, ':', end))
            return 1;
    }
    return 0;
}

int st_tap_env_is_secret(const char *kv)
{
    static const char *const words[] = {
        "TOKEN", "SECRET", "KEY", "PASS", "PWD", "CREDENTIAL", "AUTH", "COOKIE",
        "SESSION", "PRIVATE", "SIGNATURE", NULL,
    };
    static const char *const families[] = {
        "AWS_", "GITHUB_", "GH_", "GITLAB_", "AZURE_", "GOOGLE_", "GCP_", "GCLOUD_",
        "NPM_", "PYPI_", "TWINE_", "DOCKER_", "VAULT_", "HEROKU_", "SLACK_", "OPENAI_",
        "ANTHROPIC_", "HF_", "HUGGING", NULL,
    };
    if (!kv)
        return 0;
    size_t n = strcspn(kv, "=");
    /* The current directories are paths, not passwords. */
    if ((n == 3 && !strncmp(kv, "PWD", 3)) || (n == 6 && !strncmp(kv, "OLDPWD", 6)))
        return kv[n] == '=' && value_has_url_password(kv + n + 1);
    for (size_t i = 0; words[i]; i++)
        if (name_contains(kv, n, words[i]))
            return 1;
    for (size_t i = 0; families[i]; i++)
        if (name_starts(kv, n, families[i]))
            return 1;
    return kv[n] == '=' && value_has_url_password(kv + n + 1);
}

void st_tap_env_free(char **env)
{
    if (!env)
        return;
    for (size_t i = 0; env[i]; i++)
        free(env[i]);
    free(env);
}

int st_tap_env_redact(char *const *envp, int keep_secrets, char ***out, size_t *count,
                      size_t *redacted)
{
    if (!out || !count || !redacted)
        return ST_TRACER_E_INVALID;
    *out = NULL;
    *count = *redacted = 0;
    size_t n = 0;
    while (envp && envp[n])
        n++;
    char **env = calloc(n + 1, sizeof *env);
    if (!env)
        return ST_TRACER_E_NOMEM;
    size_t red = 0;
    for (size_t i = 0; i < n; i++) {
        const char *kv = envp[i];
        if (!keep_secrets && st_tap_env_is_secret(kv)) {
            size_t name = strcspn(kv, "=");
            size_t len = name + 1 + sizeof ST_TAP_REDACTED;
            env[i] = malloc(len);
            if (env[i])
                snprintf(env[i], len, "%.*s=%s", (int)name, kv, ST_TAP_REDACTED);
            red++;
        } else {
            env[i] = strdup(kv);
        }
        if (!env[i]) {
            st_tap_env_free(env);
            return ST_TRACER_E_NOMEM;
        }
    }
    *out = env;
    *count = n;
    *redacted = red;
    return 0;
}

void st_tap_config_init(struct st_tap_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->in_fd = 0;
    cfg->out_fd = 1;
    cfg->err_fd = 2;
    cfg->signal_fd = -1;
}

/* One direction: bytes read from `src`, not yet all written to `dst`. */
struct pipe_dir {
    int src, dst;
    int src_open, dst_open;
    size_t off, len;
    uint64_t total;
    uint8_t buf[RELAY_BUF];
};

/* Writes what is pending without blocking. 0, or -1 when dst is gone
 * (the pending bytes are then dropped). */
static int flush_dir(struct pipe_dir *d)
{
    while (d->len > 0) {
        ssize_t w = write(d->dst, d->buf + d->off, d->len);
        if (w > 0) {
            d->off += (size_t)w;
            d->len -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        d->len = 0;
        return -1;
    }
    d->off = 0;
    return 0;
}

/* Makes `fd` non-blocking if it is a pipe or a socket (whose blocking write
 * could stall the loop); returns the old flags to restore, or -1. */
static int make_nonblocking(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
        return -1;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (fl & O_NONBLOCK))
        return -1;
    if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return -1;
    return fl;
}

/* Ends one direction on the controller's side so that it sees end of file
 * (or EPIPE). A socket (possibly both directions on one fd) is shut down in
 * that direction only; anything else is replaced by /dev/null, so that the
 * descriptor number stays taken. */
static void end_direction(int fd, int how)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) && shutdown(fd, how) == 0)
        return;
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, fd);
        close(null);
    } else {
        close(fd);
    }
}

static void fill_outcome(const struct st_child *child, struct st_outcome *o,
                         const struct st_tap_result *res)
{
    memset(o, 0, sizeof *o);
    int st = child->status;
    if (WIFSIGNALED(st)) {
        o->status = ST_STATUS_SIGNALED;
        o->exit_code = -1;
        o->signal = WTERMSIG(st);
        snprintf(o->reason, sizeof o->reason, "killed by signal %d (%s)", o->signal,
                 strsignal(o->signal));
    } else {
        o->status = ST_STATUS_EXITED;
        o->exit_code = WEXITSTATUS(st);
        snprintf(o->reason, sizeof o->reason, "exited with code %d", o->exit_code);
    }
    o->bytes_in = res->from_guest;
    o->bytes_out = res->to_guest;
    o->stderr_bytes = res->stderr_bytes;
    o->guest_user_seconds =
        (double)child->usage.ru_utime.tv_sec + child->usage.ru_utime.tv_usec / 1e6;
    o->guest_sys_seconds =
        (double)child->usage.ru_stime.tv_sec + child->usage.ru_stime.tv_usec / 1e6;
}


/* Forwards to the guest every signal number waiting on tap's (non-blocking)
 * signal pipe. Returns 0 once the pipe is closed or broken, else 1. */
static int forward_signals(int signal_fd, struct st_child *child)
{
    for (;;) {
        unsigned char signo;
        ssize_t k = read(signal_fd, &signo, 1);
        if (k == 1) {
            st_child_kill(child, signo);
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        return k < 0 && errno == EAGAIN;
    }
}

/* Keeps up to ST_TAP_RAW_MAX bytes of a dump-mode guest's stdout, after the
 * note's prefix; `total` counts them all. Out of memory keeps what it has. */
static void dump_keep(char **buf, size_t *len, size_t *cap, uint64_t *total, const void *data,
                      size_t n)
{
    static const size_t prefix = sizeof ST_TAP_NOTE_DUMP_OUTPUT - 1;
    *total += n;
    if (!*buf) {
        *cap = 8192;
        *buf = malloc(*cap);
        if (!*buf)
            return;
        memcpy(*buf, ST_TAP_NOTE_DUMP_OUTPUT, prefix);
        *len = prefix;
    }
    if (*len - prefix + n > ST_TAP_RAW_MAX)
        n = ST_TAP_RAW_MAX - (*len - prefix);
    if (*cap - *len < n + 1) {
        size_t nc = *cap;
        while (nc - *len < n + 1)
            nc *= 2;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return;
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
}

/* Records a dump-mode guest's stdout: a note with the text, or, when it is
 * not a text a note can hold, a violation with the raw bytes. */
static void dump_report(const struct st_observer *obs, char *buf, size_t len, uint64_t total)
{
    static const size_t prefix = sizeof ST_TAP_NOTE_DUMP_OUTPUT - 1;
    size_t n = buf ? len - prefix : 0;
    if (total == n && n <= ST_TAP_DUMP_TEXT_MAX && (!buf || !memchr(buf + prefix, 0, n))) {
        if (obs->on_note) {
            if (buf)
                buf[len] = '\0';
            obs->on_note(obs->ctx, buf ? buf : ST_TAP_NOTE_DUMP_OUTPUT);
        }
        return;
    }
    if (obs->on_violation) {
        char what[160];
        snprintf(what, sizeof what,
                 "dump mode: the guest's stdout is not a function list (%llu bytes%s)",
                 (unsigned long long)total, n < total ? ", the first kept" : "");
        obs->on_violation(obs->ctx, what, buf ? buf + prefix : NULL, n);
    }
}

/* One run of the relay: the two directions, the guest, its stderr and the
 * dump-mode text. */
struct tap_relay {
    const struct st_tap_config *cfg;
    const struct st_observer *obs;
    struct st_tap_result *res;
    struct st_tap_parser *parser;
    struct pipe_dir *c2g, *g2c;
    uint8_t *ebuf;
    struct st_child child;
    int err_open, sig_open;
    /* Dump mode: the guest's stdout is a text, kept here (with the note
     * prefix in front) instead of parsed as requests. */
    char *dump;
    size_t dump_len, dump_cap;
    uint64_t dump_total;
};

static void relay_release(struct tap_relay *t)
{
    free(t->c2g);
    free(t->g2c);
    free(t->ebuf);
    free(t->dump);
    st_tap_parser_free(t->parser);
}

/* The guest stopped reading: the controller's next write must fail as it
 * would have. */
static void relay_stop_to_guest(struct tap_relay *t)
{
    t->c2g->dst_open = 0;
    close(t->child.to_guest);
    t->child.to_guest = -1;
    end_direction(t->cfg->in_fd, SHUT_RD);
    t->c2g->src_open = 0;
}

/* The controller is gone: the guest's next write must fail (SIGPIPE) as it
 * would have. */
static void relay_stop_from_guest(struct tap_relay *t)
{
    t->g2c->dst_open = 0;
    t->g2c->src_open = 0;
    close(t->child.from_guest);
    t->child.from_guest = -1;
}

/* A direction whose source ended and whose buffer is flushed closes its
 * destination, so the far side sees the end as it would have. A signal
 * that reached tap before that end is forwarded first: a controller that
 * signals, then closes, must not have its guest see the end (and abort)
 * before the signal. Returns 0 once the guest's outputs are closed (it is
 * gone), else 1. */
static int relay_close_ended(struct tap_relay *t)
{
    struct pipe_dir *c2g = t->c2g, *g2c = t->g2c;
    if (!c2g->src_open && c2g->len == 0 && c2g->dst_open) {
        if (t->sig_open)
            t->sig_open = forward_signals(t->cfg->signal_fd, &t->child);
        close(t->child.to_guest);
        t->child.to_guest = -1;
        c2g->dst_open = 0;
    }
    if (!g2c->src_open && g2c->len == 0 && g2c->dst_open) {
        end_direction(t->cfg->out_fd, SHUT_WR);
        g2c->dst_open = 0;
    }
    return g2c->src_open || t->err_open;
}

/* The controller's bytes: passed on as soon as read, then parsed. */
static void relay_controller(struct tap_relay *t, int can_read, int can_write)
{
    struct pipe_dir *c2g = t->c2g;
    if (can_read) {
        ssize_t k = read(c2g->src, c2g->buf, RELAY_BUF);
        if (k > 0) {
            c2g->len = (size_t)k;
            c2g->off = 0;
            c2g->total += (uint64_t)k;
            if (flush_dir(c2g) < 0)
                relay_stop_to_guest(t);
            st_tap_parser_feed_controller(t->parser, c2g->buf, (size_t)k);
        } else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
            c2g->src_open = 0;
        }
    } else if (can_write) {
        if (flush_dir(c2g) < 0)
            relay_stop_to_guest(t);
    }
}

/* The guest's bytes: parsed (or kept, in dump mode) first, then passed on. */
static void relay_guest(struct tap_relay *t, int can_read, int can_write)
{
    struct pipe_dir *g2c = t->g2c;
    if (can_read) {
        ssize_t k = read(g2c->src, g2c->buf, RELAY_BUF);
        if (k > 0) {
            g2c->len = (size_t)k;
            g2c->off = 0;
            g2c->total += (uint64_t)k;
            if (t->cfg->dump_mode)
                dump_keep(&t->dump, &t->dump_len, &t->dump_cap, &t->dump_total, g2c->buf,
                          (size_t)k);
            else
                st_tap_parser_feed_guest(t->parser, g2c->buf, (size_t)k);
            if (g2c->dst_open && flush_dir(g2c) < 0)
                relay_stop_from_guest(t);
            else if (!g2c->dst_open)
                g2c->len = 0;
        } else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
            g2c->src_open = 0;
        }
    } else if (can_write) {
        if (flush_dir(g2c) < 0)
            relay_stop_from_guest(t);
    }
}

/* The guest's real stderr: passed on and recorded. */
static void relay_stderr(struct tap_relay *t)
{
    ssize_t k = read(t->child.err_fd, t->ebuf, RELAY_BUF);
    if (k > 0) {
        t->res->stderr_bytes += (uint64_t)k;
        (void)st_write_all(t->cfg->err_fd, t->ebuf, (size_t)k); /* a reader gone: as the guest's own stderr */
        if (t->obs->on_guest_stderr)
            t->obs->on_guest_stderr(t->obs->ctx, t->ebuf, (size_t)k);
    } else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
        t->err_open = 0;
    }
}

/* One wait for whatever can move, and the moves. -1 when poll fails. */
static int relay_step(struct tap_relay *t)
{
    struct pipe_dir *c2g = t->c2g, *g2c = t->g2c;
    enum { P_C_IN, P_C_OUT, P_G_IN, P_G_OUT, P_ERR, P_SIG, P_COUNT };
    struct pollfd all[P_COUNT];
    int slot[P_COUNT] = { -1, -1, -1, -1, -1, -1 };
    int n = 0;
    if (c2g->src_open && c2g->len == 0 && c2g->dst_open)
        slot[P_C_IN] = n, all[n++] = (struct pollfd){ c2g->src, POLLIN, 0 };
    else if (c2g->len > 0)
        slot[P_C_OUT] = n, all[n++] = (struct pollfd){ c2g->dst, POLLOUT, 0 };
    if (g2c->src_open && g2c->len == 0)
        slot[P_G_IN] = n, all[n++] = (struct pollfd){ g2c->src, POLLIN, 0 };
    else if (g2c->len > 0)
        slot[P_G_OUT] = n, all[n++] = (struct pollfd){ g2c->dst, POLLOUT, 0 };
    if (t->err_open)
        slot[P_ERR] = n, all[n++] = (struct pollfd){ t->child.err_fd, POLLIN, 0 };
    if (t->sig_open)
        slot[P_SIG] = n, all[n++] = (struct pollfd){ t->cfg->signal_fd, POLLIN, 0 };
    if (poll(all, (nfds_t)n, -1) < 0)
        return errno == EINTR ? 0 : -1;
#define READY(s) (slot[s] >= 0 && (all[slot[s]].revents & (POLLIN | POLLOUT | POLLHUP | POLLERR)))
    if (READY(P_SIG))
        t->sig_open = forward_signals(t->cfg->signal_fd, &t->child);
    relay_controller(t, READY(P_C_IN), READY(P_C_OUT));
    relay_guest(t, READY(P_G_IN), READY(P_G_OUT));
    if (READY(P_ERR))
        relay_stderr(t);
#undef READY
    return 0;
}

/* After the relay: the controller sees the end, the parser and the dump
 * text are finished, the guest is reaped and its end reported. */
static void relay_finish(struct tap_relay *t)
{
    const struct st_observer *obs = t->obs;
    struct st_tap_result *res = t->res;
    /* Whatever the guest's stdout still had to say has been passed on; the
     * controller sees the end now. */
    if (t->g2c->dst_open) {
        end_direction(t->cfg->out_fd, SHUT_WR);
        t->g2c->dst_open = 0;
    }
    if (t->cfg->dump_mode)
        dump_report(obs, t->dump, t->dump_len, t->dump_total);
    st_tap_parser_finish(t->parser);
    res->parse_failed = st_tap_parser_failed(t->parser);
    res->to_guest = t->c2g->total;
    res->from_guest = t->g2c->total;

    st_child_wait(&t->child, 0);
    res->wait_status = t->child.status;
    st_child_close(&t->child);
    if (obs->on_exit) {
        struct st_outcome o;
        fill_outcome(&t->child, &o, res);
        struct st_tap_counts counts;
        st_tap_parser_counts(t->parser, &counts);
        o.calls = counts.requests;
        obs->on_exit(obs->ctx, &o);
    }
}

int st_tap_run(const struct st_tap_config *cfg, const struct st_observer *obs,
               struct st_tap_result *res)
{
    if (!cfg || !cfg->exe || !cfg->argv || !cfg->argv[0] || !obs || !res)
        return ST_TRACER_E_INVALID;
    memset(res, 0, sizeof *res);
    struct tap_relay t = { .cfg = cfg, .obs = obs, .res = res };
    t.c2g = calloc(1, sizeof *t.c2g);
    t.g2c = calloc(1, sizeof *t.g2c);
    t.ebuf = malloc(RELAY_BUF);
    if (st_tap_parser_new(&t.parser, obs) < 0 || !t.c2g || !t.g2c || !t.ebuf) {
        relay_release(&t);
        return ST_TRACER_E_NOMEM;
    }

    struct st_spawn_config sc;
    st_spawn_config_init(&sc);
    sc.path = cfg->exe;
    sc.argv = cfg->argv;
    sc.envp = cfg->envp;
    sc.stderr_pipe = 1;
    sc.seccomp = 0; /* the foreign controller decides about jails, not tap */
    sc.no_aslr = cfg->no_aslr;
    if (st_spawn(&sc, &t.child) < 0) {
        res->exec_errno = t.child.exec_errno;
        relay_release(&t);
        return ST_TRACER_E_SPAWN;
    }
    res->pid = t.child.pid;
    if (cfg->on_started)
        cfg->on_started(cfg->started_ctx);
    int in_flags = make_nonblocking(cfg->in_fd);
    int out_flags = make_nonblocking(cfg->out_fd);
    t.c2g->src = cfg->in_fd;
    t.c2g->dst = t.child.to_guest;
    t.c2g->src_open = t.c2g->dst_open = 1;
    t.g2c->src = t.child.from_guest;
    t.g2c->dst = cfg->out_fd;
    t.g2c->src_open = t.g2c->dst_open = 1;
    t.err_open = t.child.err_fd >= 0;
    t.sig_open = cfg->signal_fd >= 0;
    if (cfg->dump_mode && obs->on_note)
        obs->on_note(obs->ctx, ST_TAP_NOTE_DUMP_MODE);

    while (relay_close_ended(&t) && relay_step(&t) == 0)
        ;
    relay_finish(&t);
    if (in_flags >= 0)
        fcntl(cfg->in_fd, F_SETFL, in_flags);
    if (out_flags >= 0)
        fcntl(cfg->out_fd, F_SETFL, out_flags);
    relay_release(&t);
    return 0;
}
