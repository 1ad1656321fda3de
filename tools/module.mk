# tools/: the `sandtrace` command. One file per subcommand (cmd_NAME.c), listed
# once in tools/commands.def, plus the helpers they share (trace_*.c: the
# event-to-call collector, the option parser (options.c), the symbolic printer, CLI helpers), the audit
# database of `index` (index_*.c), the many-trace helpers (corpus_*.c) and
# replay's corpus mode (replay_*.c).
BIN_SRCS := tools/main.c tools/options.c tools/progress.c $(sort $(wildcard tools/cmd_*.c)) $(sort $(wildcard tools/trace_*.c)) \
            $(sort $(wildcard tools/index_*.c)) $(sort $(wildcard tools/corpus_*.c)) \
            $(sort $(wildcard tools/replay_*.c)) $(sort $(wildcard tools/run_*.c))
