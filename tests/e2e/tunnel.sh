#!/usr/bin/env bash
# The tunnel-mode lab: a client, a router, a director that encapsulates (a test-only
# tc-BPF program, tests/e2e/bpf/encap.bpf.c, doing what IPVS TUN and Katran do) and two
# real servers on another subnet behind the router, all in namespaces of their own.
# For IPIP, GUE and IPv6: requests to the VIP reach both real servers through the
# tunnel and are answered directly (the director would drop a reply: it does not
# forward, and nftables there counts any packet from the VIP); the SYN-ACK's MSS is at
# most tunnel.mss; 1,400 bytes go both ways; tunnel packets from a host that is not a
# director, or for an address that is not a VIP, are dropped and counted; a deleted
# filter is put back by the daemon at once (the tc event); stop leaves another program's
# filter on the clsact.
# GUE comes both ways directors send it: the inner packet straight after UDP (Katran) and
# after a 4-byte GUE header (IPVS tun_type gue).
# Usage: tunnel.sh AGENT ENCAP_IPIP.o ENCAP_GUE.o ENCAP_GUE0.o
set -u
AGENT=${1:?usage: $0 AGENT ENCAP_IPIP.o ENCAP_GUE.o ENCAP_GUE0.o}
OBJ_IPIP=${2:?} OBJ_GUE=${3:?} OBJ_GUE0=${4:?}
source "$(dirname "$0")/../netns/lib.sh" "$AGENT"
PEER="$(dirname "$0")/tunnel_peer.py"
[ "$(id -u)" = 0 ] || skip_or_fail "needs root for ip netns"
for t in nft tc python3 curl; do command -v $t >/dev/null || skip_or_fail "$t is not installed"; done
LAB=tun$$
VIP=198.51.100.200 VIP6=2001:db8:ff::200
ns() { echo "$LAB-$1"; }
in_ns() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }
PIDS=()
ST1=$(mktemp -d /tmp/$LAB-st1.XXXXXX) ST2=$(mktemp -d /tmp/$LAB-st2.XXXXXX)
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  for n in c r d rs1 rs2; do ip netns del "$(ns $n)" 2>/dev/null; done
  rm -rf "$ST1" "$ST2"
}
trap cleanup EXIT

for n in c r d rs1 rs2; do ip netns add "$(ns $n)"; ip -n "$(ns $n)" link set lo up; done
link() {  # link NS IFACE ROUTER_IFACE
  ip link add "$2" netns "$(ns $1)" type veth peer name "$3" netns "$(ns r)"
  ip -n "$(ns $1)" link set "$2" up; ip -n "$(ns r)" link set "$3" up
}
link c eth0 rc; link d eth0 rd
ip -n "$(ns r)" link add br0 type bridge; ip -n "$(ns r)" link set br0 up
link rs1 eth0 rrs1; link rs2 eth0 rrs2
ip -n "$(ns r)" link set rrs1 master br0; ip -n "$(ns r)" link set rrs2 master br0
in_ns r sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
for i in rc rd br0; do in_ns r sysctl -qw net.ipv6.conf.$i.accept_dad=0; done
ip -n "$(ns r)" addr add 192.0.2.1/24 dev rc;   ip -n "$(ns r)" addr add 2001:db8:c::1/64 dev rc nodad
ip -n "$(ns r)" addr add 198.51.100.1/25 dev rd; ip -n "$(ns r)" addr add 2001:db8:d::1/64 dev rd nodad
ip -n "$(ns r)" addr add 203.0.113.1/24 dev br0; ip -n "$(ns r)" addr add 2001:db8:e::1/64 dev br0 nodad
ip -n "$(ns r)" route add $VIP/32 via 198.51.100.50
ip -n "$(ns r)" route add $VIP6/128 via 2001:db8:d::50
addr() {  # addr NS V4/LEN GW4 V6/64 GW6
  ip -n "$(ns $1)" addr add "$2" dev eth0; ip -n "$(ns $1)" route add default via "$3"
  ip -n "$(ns $1)" addr add "$4" dev eth0 nodad; ip -n "$(ns $1)" -6 route add default via "$5"
}
addr c 192.0.2.10/24 192.0.2.1 2001:db8:c::10/64 2001:db8:c::1
addr d 198.51.100.50/25 198.51.100.1 2001:db8:d::50/64 2001:db8:d::1
addr rs1 203.0.113.11/24 203.0.113.1 2001:db8:e::11/64 2001:db8:e::1
addr rs2 203.0.113.12/24 203.0.113.1 2001:db8:e::12/64 2001:db8:e::1

