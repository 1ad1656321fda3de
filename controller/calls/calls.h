/* Declarations of every handler named HANDLED in sigtable.def:
 *     int call_<ident>(struct st_session *, struct st_call *);
 * One handler family per file in controller/calls/. */
#ifndef SANDTRACE_CONTROLLER_CALLS_H
#define SANDTRACE_CONTROLLER_CALLS_H

#include "controller/call.h"

#define ST_DECLARE_HANDLED(ident) st_handler call_##ident;
#define ST_DECLARE_REFUSED(ident)
#define ST_DECLARE_FATAL(ident)
#define SIG(ident, text, cls, args, res, act, err, dec) ST_DECLARE_##act(ident)
#include "controller/sigtable.def"
#undef SIG
#undef ST_DECLARE_HANDLED
#undef ST_DECLARE_REFUSED
#undef ST_DECLARE_FATAL

#endif
