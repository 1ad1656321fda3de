# controller/: protocol codec, signature registry, dispatcher, handler
# families (controller/calls/), virtual world, guest spawning and jail.
controller_SRCS := controller/registry.c $(sort $(wildcard controller/vfs*.c)) $(sort $(wildcard controller/calls/*.c))
# The engine: codec, dispatcher, session, spawning (one line, kept apart from the vfs one).
controller_SRCS += controller/error.c controller/wire.c controller/spawn.c controller/session.c controller/io.c controller/outcome.c controller/dump.c
COMPONENTS += controller
INSTALL_HEADERS += controller/error.h controller/wire.h controller/spawn.h controller/session.h controller/registry.h controller/sigtable.def controller/observer.h controller/call.h

# Test-only guests (tests/guests/NAME.c -> $(BUILD)/testguests/NAME), built
# like the example guests: guest runtime, no sanitizer (they run jailed).
TEST_GUEST_NAMES := $(sort $(patsubst tests/guests/%.c,%,$(wildcard tests/guests/*.c)))
GUEST_PROGS += $(addprefix $(BUILD)/testguests/,$(TEST_GUEST_NAMES))
$(BUILD)/testguests/%: $(BUILD)/guestobj/tests/guests/%.o $(BUILD)/guestobj/guest/guest_runtime.o \
                       $(BUILD)/guestobj/guest/guest_libc.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^

# The jail's second stage, preloaded into guests by `run --strict-jail`
# (found by the command at ../lib/ from its own binary).
JAIL_PRELOAD := $(BUILD)/lib/sandtrace-jail.so
GUEST_PROGS += $(JAIL_PRELOAD)
$(JAIL_PRELOAD): controller/jail_preload.c controller/jail_rules.h
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -fPIC -shared -o $@ controller/jail_preload.c $(LDFLAGS) -lseccomp
