/* A run: spawning the guest, the request loop, the dispatcher, the guest
 * memory operations handlers use, and the outcome. */
#include "controller/session_int.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "controller/calls/calls.h"
#include "controller/handler_int.h"
#include "controller/jail.h"
#include "controller/vfs.h"

/* The dispatcher's table: sigtable.def's HANDLED entries point at their
 * handlers, the others are NULL (their action says what to do). */
#define ST_HANDLER_HANDLED(ident) call_##ident
#define ST_HANDLER_REFUSED(ident) NULL
#define ST_HANDLER_FATAL(ident) NULL
static st_handler *const handlers[ST_SIG_COUNT] = {
#define SIG(ident, text, cls, args, res, act, err, dec) [ST_SIG_##ident] = ST_HANDLER_##act(ident),
#include "controller/sigtable.def"
#undef SIG
};

double st_session_now(void)
{
    return st_link_now();
}

void st_session_config_init(struct st_session_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->uid = 1000;
    cfg->gid = 1000;
    cfg->pid = 4200;
    cfg->ppid = 1;
    cfg->hostname = "sandbox";
    cfg->time_mode = ST_TIME_FROZEN;
    cfg->time_base = 1564617600; /* 2019-08-01 00:00:00 UTC, as the reference controller */
    cfg->in_fd = 0;
    cfg->out_fd = 1;
    cfg->err_fd = 2;
    cfg->seccomp = 1;
}

int st_session_new(const struct st_session_config *cfg, struct st_session **out)
{
    *out = NULL;
    if (!cfg || !cfg->exe || !cfg->argv || cfg->argc == 0 || !cfg->argv[0] ||
        cfg->nenv > ST_MAX_ENV || (cfg->nenv && !cfg->env)) {
        if (cfg)
            st_vfs_free(cfg->vfs);
        return ST_E_CONFIG;
    }
    struct st_session *s = calloc(1, sizeof *s);
    if (!s) {
        st_vfs_free(cfg->vfs);
        return ST_E_NOMEM;
    }
    s->cfg = *cfg;
    s->vfs = cfg->vfs;
    if (!s->vfs) {
        /* No tree given: the default one (/, /dev, an empty /tmp). */
        struct st_vfs_options vo;
        st_vfs_options_init(&vo);
        vo.uid = cfg->uid;
        vo.gid = cfg->gid;
        s->vfs = st_vfs_new(&vo);
        if (!s->vfs) {
            free(s);
            return ST_E_NOMEM;
        }
    }
    s->umask = 022;
    s->link.child.to_guest = s->link.child.from_guest = s->link.child.err_fd = -1;
    *out = s;
    return 0;
}

int st_session_add_observer(struct st_session *s, const struct st_observer *obs)
{
    if (!s || !obs || s->nobs >= ST_MAX_OBSERVERS)
        return ST_E_INVALID;
    s->obs[s->nobs++] = *obs;
    return 0;
}

void st_session_free(struct st_session *s)
{
    if (!s)
        return;
    if (s->link.child.pid > 0 && !s->link.child.reaped)
        st_link_kill(&s->link);
    st_link_close(&s->link);
    st_handlers_free(s->handlers);
    st_vfs_free(s->vfs);
    free(s);
}

struct st_vfs *st_session_vfs(struct st_session *s)
{
    return s->vfs;
}

void st_session_stop(struct st_session *s, enum st_status status, const char *fmt, ...)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    s->stop_status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->stop_reason, sizeof s->stop_reason, fmt, ap);
    va_end(ap);
}

/* st_run_control.stop: an observer's own bound ends the run. */
static void control_stop(void *session, int status, enum st_limit which, const char *detail,
                         const char *reason)
{
    struct st_session *s = session;
    if (s->stopping)
        return;
    ST_EMIT(s, on_limit, which, detail);
    st_session_stop(s, (enum st_status)status, "%s", reason);
}

void st_session_note(struct st_session *s, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    ST_EMIT(s, on_note, text);
}

/* ------------------------------------------------- waiting, the stderr pipe */

/* The link's hook: bytes of the guest's real stderr. They go to observers
 * and, within the output limit, to the sink (sanitized like its fd 2
 * writes, so that it cannot drive the terminal either way). */
