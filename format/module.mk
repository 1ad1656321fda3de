# format/: see ../shared/ARCHITECTURE.md. Append sources to format_SRCS and add
# "format" to COMPONENTS (the Makefile links them in dependency order).
format_SRCS :=
