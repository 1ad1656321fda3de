# replayer/: re-drives a guest from a trace (replayer.h) with a pointer map
# (replay_map.h). Uses controller/'s codec and spawning, and format/'s reader.
replayer_SRCS := replayer/replayer.c replayer/replay_map.c
COMPONENTS += replayer
INSTALL_HEADERS += replayer/replayer.h replayer/replay_map.h

# Test-only guests for tests/replayer (built like the example guests, with
# $(GUEST_CFLAGS) and the unsanitized runtime): variant-* are one source
# (tests/replayer/guests/variant.c) built with one change each.
RP_GUEST_DIR := $(BUILD)/tests/replayer/guests
RP_VARIANTS := base byte open extra fewer
# guest/module.mk is included after this file: name its runtime objects here.
RP_GUEST_RT := $(BUILD)/guestobj/guest/guest_runtime.o $(BUILD)/guestobj/guest/guest_libc.o
RP_GUESTS := $(addprefix $(RP_GUEST_DIR)/variant-,$(RP_VARIANTS)) $(RP_GUEST_DIR)/entropy
GUEST_PROGS += $(RP_GUESTS)

rp_variant_flag = $(if $(filter base,$(1)),,-DVARIANT_$(shell echo $(1) | tr a-z A-Z))

$(RP_GUEST_DIR)/variant-%: tests/replayer/guests/variant.c $(RP_GUEST_RT) guest/sandbox_guest.h
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) $(call rp_variant_flag,$*) -o $@ $< $(RP_GUEST_RT) $(LDFLAGS)

$(RP_GUEST_DIR)/entropy: tests/replayer/guests/entropy.c $(RP_GUEST_RT) guest/sandbox_guest.h
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -o $@ $< $(RP_GUEST_RT) $(LDFLAGS)

# The replayer's tests run these guests.
$(BUILD)/tests/replayer/test_replay: $(RP_GUESTS)
