#!/usr/bin/env bash
# A two-box cluster's marks end to end, in namespaces of its own: two nodes, each a
# director and a real server, and a client, on one bridge.
#
#   client (cl) 198.51.100.10 --+-- node1 (n1) 198.51.100.51  VIP 198.51.100.188 on lo
#                               +-- node2 (n2) 198.51.100.52  VIP 198.51.100.188 on lo
#
# Each node's agent marks packets for VIP:80 whose Ethernet source is not the other
# director (colocated.fwmark 3). node2's director is stood in for by nftables at netdev
# ingress (this kernel has no IPVS): what reaches it for VIP:80 goes on to node1 with only
# the MACs rewritten, as IPVS-DR forwards. An observer chain on node1, after the mangle
# priority, counts the marked and the unmarked packets for VIP:80. What this proves: the
# client's packets are marked, the peer director's are not, the marks follow the peer's MAC
# and survive drift, nothing is marked while a peer's MAC is unknown. What it cannot prove:
# IPVS's fwmark service taking the marked packets (there is none here).
#
# The agents run as `run` with CAP_NET_ADMIN only (as the packaged unit does), as nobody.
set -u
AGENT=${1:?usage: $0 PATH_TO_lvs-rs-agent}
source "$(dirname "$0")/../netns/lib.sh" "$AGENT"
[ "$(id -u)" = 0 ] || skip_or_fail "needs root for ip netns"
for t in nft curl arping setpriv; do command -v $t >/dev/null || skip_or_fail "$t is not installed"; done

LAB=${LAB:-lvscol$$}
source "$(dirname "$0")/lab.sh"   # ns, in_ns, mac_of, lab_switch, lab_netns_down
VIPC=198.51.100.188 CL=198.51.100.10 N1=198.51.100.51 N2=198.51.100.52 GHOST=198.51.100.53
PIDS=()
colocated_down() {
  local p
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  lab_netns_down cl n1 n2 sw
  rm -rf "$ST"
}
ST=$(mktemp -d /tmp/$LAB-state.XXXXXX)
trap colocated_down EXIT

lab_switch cl n1 n2
ip -n "$(ns cl)" addr add $CL/24 dev eth0
ip -n "$(ns n1)" addr add $N1/24 dev eth0
ip -n "$(ns n2)" addr add $N2/24 dev eth0

# node2's director: VIP:80 forwarded on to node1, only the MACs rewritten (IPVS-DR's way).
forward_to_n1() {
  in_ns n2 nft -f - <<NFT
table netdev ipvs_standin
delete table netdev ipvs_standin
table netdev ipvs_standin {
  chain ingress {
    type filter hook ingress device "eth0" priority 0
    ip daddr $VIPC tcp dport 80 ether saddr set $(mac_of n2) ether daddr set $(mac_of n1) fwd to "eth0"
  }
}
NFT
}
forward_to_n1
# Each node's observer: after the mangle priority, the marked and the unmarked packets for VIP:80.
observe() {
  in_ns "$1" nft -f - <<NFT
table inet observe {
  chain pre {
    type filter hook prerouting priority mangle + 10
    ip daddr $VIPC tcp dport 80 meta mark 0x3 counter comment "marked"
    ip daddr $VIPC tcp dport 80 meta mark != 0x3 counter comment "unmarked"
  }
}
NFT
}
observe n1
counted() { in_ns "${2:-n1}" nft list chain inet observe pre | grep "comment \"$1\"" | grep -o 'packets [0-9]*' | awk '{print $2}'; }
# A SYN from the client to VIP:80 through the director at $1 (node1 itself, or node2's).
send_via() {
  in_ns cl ip route replace $VIPC/32 via "$1"
  in_ns cl timeout 1 bash -c "exec 3<>/dev/tcp/$VIPC/80" 2>/dev/null || true
}

