/* sandtrace info: a trace's header, counts, sizes and duration, as text or
 * JSON. Reads the whole trace (without a key: the chain of a keyed trace is
 * `verify`'s business). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/st_buf.h"
#include "format/trace.h"
#include "tools/commands.h"
#include "tools/options.h"
#include "tools/trace_cli.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: sandtrace info [OPTIONS] TRACE\n\n"
                 "Print TRACE's header (format, host, guest, argv, environment, policy), its\n"
                 "event and chunk counts, raw and compressed sizes, compression ratio and\n"
                 "duration. TRACE may be '-' for stdin. Options may come before or after TRACE.\n\n"
                 "options:\n"
                 "  -j, --json         one JSON object instead of text (\"schema_version\":1)\n"
                 "  --recover          skip damaged regions of the trace instead of stopping;\n"
                 "                     what was skipped is said on stderr (exit status 5)\n"
                 "  -o, --output FILE  write to FILE instead of stdout (never over TRACE)\n"
                 "  -q, --quiet        no progress line\n"
                 "  -h, --help         show this help\n\n"
                 "exit codes:\n"
                 "  0  the trace was read to its end\n"
                 "  2  bad command line\n"
                 "  4  the trace cannot be opened (missing, a directory) or is not a trace\n"
                 "  5  the trace is damaged or cut short (what could be read is printed)\n"
                 "  6  the output cannot be written\n");
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

/* 0, or -1 when the time cannot be shown. */
static int format_time(int64_t ns, char *buf, size_t cap)
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
        return -1;
    }
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%09ldZ", date, frac);
    return 0;
}

struct counts {
    struct trace_reader_stats st;
    uint64_t by_kind[TRACE_EV_KIND_MAX + 1];
    int rc;
    char message[256];
    uint64_t error_offset;
};

static void text_header(FILE *out, const char *path, const struct trace_header *h)
{
    char when[96];
    format_time(h->created_unix_ns, when, sizeof when);
    fprintf(out, "trace:        ");
    put_text(out, path);
    fprintf(out, "\nformat:       %u.%u, written by ", h->format_major, h->format_minor);
    put_text(out, h->writer_version);
    fprintf(out, "\ncreated:      %s\n", when);
    fprintf(out, "host:         ");
    put_text(out, h->host_arch);
    fprintf(out, ", %u-byte pointers, %s, kernel ", h->host_pointer_size,
            !h->host_byte_order_set ? "unknown byte order"
            : h->host_big_endian    ? "big-endian"
                                    : "little-endian");
    put_text(out, h->host_kernel_release);
    fprintf(out, "\nguest:        ");
    put_text(out, h->guest_exe_path);
    fprintf(out, " (%llu bytes", (unsigned long long)h->guest_exe_size);
    if (h->guest_exe_hash_set) {
        fprintf(out, ", blake2b ");
        for (int i = 0; i < TRACE_HASH_BYTES; i++)
            fprintf(out, "%02x", h->guest_exe_blake2b[i]);
    }
    fprintf(out, ")\nargv:        ");
    for (size_t i = 0; i < h->guest_argc; i++) {
        fprintf(out, " \"");
        put_text(out, h->guest_argv[i]);
        fprintf(out, "\"");
    }
    fprintf(out, "\nenvironment:  %zu variable%s\n", h->guest_envc, h->guest_envc == 1 ? "" : "s");
    for (size_t i = 0; i < h->guest_envc; i++) {
        fprintf(out, "  ");
        put_text(out, h->guest_env[i]);
        fprintf(out, "\n");
    }
    fprintf(out, "policy:       %zu entr%s\n", h->policy_count, h->policy_count == 1 ? "y" : "ies");
    for (size_t i = 0; i < h->policy_count; i++) {
        fprintf(out, "  ");
        put_text(out, h->policy[i].key);
        fprintf(out, " = ");
        put_text(out, h->policy[i].value);
        fprintf(out, "\n");
    }
    fprintf(out, "chain:        %s\n", h->keyed ? "keyed (MAC)" : "unkeyed");
}