static void on_guest_stderr(void *ctx, const void *data, size_t n)
{
    struct st_session *s = ctx;
    const char *bytes = data;
    ST_EMIT(s, on_guest_stderr, data, n);
    s->stderr_total += (uint64_t)n;
    if (s->stopping)
        return; /* being ended: what it writes now is dropped */
    size_t pass = n;
    if (s->cfg.max_output) {
        uint64_t room = s->output_total < s->cfg.max_output ? s->cfg.max_output - s->output_total : 0;
        if (pass > room)
            pass = (size_t)room;
    }
    if (pass) {
        st_session_sink_write(s, 2, data, pass);
        s->output_total += pass;
        s->err_line_open = bytes[pass - 1] != '\n';
    }
    if (pass < n) {
        /* The same marker as for write(2) requests beyond the limit,
         * reported once. */
        st_session_write_limit_marker(s, s->cfg.err_fd);
        ST_EMIT(s, on_limit, ST_LIMIT_OUTPUT, "guest stderr beyond the output limit");
        st_session_stop(s, ST_STATUS_OUTPUT, "output limit of %llu bytes reached",
                        (unsigned long long)s->cfg.max_output);
    }
}

/* The link's hook: the run ends when a limit or a handler stopped it, or
 * when the caller's interrupt flag is up (its signal handler set it). */
static int session_should_stop(void *ctx)
{
    struct st_session *s = ctx;
    if (!s->stopping && s->cfg.interrupt && *s->cfg.interrupt) {
        int sig = (int)*s->cfg.interrupt;
        char why[96];
        snprintf(why, sizeof why, "interrupted by signal %d (%s)", sig, strsignal(sig));
        /* Observers hear it where it happens, as of a limit: a trace then
         * says after which event the run was ended. */
        ST_EMIT(s, on_limit, ST_LIMIT_INTERRUPT, why);
        s->interrupt_signal = sig;
        st_session_stop(s, ST_STATUS_INTERRUPTED, "%s", why);
    }
    return s->stopping;
}

int st_session_drain_stderr(struct st_session *s)
{
    return st_link_drain_stderr(&s->link);
}

int st_session_wait_fd(struct st_session *s, int fd, short events)
{
    return st_link_wait_fd(&s->link, fd, events);
}

/* ------------------------------------------------ guest memory operations */

int st_guest_read(struct st_session *s, uint64_t ptr, void *dst, size_t n)
{
    if (n > ST_GUEST_READ_MAX)
        return ST_E_TOO_BIG;
    int rc = st_link_mem_read(&s->link, ptr, dst, n);
    if (rc < 0)
        return rc;
    ST_EMIT(s, on_mem_read, ptr, dst, n);
    return 0;
}

int st_guest_read_str(struct st_session *s, uint64_t ptr, size_t maxlen, char *dst, size_t *len)
{
    if (maxlen > ST_GUEST_READ_MAX)
        return ST_E_TOO_BIG;
    size_t got = 0;
    int rc = st_link_mem_read_str(&s->link, ptr, maxlen, dst, maxlen + 1, &got);
    if (rc < 0)
        return rc;
    if (len)
        *len = got;
    ST_EMIT(s, on_mem_read_str, ptr, (uint64_t)maxlen, dst, got);
    return 0;
}

int st_guest_write(struct st_session *s, uint64_t ptr, const void *src, size_t n)
{
    int rc = st_link_mem_write(&s->link, ptr, src, n);
    if (rc < 0)
        return rc;
    ST_EMIT(s, on_mem_write, ptr, src, n);
    return 0;
}

int st_guest_alloc(struct st_session *s, const void *data, size_t n, uint64_t *ptr)
{
    if (n > ST_GUEST_READ_MAX)
        return ST_E_TOO_BIG;
    uint64_t p = 0;
    int rc = st_link_alloc(&s->link, data, n, &p);
    if (rc < 0)
        return rc;
    ST_EMIT(s, on_mem_alloc, data, n, p);
    *ptr = p;
    return 0;
}

int st_guest_free(struct st_session *s, uint64_t ptr)
{
    int rc = st_link_free(&s->link, ptr);
    if (rc < 0)
        return rc;
    ST_EMIT(s, on_mem_free, ptr);
    return 0;
}

/* ------------------------------------------------------------ dispatcher */

