#!/usr/bin/env bash
# Readiness to routers: with "announce": {"table": 200}, each VIP that is ready, not
# drained and not opted out is kept as VIP dev lo proto 177 in table 200 (for BIRD or FRR
# to carry into BGP); a service check failing, a drain --vip and a SIGTERM withdraw it
# (SIGTERM before the drain wait, while the VIP is still bound); the agent repairs it
# when someone deletes it; a kill -9 leaves it until the next agent looks; a table that
# holds another program's routes is refused at start, with the reason.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"
WEB=
trap 'end_started "${DAEMON:-}" "${WEB:-}"' EXIT
ip link set lo up
A=$VIP4 B=198.51.100.189
in_table() { ip route show table 200 | grep -q "^$1 dev lo proto \(177\|lvs-rs-agent\)"; }
not_in_table() { ! in_table "$1"; }
web_up() { python3 -m http.server 80 --bind $A >/dev/null 2>&1 & WEB=$!; }
web_down() { kill "$WEB"; wait "$WEB" 2>/dev/null; WEB=; }
CFG="{\"vips\": [\"$A\", {\"address\": \"$B\", \"announce\": false}], \"announce\": {\"table\": 200, \"metric\": 20},
      \"check_interval_ms\": 100, \"drain_seconds\": 2, \"api\": {\"listen\": \"$API\"},
      \"services\": [{\"vip\": \"$A\", \"port\": 80, \"interval_ms\": 100, \"timeout_ms\": 100, \"rise\": 1, \"fall\": 1}]}"

# --- a table another program uses is refused at start -------------------------------
ip route add 203.0.113.0/24 dev lo table 200 proto static
printf '%s' "$CFG" > "$STATE/config.json"
run timeout 30 "$AGENT" run -c "$STATE/config.json" --state-dir "$STATE"
[ "$RC" != 0 ] && pass "run refuses a table in use (exit $RC)" || fail "run started on a table in use"
contains "$OUT" "announce table 200 holds 1 route(s) the agent did not add (203.0.113.0/24 proto 4)" "and says why"
has_addr $A 32 && fail "a refused run bound the VIP" || pass "and changed nothing"
ip route del 203.0.113.0/24 dev lo table 200 proto static

# --- announced while ready ------------------------------------------------------------
start_daemon "$CFG" || exit 1
equals "$(ip route show table 200)" "" "not announced while its service is down"
web_up
wait_for "ready: $A announced in table 200" in_table $A
contains "$(ip route show table 200)" "$A dev lo proto" "one route"
contains "$(ip route show table 200)" "metric 20" "with the configured metric"
not_in_table $B && pass "$B (\"announce\": false) is not announced" || fail "$B announced"
contains "$(curl -s http://$API/metrics)" "lvs_rs_agent_vip_announced{vip=\"$A\"} 1" "metric vip_announced"
equals "$(json_at http://$API/status "d['announce']['announced_vips']")" 1 "/status announce.announced_vips"
contains "$(cat "$STATE/state.json")" "\"announced\"" "the state file records it"

# --- withdrawn as readiness goes, back as it comes ----------------------------------
run "$AGENT" drain --vip $A --state-dir "$STATE"
wait_for "drain --vip: withdrawn" not_in_table $A
has_addr $A 32 && pass "the drained VIP stays bound" || fail "drain unbound the VIP"
"$AGENT" undrain --vip $A --state-dir "$STATE" >/dev/null
wait_for "undrain: announced again" in_table $A
"$AGENT" drain --state-dir "$STATE" >/dev/null
wait_for "drain (the whole server): withdrawn" not_in_table $A
"$AGENT" undrain --state-dir "$STATE" >/dev/null
wait_for "undrain: announced again" in_table $A
web_down
wait_for "the service check fails: withdrawn" not_in_table $A
web_up
wait_for "the service is back: announced" in_table $A
log_has "announce: added route $A/32 dev lo table 200 metric 20" && pass "the log says so" || fail "no announce line in the log"
lacks "$(curl -s http://$API/metrics | grep '^lvs_rs_agent_repairs_total')" "announce" "following readiness is not counted as drift"

# --- drift: someone deletes it ------------------------------------------------------
ip route del $A/32 dev lo table 200 proto 177 metric 20
wait_for "a deleted announce route is put back" in_table $A

# --- a busy other table never reaches the agent (the kernel's socket filter) ----------
i0=$(json_at http://$API/status "d['reconcile']['changes_ignored']")
s0=$(json_at http://$API/status "d['reconcile']['changes_seen']")
for i in $(seq 1 250); do echo "route add blackhole 203.0.113.$i/32 table 300"; echo "route add blackhole 198.18.$i.0/24 table 200"; done > "$STATE/other.batch"
ip -batch "$STATE/other.batch"
ip route add 203.0.113.77/32 dev lo table main  # a host route in main: the agent must see it
seen_more() { [ "$(json_at http://$API/status "d['reconcile']['changes_seen']")" -gt "$s0" ]; }
wait_for "a host route added to table main is seen" seen_more
i1=$(json_at http://$API/status "d['reconcile']['changes_ignored']")
[ $((i1 - i0)) -lt 10 ] && pass "500 routes in table 300 and prefixes in table 200: filtered in the kernel ($((i1 - i0)) reached the agent)" \
  || fail "$((i1 - i0)) of 500 unwanted route notifications reached the agent"
ip route del 203.0.113.77/32 dev lo table main
ip route flush table 300
ip route flush table 200 proto boot

# --- SIGTERM: the route goes first, before the drain wait ------------------------------
kill -TERM $DAEMON
wait_for "SIGTERM: withdrawn at once" not_in_table $A
has_addr $A 32 && pass "while the VIP is still bound (the drain wait)" || fail "the VIP went before the drain"
wait "$DAEMON"; DAEMON=
has_addr $A 32 && { fail "VIP still bound after exit:"; tail -25 "$STATE/daemon.log"; ip addr show dev lo; } || pass "then the VIP is unbound"

# --- kill -9: the route stays until the next agent looks ----------------------------
start_daemon "$CFG" || exit 1
wait_for "announced again after a start" in_table $A
kill -9 $DAEMON; wait $DAEMON 2>/dev/null; DAEMON=
in_table $A && pass "kill -9: the route stays (nobody withdraws it)" || fail "the route went with kill -9"
web_down
start_daemon "$CFG" || exit 1
wait_for "the next agent withdraws it (its service is down)" not_in_table $A
stop_daemon
equals "$(ip route show table 200)" "" "stop leaves table 200 empty"
finish
