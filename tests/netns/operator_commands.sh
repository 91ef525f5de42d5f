#!/usr/bin/env bash
# Commands an operator can trust: one-VIP commands act on one VIP; start --vip adds and
# start -c FILE is the truth; start/stop/a second run refuse at once while a daemon owns
# the state dir; status tells readiness (the daemon's) and a dead daemon (exit 1); each
# readiness transition is one log line; undrain names the VIP drains that remain; a
# reload says what it did not apply.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"
WEB=
trap '[ -n "${KEEP_LOG:-}" ] && cp "$STATE/daemon.log" "$KEEP_LOG"; end_started "${DAEMON:-}" "${WEB:-}"' EXIT
ip link set lo up
A=198.51.100.10 B=198.51.100.11 C=198.51.100.12
ARP0=$(arp_all)

# --- stop --vip: that VIP alone ------------------------------------------------------
expect_rc 0 "start --vip A --vip B" agent start --vip $A --vip $B
ARP1=$(arp_all)
expect_rc 0 "stop --vip A" agent stop --vip $A
contains "$OUT" "1 other VIP(s) and the ARP settings stay in place" "stop --vip says what stays"
has_addr $A 32 && fail "A still bound after stop --vip A" || pass "A unbound"
has_route $A && fail "A's route still there" || pass "A's route removed"
has_addr $B 32 && has_route $B && pass "B and its route untouched" || fail "stop --vip A took B too"
equals "$(arp_all)" "$ARP1" "ARP settings kept while the agent owns a VIP"
expect_rc 0 "stop --vip A again: nothing to undo" agent stop --vip $A
contains "$OUT" "nothing to undo for $A: the agent did not add it" "says A is not the agent's"
expect_rc 2 "stop --vip with a malformed address" agent stop --vip 198.51.100.10/24
contains "$OUT" "has prefix /24" "names the problem"
has_addr $B 32 && pass "a bad stop --vip changes nothing" || fail "bad stop --vip removed B"
expect_rc 0 "stop --vip B: the last VIP" agent stop --vip $B
has_addr $B 32 && fail "B still bound" || pass "B unbound"
equals "$(arp_all)" "$ARP0" "ARP settings restored with the last VIP"

# --- check shows what run would serve; read-only commands never say "nothing was changed"
printf '{"vips": ["%s"], "api": {"listen": "127.0.0.1:9100", "agent_check_port": 9101}, "services": [{"vip": "%s", "port": 80, "type": "http", "path": "/h"}]}' $A $A > "$STATE/check.json"
expect_rc 0 "check with an API and a service" agent check -c "$STATE/check.json"
contains "$OUT" "serve the readiness API on 127.0.0.1:9100" "check shows the API"
contains "$OUT" "answer HAProxy's agent-check on 127.0.0.1:9101" "check shows agent-check"
contains "$OUT" "check http $A:80/h every 2000 ms (timeout 1000 ms, rise 2, fall 3)" "check shows the service check"
printf '{"vips": [' > "$STATE/bad.json"
# status never exits 2 for the file (shown then: what the agent owns, and a note)
expect_rc 0 "status with a broken file: what the agent owns (nothing here)" agent status -c "$STATE/bad.json"
contains "$OUT" "note: the configuration on disk cannot be used: $STATE/bad.json: (document): not valid JSON at line 1, column 11: the text ends too early" "status names the broken file"
for cmd in check doctor "director-config --format haproxy"; do
  # shellcheck disable=SC2086
  expect_rc 2 "$cmd with a broken file" agent $cmd -c "$STATE/bad.json"
  lacks "$OUT" "nothing was changed" "$cmd, which changes nothing, does not say so"
  lacks "$OUT" "json.exception" "$cmd: the JSON library's tag stays out of the message"
done
expect_rc 2 "start with a broken file" agent start -c "$STATE/bad.json"
contains "$OUT" "configuration rejected; nothing was changed" "start does say nothing was changed"
expect_rc 2 "a usage error" agent status -j
contains "$OUT" "did you mean --json?" "did you mean"
contains "$OUT" "usage: lvs-rs-agent status [-c FILE" "the command's own usage line"
lacks "$OUT" "Commands:" "not the whole help"

