/* The limits' names: what a trace's LIMIT event records. */
#include "controller/observer.h"

#include <string.h>

static const char *const names[ST_LIMIT_COUNT] = {
    [ST_LIMIT_TIMEOUT] = "timeout",
    [ST_LIMIT_CPU] = "cpu",
    [ST_LIMIT_MEMORY] = "memory",
    [ST_LIMIT_OUTPUT] = "output",
    [ST_LIMIT_CALLS] = "max-calls",
    [ST_LIMIT_TRACE] = "trace-limit",
    [ST_LIMIT_INTERRUPT] = "interrupted",
};

/* What older traces call them (the names before they were the statuses'). */
static const struct {
    const char *name;
    enum st_limit limit;
} old_names[] = {
    { "calls", ST_LIMIT_CALLS },
    { "trace", ST_LIMIT_TRACE },
};

const char *st_limit_name(enum st_limit limit)
{
    return (unsigned)limit < ST_LIMIT_COUNT ? names[limit] : "?";
}

int st_limit_by_name(const char *name)
{
    for (int i = 0; name && i < ST_LIMIT_COUNT; i++)
        if (!strcmp(names[i], name))
            return i;
    for (size_t i = 0; name && i < sizeof old_names / sizeof old_names[0]; i++)
        if (!strcmp(old_names[i].name, name))
            return (int)old_names[i].limit;
    return -1;
}
