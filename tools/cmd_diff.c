/* sandtrace diff: align two traces call by call and report where they
 * diverge. Times never count; pointers count only through relocation: the
 * first time a pointer of A meets a pointer of B the pair is learnt, and
 * from then on each must meet only the other (a replay with ASLR gives the
 * same trace with every pointer moved). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/commands.h"
#include "tools/options.h"
#include "tools/trace_calls.h"
#include "tools/trace_cli.h"
#include "tools/trace_print.h"

#define DIFF_WINDOW 64              /* items looked ahead to realign after a divergence (--all) */
#define DIFF_MAP_MAX (1u << 24)     /* pointer pairs remembered */

/* ------------------------------------------------------------------------
 * A one-way pointer map (open addressing; 0 is never a key). */

struct ptr_map {
    uint64_t *keys, *vals;
    size_t cap, count;
};

static int map_get(const struct ptr_map *m, uint64_t k, uint64_t *v)
{
    if (!m->cap)
        return 0;
    for (size_t i = (size_t)(k * 0x9e3779b97f4a7c15ull) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i])
            return 0;
        if (m->keys[i] == k) {
            *v = m->vals[i];
            return 1;
        }
    }
}

static int map_put(struct ptr_map *m, uint64_t k, uint64_t v)
{
    if (m->count >= DIFF_MAP_MAX)
        return -1;
    if ((m->count + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 1024;
        struct ptr_map n = { calloc(ncap, 8), calloc(ncap, 8), ncap, 0 };
        if (!n.keys || !n.vals) {
            free(n.keys);
            free(n.vals);
            return -1;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i])
                map_put(&n, m->keys[i], m->vals[i]);
        free(m->keys);
        free(m->vals);
        *m = n;
    }
    size_t i = (size_t)(k * 0x9e3779b97f4a7c15ull) & (m->cap - 1);
    while (m->keys[i] && m->keys[i] != k)
        i = (i + 1) & (m->cap - 1);
    if (!m->keys[i])
        m->count++;
    m->keys[i] = k;
    m->vals[i] = v;
    return 0;
}

