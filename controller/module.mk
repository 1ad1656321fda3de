# controller/: see ../shared/ARCHITECTURE.md. Append sources to controller_SRCS and add
# "controller" to COMPONENTS (the Makefile links them in dependency order).
controller_SRCS :=
