# replayer/: see ../shared/ARCHITECTURE.md. Append sources to replayer_SRCS and add
# "replayer" to COMPONENTS (libraries are linked in the order of COMPONENTS, so a
# component is added before the ones it depends on).
replayer_SRCS :=
