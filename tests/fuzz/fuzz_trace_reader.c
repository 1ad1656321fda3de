/* libFuzzer target: the trace reader, on any bytes, must not crash, hang,
 * leak or allocate without bound, in normal and recover mode, with seeks,
 * and through trace_verify.
 * fuzz-libs: format common */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "format/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touches every byte an event points to, so that ASan sees bad pointers. */
static uint64_t consume(const struct trace_event *ev)
{
    uint64_t sum = ev->seq + ev->time_ns + ev->req_seq;
    const uint8_t *p = NULL;
    size_t n = 0;
    switch (ev->kind) {
    case TRACE_EV_REQUEST:
        sum += strlen(ev->request.sig) + ev->request.nargs;
        for (size_t i = 0; i < ev->request.nargs; i++)
            sum += ev->request.args[i];
        break;
    case TRACE_EV_MEM_READ:
    case TRACE_EV_MEM_READ_STR:
    case TRACE_EV_MEM_WRITE:
    case TRACE_EV_MEM_ALLOC:
    case TRACE_EV_MEM_FREE:
        p = ev->mem.data;
        n = ev->mem.len;
        break;
    case TRACE_EV_GUEST_STDERR:
        p = ev->guest_stderr.data;
        n = ev->guest_stderr.len;
        break;
    case TRACE_EV_GUEST_EXIT:
        sum += strlen(ev->guest_exit.reason);
        break;
    case TRACE_EV_LIMIT:
        sum += strlen(ev->limit.name) + strlen(ev->limit.detail);
        break;
    case TRACE_EV_VIOLATION:
        sum += strlen(ev->violation.text);
        p = ev->violation.data;
        n = ev->violation.len;
        break;
    case TRACE_EV_NOTE:
        sum += strlen(ev->note.text);
        break;
    default:
        break;
    }
    for (size_t i = 0; i < n; i++)
        sum += p[i];
    return sum;
}

static void read_all(const uint8_t *data, size_t size, int recover, const uint8_t *key)
{
    struct trace_reader_options o = { recover, key };
    struct trace_reader *r = NULL;
    char err[128];
    if (trace_reader_open(&r, trace_io_mem_reader(data, size), 1, &o, err, sizeof err) < 0)
        return;
    const struct trace_header *h = trace_reader_header(r);
    volatile uint64_t sink = strlen(h->guest_exe_path) + strlen(h->host_arch);
    for (size_t i = 0; i < h->guest_argc; i++)
        sink += strlen(h->guest_argv[i]);
    for (size_t i = 0; i < h->policy_count; i++)
        sink += strlen(h->policy[i].key) + strlen(h->policy[i].value);
    struct trace_event ev;
    uint64_t n = 0;
    while (trace_reader_next(r, &ev) == 1) {
        sink += consume(&ev);
        n++;
    }
    /* Seek around what was read, and past it. */
    const uint64_t targets[] = { 0, n / 2, n ? n - 1 : 0, n + 1 };
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
        if (trace_reader_seek(r, targets[i]) == 0 && trace_reader_next(r, &ev) == 1)
            sink += consume(&ev);
    sink += strlen(trace_reader_error_message(r));
    (void)sink;
    trace_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t key[TRACE_KEY_BYTES] = { 1, 2, 3, 4 };
    read_all(data, size, 0, NULL);
    read_all(data, size, 1, NULL);
    read_all(data, size, 0, key);
    struct trace_io *io = trace_io_mem_reader(data, size);
    struct trace_verify_result vr;
    trace_verify(io, NULL, &vr);
    trace_io_free(io);
    return 0;
}
