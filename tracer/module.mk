# tracer/: the recording observer (tracer.c), and `tap`: the push parser of a
# tapped session (tap_parser.c) and the relay (tap.c).
tracer_SRCS := tracer/tracer.c tracer/tap_parser.c tracer/tap.c
COMPONENTS += tracer
INSTALL_HEADERS += tracer/tracer.h tracer/tap.h
