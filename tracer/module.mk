# tracer/: see ../shared/ARCHITECTURE.md. Append sources to tracer_SRCS and add
# "tracer" to COMPONENTS (libraries are linked in the order of COMPONENTS, so a
# component is added before the ones it depends on).
tracer_SRCS :=
