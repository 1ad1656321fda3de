/* A progress line on a terminal (tools/progress.h). */
#include "tools/progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/st_util.h"

void progress_start(struct progress *pg, const char *cmd, const char *unit, uint64_t total,
                    int quiet)
{
    memset(pg, 0, sizeof *pg);
    pg->on = !quiet && isatty(2);
    pg->cmd = cmd;
    pg->unit = unit;
    pg->total = total;
    pg->last_ns = st_clock_ns();
}

static void human(char *out, size_t cap, uint64_t n)
{
    static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
    double v = (double)n;
    size_t u = 0;
    while (v >= 1000 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1000;
        u++;
    }
    snprintf(out, cap, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

void progress_update(struct progress *pg, uint64_t done)
{
    if (!pg->on || (++pg->calls & 4095) != 0)
        return;
    uint64_t now = st_clock_ns();
    if (now - pg->last_ns < 200000000ull)
        return;
    pg->last_ns = now;
    int bytes = !strcmp(pg->unit, "bytes");
    char a[32], b[32];
    if (bytes)
        human(a, sizeof a, done);
    else
        snprintf(a, sizeof a, "%llu %s", (unsigned long long)done, pg->unit);
    if (pg->total) {
        if (bytes)
            human(b, sizeof b, pg->total);
        else
            snprintf(b, sizeof b, "%llu", (unsigned long long)pg->total);
        unsigned pct = done >= pg->total ? 100u : (unsigned)(done * 100 / pg->total);
        fprintf(stderr, "\r\033[Ksandtrace %s: %u%% (%s of %s)", pg->cmd, pct, a, b);
    } else {
        fprintf(stderr, "\r\033[Ksandtrace %s: %s", pg->cmd, a);
    }
    fflush(stderr);
    pg->drawn = 1;
}

void progress_end(struct progress *pg)
{
    if (pg->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    pg->drawn = 0;
}
