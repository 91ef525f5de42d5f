#!/usr/bin/env bash
# A bounded fuzz run for CI: HARNESS over the seed corpus for SECONDS; new inputs go to a
# temporary folder, never into the source tree. A crash prints its input (base64) and the
# command to reproduce it; keep that input in the corpus once fixed.
# Usage: tests/fuzz/smoke.sh HARNESS CORPUS_DIR SECONDS
set -u
harness=$1 corpus=$2 seconds=$3
work=$(mktemp -d /tmp/lvs-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/new" "$work/crash"
"$harness" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
  -artifact_prefix="$work/crash/" -print_final_stats=1 "$work/new" "$corpus" > "$work/log" 2>&1
rc=$?
grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)" "$work/log"
if [ "$rc" != 0 ] || [ -n "$(ls -A "$work/crash")" ]; then
  tail -60 "$work/log"
  for f in "$work/crash"/*; do
    [ -e "$f" ] || continue
    echo "crash input $(basename "$f") (base64):"; base64 -w0 "$f"; echo
  done
  echo "reproduce: $harness FILE"
  exit 1
fi
echo "no crash in $seconds s"
