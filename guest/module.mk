# guest/: the guest side of the sandbox-2 protocol, and the example guests.
#
# Two builds of the same runtime sources:
#  - libsandtrace_guest.a (normal flags, sanitized under `make check`), which
#    the cmocka tests link to play guests inside their own processes;
#  - $(BUILD)/guestobj/..., built with $(GUEST_CFLAGS) only, linked into the
#    example guests $(BUILD)/guests/NAME (from guest/examples/NAME.c). Those run
#    under a seccomp jail, where a sanitizer runtime has no place.
guest_SRCS := guest/guest_runtime.c guest/guest_libc.c
COMPONENTS += guest
INSTALL_HEADERS += guest/sandbox_guest.h guest/guest_signatures.def

GUEST_NAMES := $(sort $(patsubst guest/examples/%.c,%,$(wildcard guest/examples/*.c)))
GUEST_PROGS += $(addprefix $(BUILD)/guests/,$(GUEST_NAMES))
GUEST_RT_OBJS := $(patsubst %.c,$(BUILD)/guestobj/%.o,$(guest_SRCS))

$(BUILD)/guestobj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/guests/%: $(BUILD)/guestobj/guest/examples/%.o $(GUEST_RT_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^

-include $(shell find $(BUILD)/guestobj -name '*.d' 2>/dev/null)
.PRECIOUS: $(BUILD)/guestobj/%.o
