# bench/: benchmark programs, run by bench/run_bench.sh (make bench).
# sandtrace-bench drives `sandtrace run/record/replay` with the example guests
# and measures each figure against its baseline in the same run.
# (This fragment is read before the Makefile defines `objs` and LIBS, so the
# prerequisites are spelled out; LIBS in the recipe is expanded late.)
BENCH_SRCS := bench/bench_main.c bench/bench_proc.c
BENCH_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(BENCH_SRCS))
BENCH_PROGS += $(BUILD)/bench/sandtrace-bench

$(BUILD)/bench/sandtrace-bench: $(BENCH_OBJS) $(BUILD)/lib/libsandtrace_controller.a
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $(BENCH_OBJS) $(LIBS) $(PKG_LIBS) -lm