# The director: routes what comes in for the VIP back out (encapsulated on egress, so the
# router carries it to a real server); counts any reply that would come its way.
in_ns d sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
in_ns d ip route add $VIP/32 via 198.51.100.1
in_ns d ip -6 route add $VIP6/128 via 2001:db8:d::1
in_ns d tc qdisc add dev eth0 clsact
in_ns d tc filter add dev eth0 egress prio 1 handle 1 bpf da obj "$OBJ_IPIP" sec tc
in_ns d nft -f - <<NFT
table netdev lab {
  chain ingress {
    type filter hook ingress device "eth0" priority 0;
    ip saddr $VIP counter comment "replies4"
    ip6 saddr $VIP6 counter comment "replies6"
  }
}
NFT
replies_at_director() { in_ns d nft list table netdev lab | grep -o 'packets [0-9]*' | awk '{s += $2} END {print s + 0}'; }

# rs2 has another program's filter on its clsact before the agent comes.
in_ns rs2 tc qdisc add dev eth0 clsact
in_ns rs2 tc filter add dev eth0 ingress prio 10 handle 7 bpf da obj "$OBJ_IPIP" sec tc/pass
# ... and one after the agent's priority (166): it drops TCP to port 81.
in_ns rs2 tc filter add dev eth0 ingress prio 200 handle 8 bpf da obj "$OBJ_IPIP" sec tc/after
CONFIG='{"vips": ["'$VIP'", "'$VIP6'"],
  "tunnel": {"interfaces": ["eth0"], "encap": ["ipip", "gue"], "gue_port": 6080, "mss": 1300,
             "directors": ["198.51.100.50", "2001:db8:d::50"]},
  "check_interval_ms": 30000, "api": {"listen": "127.0.0.1:9100"}}'
printf '%s' "$CONFIG" > "$ST1/config.json"; printf '%s' "$CONFIG" > "$ST2/config.json"

for n in rs1 rs2; do
  for port in 80 81; do
    ip netns exec "$(ns $n)" python3 "$PEER" serve $n $port >/dev/null 2>&1 &
    PIDS+=($!)
  done
done
serving() { in_ns "$1" bash -c "exec 3<>/dev/tcp/127.0.0.1/$2" 2>/dev/null; }
wait_until 20 serving rs1 80 && wait_until 20 serving rs2 80 && wait_until 20 serving rs1 81 && wait_until 20 serving rs2 81 || { echo "FAIL: web servers did not start"; exit 1; }

# check: what start would attach, and whether the kernel takes the program (a user
# without CAP_BPF cannot ask: one verdict, "cannot tell", exit 4).
expect_rc 0 "check with a tunnel" in_ns rs1 "$AGENT" check -c "$ST1/config.json"
contains "$OUT" "attach the tunnel decapsulation to eth0 (clsact: lvs_decap on ingress, lvs_mss on egress): IPIP and GUE to UDP port 6080 from 198.51.100.50, 2001:db8:d::50" "check names the tunnel it would attach"
# With the unit's privileges alone (no root, CAP_BPF and CAP_NET_ADMIN) the verifier is
# stricter than for root (no CAP_PERFMON): the program must load so too.
expect_rc 0 "check as a user with CAP_BPF and CAP_NET_ADMIN only (the unit's): the kernel takes the program" \
  in_ns rs1 setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all,+bpf,+net_admin --ambient-caps=+bpf,+net_admin \
  "$AGENT" check -c /dev/stdin < "$ST1/config.json"
