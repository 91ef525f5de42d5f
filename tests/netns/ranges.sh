#!/usr/bin/env bash
# VIP ranges: {"prefix": "198.18.0.0/16"} is one local route in table local (AnyIP), added
# in one operation: a TCP service bound to any address of it accepts from a client, ARP for
# those addresses gets no reply on the real interface (arp_ignore=1), /ready/<address>
# answers for the range, a deleted route is repaired, stop removes only the agent's route
# (another program's local route stays). IPv6 too: a listener on [::] takes any address of
# a /64.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"
CL=lvsrange$$-cl
WEB=
WEB6=
trap 'end_started "${DAEMON:-}" "${WEB:-}" "${WEB6:-}"; ip netns del $CL 2>/dev/null' EXIT
ip link set lo up
ip netns add $CL
ip -n $CL link set lo up
ip link add eth0 type veth peer name eth0 netns $CL
ip addr add 198.51.100.60/24 dev eth0
ip addr add 2001:db8:ff::60/64 dev eth0 nodad
ip link set eth0 up
ip -n $CL addr add 198.51.100.200/24 dev eth0
ip -n $CL addr add 2001:db8:ff::200/64 dev eth0 nodad
ip -n $CL link set eth0 up
# The client sends the ranges to this server (the director's job in DR).
ip -n $CL route add 198.18.0.0/16 via 198.51.100.60
ip -n $CL -6 route add 2001:db8:1::/64 via 2001:db8:ff::60
in_cl() { ip netns exec $CL "$@"; }
R=198.18.$((RANDOM % 256)).$((RANDOM % 254 + 1))   # a random address of the range
R6=2001:db8:1::$(printf '%x' $((RANDOM % 65535 + 1)))
local_route() { ip route show table local | grep -q "^local 198.18.0.0/16 dev lo proto \(177\|lvs-rs-agent\)"; }
no_local_route() { ! local_route; }
local_route6() { ip -6 route show table local | grep -q "^local 2001:db8:1::/64 dev lo proto \(177\|lvs-rs-agent\)"; }
# How many ARP replies (Debian's arping: "42 bytes from MAC (IP)") the client gets for $1 on its wire.
arp_replies() { in_cl ip neigh flush all; in_cl arping -c 2 -w 1000000 -i eth0 "$1" 2>/dev/null | grep -c " from [0-9a-f:]* "; }

# --- the control: without the agent's ARP settings a local route answers ARP -----------
ip route add local 198.18.0.0/16 dev lo table local
[ "$(arp_replies $R)" -gt 0 ] && pass "control: with arp_ignore=0, ARP for $R is answered (the test can fail)" \
  || fail "control: no ARP reply even with arp_ignore=0; the ARP check below proves nothing"
ip route del local 198.18.0.0/16 dev lo table local

# another program's AnyIP route, which the agent must leave alone
ip route add local 203.0.113.0/24 dev lo table local

CFG="{\"vips\": [\"$VIP4\", {\"prefix\": \"198.18.0.0/16\"}, {\"prefix\": \"2001:db8:1::/64\"}], \"check_interval_ms\": 100,
      \"drain_seconds\": 0, \"api\": {\"listen\": \"$API\"},
      \"services\": [{\"vip\": \"$R\", \"port\": 8080, \"interval_ms\": 100, \"timeout_ms\": 100, \"rise\": 1, \"fall\": 1}]}"
start_daemon "$CFG" || exit 1
local_route && pass "the /16 is one local route in table local, proto 177" || fail "no local route: $(ip route show table local)"
local_route6 && pass "the IPv6 /64 too" || fail "no IPv6 local route: $(ip -6 route show table local)"
equals "$(grep -c 'added local route 198.18.0.0/16 dev lo table local' "$STATE/daemon.log")" 1 "bound in one operation (one line in the log)"
ip -o addr show dev lo | grep -q "198.18\." && fail "an address of the range was put on lo" || pass "no address of the range on lo"
contains "$(cat "$STATE/state.json")" "\"198.18.0.0/16\"" "the state file records the range"

# --- readiness: any address of the range answers for it -------------------------------
equals "$(http_code http://$API/ready/$R)" 503 "/ready/$R: 503 while its service is down"
contains "$(curl -s http://$API/ready/198.18.0.77)" "service tcp $R:8080 is down" "and names the range's service"
python3 -m http.server 8080 --bind $R >/dev/null 2>&1 & WEB=$!
wait_for "a service binds to $R (no address configured, only the range)" listening $R 8080
wait_for "/ready/$R: 200 once it answers" http_is 200 http://$API/ready/$R
equals "$(http_code http://$API/ready/198.18.0.0/16)" 200 "/ready/198.18.0.0/16 names the range itself"
equals "$(http_code http://$API/ready/198.19.0.1)" 404 "an address outside every range: 404"
contains "$(curl -s http://$API/metrics)" "lvs_rs_agent_vip_ready{vip=\"198.18.0.0/16\"} 1" "metrics per range, not per address"

# --- traffic: a client reaches the service on the range's address ---------------------
echo "range ok" > "$STATE/index.html"
kill $WEB; wait $WEB 2>/dev/null
python3 -m http.server 8080 --bind $R --directory "$STATE" >/dev/null 2>&1 & WEB=$!
wait_until 20 listening $R 8080
contains "$(in_cl curl -s --max-time 5 http://$R:8080/index.html)" "range ok" "the client's TCP connection to $R is accepted"
python3 -m http.server 8081 --bind :: --directory "$STATE" >/dev/null 2>&1 & WEB6=$!
wait_until 20 listening "[::]" 8081 || wait_until 20 listening "*" 8081
contains "$(in_cl curl -s --max-time 5 "http://[$R6]:8081/index.html")" "range ok" "a listener on [::] takes $R6 of the IPv6 range"
equals "$(arp_replies $R)" 0 "ARP for $R gets no reply on eth0 (arp_ignore=1)"

# --- drift: the route deleted by someone is put back ----------------------------------
ip route del local 198.18.0.0/16 dev lo table local
wait_for "the deleted local route is repaired" local_route
log_has "drift repaired: added local route 198.18.0.0/16 dev lo table local" && pass "the log says so" || fail "no repair line"
ip -6 route del local 2001:db8:1::/64 dev lo table local
wait_for "the IPv6 one too" local_route6

# --- stop: only the agent's route goes -------------------------------------------------
stop_daemon
equals "$DAEMON_RC" 0 "the daemon stops cleanly"
no_local_route && pass "stop removes the agent's local route" || fail "the range's route stayed"
ip -6 route show table local | grep -q "2001:db8:1::/64" && fail "the IPv6 range's route stayed" || pass "and the IPv6 one"
ip route show table local | grep -q "^local 203.0.113.0/24 dev lo" && pass "another program's local route stays" \
  || fail "the other program's local route was removed"
[ -e "$STATE/state.json" ] && fail "state.json left behind: $(cat "$STATE/state.json")" || pass "nothing left owned"
finish
