#!/usr/bin/env bash
# Builds and runs the fuzz targets (see fuzz/README.md).
#
#   bash fuzz/run.sh smoke [SECONDS]     every target SECONDS (default 20) from the seeds; fails on any crash
#   bash fuzz/run.sh long [RUNS] [T...]  every target (or T...) for RUNS executions (default 10,000,000)
#   bash fuzz/run.sh build               installs cargo-fuzz if missing, builds the targets
#
# FUZZ_JOBS=N runs N targets at once (default 1; CI, alone on its machine, uses 2).
# Extra libFuzzer flags can be given in FUZZ_FLAGS (e.g. FUZZ_FLAGS=-max_len=65536);
# FUZZ_CORPUS=DIR runs on DIR/TARGET instead of corpus/TARGET (e.g. regressions, with runs 0).
set -euo pipefail
cd "$(dirname "$0")"

TARGETS=(scan resolve ppvars frames guard did_change fmt)
CARGO_FUZZ_VERSION=0.13.2
# Stable Rust: no sanitizer (`-Zsanitizer` needs nightly; the code is safe Rust anyway);
# debug assertions on, so integer overflow panics.
BUILD_FLAGS=(-O -a -s none)
# One codegen unit and opt-level 3 (cargo-fuzz's defaults) make the fastest fuzzer but the
# slowest build: a smoke run, which fuzzes seconds, builds with 16 units at opt-level 1 (3 min
# 46 s instead of about 5 min from scratch on 2 cores; 75-85 % of the executions per second).
CODEGEN_UNITS=1
BIN=target/x86_64-unknown-linux-gnu/release

dict_for() {
  case "$1" in
    frames | guard) echo dicts/jsonrpc.dict ;;
    *) echo dicts/hcl.dict ;;
  esac
}

build() {
  if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
  fi
  cargo fuzz build "${BUILD_FLAGS[@]}" --codegen-units "$CODEGEN_UNITS"
  python3 seed_corpora.py
}

# run TARGET LIBFUZZER-FLAGS...: one target on its corpus; its log in target/fuzz-logs/.
run() {
  local t=$1
  shift
  mkdir -p "corpus/$t" "artifacts/$t" target/fuzz-logs
  local log="target/fuzz-logs/$t.log"
  local start=$SECONDS
  # shellcheck disable=SC2086 # FUZZ_FLAGS is a list of flags
  if "$BIN/$t" "${FUZZ_CORPUS:-corpus}/$t" -artifact_prefix="artifacts/$t/" -dict="$(dict_for "$t")" \
    -timeout=10 -print_final_stats=1 "$@" ${FUZZ_FLAGS:-} >"$log" 2>&1; then
    local stats
    stats=$(grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' "$log" \
      | sed 's/^stat:://; s/: */=/' | tr '\n' ' ')
    echo "fuzz $t: ok in $((SECONDS - start)) s: $stats"
  else
    echo "fuzz $t: FAILED (log: fuzz/$log):"
    # The panic (or libFuzzer's timeout / out-of-memory report), then the saved input.
    grep -m1 -A8 -E 'panicked at|ERROR: libFuzzer' "$log" | cut -c1-2000 || true
    grep -E 'Test unit written|^Base64' "$log" | cut -c1-3000 || true
    return 1
  fi
}

# run_all LIBFUZZER-FLAGS... over the targets in $SELECTED, FUZZ_JOBS at a time.
run_all() {
  local jobs=${FUZZ_JOBS:-1} failed=0 pids=() t
  for t in "${SELECTED[@]}"; do
    run "$t" "$@" &
    pids+=($!)
    if [ "${#pids[@]}" -ge "$jobs" ]; then
      wait "${pids[0]}" || failed=1
      pids=("${pids[@]:1}")
    fi
  done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  return $failed
}

mode=${1:-smoke}
case "$mode" in
  build) build ;;
  smoke)
    seconds=${2:-20}
    CODEGEN_UNITS=16
    export CARGO_PROFILE_RELEASE_OPT_LEVEL=1
    build
    SELECTED=("${TARGETS[@]}")
    run_all -max_total_time="$seconds"
    ;;
  long)
    runs=${2:-10000000}
    shift $(($# > 1 ? 2 : 1))
    build
    if [ $# -gt 0 ]; then SELECTED=("$@"); else SELECTED=("${TARGETS[@]}"); fi
    run_all -runs="$runs"
    ;;
  *)
    echo "usage: bash fuzz/run.sh smoke [SECONDS] | long [RUNS] [TARGET...] | build" >&2
    exit 2
    ;;
esac
