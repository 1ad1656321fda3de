# controller/: see ../shared/ARCHITECTURE.md. Append sources to controller_SRCS and add
# "controller" to COMPONENTS (libraries are linked in the order of COMPONENTS, so a
# component is added before the ones it depends on).
controller_SRCS :=
