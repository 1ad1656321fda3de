# tools/: the `sandtrace` command. One file per subcommand (cmd_NAME.c), listed
# once in tools/commands.def.
BIN_SRCS := tools/main.c $(sort $(wildcard tools/cmd_*.c))
