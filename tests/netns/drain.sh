#!/usr/bin/env bash
# Drains follow the connections (issue: connection-safe hand-off). In one namespace, a
# client address on this host (203.0.113.7, not a VIP: its connections count) and a
# dual-stack [::] listener:
#  - the connections on a VIP are counted (IPv4 clients of the [::] listener included);
#  - drain --wait waits while connections are open past min_seconds, and returns 0 once
#    they close; --timeout with one held exits 3 and names it; the VIP stays drained;
#  - a socket in TIME_WAIT does not hold a drain;
#  - SIGTERM with a connection held keeps the VIP bound until it closes; an idle server
#    exits after min_seconds while max_seconds is 30;
#  - a reload that changes a healthy check's timeout keeps /ready at 200 (polled every
#    50 ms) and says what changed;
#  - check refuses what start refuses (an ARP interface that does not exist), with start's
#    words; check --offline takes the file alone; a reload of it is refused, nothing changed.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"
HELPER="$(dirname "$0")/conn_helper.py"
SRV= HOLD= WAITER= POLLER=
trap 'end_started "${WAITER:-}" "${POLLER:-}" "${HOLD:-}" "${SRV:-}" "${DAEMON:-}"' EXIT
VIP=198.51.100.188 VIP2=198.51.100.189 CLIENT=203.0.113.7
ip link set lo up
ip addr add $CLIENT/32 dev lo

# helper MODE ARGS... > FILE in the background; waits for its "ready"; PID in HELPER_PID
helper() {
  local out=$1; shift
  python3 "$HELPER" "$@" > "$out" 2>&1 &
  HELPER_PID=$!
  wait_until 20 grep -qx ready "$out" && return 0
  echo "helper $* did not get ready:"; cat "$out"; return 1
}
# vip_status VIP PYEXPR: PYEXPR over the VIP's /status entry v (and now: the time)
vip_status() {
  curl -s "http://$API/status" | python3 -c "
import json, sys, time
now = time.time()
v = [x for x in json.load(sys.stdin)['state']['vips'] if x['vip'] == '$1'][0]
sys.exit(0 if ($2) else 1)"
}

CFG='{"vips": ["'$VIP'", "'$VIP2'"], "check_interval_ms": 100, "drain": {"min_seconds": 1, "max_seconds": 30},
      "api": {"listen": "127.0.0.1:9100"},
      "services": [{"vip": "'$VIP'", "port": 8080, "interval_ms": 200, "timeout_ms": 150, "rise": 1, "fall": 1}]}'
start_daemon "$CFG" || exit 1
helper "$STATE/srv.out" serve :: 8080 || exit 1; SRV=$HELPER_PID
wait_for "the service is up: ready" http_is 200 "http://$API/ready"

# --- counted: two IPv4 clients of the dual-stack [::] listener -----------------------
helper "$STATE/hold.out" hold $VIP 8080 $CLIENT 2 || exit 1; HOLD=$HELPER_PID
wait_for "two connections counted on the VIP (IPv4 clients of a [::] listener)" vip_status $VIP "v['connections'] == 2"
wait_for "/metrics has them" sh -c "curl -s http://$API/metrics | grep -qx 'lvs_rs_agent_vip_connections{vip=\"$VIP\"} 2'"
contains "$(agent status -c "$STATE/config.json")" "VIP $VIP: in place, 2 connections" "status shows them per VIP"
vip_status $VIP2 "v['connections'] == 0" && pass "none on the other VIP (the service check's own do not count)" || fail "the other VIP: $(curl -s http://$API/status)"

# --- drain --wait: waits while they are open, returns once they close ----------------
"$AGENT" drain --vip $VIP --wait --timeout 60 --state-dir "$STATE" > "$STATE/wait.out" 2>&1 & WAITER=$!
wait_for "/ready/$VIP answers 503 at once" http_is 503 "http://$API/ready/$VIP"
wait_for "past min_seconds, the drain still counts 2 connections" vip_status $VIP \
  "v['state'] == 'draining' and v['drain']['connections'] == 2 and now > v['drain']['earliest_end'] + 0.5"
