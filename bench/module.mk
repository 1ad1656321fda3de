# bench/: benchmark programs, run by bench/run_bench.sh (make bench).
# sandtrace-bench drives `sandtrace run/record/replay` with the example guests
# and measures each figure against its baseline in the same run.
# It needs only the controller's wire codec (the floor's request bytes), so
# it links libsandtrace_controller.a and the common/ helpers it stands on:
# they are also its only library prerequisites, which keeps `make -j2 bench`
# from linking before they exist.
# (This fragment is read before the Makefile defines `objs`, hence the
# patsubst.)
BENCH_SRCS := bench/bench_main.c bench/bench_proc.c bench/bench_pypy.c bench/bench_handlers.c
BENCH_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(BENCH_SRCS))
BENCH_LIB := $(BUILD)/lib/libsandtrace_controller.a $(BUILD)/lib/libsandtrace_common.a
BENCH_PROGS += $(BUILD)/bench/sandtrace-bench

$(BUILD)/bench/sandtrace-bench: $(BENCH_OBJS) $(BENCH_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $(BENCH_OBJS) $(BENCH_LIB) $(PKG_LIBS) -lm

# make bench-sandboxlib: sandtrace against the reference controller, PyPy's
# sandboxlib, on the same real-PyPy workloads, wall and controller CPU side by
# side (issue #15). By hand only, not in CI: it needs SANDBOXLIB, a sandboxlib
# checkout this repository does not hold (bench/compare_sandboxlib.sh).
.PHONY: bench-sandboxlib
bench-sandboxlib: all pypy-fixtures
	@BUILD=$(BUILD) bench/compare_sandboxlib.sh