expect_rc 4 "check without CAP_BPF: the kernel cannot be asked" \
  in_ns rs1 setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$AGENT" check -c /dev/stdin < "$ST1/config.json"
contains "$OUT" "loading a BPF program needs CAP_BPF (root)" "check says what it needs"
lacks "$OUT" "is valid; start would" "and not also that the configuration is fine (one verdict)"
lacks "$OUT" "this kernel refuses" "nor that the kernel refuses it"

# rs1: the daemon; rs2: start.
ip netns exec "$(ns rs1)" "$AGENT" run -c "$ST1/config.json" --state-dir "$ST1" >"$ST1/daemon.log" 2>&1 &
DAEMON=$!; PIDS+=($DAEMON)
rs1_up() { kill -0 $DAEMON 2>/dev/null || return 2; in_ns rs1 curl -sf -o /dev/null http://127.0.0.1:9100/ready; }
if wait_until 30 rs1_up; then pass "rs1: the daemon is up and ready"; else fail "rs1 did not become ready"; cat "$ST1/daemon.log"; fi
expect_rc 0 "rs2: start with the tunnel" in_ns rs2 "$AGENT" start -c "$ST2/config.json" --state-dir "$ST2"
contains "$(in_ns rs2 tc filter show dev eth0 ingress)" "lvs_decap" "rs2: lvs_decap on clsact ingress"
contains "$(in_ns rs2 tc filter show dev eth0 egress)" "lvs_mss" "rs2: lvs_mss on clsact egress"

check_round() {  # check_round LABEL ADDR
  local out
  out=$(in_ns c timeout 60 python3 "$PEER" client "$2" 24 2>&1)
  echo "  $1: $out"
  contains "$out" '"names": ["rs1", "rs2"]' "$1: the VIP is served by both real servers"
  local mss; mss=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["max_mss"])' 2>/dev/null)
  if [ -n "$mss" ] && [ "$mss" -le 1300 ] && [ "$mss" -gt 0 ]; then pass "$1: the client's MSS toward the VIP is $mss (<= 1300)"; else fail "$1: MSS $mss"; fi
  contains "$out" '"echo_ok": true' "$1: 1,400 bytes from the client arrive whole"
  contains "$out" '"big_ok": true' "$1: 1,400 bytes from the real server arrive whole"
}
check_round "IPIP" $VIP
check_round "IPv6 in IPv6" $VIP6
in_ns d tc filter replace dev eth0 egress prio 1 handle 1 bpf da obj "$OBJ_GUE" sec tc
check_round "GUE" $VIP
check_round "GUE over IPv6" $VIP6
in_ns d tc filter replace dev eth0 egress prio 1 handle 1 bpf da obj "$OBJ_GUE0" sec tc
check_round "GUE with its header (IPVS)" $VIP
check_round "GUE with its header over IPv6 (IPVS)" $VIP6
in_ns d tc filter replace dev eth0 egress prio 1 handle 1 bpf da obj "$OBJ_GUE" sec tc
# lvs_decap hands what it passes on to the next filter: rs2's filter at prio 200 sees the
# decapsulated packets and drops those to port 81 (rs1 has no such filter and serves them).
out=$(in_ns c timeout 60 python3 "$PEER" probe $VIP 81 16 2>&1); echo "  port 81: $out"
contains "$out" '"rs1": ' "port 81 through rs1 is served"
lacks "$out" '"rs2"' "port 81 through rs2 is dropped by the filter after lvs_decap (it saw the decapsulated packet)"
lacks "$out" '"failed": 0}' "some port-81 connections (those sent to rs2) failed"
equals "$(replies_at_director)" "0" "no reply passed through the director (they go to the client directly)"