static void text_counts(FILE *out, const struct counts *c)
{
    fprintf(out, "events:       %llu\n", (unsigned long long)c->st.events);
    for (int k = 1; k <= TRACE_EV_KIND_MAX; k++)
        if (c->by_kind[k])
            fprintf(out, "  %-14s %llu\n", trace_event_kind_name((enum trace_event_kind)k),
                    (unsigned long long)c->by_kind[k]);
    fprintf(out, "chunks:       %llu\n", (unsigned long long)c->st.chunks);
    fprintf(out, "raw size:     %llu bytes\n", (unsigned long long)c->st.raw_bytes);
    fprintf(out, "compressed:   %llu bytes\n", (unsigned long long)c->st.compressed_bytes);
    fprintf(out, "file size:    %llu bytes\n", (unsigned long long)c->st.file_bytes);
    if (c->st.compressed_bytes)
        fprintf(out, "compression:  %.2fx\n",
                (double)c->st.raw_bytes / (double)c->st.compressed_bytes);
    else
        fprintf(out, "compression:  -\n");
    uint64_t dur = c->st.events ? c->st.last_time_ns - c->st.first_time_ns : 0;
    fprintf(out, "duration:     %llu.%09llu s\n", (unsigned long long)(dur / 1000000000),
            (unsigned long long)(dur % 1000000000));
    fprintf(out, "footer:       %s\n", c->st.footer_seen  ? "yes (closed cleanly)"
                                      : c->st.incomplete ? "no (still being written, or cut short)"
                                                         : "no");
    if (c->rc < 0)
        fprintf(out, "damaged:      at offset %llu: %s\n", (unsigned long long)c->error_offset,
                c->message);
}

static void json_strv(FILE *out, const char *const *v, size_t n)
{
    fputc('[', out);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', out);
        put_json_string(out, v[i]);
    }
    fputc(']', out);
}

static void json_header(FILE *out, const char *path, const struct trace_header *h)
{
    fprintf(out, "{\"schema_version\":1,\"trace\":");
    put_json_string(out, path);
    fprintf(out, ",\"format_major\":%u,\"format_minor\":%u,\"writer_version\":", h->format_major,
            h->format_minor);
    put_json_string(out, h->writer_version);
    char when[96];
    int ok = format_time(h->created_unix_ns, when, sizeof when) == 0;
    fprintf(out, ",\"created_unix_ns\":%lld,\"created\":%s%s%s", (long long)h->created_unix_ns,
            ok ? "\"" : "", ok ? when : "null", ok ? "\"" : "");
    fprintf(out, ",\"host\":{\"arch\":");
    put_json_string(out, h->host_arch);
    fprintf(out, ",\"pointer_size\":%u,\"byte_order\":%s,\"kernel_release\":",
            h->host_pointer_size,
            !h->host_byte_order_set ? "null" : h->host_big_endian ? "\"big\"" : "\"little\"");
    put_json_string(out, h->host_kernel_release);
    fprintf(out, "},\"guest\":{\"exe_path\":");
    put_json_string(out, h->guest_exe_path);
    fprintf(out, ",\"exe_size\":%llu,\"exe_blake2b\":", (unsigned long long)h->guest_exe_size);
    if (h->guest_exe_hash_set) {
        fputc('"', out);
        for (int i = 0; i < TRACE_HASH_BYTES; i++)
            fprintf(out, "%02x", h->guest_exe_blake2b[i]);
        fputc('"', out);
    } else {
        fprintf(out, "null");
    }
    fprintf(out, ",\"argv\":");
    json_strv(out, h->guest_argv, h->guest_argc);
    fprintf(out, ",\"env\":");
    json_strv(out, h->guest_env, h->guest_envc);
    fprintf(out, "},\"policy\":[");
    for (size_t i = 0; i < h->policy_count; i++) {
        fprintf(out, "%s{\"key\":", i ? "," : "");
        put_json_string(out, h->policy[i].key);
        fprintf(out, ",\"value\":");
        put_json_string(out, h->policy[i].value);
        fprintf(out, "}");
    }
    fprintf(out, "],\"keyed\":%s", h->keyed ? "true" : "false");
}

