# tracer/: see ../shared/ARCHITECTURE.md. Append sources to tracer_SRCS and add
# "tracer" to COMPONENTS (the Makefile links them in dependency order).
tracer_SRCS :=
