/* tools/trace_calls.h: turns a trace's event stream into calls.
 *
 * A *call* is a REQUEST event with the memory commands (R, Z, W, M, F), the
 * E and the RESULT that carry its seq as req_seq. Every other event (guest
 * stderr, exit, limits, violations, notes, a memory command outside any
 * request) is an *event item* of its own. The collector is fed events in
 * trace order and hands out items in the order a reader wants to see them:
 * a call when its RESULT arrives (or, unfinished, when the guest exits, a
 * new request starts, or the trace ends), followed by the event items that
 * arrived while it was open.
 *
 * Items own copies of everything they point to (event data is only valid
 * until the reader's next call). A hostile trace cannot make the collector
 * grow without bound: data kept per call, memory commands per call and
 * deferred items are capped; what is over a cap is counted, not kept (a
 * memory command's length and XXH3 hash are always exact). */
#ifndef SANDTRACE_TOOLS_TRACE_CALLS_H
#define SANDTRACE_TOOLS_TRACE_CALLS_H

#include <stddef.h>
#include <stdint.h>

#include "controller/registry.h"
#include "format/trace.h"

#define TC_CALL_DATA_MAX (64u * 1024 * 1024) /* data bytes kept per call */
#define TC_CALL_MEM_MAX 65536u               /* memory commands kept per call */
#define TC_DEFER_MAX 4096u                   /* items held back while a call is open */

/* One memory command or E of a call, as it crossed. */
struct tc_mem {
    enum trace_event_kind kind; /* TRACE_EV_MEM_* or TRACE_EV_SET_ERRNO */
    uint64_t seq, time_ns;
    uint64_t ptr;               /* R/Z/W/M/F address */
    uint64_t size;              /* Z's maxlen */
    int32_t err;                /* E's value */
    const uint8_t *data;        /* `kept` bytes of the data (owned by the call) */
    size_t len;                 /* the full length of the data */
    size_t kept;                /* bytes kept: len, unless the call's budget ran out */
    uint64_t hash;              /* XXH3-64 of the full data */
};

struct tc_call {
    uint64_t seq, time_ns;      /* of the REQUEST */
    char sig[TRACE_MAX_SIG_LEN + 1];
    char name[TRACE_MAX_SIG_LEN + 1];
    char arg_kinds[TRACE_MAX_ARGS + 1]; /* wire kinds from the text ("" if malformed) */
    char res_kind;              /* wire result kind from the text, or '?' */
    const struct st_sig *reg;   /* the registry's entry, NULL when unknown */
    size_t nargs;
    uint64_t args[TRACE_MAX_ARGS];
    struct tc_mem *mem;         /* in wire order */
    size_t nmem;
    uint64_t mem_dropped;       /* memory commands over TC_CALL_MEM_MAX */
    int has_errno;              /* an E came; err is the last one */
    int32_t err;
    int finished;               /* the RESULT came */
    char result_kind;           /* as recorded */
    uint64_t result;
    uint64_t end_seq, end_time_ns; /* of the RESULT, or of the last event seen */
    uint64_t bytes_from_guest;  /* R and Z data */
    uint64_t bytes_to_guest;    /* W and M data */
};

enum tc_item_kind { TC_ITEM_CALL = 1, TC_ITEM_EVENT = 2 };

struct tc_item {
    enum tc_item_kind kind;
    struct tc_call call;        /* TC_ITEM_CALL */
    struct trace_event ev;      /* TC_ITEM_EVENT: a deep copy, its bytes in `bytes` */
    void *bytes;                /* TC_ITEM_EVENT: owned (trace_event_pack) */
    int deferred;               /* arrived while a call was open (printed after it) */
};

/* Releases what an item owns; accepts NULL. */
void tc_item_release(struct tc_item *it);

/* The memory command of `c` of kind `kind` at `ptr`, the `nth` one (from 0)
 * of that kind and address; NULL when there is none. */
const struct tc_mem *tc_call_find(const struct tc_call *c, enum trace_event_kind kind, uint64_t ptr,
                                  unsigned nth);

/* Is the call a failure, by its registry meaning (or, for unknown
 * signatures, by an E with -1/NULL)? */
int tc_call_failed(const struct tc_call *c);

/* Parses "name(KINDS)R" into name/arg_kinds/res_kind; -1 if malformed. */
int tc_parse_sig(const char *sig, char *name, size_t name_cap, char *kinds, size_t kinds_cap,
                 char *res_kind);

struct tc_collector;

/* NULL on out of memory. */
struct tc_collector *tc_collector_new(void);
void tc_collector_free(struct tc_collector *c);

/* Feeds one event (copied). 0, or -1 on out of memory. */
int tc_collector_add(struct tc_collector *c, const struct trace_event *ev);
/* The trace ended: an open call is handed out unfinished. */
void tc_collector_finish(struct tc_collector *c);
/* Moves the next ready item to *out (which the caller releases): 1, or 0
 * when none is ready. */
int tc_collector_pop(struct tc_collector *c, struct tc_item *out);

/* Pull-style: reads `r` until an item is ready. 1 (an item in *out), 0 (end
 * of trace), or a negative trace_error from the reader (items read before
 * the error have been handed out; the open call is handed out unfinished
 * on the next calls, then the error is returned again). */
struct tc_source {
    struct trace_reader *r;
    struct tc_collector *col;
    int done;       /* reader finished (0) or failed (<0) */
    int err;
    uint64_t first_seq, last_seq; /* event range to keep (inclusive) */
    int keep_orphans;   /* memory commands in the range whose request is before it are
                         * handed out as event items (dump --raw), not skipped */
};
int tc_source_init(struct tc_source *s, struct trace_reader *r, uint64_t first_seq, uint64_t last_seq);
int tc_source_next(struct tc_source *s, struct tc_item *out);
void tc_source_release(struct tc_source *s);

#endif