status_json() { in_ns "$1" "$AGENT" status -c "$2/config.json" --state-dir "$2" --json 2>/dev/null; }
tunnel_field() { status_json rs1 "$ST1" | python3 -c "import json,sys; t=json.load(sys.stdin)['tunnel']; print($1)"; }
ipip=$(tunnel_field "sum(v['ipip_packets'] for v in t['vips'])")
gue=$(tunnel_field "sum(v['gue_packets'] for v in t['vips'])")
clamped=$(tunnel_field "sum(v['mss_clamped'] for v in t['vips'])")
echo "  rs1 counters: ipip $ipip, gue $gue, SYN-ACKs clamped $clamped"
[ "${ipip:-0}" -gt 0 ] && [ "${gue:-0}" -gt 0 ] && pass "rs1 counted IPIP and GUE packets per VIP" || fail "rs1 counters ipip=$ipip gue=$gue"
[ "${clamped:-0}" -gt 0 ] && pass "rs1 clamped SYN-ACKs" || fail "no SYN-ACK clamped"
contains "$(in_ns rs1 curl -s http://127.0.0.1:9100/metrics)" 'lvs_rs_agent_tunnel_decapsulated_packets_total{vip="198.51.100.200",encap="ipip"}' "metrics: decapsulated packets per VIP and encapsulation"

# Drops: IPIP from a host that is not a director; IPIP from the director for a non-VIP.
in_ns c python3 "$PEER" rawipip 203.0.113.11 $VIP
in_ns d python3 "$PEER" rawipip 203.0.113.11 203.0.113.99
dropped() { [ "$(tunnel_field "t['dropped']['not_director']")" -ge 1 ] && [ "$(tunnel_field "t['dropped']['not_vip']")" -ge 1 ]; }
wait_for "rs1 dropped and counted the non-director's and the non-VIP's tunnel packets" dropped

doc=$(in_ns rs1 "$AGENT" doctor -c "$ST1/config.json" 2>&1)
contains "$doc" "ok    tunnel-decap: lvs_decap (ingress) and lvs_mss (egress) are attached to eth0" "doctor: the decapsulation attached"
contains "$doc" "tunnel packet(s) dropped (not_director) from an outer source not in tunnel.directors" "doctor: the non-director's packets, with the fix"
contains "$doc" "tunnel packet(s) dropped (not_vip)" "doctor: the non-VIP's packets"

# A deleted filter is put back by the daemon.
# The daemon's ticks are 30 s apart here (check_interval_ms): only the tc event it follows
# can bring the filter back within the 5 s allowed.
back() { in_ns rs1 tc filter show dev eth0 ingress | grep -q lvs_decap; }
t0=$(now_us)
in_ns rs1 tc filter del dev eth0 ingress prio 166 handle 0x1d5 bpf
if wait_until 5 back; then pass "rs1: the daemon attached lvs_decap again $(( ($(now_us) - t0) / 1000 )) ms after it was deleted (the tc event)"
else fail "rs1: lvs_decap not back within 5 s"; fi
contains "$(cat "$ST1/daemon.log")" "drift repaired: tunnel decapsulation attached to eth0" "rs1: logged as drift repaired"
check_round "GUE after the repair" $VIP

# stop: only the agent's filters go.
expect_rc 0 "rs2: stop" in_ns rs2 "$AGENT" stop -c "$ST2/config.json" --state-dir "$ST2"
f=$(in_ns rs2 tc filter show dev eth0 ingress)
lacks "$f" "lvs_decap" "rs2: stop removed lvs_decap"
contains "$f" "lab_pass" "rs2: stop left the other program's filter on the clsact"
contains "$f" "lab_after" "rs2: stop left the filter after the agent's priority"
lacks "$(in_ns rs2 tc filter show dev eth0 egress)" "lvs_mss" "rs2: stop removed lvs_mss"
kill -TERM $DAEMON; wait $DAEMON; echo "  daemon exit: $?"; tail -5 "$ST1/daemon.log"; PIDS=("${PIDS[@]/$DAEMON}")
expect_rc 0 "rs1: stop after the daemon" in_ns rs1 "$AGENT" stop -c "$ST1/config.json" --state-dir "$ST1"
lacks "$(in_ns rs1 tc filter show dev eth0 ingress)" "lvs_decap" "rs1: no lvs_decap left"
lacks "$(in_ns rs1 tc qdisc show dev eth0)" "clsact" "rs1: the clsact qdisc the agent created is gone"
finish