static void map_release(struct ptr_map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

struct reloc {
    struct ptr_map ab, ba;
    int full; /* the map is full: unknown pairs are accepted */
};

/* Do pointers a (in A) and b (in B) correspond? Learns new pairs. */
static int reloc_match(struct reloc *r, uint64_t a, uint64_t b, int learn)
{
    if (!a || !b)
        return a == b;
    uint64_t x;
    int ka = map_get(&r->ab, a, &x);
    if (ka && x != b)
        return 0;
    int kb = map_get(&r->ba, b, &x);
    if (kb && x != a)
        return 0;
    if (!ka && !kb && learn && !r->full) {
        if (map_put(&r->ab, a, b) < 0 || map_put(&r->ba, b, a) < 0)
            r->full = 1;
    }
    return 1;
}

/* ------------------------------------------------------------------------
 * One side: its items, with look-ahead. Consecutive guest stderr events
 * are merged into one (how the bytes were cut into reads does not count),
 * and notes are skipped unless asked for. */

struct side {
    const char *path;
    struct tc_source src;
    struct tc_item *q;      /* look-ahead queue */
    size_t n, cap;
    int err;                /* read error, once reached */
    int eof;
    int notes;
    const struct tp_filter *filter; /* -e: the calls compared */
    struct tcli_trace t;
    struct tc_item held;    /* an item read past a stderr run */
    int have_held;
};

static int side_raw_next(struct side *s, struct tc_item *out)
{
    if (s->have_held) {
        *out = s->held;
        s->have_held = 0;
        return 1;
    }
    for (;;) {
        int rc = tc_source_next(&s->src, out);
        if (rc <= 0) {
            if (rc < 0)
                s->err = rc;
            return 0;
        }
        if ((out->kind == TC_ITEM_EVENT && out->ev.kind == TRACE_EV_NOTE && !s->notes) ||
            (out->kind == TC_ITEM_CALL && !tp_filter_match(s->filter, &out->call))) {
            tc_item_release(out);
            continue;
        }
        return 1;
    }
}

/* Makes sure q holds at least k items (fewer at the end). */
static void side_fill(struct side *s, size_t k)
{
    while (s->n < k && !s->eof) {
        struct tc_item it;
        if (!side_raw_next(s, &it)) {
            s->eof = 1;
            break;
        }
        if (it.kind == TC_ITEM_EVENT && it.ev.kind == TRACE_EV_GUEST_STDERR) {
            /* Merge the run of stderr events that follows. */
            struct tc_item nx;
            while (side_raw_next(s, &nx)) {
                if (nx.kind != TC_ITEM_EVENT || nx.ev.kind != TRACE_EV_GUEST_STDERR) {
                    s->held = nx;
                    s->have_held = 1;
                    break;
                }
                size_t l1 = it.ev.guest_stderr.len, l2 = nx.ev.guest_stderr.len;
                uint8_t *d = l1 + l2 <= TRACE_MAX_BLOB ? malloc(l1 + l2 + 1) : NULL;
                if (d) {
                    memcpy(d, it.ev.guest_stderr.data, l1);
                    memcpy(d + l1, nx.ev.guest_stderr.data, l2);
                    free(it.bytes); /* held the stderr data alone */
                    it.bytes = d;
                    it.ev.guest_stderr.data = d;
                    it.ev.guest_stderr.len = l1 + l2;
                }
                tc_item_release(&nx);
            }
        }
        struct tc_item *nq = st_grow(s->q, &s->cap, s->n + 1, sizeof *nq, 16, SIZE_MAX);
        if (!nq) {
            tc_item_release(&it);
            s->err = TRACE_E_NOMEM;
            s->eof = 1;
            break;
        }
        s->q = nq;
        s->q[s->n++] = it;
    }
}

static void side_drop(struct side *s, size_t k)
{
    if (!s->n)
        return;
    for (size_t i = 0; i < k && i < s->n; i++)
        tc_item_release(&s->q[i]);
    if (k > s->n)
        k = s->n;
    memmove(s->q, s->q + k, (s->n - k) * sizeof *s->q);
    s->n -= k;
}

static void side_release(struct side *s)
{
    side_drop(s, s->n);
    free(s->q);
    if (s->have_held)
        tc_item_release(&s->held);
    tc_source_release(&s->src);
    if (s->t.r)
        tcli_trace_close(&s->t);
}

/* ------------------------------------------------------------------------
 * Comparison. */

struct verdict {
    char what[1024];
};

static uint64_t item_seq(const struct tc_item *it)
{
    return it->kind == TC_ITEM_CALL ? it->call.seq : it->ev.seq;
}

static const char *mem_letter(enum trace_event_kind k)
{
    switch (k) {
    case TRACE_EV_MEM_READ: return "R";
    case TRACE_EV_MEM_READ_STR: return "Z";
    case TRACE_EV_MEM_WRITE: return "W";
    case TRACE_EV_MEM_ALLOC: return "M";
    case TRACE_EV_MEM_FREE: return "F";
    case TRACE_EV_SET_ERRNO: return "E";
    default: return "?";
    }
}

/* Where two byte strings first differ (they are known to differ). */
static void data_diff(char *out, size_t cap, const char *what, const uint8_t *a, size_t ka, size_t la,
                      const uint8_t *b, size_t kb, size_t lb)
{
    size_t n = ka < kb ? ka : kb, i = 0;
    while (i < n && a[i] == b[i])
        i++;
    if (i == n && la == lb && ka == la && kb == lb) {
        snprintf(out, cap, "%s differs", what);
        return;
    }
    if (la == lb)
        snprintf(out, cap, "%s differs at byte %zu (of %zu)", what, i, la);
    else
        snprintf(out, cap, "%s differs at byte %zu (%zu vs %zu bytes)", what, i, la, lb);
}

/* What argtable.def calls a difference in an argument of meaning `m`. */
static const char *meaning_name(char m)
{
    const struct st_arg_info *a = st_arg_info(m);
    return a ? a->noun : NULL;
}

/* The arguments of two calls of one signature: 1 if equivalent. */
static int args_equal(const struct tc_call *a, const struct tc_call *b, struct reloc *rl, int learn,
                      struct verdict *v)
{
    for (size_t i = 0; i < a->nargs; i++) {
        char kind = i < strlen(a->arg_kinds) ? a->arg_kinds[i] : 'i';
        int same = kind == 'p' ? (learn ? reloc_match(rl, a->args[i], b->args[i], 1)
                                        : (a->args[i] == 0) == (b->args[i] == 0))
                               : a->args[i] == b->args[i];
        if (same)
            continue;
        const char *mn = a->reg ? meaning_name(a->reg->args[i]) : NULL;
        if (kind == 'p')
            snprintf(v->what, sizeof v->what,
                     "argument %zu: pointer 0x%" PRIx64 " vs 0x%" PRIx64
                     " breaks the relocation seen so far",
                     i + 1, a->args[i], b->args[i]);
        else
            snprintf(v->what, sizeof v->what, "argument %zu%s%s%s differs", i + 1, mn ? " (" : "",
                     mn ? mn : "", mn ? ")" : "");
        return 0;
    }
    return 1;
}

/* Memory command i of two calls: 1 if equivalent. */
static int mem_equal(const struct tc_mem *x, const struct tc_mem *y, size_t i, struct reloc *rl,
                     int learn, struct verdict *v)
{
    if (x->kind != y->kind) {
        snprintf(v->what, sizeof v->what, "memory command %zu differs: %s vs %s", i + 1,
                 mem_letter(x->kind), mem_letter(y->kind));
        return 0;
    }
    if (x->kind == TRACE_EV_SET_ERRNO) {
        if (x->err == y->err)
            return 1;
        const char *ea = tp_errno_name(x->err), *eb = tp_errno_name(y->err);
        snprintf(v->what, sizeof v->what, "errno differs: %s vs %s", ea ? ea : "?", eb ? eb : "?");
        return 0;
    }
    if (learn && !reloc_match(rl, x->ptr, y->ptr, 1)) {
        snprintf(v->what, sizeof v->what,
                 "%s command %zu: address 0x%" PRIx64 " vs 0x%" PRIx64
                 " breaks the relocation seen so far",
                 mem_letter(x->kind), i + 1, x->ptr, y->ptr);
        return 0;
    }
    if (x->kind == TRACE_EV_MEM_READ_STR && x->size != y->size) {
        snprintf(v->what, sizeof v->what, "Z command %zu: maxlen %" PRId64 " vs %" PRId64, i + 1,
                 (int64_t)x->size, (int64_t)y->size);
        return 0;
    }
    if (x->len != y->len || x->hash != y->hash) {
        static const char *const role[] = { [TRACE_EV_MEM_READ] = "data read from the guest (R)",
                                            [TRACE_EV_MEM_READ_STR] = "string read from the guest (Z)",
                                            [TRACE_EV_MEM_WRITE] = "data written to the guest (W)",
                                            [TRACE_EV_MEM_ALLOC] = "data allocated in the guest (M)" };
        char what[96];
        snprintf(what, sizeof what, "%s, command %zu,",
                 x->kind <= TRACE_EV_MEM_ALLOC ? role[x->kind] : "data", i + 1);
        data_diff(v->what, sizeof v->what, what, x->data, x->kept, x->len, y->data, y->kept,
                  y->len);
        return 0;
    }
    return 1;
}

/* 1 if the calls are equivalent; otherwise 0 and why. With learn = 0 the
 * pointer map is neither used nor changed (the loose test used to realign). */
static int calls_equal(const struct tc_call *a, const struct tc_call *b, struct reloc *rl, int learn,
                       struct verdict *v)
{
    if (strcmp(a->sig, b->sig)) {
        struct st_buf t;
        st_buf_init(&t, 600);
        st_buf_puts(&t, "different functions: ");
        tp_format_text(&t, a->sig);
        st_buf_puts(&t, " vs ");
        tp_format_text(&t, b->sig);
        snprintf(v->what, sizeof v->what, "%s", t.data);
        st_buf_release(&t);
        return 0;
    }
    if (a->nargs != b->nargs) {
        snprintf(v->what, sizeof v->what, "argument count differs: %zu vs %zu", a->nargs, b->nargs);
        return 0;
    }
    if (!args_equal(a, b, rl, learn, v))
        return 0;
    size_t n = a->nmem < b->nmem ? a->nmem : b->nmem;
    for (size_t i = 0; i < n; i++)
        if (!mem_equal(&a->mem[i], &b->mem[i], i, rl, learn, v))
            return 0;
    if (a->nmem != b->nmem) {
        const struct tc_mem *extra = a->nmem > b->nmem ? &a->mem[n] : &b->mem[n];
        snprintf(v->what, sizeof v->what, "%s has more memory commands (the first extra one: %s)",
                 a->nmem > b->nmem ? "A" : "B", mem_letter(extra->kind));
        return 0;
    }
    if (a->finished != b->finished) {
        snprintf(v->what, sizeof v->what, "the call is unfinished in %s", a->finished ? "B" : "A");
        return 0;
    }
    if (a->finished) {
        int same = a->result_kind == b->result_kind &&
                   (a->result_kind == 'p' ? (learn ? reloc_match(rl, a->result, b->result, 1)
                                                   : (a->result == 0) == (b->result == 0))
                                          : a->result == b->result);
        if (!same) {
            snprintf(v->what, sizeof v->what, "result differs");
            return 0;
        }
    }
    return 1;
}

static int events_equal(const struct trace_event *a, const struct trace_event *b, struct reloc *rl, int learn,
                        struct verdict *v)
{
    if (a->kind != b->kind) {
        snprintf(v->what, sizeof v->what, "different events: %s vs %s", trace_event_kind_name(a->kind),
                 trace_event_kind_name(b->kind));
        return 0;
    }
    switch (a->kind) {
    case TRACE_EV_GUEST_STDERR:
        if (a->guest_stderr.len != b->guest_stderr.len ||
            memcmp(a->guest_stderr.data, b->guest_stderr.data, a->guest_stderr.len)) {
            data_diff(v->what, sizeof v->what, "guest stderr", a->guest_stderr.data, a->guest_stderr.len,
                      a->guest_stderr.len, b->guest_stderr.data, b->guest_stderr.len, b->guest_stderr.len);
            return 0;
        }
        return 1;
    case TRACE_EV_GUEST_EXIT:
        if (a->guest_exit.code != b->guest_exit.code || a->guest_exit.signal != b->guest_exit.signal) {
            snprintf(v->what, sizeof v->what, "the guest ended differently");
            return 0;
        }
        return 1;
    case TRACE_EV_LIMIT:
        if (strcmp(a->limit.name, b->limit.name) || a->limit.value != b->limit.value) {
            snprintf(v->what, sizeof v->what, "different limits");
            return 0;
        }
        return 1;
    case TRACE_EV_VIOLATION:
        if (strcmp(a->violation.text, b->violation.text) || a->violation.len != b->violation.len ||
            memcmp(a->violation.data, b->violation.data, a->violation.len)) {
            snprintf(v->what, sizeof v->what, "different violations");
            return 0;
        }
        return 1;
    case TRACE_EV_NOTE:
        if (strcmp(a->note.text, b->note.text)) {
            snprintf(v->what, sizeof v->what, "different notes");
            return 0;
        }
        return 1;
    case TRACE_EV_MEM_READ: case TRACE_EV_MEM_READ_STR: case TRACE_EV_MEM_WRITE: case TRACE_EV_MEM_ALLOC:
    case TRACE_EV_MEM_FREE:
        if ((learn && !reloc_match(rl, a->mem.ptr, b->mem.ptr, 1)) || a->mem.len != b->mem.len ||
            (a->mem.len && memcmp(a->mem.data, b->mem.data, a->mem.len))) {
            snprintf(v->what, sizeof v->what, "memory commands outside any request differ");
            return 0;
        }
        return 1;
    default:
        return 1;
    }
}

static int items_equal(const struct tc_item *a, const struct tc_item *b, struct reloc *rl, int learn,
                       struct verdict *v)
{
    if (a->kind != b->kind) {
        snprintf(v->what, sizeof v->what, "%s vs %s", a->kind == TC_ITEM_CALL ? "a call" : trace_event_kind_name(a->ev.kind),
                 b->kind == TC_ITEM_CALL ? "a call" : trace_event_kind_name(b->ev.kind));
        return 0;
    }
    if (a->kind == TC_ITEM_CALL)
        return calls_equal(&a->call, &b->call, rl, learn, v);
    return events_equal(&a->ev, &b->ev, rl, learn, v);
}

/* ------------------------------------------------------------------------
 * Output. */

static void item_line(struct st_buf *b, char mark, const struct tc_item *it, const struct tp_options *o)
{
    uint64_t ns = it->kind == TC_ITEM_CALL ? it->call.time_ns : it->ev.time_ns;
    st_buf_addf(b, "%c%" PRIu64 " +%" PRIu64 ".%06" PRIu64 " ", mark, item_seq(it), ns / 1000000000u,
                ns / 1000u % 1000000u);
    if (it->kind == TC_ITEM_CALL)
        tp_format_call(b, &it->call, o);
    else
        tp_format_event(b, &it->ev, o);
    st_buf_puts(b, "\n");
}

static void diff_usage(FILE *f)
{
    fprintf(f,
            "usage: sandtrace diff [OPTIONS] A B\n"
            "\n"
            "Align two traces call by call and report the first place where they diverge,\n"
            "with both sides in the dump format ('-' lines are A, '+' lines are B). Compared:\n"
            "functions, non-pointer arguments, the data read from the guest (R, Z), the\n"
            "answers (W, M, E, results), guest stderr, exit, limits and violations. Times\n"
            "never count; pointers are compared through relocation (a pointer of A must\n"
            "always meet the same pointer of B). Nothing is printed for equivalent traces.\n"
            "One of A and B may be '-' for stdin (not both: stdin can be read only once).\n"
            "Options may come before or after the traces.\n"
            "\n"
            "options:\n"
            "  --all            report every divergence, realigning after each one (looking\n"
            "                   up to %d items ahead for calls only one side made)\n"
            "  --notes          compare controller notes too (ignored by default)\n"
            "  -e trace=SET     compare only these calls (as in dump)\n"
            "  --events A..B    compare only events A to B of each trace\n"
            "  -s N             bytes of strings and buffers shown (default 32)\n"
            "  --recover        skip damaged regions of the traces instead of stopping; what\n"
            "                   was skipped is said on stderr, and the exit status is 5\n"
            "  -o, --output FILE  write the report to FILE instead of stdout (never over A\n"
            "                   or B)\n"
            "  -q, --quiet      no 'N divergences' summary line after --all\n"
            "  -h, --help       this help\n"
            "\n"
            "exit status: 0 equivalent, 1 different, 2 usage, 4 cannot open a trace\n"
            "(missing, a directory, not a trace), 5 a trace is damaged or cut short\n"
            "(compared as far as it could be read), 6 cannot write the output.\n",
            DIFF_WINDOW);
}

enum { O_ALL = TCLI_O_OWN, O_NOTES };

static const struct opt_spec diff_specs[] = {
    TCLI_OPT_EXPR, TCLI_OPT_EVENTS, TCLI_OPT_RECOVER, TCLI_OPT_OUTPUT, TCLI_OPT_QUIET, TCLI_OPT_HELP,
    { 's', 's', NULL, OPT_NUM },
    { O_ALL, 0, "all", OPT_NONE },
    { O_NOTES, 0, "notes", OPT_NONE },
    OPT_SPEC_END,
};

struct diff_opts {
    struct tp_options o;
    struct tcli_common c;
    int all, notes;
};

/* 0, ST_EXIT_USAGE (printed), or -1 after --help. */
static int diff_parse(struct opt_parser *p, struct diff_opts *d)
{
    for (int id; (id = tcli_next_option(&d->c, p)) != OPT_DONE;) {
        if (id == OPT_ERROR)
            return ST_EXIT_USAGE;
        switch (id) {
        case 's':
            if (tcli_parse_size(p->arg, &d->o.strsize) < 0)
                return opt_bad_value(p, "bad string size");
            break;
        case O_ALL: d->all = 1; break;
        case O_NOTES: d->notes = 1; break;
        case TCLI_O_HELP:
            diff_usage(stdout);
            return -1;
        }
    }
    return tcli_check_operands(p, 2, "traces (A and B)");
}

/* The state of one comparison. */
struct diff {
    struct side s[2];
    struct diff_opts *d;
    struct reloc rl;
    struct st_buf out;
    struct tcli_out *o;
    uint64_t divergences, ncall;
};

/* The rest of the longer side after the shorter one ended. */
static void diff_tail(struct diff *x)
{
    struct side *s = x->s;
    int longer = s[0].n ? 0 : 1;
    st_buf_addf(&x->out, "@@ after call %" PRIu64 ": %s ends here, %s goes on @@\n", x->ncall,
                longer ? "A" : "B", longer ? "B" : "A");
    item_line(&x->out, longer ? '+' : '-', &s[longer].q[0], &x->d->o);
    while (x->d->all) { /* --all: the rest of the longer side too */
        side_drop(&s[longer], 1);
        side_fill(&s[longer], 1);
        if (!s[longer].n)
            break;
        item_line(&x->out, longer ? '+' : '-', &s[longer].q[0], &x->d->o);
        if (x->out.len > 1 << 20 && tcli_out_buf(x->o, &x->out))
            break;
    }
}

/* --all: after a divergence at the heads, the nearest pair (i, j) that
 * matches loosely, i + j smallest; prints what is skipped on each side. */
static void diff_realign(struct diff *x)
{
    struct side *s = x->s;
    side_fill(&s[0], DIFF_WINDOW);
    side_fill(&s[1], DIFF_WINDOW);
    size_t bi = 1, bj = 1, best = SIZE_MAX;
    for (size_t d = 1; d < 2 * DIFF_WINDOW && best == SIZE_MAX; d++)
        for (size_t i = 0; i <= d && best == SIZE_MAX; i++) {
            size_t j = d - i;
            struct verdict tmp;
            if (i < s[0].n && j < s[1].n && items_equal(&s[0].q[i], &s[1].q[j], &x->rl, 0, &tmp)) {
                bi = i;
                bj = j;
                best = d;
            }
        }
    if (best == SIZE_MAX) {
        bi = s[0].n ? 1 : 0;
        bj = s[1].n ? 1 : 0;
    }
    if (bi == 0 && bj == 0)
        bi = bj = 1; /* cannot happen: the pair at (0, 0) did not match */
    for (size_t i = 0; i < bi; i++)
        item_line(&x->out, '-', &s[0].q[i], &x->d->o);
    for (size_t j = 0; j < bj; j++)
        item_line(&x->out, '+', &s[1].q[j], &x->d->o);
    for (size_t i = 0; i < bi; i++)
        x->ncall += s[0].q[i].kind == TC_ITEM_CALL;
    side_drop(&s[0], bi);
    side_drop(&s[1], bj);
}

static void diff_run(struct diff *x)
{
    struct side *s = x->s;
    for (;;) {
        side_fill(&s[0], 1);
        side_fill(&s[1], 1);
        if (!s[0].n && !s[1].n)
            break;
        struct verdict v = { "" };
        if (s[0].n && s[1].n && items_equal(&s[0].q[0], &s[1].q[0], &x->rl, 1, &v)) {
            x->ncall += s[0].q[0].kind == TC_ITEM_CALL;
            side_drop(&s[0], 1);
            side_drop(&s[1], 1);
            continue;
        }
        if (x->divergences++ == 0)
            st_buf_addf(&x->out, "--- %s\n+++ %s\n", s[0].path, s[1].path);
        if (!s[0].n || !s[1].n) {
            diff_tail(x);
            break;
        }
        st_buf_addf(&x->out, "@@ call %" PRIu64 " (A event %" PRIu64 ", B event %" PRIu64 "): %s @@\n",
                    x->ncall + 1, item_seq(&s[0].q[0]), item_seq(&s[1].q[0]), v.what);
        if (!x->d->all) {
            item_line(&x->out, '-', &s[0].q[0], &x->d->o);
            item_line(&x->out, '+', &s[1].q[0], &x->d->o);
            break;
        }
        diff_realign(x);
        if (x->out.len > 1 << 20 && tcli_out_buf(x->o, &x->out))
            break;
    }
}

/* Opens both sides: 0, or the exit code (printed). */
static int diff_open(struct diff *x, char **paths)
{
    for (int i = 0; i < 2; i++) {
        struct side *s = &x->s[i];
        s->path = paths[i];
        s->notes = x->d->notes;
        s->filter = x->d->c.filter;
        int status = tcli_trace_open(&s->t, "diff", s->path, x->d->c.recover, 1);
        if (status)
            return status;
        if (tc_source_init(&s->src, s->t.r, x->d->c.first, x->d->c.last) < 0) {
            fprintf(stderr, "sandtrace diff: cannot read trace '%s'\n", s->path);
            return ST_EXIT_DAMAGED;
        }
    }
    return 0;
}

int cmd_diff(int argc, char **argv)
{
    static struct diff_opts d;
    memset(&d, 0, sizeof d);
    tp_options_init(&d.o);
    tcli_common_init(&d.c);
    struct opt_parser p;
    opt_init(&p, "diff", diff_specs, argc, argv, 0);
    int status = diff_parse(&p, &d);
    static struct diff x;
    memset(&x, 0, sizeof x);
    x.d = &d;
    struct tcli_out o;
    if (!status && (status = diff_open(&x, p.operands)) == 0)
        status = tcli_out_open(&o, "diff", d.c.outpath, (const char *const *)p.operands, 2);
    if (status) {
        side_release(&x.s[0]);
        side_release(&x.s[1]);
        opt_release(&p);
        tcli_common_release(&d.c);
        return status < 0 ? ST_EXIT_OK : status;
    }
    x.o = &o;
    st_buf_init(&x.out, 0);
    diff_run(&x);
    if (d.all && x.divergences && !d.c.quiet)
        st_buf_addf(&x.out, "%" PRIu64 " divergence%s\n", x.divergences,
                    x.divergences == 1 ? "" : "s");
    status = x.divergences ? ST_EXIT_DIFFERENT : ST_EXIT_OK;
    tcli_out_buf(&o, &x.out);
    for (int i = 0; i < 2; i++) {
        int st = tcli_trace_end(&x.s[i].t, x.s[i].err);
        if (st)
            status = st;
    }
    int ostatus = tcli_out_close(&o);
    st_buf_release(&x.out);
    map_release(&x.rl.ab);
    map_release(&x.rl.ba);
    side_release(&x.s[0]);
    side_release(&x.s[1]);
    opt_release(&p);
    tcli_common_release(&d.c);
    return ostatus ? ostatus : status;
}