config() {  # config NODE PEERS...
  local node=$1 peers; shift
  peers=$(printf '"%s",' "$@"); peers=${peers%,}
  cat > "$ST/$node.json" <<JSON
{"vips": ["$VIPC"], "colocated": {"peer_directors": [$peers], "fwmark": 3, "ports": [80]},
 "api": {"listen": "127.0.0.1:9100"}, "drain_seconds": 0}
JSON
}
config n1 $N2
config n2 $N1
mkdir -p "$ST/n1" "$ST/n2"
chown -R 65534:65534 "$ST"
expect_rc 0 "check accepts the two-box configuration" in_ns n1 "$AGENT" check -c "$ST/n1.json"
contains "$OUT" "keep nftables table inet lvs_rs_agent: fwmark 3 on packets for the VIPs and tcp/80" "check says what it would keep"
for n in n1 n2; do
  ip netns exec "$(ns $n)" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+net_admin --ambient-caps=+net_admin \
    "$AGENT" run -c "$ST/$n.json" --state-dir "$ST/$n" > "$ST/$n.log" 2>&1 &
  PIDS+=($!)
done
D1=${PIDS[0]}
up() { kill -0 $D1 2>/dev/null || return 2; grep -qE "(^| )running:" "$ST/n1.log" && in_ns n1 curl -s -o /dev/null http://127.0.0.1:9100/healthz; }
wait_until 30 up || { fail "node1's agent did not come up"; cat "$ST/n1.log"; finish; }
code() { in_ns "$1" curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9100/ready; }
ready() { [ "$(code "${1:-n1}")" = 200 ]; }
not_ready() { [ "$(code "${1:-n1}")" = 503 ]; }
wait_for "node1 is ready once it knows node2's MAC (resolved by the agent: no traffic flows)" ready n1
wait_for "node2 is ready too" ready n2 || { in_ns n2 curl -s http://127.0.0.1:9100/ready; tail -20 "$ST/n2.log"; in_ns n2 ip -d neigh; in_ns n2 nft list ruleset; in_ns n2 "$AGENT" status -c "$ST/n2.json" --state-dir "$ST/n2"; in_ns n2 curl -s http://127.0.0.1:9100/status | python3 -m json.tool | grep -A30 '"reconcile"'; }
peer_set() { in_ns "$1" nft list set inet lvs_rs_agent peer_macs; }
contains "$(peer_set n1)" "$(mac_of n2)" "node1's table holds node2's MAC"
contains "$(peer_set n2)" "$(mac_of n1)" "node2's table holds node1's MAC"
st=$(in_ns n1 "$AGENT" status -c "$ST/n1.json" --state-dir "$ST/n1")
contains "$st" "two-box marks (fwmark 3): table inet lvs_rs_agent in place, marking" "status shows the marks in place"
contains "$st" "peer director $N2: MAC $(mac_of n2)" "and the peer's MAC"
contains "$st" "role now: a backup director (the VIPs on lo only)" "and this node's role"

m0=$(counted marked) u0=$(counted unmarked)
for i in 1 2 3; do send_via $N1; done
marked_more() { [ "$(counted marked)" -ge $((m0 + 3)) ]; }
wait_for "the client's packets reach node1 marked" marked_more
equals "$(counted unmarked)" "$u0" "and none of them unmarked"
m1=$(counted marked)
for i in 1 2 3; do send_via $N2; done
unmarked_more() { [ "$(counted unmarked)" -ge $((u0 + 3)) ]; }
wait_for "the packets node2's director forwards reach node1 unmarked (served here, never balanced again)" unmarked_more
equals "$(counted marked)" "$m1" "and none of them marked"

# --- node2 marks the same way, the roles swapped: the client's packets marked, node1's not
in_ns n2 nft delete table netdev ipvs_standin
observe n2
m0=$(counted marked n2) u0=$(counted unmarked n2)
for i in 1 2 3; do send_via $N2; done
marked_more2() { [ "$(counted marked n2)" -ge $((m0 + 3)) ]; }
wait_for "node2: the client's packets are marked" marked_more2
in_ns n1 nft -f - <<NFT
table netdev ipvs_standin {
  chain ingress {
    type filter hook ingress device "eth0" priority 0
    ip daddr $VIPC tcp dport 80 ether saddr set $(mac_of n1) ether daddr set $(mac_of n2) fwd to "eth0"
  }
}
NFT
for i in 1 2 3; do send_via $N1; done
unmarked_more2() { [ "$(counted unmarked n2)" -ge $((u0 + 3)) ]; }
wait_for "node2: the packets node1's director forwards are not marked" unmarked_more2
equals "$(counted marked n2)" "$((m0 + 3))" "node2 marked only the client's"
in_ns n1 nft delete table netdev ipvs_standin
forward_to_n1

# --- what the running agent shows: /status, the metrics, doctor
stj=$(in_ns n1 curl -s http://127.0.0.1:9100/status)
contains "$stj" '"table_in_place":true' "/status: the marks' table in place"
metrics() { in_ns n1 curl -s http://127.0.0.1:9100/metrics; }
contains "$(metrics)" 'lvs_rs_agent_marks_in_place{fwmark="3"} 1' "metrics: the table in place"
contains "$(metrics)" "lvs_rs_agent_peer_director_mac_known{peer=\"$N2\"} 1" "metrics: the peer's MAC known"
expect_rc 1 "doctor on node1 (no IPVS in this kernel: its fwmark service is a warning)" in_ns n1 "$AGENT" doctor -c "$ST/n1.json"
contains "$OUT" "ok    colocated-marks: the marks' table inet lvs_rs_agent marks 3" "doctor: the marks in place"
contains "$OUT" "ok    colocated-peer: the peer director $N2 is at MAC $(mac_of n2)" "doctor: the peer's MAC known"
contains "$OUT" "warn  colocated-ipvs: IPVS is not loaded on this host" "doctor: no fwmark service here"

# --- drift: the table deleted, or its rule changed, is written again
in_ns n1 nft delete table inet lvs_rs_agent
table_back() { in_ns n1 nft list chain inet lvs_rs_agent prerouting 2>/dev/null | grep -q "meta mark set 0x00000003"; }
wait_for "the agent's table deleted: back within a tick" table_back
in_ns n1 nft flush chain inet lvs_rs_agent prerouting
wait_for "its rule flushed: back" table_back
contains "$(cat "$ST/n1.log")" "nftables table inet lvs_rs_agent written: mark 3 on 1 VIP(s), 1 port(s)" "the log names the repair"

# --- node2's MAC changes (a NIC swap): followed, and its packets stay unmarked
old=$(mac_of n2)
in_ns n2 ip link set eth0 address 02:00:5e:00:00:52
forward_to_n1
in_ns n2 arping -q -U -c 2 -I eth0 $N2 || true
t0=$(now_us)
followed() { peer_set n1 | grep -q "02:00:5e:00:00:52"; }
wait_until 10 followed && pass "node1 follows node2's new MAC ($(( ($(now_us) - t0) / 1000 )) ms after its announcement)" ||
  fail "node1 did not follow node2's new MAC"
lacks "$(peer_set n1)" "$old" "the old MAC is gone from the set"
u2=$(counted unmarked)
for i in 1 2 3; do send_via $N2; done
unmarked_again() { [ "$(counted unmarked)" -ge $((u2 + 3)) ]; }
wait_for "node2's packets from its new MAC reach node1 unmarked" unmarked_again
grep -q "new MAC" "$ST/n1.log" && pass "the log says the peer's MAC changed" || fail "no log line for the peer's new MAC"
counted_change() { metrics | grep -q "lvs_rs_agent_peer_director_mac_changes_total{peer=\"$N2\"} 1"; }
wait_for "metrics: the peer's MAC change counted" counted_change

# --- a peer whose MAC is unknown: not ready, and nothing marked (never "mark everything")
config n1 $N2 $GHOST
chown 65534:65534 "$ST/n1.json"
kill -HUP $D1
wait_for "a peer that never answers makes node1 not ready" not_ready n1
contains "$(in_ns n1 curl -s http://127.0.0.1:9100/ready)" "the peer director $GHOST's MAC is not known yet" "/ready says which peer"
no_rule() { ! in_ns n1 nft list chain inet lvs_rs_agent prerouting | grep -q "meta mark set"; }
wait_for "and the table marks nothing meanwhile" no_rule
contains "$(metrics)" 'lvs_rs_agent_marks_marking{fwmark="3"} 0' "metrics: not marking"
contains "$(metrics)" "lvs_rs_agent_peer_director_mac_known{peer=\"$GHOST\"} 0" "metrics: that peer's MAC not known"
u3=$(counted unmarked) m3=$(counted marked)
send_via $N1
unmarked_now() { [ "$(counted unmarked)" -gt "$u3" ]; }
wait_for "the client's packet is not marked either" unmarked_now
equals "$(counted marked)" "$m3" "nothing marked"
config n1 $N2
chown 65534:65534 "$ST/n1.json"
kill -HUP $D1
wait_for "that peer gone from the configuration: ready again" ready n1
wait_for "and marking again" table_back

# --- node1 as the active director: keepalived holds the VIP on eth0 too
in_ns n1 ip addr add $VIPC/32 dev eth0
vip_held_ok() { ready n1 && ! grep -q "also an address of eth0" "$ST/n1.log"; }
wait_for "the VIP also on node1's eth0 (VRRP master) is no conflict: still ready" vip_held_ok
contains "$(in_ns n1 "$AGENT" status -c "$ST/n1.json" --state-dir "$ST/n1")" "role now: the active director ($VIPC on eth0)" "status says node1 is the active director now"
active() { metrics | grep -q "^lvs_rs_agent_active_director 1"; }
wait_for "metrics: node1 is the active director" active
in_ns n1 ip addr del $VIPC/32 dev eth0

# --- the directors' configuration for the two-box layout, accepted by keepalived
in_ns n1 "$AGENT" director-config -c "$ST/n1.json" --format keepalived --director-check http://$N1:9100 > "$ST/ka.conf" 2> "$ST/ka.err"
contains "$(cat "$ST/ka.conf")" "virtual_server fwmark 3 {" "director-config: a fwmark virtual service"
lacks "$(cat "$ST/ka.conf")" "virtual_server $VIPC 80" "and no plain VIP:port service (the loop's way back)"
if command -v keepalived >/dev/null; then
  keepalived -t -f "$ST/ka.conf" > "$ST/ka.log" 2>&1 && pass "keepalived -t accepts it" || fail "keepalived -t: $(cat "$ST/ka.log")"
else
  skip_or_fail "keepalived is not installed"
fi

# --- stop: the agent's table goes, nothing else
kill -TERM $D1; wait $D1; rc=$?
equals "$rc" "0" "node1's agent exits 0 on SIGTERM"
lacks "$(in_ns n1 nft list tables)" "lvs_rs_agent" "its table is gone"
contains "$(in_ns n1 nft list tables)" "table inet observe" "the other table is left alone"
# --- a VIP range with colocated: its prefix in the VIP set (an interval set), marked as the rest
cat > "$ST/range.json" <<JSON
{"vips": ["$VIPC", {"prefix": "203.0.113.0/28"}], "colocated": {"peer_directors": ["$N2"], "fwmark": 3, "ports": [80]}}
JSON
expect_rc 0 "start with a VIP range and colocated" in_ns n1 "$AGENT" start -c "$ST/range.json" --state-dir "$ST/n1r"
vips4=$(in_ns n1 nft list set inet lvs_rs_agent vips4)
contains "$vips4" "flags interval" "the VIP set holds intervals"
contains "$vips4" "203.0.113.0/28" "and the range as its prefix"
contains "$vips4" "$VIPC" "beside the single VIP"
expect_rc 0 "status: the marks in place with the range" in_ns n1 "$AGENT" status -c "$ST/range.json" --state-dir "$ST/n1r"
contains "$OUT" "table inet lvs_rs_agent in place, marking" "the table as configured"
expect_rc 0 "stop the range's start" in_ns n1 "$AGENT" stop --state-dir "$ST/n1r"
lacks "$(in_ns n1 nft list tables)" "lvs_rs_agent" "its table is gone again"
expect_rc 1 "doctor after the agent stopped" in_ns n1 "$AGENT" doctor -c "$ST/n1.json"
contains "$OUT" "FAIL  colocated-marks: the marks' table inet lvs_rs_agent is missing or not as configured" "doctor: the marks missing"
finish
