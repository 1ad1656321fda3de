# replayer/: see ../shared/ARCHITECTURE.md. Append sources to replayer_SRCS and add
# "replayer" to COMPONENTS (the Makefile links them in dependency order).
replayer_SRCS :=
