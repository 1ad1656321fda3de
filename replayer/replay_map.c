/* The replayer's pointer map (see replay_map.h for the rules). A plain array
 * scanned linearly: a trace's distinct pointers are few (hundreds for a PyPy
 * start-up) and capped at RP_MAP_MAX. */
#include "replayer/replay_map.h"

#include <stdlib.h>
#include <string.h>

#include "common/st_buf.h"

void rp_map_init(struct rp_map *m)
{
    memset(m, 0, sizeof *m);
}

void rp_map_release(struct rp_map *m)
{
    free(m->e);
    memset(m, 0, sizeof *m);
}

/* Drops the oldest argument entry to make room; 0 if there was none. */
static int drop_oldest_arg(struct rp_map *m)
{
    size_t best = m->n;
    for (size_t i = 0; i < m->n; i++)
        if (m->e[i].source == RP_MAP_ARG && (best == m->n || m->e[i].stamp < m->e[best].stamp))
            best = i;
    if (best == m->n)
        return 0;
    m->e[best] = m->e[--m->n];
    return 1;
}

int rp_map_learn(struct rp_map *m, uint64_t rec, uint64_t live, uint64_t size,
                 enum rp_map_source source)
{
    if (rec == 0)
        return 0;
    m->clock++;
    for (size_t i = 0; i < m->n; i++) {
        struct rp_map_entry *e = &m->e[i];
        if (e->rec == rec && e->source == source) {
            e->live = live;
            /* An argument seen again without a known size keeps the size
             * learnt before: the buffer behind it is still that large. */
            if (size || source == RP_MAP_BLOCK)
                e->size = size;
            e->stamp = m->clock;
            return 0;
        }
    }
    if (m->n >= RP_MAP_MAX && !drop_oldest_arg(m))
        return -1;
    struct rp_map_entry *ne = st_grow(m->e, &m->cap, m->n + 1, sizeof *ne, 64, RP_MAP_MAX);
    if (!ne)
        return -1;
    m->e = ne;
    m->e[m->n++] = (struct rp_map_entry){ rec, live, size, source, m->clock };
    return 0;
}

void rp_map_forget_block(struct rp_map *m, uint64_t rec)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->e[i].source == RP_MAP_BLOCK && m->e[i].rec == rec) {
            m->e[i] = m->e[--m->n];
            return;
        }
}

/* 1 when `a` lies in the entry's range (its base alone when size is 0). */
static int covers(const struct rp_map_entry *e, uint64_t a)
{
    if (a < e->rec)
        return 0;
    uint64_t span = e->size ? e->size : 1;
    return a - e->rec < span;
}

static const struct rp_map_entry *find_covering(const struct rp_map *m, uint64_t a,
                                                enum rp_map_source source)
{
    const struct rp_map_entry *best = NULL;
    for (size_t i = 0; i < m->n; i++) {
        const struct rp_map_entry *e = &m->e[i];
        if (e->source == source && covers(e, a) && (!best || e->stamp > best->stamp))
            best = e;
    }
    return best;
}

int rp_map_in_block(const struct rp_map *m, uint64_t rec, uint64_t *live)
{
    const struct rp_map_entry *e = find_covering(m, rec, RP_MAP_BLOCK);
    if (!e)
        return 0;
    *live = e->live + (rec - e->rec);
    return 1;
}

uint64_t rp_map_translate(const struct rp_map *m, uint64_t rec, enum rp_map_how *how)
{
    enum rp_map_how h = RP_MAP_IDENTITY;
    uint64_t out = rec;
    if (rec != 0) {
        const struct rp_map_entry *e = find_covering(m, rec, RP_MAP_BLOCK);
        if (!e)
            e = find_covering(m, rec, RP_MAP_ARG);
        if (e) {
            h = RP_MAP_EXACT;
            out = e->live + (rec - e->rec);
        } else {
            const struct rp_map_entry *near = NULL;
            for (size_t i = 0; i < m->n; i++) {
                const struct rp_map_entry *c = &m->e[i];
                if (c->rec <= rec && rec - c->rec < RP_MAP_NEAR &&
                    (!near || c->rec > near->rec ||
                     (c->rec == near->rec && c->stamp > near->stamp)))
                    near = c;
            }
            if (near) {
                h = RP_MAP_NEAREST;
                out = near->live + (rec - near->rec);
            }
        }
    }
    if (how)
        *how = h;
    return out;
}

size_t rp_map_patch_words(const struct rp_map *m, uint8_t *data, size_t len)
{
    size_t changed = 0;
    int any = 0;
    for (size_t i = 0; i < m->n; i++)
        if (m->e[i].source == RP_MAP_BLOCK && m->e[i].rec != m->e[i].live)
            any = 1;
    if (!any)
        return 0;
    for (size_t off = 0; off + 8 <= len; off += 8) {
        uint64_t w, live;
        memcpy(&w, data + off, 8);
        if (w && rp_map_in_block(m, w, &live) && live != w) {
            memcpy(data + off, &live, 8);
            changed++;
        }
    }
    return changed;
}
