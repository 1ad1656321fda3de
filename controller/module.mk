# controller/: protocol codec, signature registry, dispatcher, handler
# families (controller/calls/), virtual world, guest spawning and jail.
controller_SRCS := controller/registry.c $(sort $(wildcard controller/vfs*.c)) $(sort $(wildcard controller/calls/*.c))
COMPONENTS += controller
INSTALL_HEADERS += controller/registry.h controller/sigtable.def controller/observer.h controller/call.h
