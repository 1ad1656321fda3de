/* The dispatcher's side of user handlers (controller/handler.c), shared
 * with controller/session.c. Not installed. */
#ifndef SANDTRACE_CONTROLLER_HANDLER_INT_H
#define SANDTRACE_CONTROLLER_HANDLER_INT_H

#include "controller/call.h"

struct st_session;
struct st_handlers;

/* 1 when a registered handler matches `sig` (hs and sig may be NULL). */
int st_handlers_want(const struct st_handlers *hs, const struct st_sig *sig);

/* Answers `c` (whose sig is a registry entry some handler matches) through
 * the handler chain. Same returns as a built-in handler. */
int st_handlers_answer(struct st_session *s, struct st_call *c);

/* Frees the handlers (their free_ctx, then the plugins); NULL is fine. */
void st_handlers_free(struct st_handlers *hs);

/* The built-in answer of the current request (controller/session.c): an
 * unknown or FATAL entry ends the guest (or is refused with ENOSYS under
 * allow_unknown), a REFUSED one is refused, a HANDLED one runs its handler.
 * Returns 0 or a negative st_error. */
int st_session_answer_builtin(struct st_session *s, struct st_call *c);

#endif
