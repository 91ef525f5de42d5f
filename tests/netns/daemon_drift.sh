#!/usr/bin/env bash
# `run` repairs each kind of drift at once (address, route, lo down, sysctl), counts the
# repairs in /metrics and lists them in /status.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"
trap 'end_started "${DAEMON:-}"' EXIT

start_daemon '{"vips": ["198.51.100.188", "2001:db8::188", "198.51.100.189"], "check_interval_ms": 100, "drain_seconds": 0, "api": {"listen": "127.0.0.1:9100"}}' || exit 1
equals "$(http_code http://$API/ready)" "200" "ready after start"
ip addr del $VIP4/32 dev lo
wait_for "removed IPv4 VIP re-added" has_addr $VIP4 32
ip -6 addr del $VIP6/128 dev lo
wait_for "removed IPv6 VIP re-added" has_addr $VIP6 128
ip route del $VIP4/32 dev lo proto 177
wait_for "removed host route re-added" has_route $VIP4
ip link set lo down
wait_for "lo brought back up" sh -c "ip -o link show lo | grep -q ',UP'"
wait_for "routes back after lo up" has_route6 $VIP6
setsys all arp_ignore 0
wait_for "arp_ignore reset within the check interval" sh -c '[ "$(cat /proc/sys/net/ipv4/conf/all/arp_ignore)" = 1 ]'
setsys lo arp_announce 0
wait_for "arp_announce reset" sh -c '[ "$(cat /proc/sys/net/ipv4/conf/lo/arp_announce)" = 2 ]'
wait_for "ready again" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$API/ready)\" = 200 ]"
metrics=$(curl -s http://$API/metrics)
for kind in address route sysctl link; do
  v=$(grep "^lvs_rs_agent_repairs_total{kind=\"$kind\"}" <<<"$metrics" | awk '{print $2}')
  [ "${v:-0}" -ge 1 ] && pass "repairs_total{kind=$kind} = $v" || fail "repairs_total{kind=$kind} = ${v:-missing}"
done
contains "$metrics" "# TYPE lvs_rs_agent_drift_events_total counter" "metrics have TYPE lines"
status=$(curl -s http://$API/status)
echo "$status" | python3 -c '
import json,sys
d=json.load(sys.stdin)
whats=[e["what"] for e in d["recent_drift"]]
assert any("added 198.51.100.188/32 to lo" in w for w in whats), whats
assert d["repairs"]["address"] >= 2 and d["drift_events_total"] >= 5, d
assert d["config"]["vips"] == ["198.51.100.188", "2001:db8::188", "198.51.100.189"]
assert d["state"]["in_place"] is True
' && pass "/status lists drift events, counters, config and state" || fail "/status: $status"
contains "$(cat $STATE/daemon.log)" "drift repaired: added $VIP4/32 to lo" "repairs logged one line each"
# A fight over a VIP nothing else touched (so no earlier repair counts toward the
# damper's window): something deletes it each time it is back (7 times, bounded by a 60 s
# deadline each). Without damping the 7 repairs would take milliseconds; the damper
# must log one line per backoff step (100, 200, 400, 800, 1600 ms from the third repair
# on; each delays the repair after it) and space the repairs at least that far apart. Waits are on the VIP, not on time.
FOUGHT=198.51.100.189
addr_repairs() { curl -s http://$API/metrics | awk '/^lvs_rs_agent_repairs_total\{kind="address"\}/ {print $2}'; }
fighting_metric() { [ "$(curl -s http://$API/metrics | awk '/^lvs_rs_agent_fighting / {print $2}')" = 1 ]; }
r0=$(addr_repairs); l0=$(grep -cE "(^| )fighting:" "$STATE/daemon.log")
t0=$(now_us)
for i in $(seq 1 7); do
  wait_until 60 has_addr $FOUGHT 32 || { fail "VIP not repaired before deletion $i"; break; }
  ip addr del $FOUGHT/32 dev lo
  [ "$i" = 5 ] && wait_for "metrics say fighting during the fight" fighting_metric
done
wait_until 60 has_addr $FOUGHT 32
elapsed_ms=$(( ($(now_us) - t0) / 1000 ))
equals "$(( $(addr_repairs) - r0 ))" "7" "one repair per deletion, no spinning"
[ "$elapsed_ms" -ge 1500 ] && pass "repairs backed off: 7 deletions took $elapsed_ms ms (>= 100+200+400+800 before repairs 4-7)" || fail "no backoff: 7 repairs in $elapsed_ms ms"
contains "$(cat $STATE/daemon.log)" "fighting: something keeps undoing address $FOUGHT/32; next repair in" "the fight is logged with the backoff"
steps=$(( $(grep -cE "(^| )fighting:" "$STATE/daemon.log") - l0 ))
equals "$steps" "5" "one log line per backoff step"
curl -s http://$API/status | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["fighting"]["active"] and "address 198.51.100.189/32" in d["fighting"]["with"], d["fighting"]' \
  && pass "/status names what is fought over" || fail "/status fighting"
wait_for "the VIP is put back after the fight" has_addr $FOUGHT 32

stop_daemon
equals "$DAEMON_RC" "0" "SIGTERM exits 0"
equals "$(arp_all)" "0 0 0 0" "exit undid the sysctls"
has_addr $VIP4 32 && fail "VIP left after exit" || pass "VIP removed at exit"
finish
