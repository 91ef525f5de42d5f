#!/usr/bin/env bash
# kill -9 chaos: 1,000 VIPs (IPv4 and IPv6), non-default original sysctls and one VIP
# already on lo before the agent came. start, stop, run during its first converge and
# run during its SIGTERM undo are each killed with SIGKILL at a random moment (drawn
# within the time the operation takes here, measured first: tests/netns/chaos_kill.py);
# then start and stop again. Afterwards the kernel must be exactly as it was: no VIP and no protocol-177
# route left, the pre-existing address kept, every sysctl at its original value, no
# state or temp file left. CHAOS_TRIALS trials (default 60; bench/chaos runs 500).
source "$(dirname "$0")/lib.sh"; enter_netns "$@"
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
KILL="python3 $(dirname "$0")/chaos_kill.py"
CFG=$STATE/config.json
start_cmd=("$AGENT" start -c "$CFG" --state-dir "$STATE")
stop_cmd=("$AGENT" stop --state-dir "$STATE")
run_cmd=("$AGENT" run -c "$CFG" --state-dir "$STATE")
# How long each operation takes here, uninterrupted: kill moments are drawn within that.
t_start=$($KILL calibrate -- "${start_cmd[@]}")
t_stop=$($KILL calibrate -- "${stop_cmd[@]}")
t_run=$($KILL calibrate --term-when-logged "$STATE/daemon.log" "running:" -- "${run_cmd[@]}" 2>"$STATE/daemon.log")
: > "$STATE/daemon.log"
t_run_converge=$(( t_start + 50 ))   # a run's first converge costs about a start
echo "calibration: start $t_start ms, stop $t_stop ms, run undo $t_run ms"
equals "$(kernel_snapshot)" "$BASE" "calibration runs leave the original state"
window() { echo $(( $1 + 1 )); }

exact=0; partway=0; killed=0; torn=0; declare -A tried
for i in $(seq 1 "$TRIALS"); do
  scenario=$(( i % 4 ))
  : > "$STATE/daemon.log"
  case $scenario in
    0) name=start; r=$($KILL "$(window "$t_start")" -- "${start_cmd[@]}") ;;
    1) name=stop
       agent start -c "$CFG" >/dev/null 2>&1 || fail "trial $i: setup start failed"
       r=$($KILL "$(window "$t_stop")" -- "${stop_cmd[@]}") ;;
    2) name=run_converge; r=$($KILL "$(window "$t_run_converge")" -- "${run_cmd[@]}") ;;
    3) name=run_undo
       r=$($KILL "$(window "$t_run")" --term-when-logged "$STATE/daemon.log" "running:" -- "${run_cmd[@]}" 2>"$STATE/daemon.log") ;;
  esac
  tried[$name]=$(( ${tried[$name]:-0} + 1 ))
  left=$(count)
  if [[ $r == killed* ]]; then
    killed=$((killed + 1))
    [ "$left" -gt 1 ] && [ "$left" -lt "$N" ] && partway=$((partway + 1))
    [ -e "$STATE/state.json.tmp" ] && torn=$((torn + 1))
  fi
  agent start -c "$CFG" >/dev/null 2>&1 || { fail "trial $i ($name, $r): start after the kill failed"; agent start -c "$CFG" 2>&1 | tail -3; }
  agent stop >/dev/null 2>&1 || fail "trial $i ($name, $r): stop after the kill failed"
  now=$(kernel_snapshot)
  if [ "$now" = "$BASE" ] && [ ! -e "$STATE/state.json" ] && [ ! -e "$STATE/state.json.tmp" ]; then
    exact=$((exact + 1))
  else
    fail "trial $i ($name, $r, $left addresses at the kill): not back to the original state"
    diff <(echo "$BASE") <(echo "$now") | head -10
    ls -la "$STATE" | head
  fi
done
echo "chaos: $exact of $TRIALS trials exactly restored; $killed killed before they finished, of which $partway with 2..$((N - 1)) addresses on lo and $torn during a state-file write; start ${tried[start]:-0}, stop ${tried[stop]:-0}, run converge ${tried[run_converge]:-0}, run undo ${tried[run_undo]:-0}"
equals "$exact" "$TRIALS" "every trial exactly restored"
[ "$killed" -ge $((TRIALS / 3)) ] && pass "kills landed before the operation finished ($killed of $TRIALS)" || fail "too few kills landed in time ($killed of $TRIALS)"
has_addr 203.0.113.77 32 && pass "the pre-existing address is still there" || fail "the pre-existing address was removed"
finish
