/* The replayer's pointer map: recorded guest addresses -> live guest
 * addresses.
 *
 * With ASLR off and the same executable, a guest's pointers are usually the
 * very ones it had when it was recorded, and every translation below is the
 * identity. The map still works when they are not (another build of the
 * program, another kernel), from three sources:
 *
 *  - blocks the controller allocated with `M`: the recorded block
 *    [rec, rec + size) is the live block [live, live + size), exactly;
 *  - pointer arguments of requests: the recorded pointer P was live pointer
 *    L; when the registry says how large the buffer behind it is (a buffer
 *    with its length argument, a struct stat...), [P, P + size) maps by
 *    offset, otherwise only P itself is exact;
 *  - anything else: the delta of the nearest learnt base at or below the
 *    address (within RP_MAP_NEAR bytes), else the identity.
 *
 * Later facts replace earlier ones for the same recorded base (a stack buffer
 * reused by the next call, a block freed and handed out again). */
#ifndef SANDTRACE_REPLAYER_REPLAY_MAP_H
#define SANDTRACE_REPLAYER_REPLAY_MAP_H

#include <stddef.h>
#include <stdint.h>

/* How far above a learnt base the nearest-base heuristic reaches. */
#define RP_MAP_NEAR (64u * 1024)
/* Entries kept (the oldest argument entries are dropped beyond it). */
#define RP_MAP_MAX 4096u

enum rp_map_source {
    RP_MAP_BLOCK = 1, /* a block allocated with M, still alive */
    RP_MAP_ARG = 2,   /* a pointer argument of a request */
};

struct rp_map_entry {
    uint64_t rec, live, size; /* size 0: only `rec` itself is known */
    enum rp_map_source source;
    uint64_t stamp;           /* when it was learnt: the most recent wins */
};

struct rp_map {
    struct rp_map_entry *e;
    size_t n, cap;
    uint64_t clock;
};

/* How a translation was found. */
enum rp_map_how {
    RP_MAP_IDENTITY = 0, /* nothing known: the address as recorded */
    RP_MAP_EXACT = 1,    /* inside a known block or range, or a known pointer */
    RP_MAP_NEAREST = 2,  /* the delta of the nearest base below */
};

void rp_map_init(struct rp_map *m);
void rp_map_release(struct rp_map *m);

/* Learns rec -> live for `size` bytes (0: the pointer alone). Returns 0 or
 * -1 when out of memory (the map is then unchanged). */
int rp_map_learn(struct rp_map *m, uint64_t rec, uint64_t live, uint64_t size,
                 enum rp_map_source source);

/* Forgets the M block that starts at recorded address `rec` (an F). */
void rp_map_forget_block(struct rp_map *m, uint64_t rec);

/* The live address for recorded address `rec` (0 stays 0). *how (may be
 * NULL) says how it was found. */
uint64_t rp_map_translate(const struct rp_map *m, uint64_t rec, enum rp_map_how *how);

/* Like rp_map_translate, but only for addresses inside a live M block:
 * returns 1 and sets *live, or 0. */
int rp_map_in_block(const struct rp_map *m, uint64_t rec, uint64_t *live);

/* Rewrites, in `data` (len bytes, a W or M payload), every 8-byte aligned
 * word that is an address inside a live M block whose live address differs
 * (e.g. the char ** of get_environ pointing at other M blocks). Returns the
 * number of words changed. */
size_t rp_map_patch_words(const struct rp_map *m, uint8_t *data, size_t len);

#endif
