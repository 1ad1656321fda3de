# tools/: the `sandtrace` command. One file per subcommand (cmd_NAME.c), listed
# once in tools/commands.def, plus the helpers they share (trace_*.c: the
# event-to-call collector, the symbolic printer, CLI helpers), the audit
# database of `index` (index_*.c) and the many-trace helpers (corpus_*.c).
BIN_SRCS := tools/main.c $(sort $(wildcard tools/cmd_*.c)) $(sort $(wildcard tools/trace_*.c)) \
            $(sort $(wildcard tools/index_*.c)) $(sort $(wildcard tools/corpus_*.c))
