/* sandtrace info: a trace's header, counts, sizes and duration, as text or
 * JSON. Reads the whole trace (without a key: the chain of a keyed trace is
 * `verify`'s business). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/st_buf.h"
#include "format/trace.h"
#include "tools/commands.h"

enum {
    INFO_EXIT_BAD = 1,  /* the trace is damaged: what could be read is printed */
    INFO_EXIT_OPEN = 4, /* the trace cannot be opened or is not a trace */
};

static void usage(FILE *out)
{
    fprintf(out, "usage: sandtrace info [--json] TRACE\n\n"
                 "Print TRACE's header (format, host, guest, argv, environment, policy), its\n"
                 "event and chunk counts, raw and compressed sizes, compression ratio and\n"
                 "duration.\n\n"
                 "options:\n"
                 "  -j, --json  one JSON object instead of text\n"
                 "  -h, --help  show this help\n\n"
                 "exit codes:\n"
                 "  0  the trace was read to its end\n"
                 "  1  the trace is damaged or truncated (what could be read is printed)\n"
                 "  2  bad command line\n"
                 "  4  the trace cannot be opened or is not a trace\n");
}

/* Text from the trace is hostile: print it with C escapes. */
static void put_text(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\\' || *p == '"')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
}

static void put_json_string(FILE *out, const char *s)
{
    struct st_buf b;
    st_buf_init(&b, 0);
    st_buf_add_json_string(&b, s, strlen(s), ST_JSON_ASCII); /* bytes >= 0x80 as Latin-1 */
    fputs(b.data, out);
    st_buf_release(&b);
}

static void format_time(int64_t ns, char *buf, size_t cap)
{
    time_t sec = (time_t)(ns / 1000000000);
    long frac = (long)(ns % 1000000000);
    if (frac < 0) {
        frac += 1000000000;
        sec--;
    }
    struct tm tm;
    if (!gmtime_r(&sec, &tm)) {
        snprintf(buf, cap, "?");
        return;
    }
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%09ldZ", date, frac);
}

struct counts {
    struct trace_reader_stats st;
    uint64_t by_kind[TRACE_EV_KIND_MAX + 1];
    int rc;
    char message[256];
    uint64_t error_offset;
};

static void print_text(const char *path, const struct trace_header *h, const struct counts *c)
{
    char when[96];
    format_time(h->created_unix_ns, when, sizeof when);
    printf("trace:        ");
    put_text(stdout, path);
    printf("\nformat:       %u.%u, written by ", h->format_major, h->format_minor);
    put_text(stdout, h->writer_version);
    printf("\ncreated:      %s\n", when);
    printf("host:         ");
    put_text(stdout, h->host_arch);
    printf(", %u-byte pointers, %s, kernel ", h->host_pointer_size,
           !h->host_byte_order_set ? "unknown byte order"
           : h->host_big_endian    ? "big-endian"
                                   : "little-endian");
    put_text(stdout, h->host_kernel_release);
    printf("\nguest:        ");
    put_text(stdout, h->guest_exe_path);
    printf(" (%llu bytes", (unsigned long long)h->guest_exe_size);
    if (h->guest_exe_hash_set) {
        printf(", blake2b ");
        for (int i = 0; i < TRACE_HASH_BYTES; i++)
            printf("%02x", h->guest_exe_blake2b[i]);
    }
    printf(")\nargv:        ");
    for (size_t i = 0; i < h->guest_argc; i++) {
        printf(" \"");
        put_text(stdout, h->guest_argv[i]);
        printf("\"");
    }
    printf("\nenvironment:  %zu variables\n", h->guest_envc);
    for (size_t i = 0; i < h->guest_envc; i++) {
        printf("  ");
        put_text(stdout, h->guest_env[i]);
        printf("\n");
    }
    printf("policy:       %zu entries\n", h->policy_count);
    for (size_t i = 0; i < h->policy_count; i++) {
        printf("  ");
        put_text(stdout, h->policy[i].key);
        printf(" = ");
        put_text(stdout, h->policy[i].value);
        printf("\n");
    }
    printf("chain:        %s\n", h->keyed ? "keyed (MAC)" : "unkeyed");
    printf("events:       %llu\n", (unsigned long long)c->st.events);
    for (int k = 1; k <= TRACE_EV_KIND_MAX; k++)
        if (c->by_kind[k])
            printf("  %-14s %llu\n", trace_event_kind_name((enum trace_event_kind)k),
                   (unsigned long long)c->by_kind[k]);
    printf("chunks:       %llu\n", (unsigned long long)c->st.chunks);
    printf("raw size:     %llu bytes\n", (unsigned long long)c->st.raw_bytes);
    printf("compressed:   %llu bytes\n", (unsigned long long)c->st.compressed_bytes);
    printf("file size:    %llu bytes\n", (unsigned long long)c->st.file_bytes);
    if (c->st.compressed_bytes)
        printf("compression:  %.2fx\n", (double)c->st.raw_bytes / (double)c->st.compressed_bytes);
    else
        printf("compression:  -\n");
    uint64_t dur = c->st.events ? c->st.last_time_ns - c->st.first_time_ns : 0;
    printf("duration:     %llu.%09llu s\n", (unsigned long long)(dur / 1000000000),
           (unsigned long long)(dur % 1000000000));
    printf("footer:       %s\n", c->st.footer_seen ? "yes (closed cleanly)" : "no");
    if (c->rc < 0)
        printf("damaged:      at offset %llu: %s\n", (unsigned long long)c->error_offset,
               c->message);
}

