# tests/: every tests/**/test_*.c is one cmocka program, linked with all
# component libraries; tests/run_tests.sh runs them and prints the summary.
TEST_SRCS := $(sort $(wildcard tests/*/test_*.c))
-include tests/hostile/module.mk
