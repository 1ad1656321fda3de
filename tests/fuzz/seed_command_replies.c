/* Writes the seed corpus of fuzz_command_replies into DIR: from recorded
 * sessions (seed_sessions.h), up to 64 handled requests each (signature id
 * and arguments, as recorded) followed by the replies the guest gave to
 * their R, Z and M commands, in the target's format. */
#include "tests/fuzz/seed_sessions.h"

#include "controller/registry.h"

static void each(const struct seed_session *s, const char *name, void *ctx)
{
    for (size_t first = 0, part = 0; first < s->nreq && part < 8; part++) {
        struct seed_buf head = { 0 }, replies = { 0 };
        uint8_t ncalls = 0;
        seed_put(&head, &ncalls, 1);
        size_t i = first;
        for (; i < s->nreq && ncalls < 64; i++) {
            const struct st_sig *sig = st_registry_lookup(s->req_sig[i], strlen(s->req_sig[i]));
            if (!sig || sig->action != ST_ACT_HANDLED)
                continue;
            uint8_t id[2] = { (uint8_t)(sig->id & 0xff), (uint8_t)(sig->id >> 8) };
            seed_put(&head, id, 2);
            seed_put(&head, s->req_args[i], 8 * sig->nargs);
            seed_put(&replies, s->guest.p + s->req_reply_off[i], s->req_reply_len[i]);
            ncalls++;
        }
        head.p[0] = ncalls;
        first = i;
        if (ncalls) {
            seed_put(&head, replies.p, replies.len);
            char file[256];
            snprintf(file, sizeof file, "session-%s-%zu.bin", name, part);
            seed_write(ctx, file, head.p, head.len);
        }
        free(head.p);
        free(replies.p);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seed_command_replies DIR\n");
        return 2;
    }
    char *tmp = seed_tmpdir();
    int n = tmp ? seed_each_session(tmp, each, argv[1]) : 0;
    if (tmp)
        rmdir(tmp);
    fprintf(stderr, "seed_command_replies: %d recorded sessions\n", n);
    return 0;
}
