#!/usr/bin/env bash
# kill -9 chaos: 1,000 VIPs (IPv4 and IPv6), non-default original sysctls and one VIP
# already on lo before the agent came. start, stop, run during its first converge and
# run during its SIGTERM undo are each killed with SIGKILL at random points (a random
# number of addresses reached, or the moment the state file appears); then start and
# stop again. Afterwards the kernel must be exactly as it was: no VIP and no protocol-177
# route left, the pre-existing address kept, every sysctl at its original value, no
# state or temp file left. CHAOS_TRIALS trials (default 60; bench/chaos runs 500).
source "$(dirname "$0")/lib.sh"; enter_netns "$@"
DAEMON=
trap 'end_started "${DAEMON:-}"' EXIT
TRIALS=${CHAOS_TRIALS:-60}
RANDOM=${CHAOS_SEED:-$$}
echo "seed $RANDOM trials $TRIALS"

ip link set lo up
python3 - "$STATE/config.json" <<'PY'
import json, sys
v4 = [f"{net}.{h}" for net in ("198.51.100", "203.0.113", "192.0.2") for h in range(1, 255)]
v6 = [f"2001:db8::{i:x}" for i in range(1, 1001 - len(v4))]
json.dump({"vips": v4 + v6, "check_interval_ms": 100, "drain_seconds": 0,
           "api": {"listen": "127.0.0.1:9100"}}, open(sys.argv[1], "w"))
PY
N=1000
setsys all arp_ignore 2; setsys all arp_announce 1; setsys lo arp_ignore 3
ip addr add 203.0.113.77/32 dev lo    # a VIP someone else bound: never the agent's to remove
BASE=$(kernel_snapshot)
count() { ip -o addr show dev lo | grep -vcE ' (127\.0\.0\.1|::1)/'; }
at_least() { [ "$(count)" -ge "$1" ]; }
at_most() { [ "$(count)" -le "$1" ]; }
state_written() { [ -e "$STATE/state.json" ] || [ -e "$STATE/state.json.tmp" ]; }
running() { log_has "running:" "$STATE/daemon.log"; }
# kill_at PID MODE: waits for the kill point, then SIGKILL. MODE "state": when the state
# file appears; "up K": K addresses reached; "down K": at most K left.
kill_at() {
  local pid=$1 mode=$2 k=${3:-}
  case $mode in
    state) wait_until 30 state_written ;;
    up) wait_until 30 at_least "$k" ;;
    down) wait_until 30 at_most "$k" ;;
  esac
  kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
}
point() { if [ $((RANDOM % 4)) = 0 ]; then echo state; else echo "up $((RANDOM % (N + 1)))"; fi; }

exact=0; partway=0; declare -A tried
for i in $(seq 1 "$TRIALS"); do
  scenario=$(( i % 4 ))
  : > "$STATE/daemon.log"
  case $scenario in
    0) tried[start]=$(( ${tried[start]:-0} + 1 ))
       "$AGENT" start -c "$STATE/config.json" --state-dir "$STATE" >/dev/null 2>&1 & pid=$!
       kill_at $pid $(point) ;;
    1) tried[stop]=$(( ${tried[stop]:-0} + 1 ))
       agent start -c "$STATE/config.json" >/dev/null 2>&1 || fail "trial $i: setup start failed"
       "$AGENT" stop --state-dir "$STATE" >/dev/null 2>&1 & pid=$!
       kill_at $pid down $((RANDOM % (N + 1))) ;;
    2) tried[run_converge]=$(( ${tried[run_converge]:-0} + 1 ))
       "$AGENT" run -c "$STATE/config.json" --state-dir "$STATE" >>"$STATE/daemon.log" 2>&1 & DAEMON=$!
       kill_at $DAEMON $(point); DAEMON= ;;
    3) tried[run_undo]=$(( ${tried[run_undo]:-0} + 1 ))
       "$AGENT" run -c "$STATE/config.json" --state-dir "$STATE" >>"$STATE/daemon.log" 2>&1 & DAEMON=$!
       wait_until 60 running || fail "trial $i: run did not converge"
       kill -TERM $DAEMON
       kill_at $DAEMON down $((RANDOM % (N + 1))); DAEMON= ;;
  esac
  left=$(count)
  [ "$left" -gt 1 ] && [ "$left" -lt "$N" ] && partway=$((partway + 1))
  agent start -c "$STATE/config.json" >/dev/null 2>&1 || { fail "trial $i (scenario $scenario): start after the kill failed"; agent start -c "$STATE/config.json" 2>&1 | tail -3; }
  agent stop >/dev/null 2>&1 || fail "trial $i (scenario $scenario): stop after the kill failed"
  now=$(kernel_snapshot)
  if [ "$now" = "$BASE" ] && [ ! -e "$STATE/state.json" ] && [ ! -e "$STATE/state.json.tmp" ]; then
    exact=$((exact + 1))
  else
    fail "trial $i (scenario $scenario, $left addresses at the kill): not back to the original state"
    diff <(echo "$BASE") <(echo "$now") | head -10
    ls -la "$STATE" | head
  fi
done
echo "chaos: $exact of $TRIALS trials exactly restored; $partway killed with 2..$((N - 1)) addresses on lo; start ${tried[start]:-0}, stop ${tried[stop]:-0}, run converge ${tried[run_converge]:-0}, run undo ${tried[run_undo]:-0}"
equals "$exact" "$TRIALS" "every trial exactly restored"
[ "$partway" -ge $((TRIALS / 4)) ] && pass "kills landed part-way ($partway of $TRIALS)" || fail "too few kills landed part-way ($partway of $TRIALS)"
has_addr 203.0.113.77 32 && pass "the pre-existing address is still there" || fail "the pre-existing address was removed"
finish
