# format/: see ../shared/ARCHITECTURE.md. Append sources to format_SRCS and add
# "format" to COMPONENTS (libraries are linked in the order of COMPONENTS, so a
# component is added before the ones it depends on).
format_SRCS :=
