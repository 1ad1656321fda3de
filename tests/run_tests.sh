#!/bin/sh
# Runs every cmocka test program given, prints each one's output, and ends
# with one summary line: "tests: N passed, N failed, N skipped".
# Usage: tests/run_tests.sh BUILD_DIR TEST_BIN...
build=$1; shift
passed=0; failed=0; skipped=0; broken=""
for t in "$@"; do
    log=$(mktemp)
    "$t" >"$log" 2>&1
    rc=$?
    cat "$log"
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    rm -f "$log"
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        # A crash or an abort before cmocka could count: one failure.
        failed=$((failed + 1)); broken="$broken ${t#"$build"/tests/}(rc=$rc)"
    elif [ "$rc" -ne 0 ]; then
        broken="$broken ${t#"$build"/tests/}"
    fi
done
[ -n "$broken" ] && echo "failing programs:$broken"
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
