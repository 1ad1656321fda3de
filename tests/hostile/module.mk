# tests/hostile/: the hostile guest (one program, the attack named by argv[1]).
# Built like the example guests (GUEST_CFLAGS, the unsanitized runtime copy):
# it runs under the seccomp jail. tests/hostile/test_hostile.c runs it.
HOSTILE_GUEST := $(BUILD)/hostile/hostile
GUEST_PROGS += $(HOSTILE_GUEST)

$(HOSTILE_GUEST): $(BUILD)/guestobj/tests/hostile/hostile.o $(GUEST_RT_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^