static void json_counts(FILE *out, const struct counts *c)
{
    fprintf(out, ",\"events\":%llu,\"events_by_kind\":{", (unsigned long long)c->st.events);
    int first = 1;
    for (int k = 1; k <= TRACE_EV_KIND_MAX; k++) {
        if (!c->by_kind[k])
            continue;
        fprintf(out, "%s\"%s\":%llu", first ? "" : ",",
                trace_event_kind_name((enum trace_event_kind)k), (unsigned long long)c->by_kind[k]);
        first = 0;
    }
    uint64_t dur = c->st.events ? c->st.last_time_ns - c->st.first_time_ns : 0;
    fprintf(out, "},\"chunks\":%llu,\"raw_bytes\":%llu,\"compressed_bytes\":%llu,\"file_bytes\":%llu,"
                 "\"compression_ratio\":",
            (unsigned long long)c->st.chunks, (unsigned long long)c->st.raw_bytes,
            (unsigned long long)c->st.compressed_bytes, (unsigned long long)c->st.file_bytes);
    if (c->st.compressed_bytes)
        fprintf(out, "%.4f", (double)c->st.raw_bytes / (double)c->st.compressed_bytes);
    else
        fprintf(out, "null");
    fprintf(out, ",\"duration_ns\":%llu,\"footer\":%s,\"incomplete\":%s,\"damaged\":",
            (unsigned long long)dur, c->st.footer_seen ? "true" : "false",
            c->st.incomplete ? "true" : "false");
    if (c->rc < 0) {
        fprintf(out, "{\"offset\":%llu,\"error\":\"%s\",\"message\":",
                (unsigned long long)c->error_offset, tcli_error_word(c->rc));
        put_json_string(out, c->message);
        fprintf(out, "}");
    } else {
        fprintf(out, "null");
    }
    fprintf(out, "}\n");
}

static const struct opt_spec info_specs[] = {
    TCLI_OPT_JSON, TCLI_OPT_RECOVER, TCLI_OPT_OUTPUT, TCLI_OPT_QUIET, TCLI_OPT_HELP,
    OPT_SPEC_END,
};

/* 0, ST_EXIT_USAGE (printed), or -1 after --help. */
static int info_parse(struct opt_parser *p, struct tcli_common *c)
{
    for (int id; (id = tcli_next_option(c, p)) != OPT_DONE;) {
        if (id == OPT_ERROR)
            return ST_EXIT_USAGE;
        if (id == TCLI_O_HELP) {
            usage(stdout);
            return -1;
        }
    }
    return tcli_check_operands(p, 1, "TRACE");
}

static void info_read(struct tcli_trace *t, struct counts *cnt)
{
    memset(cnt, 0, sizeof *cnt);
    struct trace_event ev;
    int rc;
    while ((rc = trace_reader_next(t->r, &ev)) == 1) {
        if ((int)ev.kind >= 1 && (int)ev.kind <= TRACE_EV_KIND_MAX)
            cnt->by_kind[ev.kind]++;
    }
    cnt->rc = rc;
    if (rc < 0) {
        snprintf(cnt->message, sizeof cnt->message, "%s", trace_reader_error_message(t->r));
        cnt->error_offset = trace_reader_error_offset(t->r);
    }
    trace_reader_stats(t->r, &cnt->st);
}

int cmd_info(int argc, char **argv)
{
    struct tcli_common c;
    tcli_common_init(&c);
    struct opt_parser p;
    opt_init(&p, "info", info_specs, argc, argv, 0);
    int status = info_parse(&p, &c);
    const char *path = p.noperands ? p.operands[0] : NULL;
    struct tcli_trace t;
    if (!status)
        status = tcli_trace_open(&t, "info", path, c.recover, c.quiet);
    if (status) {
        opt_release(&p);
        tcli_common_release(&c);
        return status < 0 ? ST_EXIT_OK : status;
    }
    static struct counts cnt;
    info_read(&t, &cnt);
    status = tcli_trace_end(&t, cnt.rc);
    struct tcli_out out;
    int ostatus = tcli_out_open(&out, "info", c.outpath, &path, 1);
    if (!ostatus) {
        const struct trace_header *h = trace_reader_header(t.r);
        if (c.json) {
            json_header(out.f, path, h);
            json_counts(out.f, &cnt);
        } else {
            text_header(out.f, path, h);
            text_counts(out.f, &cnt);
        }
        ostatus = tcli_out_close(&out);
    }
    tcli_trace_close(&t);
    opt_release(&p);
    tcli_common_release(&c);
    return ostatus ? ostatus : status;
}