# --- start --vip adds; start -c FILE is the truth --------------------------------------
expect_rc 0 "start --vip A" agent start --vip $A
expect_rc 0 "start --vip B (one start per VIP, as the old scripts did)" agent start --vip $B
lacks "$OUT" "removed" "start --vip removes nothing"
has_addr $A 32 && has_addr $B 32 && pass "both VIPs bound" || fail "start --vip B took A down"
contains "$OUT" "2 VIPs in place" "the summary counts what the agent owns"
printf '{"vips": ["%s", "%s"]}' $B $C > "$STATE/file.json"
expect_rc 0 "start -c FILE naming B and C" agent start -c "$STATE/file.json"
contains "$OUT" "removed 1 VIP(s) that $STATE/file.json no longer names: $A" "declarative start says what it removed"
has_addr $A 32 && fail "A still bound after start -c without it" || pass "A removed by the declarative start"
has_addr $B 32 && has_addr $C 32 && pass "B and C bound" || fail "B or C missing"
expect_rc 0 "stop" agent stop
equals "$(arp_all)" "$ARP0" "stop restores everything"

# --- 1,000 VIPs: stop --vip of one leaves the other 999 and the ARP settings ------------
python3 -c 'import json; print(json.dumps({"vips": ["198.51.100.%d" % (i % 250 + 1) if i < 250 else "203.0.113.%d" % (i - 249) if i < 500 else "2001:db8::%x" % i for i in range(1000)]}))' > "$STATE/1000.json"
expect_rc 0 "start 1,000 VIPs" agent start -c "$STATE/1000.json"
ARP1=$(arp_all)
before=$(ip -o addr show dev lo | wc -l)
t0=$(now_us)
expect_rc 0 "stop --vip of one VIP among 1,000" agent stop --vip 203.0.113.7
t1=$(now_us)
echo "    (stop --vip among 1,000 VIPs took $(( (t1 - t0) / 1000 )) ms)"
equals "$(( before - $(ip -o addr show dev lo | wc -l) ))" "1" "exactly one address left lo"
has_addr 203.0.113.7 32 && fail "203.0.113.7 still bound" || pass "the one VIP unbound"
equals "$(ip route show table main | grep -c 'dev lo proto 177')" "499" "the other 499 IPv4 host routes stay"
equals "$(ip -6 route show table main | grep -c 'dev lo proto 177')" "500" "the 500 IPv6 host routes stay"
equals "$(arp_all)" "$ARP1" "ARP settings untouched"
expect_rc 0 "stop the rest" agent stop
equals "$(ip -o addr show dev lo | grep -c '198.51.100\|203.0.113\|2001:db8')" "0" "nothing left"

# --- a daemon owns the state dir ---------------------------------------------------------
start_daemon "{\"vips\": [\"$A\", \"$B\"], \"check_interval_ms\": 100, \"drain_seconds\": 0,
  \"api\": {\"listen\": \"127.0.0.1:9100\"},
  \"services\": [{\"vip\": \"$A\", \"port\": 8080, \"interval_ms\": 100, \"timeout_ms\": 100, \"rise\": 1, \"fall\": 1}]}" || exit 1
for cmd in "start --vip $C" "stop --vip $A" "stop" "run --vip $C"; do
  t0=$(now_us)
  # shellcheck disable=SC2086
  expect_rc 1 "$cmd while the daemon runs: refused" agent $cmd
  ms=$(( ($(now_us) - t0) / 1000 ))
  [ $ms -lt 1500 ] && pass "$cmd answered in $ms ms (not after a lock wait)" || fail "$cmd took $ms ms"
  contains "$OUT" "owns $STATE and keeps its VIPs in place itself" "$cmd says who owns the state"
done
contains "$OUT" "lvs-rs-agent reload" "a second run says what to do instead"
has_addr $A 32 && has_addr $B 32 && ! has_addr $C 32 && pass "the refused commands changed nothing" || fail "a refused command changed the kernel"

# status tells readiness: the service on A is down.
wait_for "A not ready while its service is down" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$API/ready/$A)\" = 503 ]"
expect_rc 0 "status: in place, the daemon running" agent status -c "$STATE/config.json"
contains "$OUT" "readiness (the running daemon's, as /ready answers): NOT READY" "status shows the daemon's readiness"
contains "$OUT" "VIP $A: not ready: service tcp $A:8080 is down" "status names the VIP and its reason"
contains "$OUT" "1 of 2 VIP(s) ready" "status counts the ready VIPs"
contains "$OUT" "daemon: running (pid $DAEMON)" "status names the daemon"
expect_rc 3 "status --ready: not ready exits 3 (a rollout gate)" agent status -c "$STATE/config.json" --ready
expect_rc 3 "status --ready --json" agent status -c "$STATE/config.json" --ready --json
echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); r=d["readiness"]; assert r["source"]=="daemon" and not r["ready"] and r["not_ready"][0]["vip"]=="'$A'" and d["daemon"]["running"], d' \
  && pass "status --json has the daemon's readiness" || fail "status --json: $OUT"
python3 -c "
import socket
import signal
s = socket.socket(); s.bind(('$A', 8080)); s.listen(8)
signal.pause()" & WEB=$!
wait_for "A ready once its service listens" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$API/ready)\" = 200 ]"
expect_rc 0 "status --ready: ready exits 0" agent status -c "$STATE/config.json" --ready
contains "$OUT" "readiness (the running daemon's, as /ready answers): ready" "status says ready"