kill -0 $WAITER 2>/dev/null && pass "drain --wait still waits while connections are open" || fail "drain --wait returned: $(cat "$STATE/wait.out")"
kill $HOLD; wait $HOLD 2>/dev/null; HOLD=
wait_until 10 sh -c "! kill -0 $WAITER 2>/dev/null"
wait $WAITER; rc=$?; WAITER=
equals "$rc" "0" "drain --wait exits 0 once the last connection closed"
contains "$(cat "$STATE/wait.out")" "drained: no connection left" "and says so"
vip_status $VIP "v['state'] == 'drained' and v['drain']['ended'] == 'idle'" && pass "the VIP is drained (idle)" || fail "state: $(curl -s http://$API/status)"
contains "$(curl -s http://$API/metrics)" "lvs_rs_agent_drains_completed_total{result=\"idle\"} 1" "metric drains_completed_total{idle}"
contains "$(curl -s http://$API/metrics)" "lvs_rs_agent_vip_drain_state{vip=\"$VIP\",state=\"idle\"} 1" "metric vip_drain_state"

# --- --timeout with one held: exit 3, it is named, the VIP stays drained ----------------
"$AGENT" undrain --vip $VIP --state-dir "$STATE" >/dev/null
wait_for "undrained: ready again" http_is 200 "http://$API/ready/$VIP"
helper "$STATE/hold.out" hold $VIP 8080 $CLIENT 1 || exit 1; HOLD=$HELPER_PID
run "$AGENT" drain --vip $VIP --wait --timeout 2 --state-dir "$STATE"
equals "$RC" "3" "drain --wait --timeout with a connection held: exit 3"
contains "$OUT" "timed out waiting for the drain" "says it timed out"
contains "$OUT" "$CLIENT:" "names the client"
contains "$OUT" "-> $VIP:8080 (ESTABLISHED)" "and the VIP's port"
equals "$(http_code http://$API/ready/$VIP)" "503" "the VIP stays drained"
kill $HOLD; wait $HOLD 2>/dev/null; HOLD=
"$AGENT" undrain --vip $VIP --state-dir "$STATE" >/dev/null

# --- TIME_WAIT does not hold a drain ---------------------------------------------------
helper "$STATE/tw.out" serve $VIP2 8081 close-first || exit 1; TW=$HELPER_PID
python3 "$HELPER" once $VIP2 8081 $CLIENT >/dev/null
kill $TW; wait $TW 2>/dev/null
ss -Htan state time-wait "( sport = :8081 )" | grep -q "$VIP2:8081" && pass "the VIP's socket is in TIME_WAIT" || fail "no TIME_WAIT socket: $(ss -tan)"
expect_rc 0 "drain --wait is not held by TIME_WAIT" "$AGENT" drain --vip $VIP2 --wait --timeout 10 --state-dir "$STATE"
"$AGENT" undrain --vip $VIP2 --state-dir "$STATE" >/dev/null

# --- reload: a healthy check's timeout changed keeps /ready at 200 ---------------------
wait_for "ready before the reload" http_is 200 "http://$API/ready"
( end=$(( $(now_us) + 20000000 ))
  while [ "$(now_us)" -lt "$end" ] && [ ! -e "$STATE/stop-poll" ]; do
    curl -s -o /dev/null -w '%{http_code}\n' "http://$API/ready"; sleep 0.05   # the poll period, not a wait
  done ) > "$STATE/polls.out" & POLLER=$!
wait_until 10 sh -c "[ \$(wc -l < '$STATE/polls.out') -ge 5 ]"
checks_before=$(json_at "http://$API/status" "d['services'][0]['checks']")
log_lines=$(wc -l < "$STATE/daemon.log")
printf '%s' "${CFG/\"timeout_ms\": 150/\"timeout_ms\": 120}" > "$STATE/config.json"
run "$AGENT" reload --state-dir "$STATE"
equals "$RC" "0" "reload with the check's timeout changed"
contains "$OUT" "checks changed (their state kept): tcp $VIP:8080" "the reply says what changed"
wait_for "the changed check has probed again" sh -c "[ \$(curl -s http://$API/status | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"services\"][0][\"checks\"])') -gt $checks_before ]"
lines=$(wc -l < "$STATE/polls.out")
wait_until 10 sh -c "[ \$(wc -l < '$STATE/polls.out') -ge $((lines + 5)) ]"
touch "$STATE/stop-poll"; wait $POLLER; POLLER=
equals "$(grep -vcx 200 "$STATE/polls.out")" "0" "/ready stayed 200 through the reload ($(wc -l < "$STATE/polls.out") polls)"
lacks "$(tail -n +$((log_lines + 1)) "$STATE/daemon.log")" "service tcp $VIP:8080 is down" "and the log never said the service went down"
run "$AGENT" reload --state-dir "$STATE"
contains "$OUT" "; no changes" "a reload of the same file says no changes"

