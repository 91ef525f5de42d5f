#!/usr/bin/env bash
# Runs the named doctest suites of a unit-test binary, and fails when any name matches
# no test case (a suite renamed or removed would otherwise pass having run nothing).
# Usage: tests/run_suites.sh BINARY SUITE[,SUITE...] [doctest options]
set -u
bin=$1 suites=$2; shift 2
status=0
for s in ${suites//,/ }; do
  n=$("$bin" --no-intro=true --list-test-cases --test-suite="$s" | sed -n 's/.*passing the current filters: \([0-9]*\).*/\1/p')
  if [ "${n:-0}" -eq 0 ]; then echo "FAIL: the suite filter \"$s\" matches no test case"; status=1; fi
done
[ "$status" = 0 ] || exit 1
exec "$bin" --no-intro=true --test-suite="$suites" "$@"
