# common/: helpers every component shares (bounded growable buffer, JSON
# string escaping, the monotonic clock, write-all, number parsing,
# little-endian access). Depends on nothing; linked last.
common_SRCS := common/st_buf.c common/st_util.c
COMPONENTS += common
INSTALL_HEADERS += common/st_buf.h common/st_util.h