# --- check refuses what start refuses; a reload of it is refused -----------------------
python3 -c 'import json,sys; c=json.loads(sys.argv[1]); c["arp"]={"interfaces": ["lo", "all", "eth9"]}; print(json.dumps(c))' "$CFG" > "$STATE/bad.json"
run "$AGENT" check -c "$STATE/bad.json" --state-dir "$STATE"
equals "$RC" "2" "check with an ARP interface that does not exist: exit 2"
check_out=$OUT
contains "$check_out" "eth9" "check names the interface"
contains "$check_out" "start would refuse it on this host" "and says start would refuse it"
expect_rc 0 "check --offline takes the file alone" "$AGENT" check --offline -c "$STATE/bad.json" --state-dir "$STATE"
mkdir -p "$STATE/other"
run "$AGENT" start -c "$STATE/bad.json" --state-dir "$STATE/other"
equals "$RC" "2" "start refuses it"
line=$(grep -m1 "eth9" <<<"$OUT")
contains "$check_out" "$line" "check's words are start's: $line"
cp "$STATE/bad.json" "$STATE/config.json"
before=$(kernel_snapshot)
run "$AGENT" reload --state-dir "$STATE"
equals "$RC" "2" "reload of it is refused (exit 2)"
contains "$OUT" "reload rejected, nothing changed" "the reply says so"
equals "$(kernel_snapshot)" "$before" "nothing changed"

# --- SIGTERM: a connection held keeps the VIP bound until it closes -------------------
printf '%s' "$CFG" > "$STATE/config.json"
expect_rc 0 "reload the good file" agent reload
helper "$STATE/hold.out" hold $VIP 8080 $CLIENT 1 || exit 1; HOLD=$HELPER_PID
kill -TERM $DAEMON
wait_for "not ready at once on SIGTERM" http_is 503 "http://$API/ready"
wait_for "past min_seconds with the connection open" sh -c "curl -s http://$API/status | python3 -c '
import json,sys,time; d=json.load(sys.stdin)[\"readiness\"][\"drain\"]; sys.exit(0 if d and d[\"connections\"] == 1 and time.time() > d[\"earliest_end\"] + 0.5 else 1)'"
has_addr $VIP 32 && pass "the VIP stays bound while the connection is open" || fail "VIP removed with a connection open"
kill -0 $DAEMON 2>/dev/null && pass "still running" || fail "exited with a connection open"
kill $HOLD; wait $HOLD 2>/dev/null; HOLD=
wait_until 10 sh -c "! kill -0 $DAEMON 2>/dev/null"
wait $DAEMON; rc=$?; DAEMON=
equals "$rc" "0" "exits 0 once the connection closed"
has_addr $VIP 32 && fail "VIP left after exit" || pass "then everything undone"
log_has "drained the server before exit: no connection left" && pass "the log says how the drain ended" || fail "$(tail -5 "$STATE/daemon.log")"

# --- an idle server exits after min_seconds, not max_seconds ---------------------------
start_daemon '{"vips": ["'$VIP'"], "check_interval_ms": 100, "drain": {"min_seconds": 1, "max_seconds": 30}, "api": {"listen": "127.0.0.1:9100"}}' || exit 1
t0=$(now_us)
kill -TERM $DAEMON; wait $DAEMON; rc=$?; DAEMON=
took_ms=$(( ($(now_us) - t0) / 1000 ))
equals "$rc" "0" "an idle server exits 0"
[ "$took_ms" -ge 1000 ] && [ "$took_ms" -lt 15000 ] && pass "after min_seconds (${took_ms} ms), not max_seconds (30 s)" || fail "took ${took_ms} ms"

# --- drain --wait, then stop (README "Planned maintenance"): that drain is the stop's ---
# (the stop once waited forever here: its drain had ended before it began; so did a
# second SIGTERM)
start_daemon '{"vips": ["'$VIP'"], "check_interval_ms": 100, "drain": {"min_seconds": 1, "max_seconds": 30}, "api": {"listen": "127.0.0.1:9100"}}' || exit 1
expect_rc 0 "drain --wait on an idle server" agent drain --wait
t0=$(now_us)
kill -TERM $DAEMON
if wait_until 10 sh -c "! kill -0 $DAEMON 2>/dev/null"; then
  wait $DAEMON; rc=$?; DAEMON=
  equals "$rc" "0" "SIGTERM after drain --wait: exit 0"
  pass "and at once ($(( ($(now_us) - t0) / 1000 )) ms)"
  has_addr $VIP 32 && fail "VIP left after exit" || pass "everything undone"
else
  fail "SIGTERM after drain --wait: still running 10 s later: $(tail -3 "$STATE/daemon.log")"
  kill -KILL $DAEMON; wait $DAEMON 2>/dev/null; DAEMON=
fi
finish
