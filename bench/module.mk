# bench/: benchmark programs, run by bench/run_bench.sh (make bench).
BENCH_PROGS :=
