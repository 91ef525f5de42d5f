#!/usr/bin/env bash
# The flake gate (not in CI's default path): runs the namespace, end-to-end and daemon
# tests RUNS times (default 5) while a CPU hog keeps every core busy, and prints the pass
# count per test. The goal is no failure at all. Needs root; builds like run-all.sh
# (without the sanitizer builds unless SANITIZERS=1).
# Usage: tests/stress.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
bash .ci/install-deps.sh stress-ng
BUILD=${BUILD_DIR:-build-tests}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null
# Bounded: the hog ends with this script, and by itself after 4 hours at the latest.
stress-ng --cpu "$(nproc)" --cpu-load 100 --timeout 4h >/dev/null 2>&1 &
HOG=$!
trap 'kill $HOG 2>/dev/null; wait $HOG 2>/dev/null' EXIT
declare -A passed
tests=$(cd "$BUILD" && ctest -N -R '^(netns|e2e|unit)\.' | awk '/Test +#/ {print $3}')
for run in $(seq 1 "$RUNS"); do
  (cd "$BUILD" && ctest -j2 --timeout 900 -R '^(netns|e2e|unit)\.' --output-junit "stress-$run.xml" > "stress-$run.log" 2>&1) || true
  for t in $tests; do
    grep -qE "Test +#[0-9]+: $t \.+ +Passed" "$BUILD/stress-$run.log" && passed[$t]=$(( ${passed[$t]:-0} + 1 ))
  done
  echo "run $run: $(grep -E 'tests passed' "$BUILD/stress-$run.log")"
done
fails=0
printf '%-28s %s\n' test "passed of $RUNS (both cores busy)"
for t in $tests; do
  printf '%-28s %s\n' "$t" "${passed[$t]:-0}/$RUNS"
  [ "${passed[$t]:-0}" = "$RUNS" ] || fails=$((fails + 1))
done
echo "$fails test(s) failed at least once in $RUNS loaded runs"
[ "$fails" = 0 ]
