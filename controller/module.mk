# controller/: protocol codec, signature registry, dispatcher, handler
# families (controller/calls/), virtual world, guest spawning and jail.
controller_SRCS := controller/registry.c $(sort $(wildcard controller/vfs*.c)) $(sort $(wildcard controller/calls/*.c))
# The engine: codec, dispatcher, session, spawning (one line, kept apart from the vfs one).
controller_SRCS += controller/error.c controller/limit.c controller/wire.c controller/spawn.c controller/jail.c controller/fsjail.c controller/elf_deps.c controller/cpu_place.c controller/guest_link.c controller/session.c controller/io.c controller/outcome.c controller/dump.c
# User handlers: the C API, plugins (dlopen), handler processes (JSON lines).
controller_SRCS += controller/handler.c controller/handler_proc.c
COMPONENTS += controller
INSTALL_HEADERS += controller/error.h controller/wire.h controller/spawn.h controller/jail.h controller/fsjail.h controller/elf_deps.h controller/cpu_place.h controller/guest_link.h controller/session.h controller/registry.h controller/sigtable.def controller/argtable.def controller/observer.h controller/call.h controller/handler.h
# Plugins call the handler API in the program that loads them: its symbols
# are exported (-rdynamic); dlopen is in libc since glibc 2.34, -ldl is for
# older ones.
ALL_LDFLAGS += -rdynamic
PKG_LIBS += -ldl

# Test-only guests (tests/guests/NAME.c -> $(BUILD)/testguests/NAME), built
# like the example guests: guest runtime, no sanitizer (they run jailed).
TEST_GUEST_NAMES := $(sort $(patsubst tests/guests/%.c,%,$(wildcard tests/guests/*.c)))
GUEST_PROGS += $(addprefix $(BUILD)/testguests/,$(TEST_GUEST_NAMES))
$(BUILD)/testguests/%: $(BUILD)/guestobj/tests/guests/%.o $(BUILD)/guestobj/guest/guest_runtime.o \
                       $(BUILD)/guestobj/guest/guest_libc.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^
