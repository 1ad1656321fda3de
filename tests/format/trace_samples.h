/* Sample traces for the format tests (header-only, one copy per program). */
#ifndef SANDTRACE_TESTS_FORMAT_TRACE_SAMPLES_H
#define SANDTRACE_TESTS_FORMAT_TRACE_SAMPLES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/trace.h"

static const char *const ts_argv[] = { "/bin/guest", "-c", "print(42)" };
static const char *const ts_env[] = { "LANG=C", "HOME=/tmp" };
static const struct trace_kv ts_policy[] = { { "mount", "/lib:/usr/lib:ro" },
                                             { "time", "fixed:1000" },
                                             { "seed", "42" } };

static inline struct trace_header ts_header(void)
{
    struct trace_header h;
    memset(&h, 0, sizeof h);
    h.created_unix_ns = 1700000000123456789LL;
    h.guest_exe_path = "/bin/guest";
    h.guest_exe_size = 12345;
    for (int i = 0; i < TRACE_HASH_BYTES; i++)
        h.guest_exe_blake2b[i] = (uint8_t)(i * 7 + 1);
    h.guest_exe_hash_set = 1;
    h.guest_argc = 3;
    h.guest_argv = ts_argv;
    h.guest_envc = 2;
    h.guest_env = ts_env;
    h.policy_count = 3;
    h.policy = ts_policy;
    return h;
}

/* Fills ev with sample event number i (deterministic, covers every kind in
 * a request/command/result pattern). Data points into static buffers. */
static inline void ts_event(uint64_t i, struct trace_event *ev)
{
    static uint8_t blob[4096];
    static int init;
    if (!init) {
        for (size_t k = 0; k < sizeof blob; k++)
            blob[k] = (uint8_t)(k * 31 + 7);
        init = 1;
    }
    memset(ev, 0, sizeof *ev);
    ev->time_ns = 1000 + i * 1500 + (i % 7) * 13;
    switch (i % 16) {
    case 0:
        ev->kind = TRACE_EV_REQUEST;
        ev->request.sig = (i / 16) % 3 == 0 ? "write(ipi)i" : (i / 16) % 3 == 1 ? "getpid()i"
                                                                              : "open(pii)i";
        ev->request.nargs = (i / 16) % 3 == 1 ? 0 : 3;
        for (size_t k = 0; k < ev->request.nargs; k++)
            ev->request.args[k] = i * 1000 + k + (k == 2 ? UINT64_MAX - 5 : 0);
        break;
    case 1:
        ev->kind = TRACE_EV_MEM_READ;
        ev->mem.ptr = 0x7f0000001000ull + i;
        ev->mem.data = blob + i % 100;
        ev->mem.len = 1 + i % 300;
        break;
    case 2:
        ev->kind = TRACE_EV_MEM_READ_STR;
        ev->mem.ptr = 0x7f0000002000ull;
        ev->mem.size = UINT64_MAX;
        ev->mem.data = (const uint8_t *)"/etc/passwd";
        ev->mem.len = 11;
        break;
    case 3:
        ev->kind = TRACE_EV_MEM_WRITE;
        ev->mem.ptr = 0x7f0000003000ull;
        ev->mem.data = blob;
        ev->mem.len = 144;
        break;
    case 4:
        ev->kind = TRACE_EV_MEM_ALLOC;
        ev->mem.ptr = 0x55550000ull + i;
        ev->mem.data = blob + 7;
        ev->mem.len = 8;
        break;
    case 5:
        ev->kind = TRACE_EV_MEM_FREE;
        ev->mem.ptr = 0x55550000ull + i - 1;
        break;
    case 6:
        ev->kind = TRACE_EV_SET_ERRNO;
        ev->set_errno.value = (int32_t)(i % 5) - 2;
        break;
    case 7:
        ev->kind = TRACE_EV_RESULT;
        ev->result.kind = "vifp"[(i / 16) % 4];
        ev->result.value = ev->result.kind == 'v' ? 0 : UINT64_MAX - i;
        break;
    case 8:
        ev->kind = TRACE_EV_GUEST_STDERR;
        ev->guest_stderr.data = (const uint8_t *)"sandbox: oops\n";
        ev->guest_stderr.len = 14;
        break;
    case 9:
        ev->kind = TRACE_EV_LIMIT;
        ev->limit.name = "memory";
        ev->limit.value = 1u << 20;
        ev->limit.detail = "guest asked for too much";
        break;
    case 10:
        ev->kind = TRACE_EV_VIOLATION;
        ev->violation.text = "unknown opcode";
        ev->violation.data = (const uint8_t *)"\x00\xffQ";
        ev->violation.len = 3;
        break;
    case 11:
        ev->kind = TRACE_EV_NOTE;
        ev->note.text = "refused open of /etc/shadow";
        break;
    case 12:
        ev->kind = TRACE_EV_REQUEST;
        ev->request.sig = "time(p)i";
        ev->request.nargs = 1;
        ev->request.args[0] = 0;
        break;
    case 13:
        ev->kind = TRACE_EV_RESULT;
        ev->result.kind = 'i';
        ev->result.value = 1700000000;
        break;
    case 14:
        ev->kind = TRACE_EV_NOTE;
        ev->note.text = "";
        break;
    default:
        ev->kind = TRACE_EV_GUEST_EXIT;
        ev->guest_exit.code = (int32_t)(i % 256);
        ev->guest_exit.signal = i % 32 == 15 ? 9 : 0;
        ev->guest_exit.reason = i % 32 == 15 ? "killed" : NULL;
        break;
    }
}

/* Writes `n` sample events into a memory trace; returns a malloc'd copy of
 * the bytes (size in *len). chunk_bytes 0: default. */
static inline uint8_t *ts_make_trace(uint64_t n, size_t chunk_bytes, const uint8_t *key,
                                     size_t *len)
{
    struct trace_io *io = trace_io_mem_writer(0);
    struct trace_writer_options o;
    trace_writer_options_init(&o);
    if (chunk_bytes)
        o.chunk_bytes = chunk_bytes;
    o.chunk_ns = UINT64_MAX;
    o.key = key;
    struct trace_header h = ts_header();
    struct trace_writer *w = NULL;
    if (trace_writer_new(&w, io, 0, &h, &o) < 0)
        abort();
    for (uint64_t i = 0; i < n; i++) {
        struct trace_event ev;
        ts_event(i, &ev);
        if (trace_writer_add_event(w, &ev) < 0)
            abort();
    }
    if (trace_writer_close(w) < 0)
        abort();
    trace_writer_free(w);
    size_t l;
    const uint8_t *d = trace_io_mem_data(io, &l);
    uint8_t *copy = malloc(l);
    if (!copy)
        abort();
    memcpy(copy, d, l);
    trace_io_free(io);
    *len = l;
    return copy;
}

#endif