static const char *errno_name(int e)
{
    switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EBADF: return "EBADF";
    case EACCES: return "EACCES";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    case ENOTTY: return "ENOTTY";
    case ENOTSUP: return "ENOTSUP";
    case ECHILD: return "ECHILD";
    case ENOMEM: return "ENOMEM";
    case ENOLCK: return "ENOLCK";
    default: return "errno";
    }
}

int st_session_answer_builtin(struct st_session *s, struct st_call *c)
{
    struct st_wire_request *req = &s->req;
    const struct st_sig *sig = c->sig;
    if (!sig || sig->action == ST_ACT_FATAL) {
        s->unknown++;
        if (!s->cfg.allow_unknown) {
            st_session_note(s, "unknown function '%s'", req->text);
            /* A long name is shortened, so that the reason (256 bytes)
             * still says why. */
            int shown = req->text_len > 96 ? 93 : (int)req->text_len;
            st_session_stop(s, ST_STATUS_UNKNOWN_CALL,
                            "called '%.*s%s', which has %s (--allow-unknown refuses it with "
                            "ENOSYS instead)",
                            shown, req->text, shown < (int)req->text_len ? "..." : "",
                            sig ? "no allowed handler" : "no entry in the registry");
            return ST_E_STOPPED;
        }
        st_session_note(s, "refused unknown function '%s' with ENOSYS", req->text);
        c->err = ENOSYS;
        c->result = req->res_kind == 'p' ? 0 : (uint64_t)-1;
        return 0;
    }
    if (sig->action == ST_ACT_REFUSED) {
        s->refused++;
        if (s->cfg.log_refused)
            st_session_note(s, "refused '%s' with %s", sig->text, errno_name(sig->refuse_errno));
        st_call_fail(c, sig->refuse_errno);
        return 0;
    }
    return handlers[sig->id](s, c);
}

/* Answers one request. Returns 0 to go on, or a negative ST_E_* when the
 * guest must end (s->stopping says why when it is not a stream error). */
static int dispatch(struct st_session *s)
{
    struct st_wire_request *req = &s->req;
    struct st_call c;
    /* An observer may have ended the run at this request (st_run_control). */
    if (s->stopping)
        return ST_E_STOPPED;
    s->calls++;
    if (s->cfg.max_calls && s->calls > s->cfg.max_calls) {
        ST_EMIT(s, on_limit, ST_LIMIT_CALLS, req->text);
        st_session_stop(s, ST_STATUS_MAX_CALLS, "more than %llu calls",
                        (unsigned long long)s->cfg.max_calls);
        return ST_E_STOPPED;
    }
    const struct st_sig *sig = st_registry_lookup(req->text, req->text_len);
    c.sig = sig;
    c.nargs = req->nargs;
    memcpy(c.args, req->args, 8u * req->nargs);
    c.result = 0;
    c.err = 0;
    char res_kind = req->res_kind;
    /* The user's handlers (controller/handler.h) come first when one
     * matches; they fall back on the built-in answer themselves. */
    int rc = st_handlers_want(s->handlers, sig) ? st_handlers_answer(s, &c)
                                                : st_session_answer_builtin(s, &c);
    if (rc < 0)
        return rc;
    if (s->stopping)
        return ST_E_STOPPED;
    if (c.err) {
        rc = st_link_errno(&s->link, c.err);
        if (rc == 0)
            ST_EMIT(s, on_errno, c.err);
    }
    if (rc == 0)
        rc = st_link_result(&s->link, res_kind, c.result);
    if (rc < 0)
        return rc;
    ST_EMIT(s, on_result, res_kind, res_kind == 'v' ? 0 : c.result);
    return 0;
}

/* ------------------------------------------------------------------ run */

/* Tells observers of the direct system calls the jail denied since the
 * last time (one note each, "jail: ..."), in the order they were made. */
static void report_jail_events(struct st_session *s)
{
    struct st_jail_event ev[8];
    size_t n;
    uint64_t dropped;
    while ((n = st_jail_take_events(s->link.child.jail, ev, 8, &dropped)) > 0 || dropped) {
        for (size_t i = 0; i < n; i++)
            st_session_note(s, "jail: %s %s",
                            ev[i].killed ? "forbidden" : ev[i].allowed ? "allowed" : "denied",
                            ev[i].text);
        if (dropped)
            st_session_note(s, "jail: %llu more denied calls not detailed",
                            (unsigned long long)dropped);
        if (n == 0)
            break;
    }
}

