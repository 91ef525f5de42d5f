#!/usr/bin/env bash
# Runs a test under a sanitizer build and fails on any report, also from processes whose
# exit code the test does not look at (daemons, children in namespaces): every report is
# written to a file of its own (log_path), and any such file fails the run.
# Usage: tests/sanitize.sh asan|tsan CMD...
set -u
kind=$1; shift
export LVS_SANITIZER=$kind  # tests whose bounds are a production build's widen them (and say so)
REPORTS=$(mktemp -d /tmp/lvs-sanitizer.XXXXXX)
chmod 1777 "$REPORTS"   # the unprivileged test runs the agent as another user
trap 'rm -rf "$REPORTS"' EXIT
# Stack traces with function names and lines (the sanitizers do not always find it alone).
SYMBOLIZER=""
for s in /usr/bin/llvm-symbolizer-19 /usr/lib/llvm-19/bin/llvm-symbolizer /usr/bin/llvm-symbolizer; do
  [ -x "$s" ] && { SYMBOLIZER=":external_symbolizer_path=$s"; break; }
done
case $kind in
  asan)
    export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$REPORTS/asan:strict_string_checks=1:detect_stack_use_after_return=1$SYMBOLIZER"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$REPORTS/ubsan"
    export LSAN_OPTIONS="log_path=$REPORTS/lsan" ;;
  tsan)
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$REPORTS/tsan$SYMBOLIZER" ;;
  *) echo "usage: $0 asan|tsan CMD..."; exit 2 ;;
esac
"$@"; rc=$?
found=0
for f in "$REPORTS"/*; do
  [ -e "$f" ] || continue
  found=1
  echo "=== sanitizer report: $f"; cat "$f"
done
if [ "$found" = 1 ]; then echo "FAIL: sanitizer report(s) above"; exit 1; fi
exit "$rc"
