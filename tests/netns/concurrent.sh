#!/usr/bin/env bash
# Several starts (then stops) at once: the lock in the state dir serialises them, all
# succeed, and the result is the same as one.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"

args=(); for b in $(seq 1 200); do args+=(--vip 203.0.113.$b); done
pids=()
for i in 1 2 3 4; do agent start "${args[@]}" >"$STATE/out.$i" 2>&1 & pids+=($!); done
rcs=""; for p in "${pids[@]}"; do wait $p; rcs+="$? "; done
equals "$rcs" "0 0 0 0 " "four concurrent starts all succeed"
equals "$(ip -o addr show dev lo | grep -c ' 203\.0\.113\.')" "200" "200 addresses, no duplicates"
adds=$(cat "$STATE"/out.* | grep -c "^added 203.0.113.*to lo$")
equals "$adds" "200" "each address added exactly once across the four runs"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["addresses"])==200 and len(d["routes"])==200' "$STATE/state.json" \
  && pass "state owns all 200" || fail "state: $(head -c 300 $STATE/state.json)"
expect_rc 0 "status" agent status "${args[@]}"
pids=()
for i in 1 2 3; do agent stop >"$STATE/stop.$i" 2>&1 & pids+=($!); done
rcs=""; for p in "${pids[@]}"; do wait $p; rcs+="$? "; done
equals "$rcs" "0 0 0 " "three concurrent stops all succeed"
equals "$(ip -o addr show dev lo | grep -c ' 203\.0\.113\.')" "0" "all removed"
equals "$(arp_all)" "0 0 0 0" "sysctls restored"
finish
