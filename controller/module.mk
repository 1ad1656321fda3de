# controller/: protocol codec, signature registry, dispatcher, handler
# families (controller/calls/), virtual world, guest spawning and jail.
controller_SRCS := controller/registry.c $(sort $(wildcard controller/vfs*.c)) $(sort $(wildcard controller/calls/*.c))
# The engine: codec, dispatcher, session, spawning (one line, kept apart from the vfs one).
controller_SRCS += controller/error.c
COMPONENTS += controller
INSTALL_HEADERS += controller/error.h controller/wire.h controller/spawn.h controller/session.h controller/registry.h controller/sigtable.def controller/observer.h controller/call.h