# Each transition is one log line, with its reason.
log_has "service tcp $A:8080 is up (1 success(es) in a row, rise 1)" && pass "log: the service's rise" || fail "no rise line"
log_has "readiness: server ready: 2 VIP(s) in place" && pass "log: the server became ready" || fail "no server-ready line"
kill $WEB; wait $WEB 2>/dev/null; WEB=
wait_for "log: the service's fall" log_has "service tcp $A:8080 is down (1 failure(s) in a row, fall 1)"
wait_for "log: the VIP left rotation, with its reason" log_has "readiness: VIP $A not ready: service tcp $A:8080 is down"
wait_for "log: the server left rotation" log_has "readiness: server not ready: service tcp $A:8080 is down"

# undrain with VIP drains left says so and how to lift them.
expect_rc 0 "drain --vip A --vip B" "$AGENT" drain --vip $A --vip $B --state-dir "$STATE"
expect_rc 0 "undrain (the whole server)" "$AGENT" undrain --state-dir "$STATE"
contains "$OUT" "2 VIP(s) stay drained on their own ($A, $B): lift with \`lvs-rs-agent undrain --vip $A --vip $B\`" "undrain names the VIP drains"
wait_for "log: B left rotation for its drain" log_has "readiness: VIP $B not ready: draining"
expect_rc 0 "undrain --vip A --vip B" "$AGENT" undrain --vip $A --vip $B --state-dir "$STATE"
wait_for "log: B back in rotation" log_has "readiness: VIP $B ready"

# A reload moves the API to a new api.listen: the new socket listens before the old closes.
sed 's/127.0.0.1:9100/127.0.0.1:9109/' "$STATE/config.json" > "$STATE/next.json" && mv "$STATE/next.json" "$STATE/config.json"
expect_rc 0 "reload with a changed api.listen" "$AGENT" reload --state-dir "$STATE"
lacks "$OUT" "not applied" "the reply: everything applied"
equals "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9109/healthz)" "200" "the API answers on its new address"
curl -s -m 2 -o /dev/null "http://$API/healthz" && fail "the old address still answers" || pass "the old address is closed"
API=127.0.0.1:9109
# One it cannot bind: the reload says so and the API stays where it was.
sed 's/127.0.0.1:9109/192.0.2.77:9109/' "$STATE/config.json" > "$STATE/next.json" && mv "$STATE/next.json" "$STATE/config.json"
expect_rc 0 "reload with an api.listen it cannot bind" "$AGENT" reload --state-dir "$STATE"
contains "$OUT" "not applied: api.listen: cannot listen on 192.0.2.77:9109" "the reply names what was not applied, and why"
contains "$OUT" "the API stays on its previous address" "and where the API is"
log_has "reload partly applied: api.listen" && pass "the log says partly applied" || fail "no partly-applied line"
equals "$(curl -s -o /dev/null -w '%{http_code}' http://$API/healthz)" "200" "the API still answers on its previous address"
equals "$(curl -s http://$API/metrics | grep '^lvs_rs_agent_config_last_reload_successful ' | awk '{print $2}')" "1" "reload metric: successful"
printf '{"vips": [' > "$STATE/config.json"
expect_rc 2 "reload of a broken file" "$AGENT" reload --state-dir "$STATE"
equals "$(curl -s http://$API/metrics | grep '^lvs_rs_agent_config_last_reload_successful ' | awk '{print $2}')" "0" "reload metric: failed"
ts=$(curl -s http://$API/metrics | awk '/^lvs_rs_agent_config_last_reload_success_timestamp_seconds /{print int($2)}')
[ "${ts:-0}" -gt 1700000000 ] && pass "last successful reload's timestamp ($ts)" || fail "no success timestamp: $ts"

# kill -9: status tells a dead daemon (exit 1) from one never run; run adopts again.
kill -9 $DAEMON; wait $DAEMON 2>/dev/null
expect_rc 1 "status after kill -9: the daemon is dead, its VIPs left behind" agent status --vip $A --vip $B
contains "$OUT" "daemon: DEAD" "status says dead"
expect_rc 1 "status --json after kill -9" agent status --vip $A --vip $B --json
echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["daemon"]["dead"] and not d["daemon"]["running"], d' \
  && pass "status --json says dead" || fail "status --json: $OUT"
expect_rc 0 "stop after the crash undoes what it left" agent stop
expect_rc 3 "status then: not in place, no daemon" agent status --vip $A --vip $B
contains "$OUT" "daemon: not running" "no daemon, no longer dead"
DAEMON=
finish
