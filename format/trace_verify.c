/* format/trace_verify.c: trace_verify(), a whole trace read and checked
 * through the reader, with the counts of what was read. */
#include <stdio.h>
#include <string.h>

#include "format/trace_reader_int.h"

/* --- verify --- */

int trace_verify(struct trace_io *io, const uint8_t *key, struct trace_verify_result *res)
{
    memset(res, 0, sizeof *res);
    struct trace_reader_options o = { .recover = 0, .key = key };
    struct trace_reader *r = NULL;
    int rc = trace_reader_open(&r, io, 0, &o, res->message, sizeof res->message);
    if (rc < 0) {
        res->error = rc;
        return rc;
    }
    res->keyed = r->keyed;
    /* Read everything even without the key, so that the counts are there. */
    struct trace_event ev;
    while ((rc = trace_reader_next(r, &ev)) > 0)
        ;
    if (r->keyed && !key) {
        res->error = TRACE_E_KEY_REQUIRED;
        snprintf(res->message, sizeof res->message,
                 "the trace is keyed: its hash chain can only be verified with its key");
        res->error_offset = 12;
    } else if (rc < 0) {
        res->error = rc;
        res->error_offset = r->err_off;
        snprintf(res->message, sizeof res->message, "%s",
                 r->err_msg[0] ? r->err_msg : trace_strerror(rc));
    }
    res->chunks = r->st.chunks;
    res->events = r->st.events;
    res->raw_bytes = r->st.raw_bytes;
    res->compressed_bytes = r->st.compressed_bytes;
    res->file_bytes = r->st.file_bytes;
    res->first_time_ns = r->st.first_time_ns;
    res->last_time_ns = r->st.last_time_ns;
    res->footer_seen = r->st.footer_seen;
    res->incomplete = res->error == TRACE_E_TRUNCATED;
    trace_reader_free(r);
    return res->error;
}