static void print_json(const char *path, const struct trace_header *h, const struct counts *c)
{
    printf("{\"trace\":");
    put_json_string(stdout, path);
    printf(",\"format_major\":%u,\"format_minor\":%u,\"writer_version\":", h->format_major,
           h->format_minor);
    put_json_string(stdout, h->writer_version);
    char when[96];
    format_time(h->created_unix_ns, when, sizeof when);
    printf(",\"created_unix_ns\":%lld,\"created\":\"%s\"", (long long)h->created_unix_ns, when);
    printf(",\"host\":{\"arch\":");
    put_json_string(stdout, h->host_arch);
    printf(",\"pointer_size\":%u,\"byte_order\":\"%s\",\"kernel_release\":", h->host_pointer_size,
           !h->host_byte_order_set ? "unknown" : h->host_big_endian ? "big" : "little");
    put_json_string(stdout, h->host_kernel_release);
    printf("},\"guest\":{\"exe_path\":");
    put_json_string(stdout, h->guest_exe_path);
    printf(",\"exe_size\":%llu,\"exe_blake2b\":", (unsigned long long)h->guest_exe_size);
    if (h->guest_exe_hash_set) {
        printf("\"");
        for (int i = 0; i < TRACE_HASH_BYTES; i++)
            printf("%02x", h->guest_exe_blake2b[i]);
        printf("\"");
    } else {
        printf("null");
    }
    printf(",\"argv\":[");
    for (size_t i = 0; i < h->guest_argc; i++) {
        if (i)
            printf(",");
        put_json_string(stdout, h->guest_argv[i]);
    }
    printf("],\"env\":[");
    for (size_t i = 0; i < h->guest_envc; i++) {
        if (i)
            printf(",");
        put_json_string(stdout, h->guest_env[i]);
    }
    printf("]},\"policy\":[");
    for (size_t i = 0; i < h->policy_count; i++) {
        printf("%s{\"key\":", i ? "," : "");
        put_json_string(stdout, h->policy[i].key);
        printf(",\"value\":");
        put_json_string(stdout, h->policy[i].value);
        printf("}");
    }
    printf("],\"keyed\":%s,\"events\":%llu,\"events_by_kind\":{", h->keyed ? "true" : "false",
           (unsigned long long)c->st.events);
    int first = 1;
    for (int k = 1; k <= TRACE_EV_KIND_MAX; k++) {
        if (!c->by_kind[k])
            continue;
        printf("%s\"%s\":%llu", first ? "" : ",", trace_event_kind_name((enum trace_event_kind)k),
               (unsigned long long)c->by_kind[k]);
        first = 0;
    }
    uint64_t dur = c->st.events ? c->st.last_time_ns - c->st.first_time_ns : 0;
    printf("},\"chunks\":%llu,\"raw_bytes\":%llu,\"compressed_bytes\":%llu,\"file_bytes\":%llu,"
           "\"compression_ratio\":%.4f,\"duration_ns\":%llu,\"footer\":%s,\"damaged\":",
           (unsigned long long)c->st.chunks, (unsigned long long)c->st.raw_bytes,
           (unsigned long long)c->st.compressed_bytes, (unsigned long long)c->st.file_bytes,
           c->st.compressed_bytes ? (double)c->st.raw_bytes / (double)c->st.compressed_bytes : 0.0,
           (unsigned long long)dur, c->st.footer_seen ? "true" : "false");
    if (c->rc < 0) {
        printf("{\"offset\":%llu,\"error\":\"%s\",\"message\":", (unsigned long long)c->error_offset,
               trace_error_name(c->rc));
        put_json_string(stdout, c->message);
        printf("}");
    } else {
        printf("null");
    }
    printf("}\n");
}

int cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int json = 0, c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+jh", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 'h':
            usage(stdout);
            return ST_EXIT_OK;
        default:
            usage(stderr);
            return ST_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "sandtrace info: %s\n",
                argc - optind == 0 ? "missing TRACE" : "too many arguments");
        usage(stderr);
        return ST_EXIT_USAGE;
    }
    const char *path = argv[optind];
    struct trace_io *io;
    if (trace_io_open_file(path, TRACE_IO_READ, &io) < 0) {
        fprintf(stderr, "sandtrace info: cannot open trace '%s': %s\n", path, strerror(errno));
        return INFO_EXIT_OPEN;
    }
    struct trace_reader *r;
    char err[256];
    int rc = trace_reader_open(&r, io, 1, NULL, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "sandtrace info: cannot read trace '%s': %s\n", path, err);
        return INFO_EXIT_OPEN;
    }
    static struct counts cnt;
    memset(&cnt, 0, sizeof cnt);
    struct trace_event ev;
    while ((rc = trace_reader_next(r, &ev)) == 1)
        if ((int)ev.kind >= 1 && (int)ev.kind <= TRACE_EV_KIND_MAX)
            cnt.by_kind[ev.kind]++;
    cnt.rc = rc;
    if (rc < 0) {
        snprintf(cnt.message, sizeof cnt.message, "%s", trace_reader_error_message(r));
        cnt.error_offset = trace_reader_error_offset(r);
    }
    trace_reader_stats(r, &cnt.st);
    if (json)
        print_json(path, trace_reader_header(r), &cnt);
    else
        print_text(path, trace_reader_header(r), &cnt);
    trace_reader_free(r);
    if (rc < 0) {
        fprintf(stderr, "sandtrace info: trace '%s' is damaged at offset %llu: %s\n", path,
                (unsigned long long)cnt.error_offset, cnt.message);
        return INFO_EXIT_BAD;
    }
    return ST_EXIT_OK;
}