/* Fills the outcome from how the guest ended, given why the loop ended. */
static void classify(struct st_session *s, struct st_outcome *o, int loop_rc)
{
    int st = s->link.child.status;
    if (WIFEXITED(st)) {
        o->exit_code = WEXITSTATUS(st);
        o->signal = 0;
    } else if (WIFSIGNALED(st)) {
        o->exit_code = -1;
        o->signal = WTERMSIG(st);
    }
    const struct rusage *ru = &s->link.child.usage;
    double cpu = (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 +
                 (double)ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
    if (s->stopping) {
        o->status = s->stop_status;
        snprintf(o->reason, sizeof o->reason, "%s", s->stop_reason);
        if (s->stop_status == ST_STATUS_EXITED) {
            o->exit_code = s->exit_code_requested;
            o->signal = 0;
        } else if (s->stop_status == ST_STATUS_INTERRUPTED) {
            o->exit_code = -1;
            o->signal = s->interrupt_signal;
        }
        return;
    }
    struct st_jail_event kill_ev;
    if (WIFSIGNALED(st) && st_jail_killed(s->link.child.jail, &kill_ev)) {
        o->status = ST_STATUS_SECCOMP;
        snprintf(o->reason, sizeof o->reason,
                 "killed by the seccomp jail for a forbidden direct system call: %.100s "
                 "(--loose-jail refuses it with EPERM instead)", kill_ev.text);
        return;
    }
    if (WIFSIGNALED(st)) {
        int sig = o->signal;
        if (s->cfg.seccomp && sig == SIGSYS) {
            o->status = ST_STATUS_SECCOMP;
            snprintf(o->reason, sizeof o->reason,
                     "killed by the seccomp jail (a system call of another architecture)");
        } else if (s->cfg.cpu_seconds && (sig == SIGXCPU || (sig == SIGKILL && cpu >= (double)s->cfg.cpu_seconds))) {
            o->status = ST_STATUS_CPU;
            snprintf(o->reason, sizeof o->reason, "cpu limit of %llu s reached",
                     (unsigned long long)s->cfg.cpu_seconds);
        } else if (s->cfg.memory_bytes && (sig == SIGSEGV || sig == SIGABRT || sig == SIGBUS)) {
            o->status = ST_STATUS_MEMORY;
            snprintf(o->reason, sizeof o->reason,
                     "died of signal %d (%s) under the memory limit of %llu bytes (an allocation failed)",
                     sig, strsignal(sig), (unsigned long long)s->cfg.memory_bytes);
        } else {
            o->status = ST_STATUS_SIGNALED;
            snprintf(o->reason, sizeof o->reason, "killed by signal %d (%s)", sig, strsignal(sig));
        }
        return;
    }
    if (loop_rc == ST_E_TRUNCATED) {
        o->status = ST_STATUS_VIOLATION;
        snprintf(o->reason, sizeof o->reason,
                 "protocol violation: stream ended inside a message, then exited with code %d",
                 o->exit_code);
        return;
    }
    o->status = ST_STATUS_EXITED;
    snprintf(o->reason, sizeof o->reason, "exited with code %d", o->exit_code);
}

/* A NULL-terminated copy of `n` strings' pointers (the strings are not
 * copied), or NULL when out of memory. */
static char **pointer_vector(const char *const *v, size_t n)
{
    char **out = calloc(n + 1, sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++)
        out[i] = (char *)v[i];
    return out;
}

/* Spawns the guest on the link. Returns 0, or a negative ST_E_* with the
 * outcome filled (status error) and observers told. */
static int start_guest(struct st_session *s, struct st_outcome *o)
{
    char **argv = pointer_vector(s->cfg.argv, s->cfg.argc);
    char **envp = s->cfg.nreal_env ? pointer_vector(s->cfg.real_env, s->cfg.nreal_env) : NULL;
    int rc = ST_E_NOMEM;
    if (argv && (envp || !s->cfg.nreal_env)) {
        struct st_spawn_config sc;
        st_spawn_config_init(&sc);
        sc.path = s->cfg.exe;
        sc.argv = argv;
        sc.envp = envp;
        sc.stderr_pipe = 1;
        sc.seccomp = s->cfg.seccomp;
        sc.loose_jail = s->cfg.loose_jail;
        sc.no_fs_jail = s->cfg.no_fs_jail;
        sc.no_aslr = s->cfg.no_aslr;
        sc.cpu_seconds = s->cfg.cpu_seconds;
        sc.memory_bytes = s->cfg.memory_bytes;
        sc.cpu_policy = s->cfg.cpu_policy;
        sc.cpu = s->cfg.cpu;
        struct st_link_hooks hooks = { .ctx = s, .on_stderr = on_guest_stderr,
                                       .should_stop = session_should_stop };
        rc = st_link_start(&s->link, &sc, s->cfg.timeout_seconds, &hooks);
        if (rc == 0 && s->cfg.protocol_memory)
            st_link_set_memory(&s->link, ST_LINK_MEM_PROTOCOL);
    }
    free(argv);
    free(envp);
    if (rc == 0)
        return 0;
    o->status = ST_STATUS_ERROR;
    if (rc == ST_E_SPAWN && s->link.child.exec_errno)
        snprintf(o->reason, sizeof o->reason, "cannot execute '%s': %s", s->cfg.exe,
                 strerror(s->link.child.exec_errno));
    else if (rc == ST_E_NOMEM)
        snprintf(o->reason, sizeof o->reason, "out of memory");
    else
        snprintf(o->reason, sizeof o->reason, "cannot start '%s': %s", s->cfg.exe,
                 st_error_name(rc));
    ST_EMIT(s, on_exit, o);
    return rc;
}

/* Reads and answers requests until the guest's stream ends or the run is
 * stopped. Returns why the loop ended (ST_E_EOF, ST_E_TRUNCATED...);
 * *cut_in_request: the stream ended inside a request (not a reply). */
static int request_loop(struct st_session *s, int *cut_in_request)
{
    int rc;
    *cut_in_request = 0;
    for (;;) {
        if (session_should_stop(s))
            return ST_E_STOPPED;
        rc = st_link_read_request(&s->link, &s->req);
        if (rc < 0) {
            *cut_in_request = rc == ST_E_TRUNCATED;
            if (rc != ST_E_EOF && rc != ST_E_TRUNCATED && rc != ST_E_IO &&
                rc != ST_E_TIMEOUT && rc != ST_E_STOPPED) {
                ST_EMIT(s, on_violation, st_error_name(rc), s->req.raw, s->req.raw_len);
                st_session_stop(s, ST_STATUS_VIOLATION, "protocol violation: %s",
                                st_error_name(rc));
            }
            return rc;
        }
        report_jail_events(s);
        ST_EMIT(s, on_request, s->req.text, s->req.text_len, s->req.args, s->req.nargs);
        rc = dispatch(s);
        if (rc < 0)
            return rc;
    }
}

static void timeout_reached(struct st_session *s)
{
    ST_EMIT(s, on_limit, ST_LIMIT_TIMEOUT, "wall-clock limit reached");
    st_session_stop(s, ST_STATUS_TIMEOUT, "timeout after %g s", s->cfg.timeout_seconds);
}

/* Ends the guest after the loop: killed when the run was stopped, else
 * waited for (until the deadline); its last stderr is read. */
static void end_guest(struct st_session *s, int loop_rc, int cut_in_request)
{
    if (loop_rc == ST_E_TIMEOUT && !s->stopping) {
        timeout_reached(s);
    } else if (!s->stopping && loop_rc != ST_E_EOF && loop_rc != ST_E_TRUNCATED &&
               loop_rc != ST_E_IO && loop_rc != ST_E_STOPPED) {
        /* A handler found the guest's reply malformed. */
        ST_EMIT(s, on_violation, st_error_name(loop_rc), NULL, 0);
        st_session_stop(s, ST_STATUS_VIOLATION, "protocol violation: %s", st_error_name(loop_rc));
    }
    if (s->stopping) {
        st_link_kill(&s->link);
    } else if (!st_link_wait_end(&s->link)) {
        /* Its stdout is closed but it runs on: the deadline (or an
         * interruption, which already said so) ends it. */
        if (!s->stopping)
            timeout_reached(s);
        st_link_kill(&s->link);
    }
    st_link_finish_stderr(&s->link, 0.1);
    /* A stream cut inside a message by a guest that then exited is a
     * violation (classify says so): observers hear it like the others,
     * with the bytes of a cut request. A guest killed by a signal midway
     * crashed instead, and is reported by its signal. */
    if (!s->stopping && loop_rc == ST_E_TRUNCATED && s->link.child.reaped &&
        WIFEXITED(s->link.child.status)) {
        if (cut_in_request)
            ST_EMIT(s, on_violation, st_error_name(loop_rc), s->req.raw, s->req.raw_len);
        else
            ST_EMIT(s, on_violation, st_error_name(loop_rc), NULL, 0);
    }
}

static double seconds_of(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* The outcome's counters, times and denied calls. */
static void fill_counters(struct st_session *s, struct st_outcome *o, const struct rusage *self_start)
{
    o->calls = s->calls;
    o->refused = s->refused;
    o->unknown = s->unknown;
    o->bytes_in = s->link.rd.bytes_in;
    o->bytes_out = s->link.out.bytes_out;
    o->output_bytes = s->output_total;
    o->stderr_bytes = s->stderr_total;
    o->input_bytes = s->input_total;
    o->pinned = s->link.place.pinned;
    o->cpu = s->link.place.cpu;
    o->memory_access = s->link.direct_ops ? "direct" : s->link.protocol_ops ? "protocol" : "none";
    o->wall_seconds = st_session_now() - s->t_start;
    o->guest_user_seconds = seconds_of(s->link.child.usage.ru_utime);
    o->guest_sys_seconds = seconds_of(s->link.child.usage.ru_stime);
    struct rusage self_end;
    getrusage(RUSAGE_SELF, &self_end);
    o->controller_user_seconds = seconds_of(self_end.ru_utime) - seconds_of(self_start->ru_utime);
    o->controller_sys_seconds = seconds_of(self_end.ru_stime) - seconds_of(self_start->ru_stime);
    const char *names[16];
    uint64_t counts[16];
    size_t nd = st_jail_denied_summary(s->link.child.jail, names, counts, 16);
    o->denied = 0;
    for (size_t i = 0; i < nd && i < 16; i++) {
        snprintf(o->denied_names[i].name, sizeof o->denied_names[i].name, "%s", names[i]);
        o->denied_names[i].count = counts[i];
        o->denied += counts[i];
    }
    o->ndenied_names = nd < 16 ? nd : 16;
}

int st_session_run(struct st_session *s, struct st_outcome *o)
{
    memset(o, 0, sizeof *o);
    o->exit_code = -1;
    if (s->ran) {
        o->status = ST_STATUS_ERROR;
        snprintf(o->reason, sizeof o->reason, "session already ran");
        return ST_E_INVALID;
    }
    s->ran = 1;
    struct rusage self_start;
    getrusage(RUSAGE_SELF, &self_start);
    s->t_start = st_session_now();
    int rc = start_guest(s, o);
    if (rc < 0)
        return rc;
    const struct st_run_control control = { .session = s, .stop = control_stop };
    ST_EMIT(s, on_start, &control);
    int cut_in_request;
    int loop_rc = request_loop(s, &cut_in_request);
    end_guest(s, loop_rc, cut_in_request);
    report_jail_events(s);
    classify(s, o, loop_rc);
    /* The kernel enforced these limits (the guest died of them): observers
     * hear of them as of the limits the controller enforces itself. */
    if (o->status == ST_STATUS_CPU)
        ST_EMIT(s, on_limit, ST_LIMIT_CPU, "cpu-time limit reached (RLIMIT_CPU)");
    else if (o->status == ST_STATUS_MEMORY)
        ST_EMIT(s, on_limit, ST_LIMIT_MEMORY, "died of a failed allocation under the memory limit (RLIMIT_AS)");
    /* The guest's last stderr line, left open, is ended: a tool's closing
     * line about an end other than a plain exit then stands on its own. */
    if (s->err_line_open && o->status != ST_STATUS_EXITED && s->cfg.err_fd >= 0) {
        st_session_write_own(s, s->cfg.err_fd, "\n", 1);
        s->err_line_open = 0;
    }
    fill_counters(s, o, &self_start);
    st_link_close(&s->link);
    ST_EMIT(s, on_exit, o);
    return 0;
}
