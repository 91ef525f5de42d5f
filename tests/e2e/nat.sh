#!/usr/bin/env bash
# A VS/NAT real server end to end, IPv4 and IPv6, in namespaces of its own:
#
#   client (cl) 203.0.113.10        --- director (dir) 203.0.113.1 | VIP 203.0.113.188
#                                         | 198.51.100.50 (DIP)
#   real server (rs) 198.51.100.60 (RIP) -+- second gateway (gw) 198.51.100.1
#                                           (the real server's default route; it drops
#                                            and counts replies from RIP:8080)
#
# The director's LVS-NAT is stood in for by nftables DNAT with conntrack (this kernel has
# no IPVS): VIP:80 -> RIP:8080, and its replies un-NATed on the way back. What this proves:
# the real server's replies go back through the director only where the agent's rules send
# them, the host's other traffic keeps its own gateway, and the rules and route are kept
# in place and removed exactly. What it cannot prove: IPVS's own NAT path, its scheduler
# and connection table (the conntrack stand-in un-NATs replies the same way).
#
# The agent runs as `run` with CAP_NET_ADMIN only (as the packaged unit does), as nobody.
set -u
AGENT=${1:?usage: $0 PATH_TO_lvs-rs-agent}
source "$(dirname "$0")/../netns/lib.sh" "$AGENT"
[ "$(id -u)" = 0 ] || skip_or_fail "needs root for ip netns"
for t in nft curl python3 setpriv; do command -v $t >/dev/null || skip_or_fail "$t is not installed"; done

LAB=${LAB:-lvsnat$$}
source "$(dirname "$0")/lab.sh"   # ns, in_ns, lab_switch, lab_netns_down (this lab's addresses are its own, below)
CL=203.0.113.10 CL6=2001:db8:c::10
VIPN=203.0.113.188 VIPN6=2001:db8:c::188
DIR_OUT=203.0.113.1 DIR_OUT6=2001:db8:c::1
DIP=198.51.100.50 DIP6=2001:db8:5::50
GW=198.51.100.1 GW6=2001:db8:5::1
RIP=198.51.100.60 RIP6=2001:db8:5::60
PIDS=()

nat_down() {
  local p
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  lab_netns_down cl dir gw rs sw
  rm -rf "$ST"
}
ST=$(mktemp -d /tmp/$LAB-state.XXXXXX)
trap nat_down EXIT

lab_switch dir gw rs
ip netns add "$(ns cl)"; ip -n "$(ns cl)" link set lo up  # the client is on the director's other side
ip link add eth0 netns "$(ns cl)" type veth peer name eth1 netns "$(ns dir)"
ip -n "$(ns cl)" link set eth0 up
ip -n "$(ns dir)" link set eth1 up
for n in cl dir gw rs; do in_ns $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0; done
ip -n "$(ns cl)" addr add $CL/24 dev eth0
ip -n "$(ns cl)" addr add $CL6/64 dev eth0 nodad
ip -n "$(ns dir)" addr add $DIR_OUT/24 dev eth1
ip -n "$(ns dir)" addr add $DIR_OUT6/64 dev eth1 nodad
ip -n "$(ns dir)" addr add $VIPN/32 dev eth1
ip -n "$(ns dir)" addr add $VIPN6/128 dev eth1 nodad
ip -n "$(ns dir)" addr add $DIP/24 dev eth0
ip -n "$(ns dir)" addr add $DIP6/64 dev eth0 nodad
ip -n "$(ns gw)" addr add $GW/24 dev eth0
ip -n "$(ns gw)" addr add $GW6/64 dev eth0 nodad
ip -n "$(ns rs)" addr add $RIP/24 dev eth0
ip -n "$(ns rs)" addr add $RIP6/64 dev eth0 nodad
ip -n "$(ns rs)" route add default via $GW
ip -n "$(ns rs)" -6 route add default via $GW6
in_ns dir sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
in_ns gw sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
# The director: LVS-NAT's rewrite, VIP:80 -> RIP:8080 (NAT may change the port).
in_ns dir nft -f - <<NFT
table inet lvsnat {
  chain pre {
    type nat hook prerouting priority dstnat;
    ip daddr $VIPN tcp dport 80 dnat ip to $RIP:8080
    ip6 daddr $VIPN6 tcp dport 80 dnat ip6 to [$RIP6]:8080
  }
}
NFT
# The second gateway: the real server's default route. The service's replies must never
# come this way (the client would get them from the RIP, not the VIP): dropped and counted.
in_ns gw nft -f - <<NFT
table inet stray {
  chain pre {
    type filter hook prerouting priority raw;
    ip saddr $RIP tcp sport 8080 counter drop
    ip6 saddr $RIP6 tcp sport 8080 counter drop
  }
}
NFT
stray() { in_ns gw nft list chain inet stray pre | grep -o 'counter packets [0-9]*' | awk '{s += $3} END {print s + 0}'; }

# The service on the real server: port 8080 of every address.
WWW=$(mktemp -d "$ST/www.XXXXXX")
echo "hello from rs" > "$WWW/index.html"
ip netns exec "$(ns rs)" python3 -c '
import http.server, socket, sys, os
os.chdir(sys.argv[1])
class S(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
S(("::", 8080), H).serve_forever()' "$WWW" >/dev/null 2>&1 &
WEB=$!  # python itself (ip netns exec execs it)
PIDS+=($WEB)
wait_until 20 in_ns rs bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080' || { fail "the web server did not start"; finish; }

get4() { in_ns cl curl -s --max-time "${1:-2}" "http://$VIPN/"; }
get6() { in_ns cl curl -s --max-time "${1:-2}" "http://[$VIPN6]/"; }

# --- without the agent: the replies leave by the real server's own gateway and are lost
# (the "before" picture once the kernel has finished with eth0's link-local address)
linklocal() { in_ns rs ip -6 addr show dev eth0 scope link | grep -q fe80 && ! in_ns rs ip -6 addr show dev eth0 | grep -q tentative; }
wait_until 20 linklocal || fail "no link-local address on the real server within 20 s"
before_rules=$(in_ns rs ip rule show; in_ns rs ip -6 rule show)
before_routes=$(in_ns rs ip route show table all; in_ns rs ip -6 route show table all)
lacks "$(get4 1)" "hello" "without the agent the IPv4 client is not served"
lacks "$(get6 1)" "hello" "without the agent the IPv6 client is not served"
[ "$(stray)" -ge 2 ] && pass "and the second gateway counted the replies it got ($(stray))" || fail "the second gateway saw no reply"

# --- the agent, as nobody with CAP_NET_ADMIN only
cat > "$ST/config.json" <<JSON
{
  "nat": {"director": ["$DIP", "$DIP6"], "vips": ["$VIPN", "$VIPN6"],
          "ports": [{"port": 8080, "virtual_port": 80}, "udp/53"], "table": 201, "priority": 1000},
  "api": {"listen": "127.0.0.1:9100"}, "drain_seconds": 0,
  "services": [{"vip": "$VIPN", "type": "http", "port": 8080, "interval_ms": 300, "timeout_ms": 250, "rise": 1, "fall": 1},
               {"vip": "$VIPN6", "type": "tcp", "port": 8080, "interval_ms": 300, "timeout_ms": 250, "rise": 1, "fall": 1}]
}
JSON
chown -R 65534:65534 "$ST"
expect_rc 0 "check accepts the NAT configuration" in_ns rs "$AGENT" check -c "$ST/config.json"
contains "$OUT" "from $RIP ipproto tcp sport 8080 lookup 201 priority 1000" "check shows the rule it would add"
contains "$OUT" "default via $DIP dev eth0 table 201" "check shows the route it would add"
# Started without a shell function around it, so $! is the agent itself (ip netns exec and
# setpriv exec it).
ip netns exec "$(ns rs)" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+net_admin --ambient-caps=+net_admin \
  "$AGENT" run -c "$ST/config.json" --state-dir "$ST/state" > "$ST/daemon.log" 2>&1 &
DAEMON=$!
PIDS+=($DAEMON)
up() { kill -0 $DAEMON 2>/dev/null || return 2; grep -qE "(^| )running:" "$ST/daemon.log" && in_ns rs curl -s -o /dev/null http://127.0.0.1:9100/healthz; }
wait_until 30 up || { fail "the agent did not come up"; cat "$ST/daemon.log"; finish; }
pass "the agent runs with CAP_NET_ADMIN only"

rules() { in_ns rs ip rule show; in_ns rs ip -6 rule show; }
contains "$(rules)" "from $RIP ipproto tcp sport 8080 lookup 201 proto 177" "the IPv4 rule for tcp/8080"
contains "$(rules)" "from $RIP ipproto udp sport 53 lookup 201 proto 177" "the IPv4 rule for udp/53"
contains "$(rules)" "from $RIP6 ipproto tcp sport 8080 lookup 201 proto 177" "the IPv6 rule for tcp/8080"
contains "$(in_ns rs ip route show table 201)" "default via $DIP dev eth0 proto 177" "the IPv4 reply route in table 201"
contains "$(in_ns rs ip -6 route show table 201)" "default via $DIP6 dev eth0 proto 177" "the IPv6 reply route in table 201"
contains "$(in_ns rs ip route show table main)" "default via $GW dev eth0" "the host's own default route is untouched"

stray_before=$(stray)
equals "$(get4)" "hello from rs" "with the agent the IPv4 client is served through the director"
equals "$(get6)" "hello from rs" "with the agent the IPv6 client is served through the director"
equals "$(stray)" "$stray_before" "no reply went to the second gateway"
contains "$(in_ns rs ip route get $CL from $RIP ipproto tcp sport 8080)" "via $DIP" "the kernel sends a reply from RIP:8080 via the director"
contains "$(in_ns rs ip route get $CL from $RIP ipproto tcp sport 22)" "via $GW" "but the host's other traffic via its own gateway"
contains "$(in_ns rs ip -6 route get $CL6 from $RIP6 ipproto tcp sport 8080)" "via $DIP6" "IPv6: a reply from RIP:8080 via the director"
contains "$(in_ns rs ip -6 route get $CL6 from $RIP6 ipproto tcp sport 22)" "via $GW6" "IPv6: other traffic via its own gateway"
ready() { [ "$(in_ns rs curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9100/ready)" = 200 ]; }
not_ready() { [ "$(in_ns rs curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9100/ready)" = 503 ]; }
wait_for "/ready answers 200 with the reply path in place and the services checked" ready

# --- /ready/<nat vip>, and the director kept known with no traffic flowing
code_of() { in_ns rs curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:9100/ready/$1"; }
vip_ready() { [ "$(code_of "$1")" = 200 ]; }
vip_not_ready() { [ "$(code_of "$1")" = 503 ]; }
wait_for "/ready/$VIPN answers 200 (a NAT VIP: published on the director, never bound here)" vip_ready $VIPN
wait_for "/ready/$VIPN6 answers 200" vip_ready $VIPN6
equals "$(code_of 203.0.113.77)" "404" "/ready/<an address that is no VIP> answers 404"
managed() { in_ns rs ip -d neigh show "$1" dev eth0 | grep -q managed; }
wait_for "the director's neighbour entry is kept managed (NTF_EXT_MANAGED)" managed $DIP
wait_for "the IPv6 director's too" managed $DIP6
st=$(in_ns rs "$AGENT" status -c "$ST/config.json" --state-dir "$ST/state")
contains "$st" "tcp/8080 from $RIP: replies via $DIP dev eth0 (table 201): ok" "status shows each port's reply path as the kernel answers it"
contains "$st" "director $DIP on eth0: reachable" "status shows the director reachable"
lacks "$st" "ARP settings:" "a NAT-only server has no ARP settings to show"
doc=$(in_ns rs "$AGENT" doctor -c "$ST/config.json" 2>&1)
contains "$doc" "ok    nat-director: the NAT director $DIP on eth0 answers" "doctor: the director answers"
contains "$doc" "ok    nat-reply-path: every NAT port's replies go via the director" "doctor: the reply path"
contains "$doc" "ok    nat-rewrite: no NAT rule on this host can rewrite the replies" "doctor: no NAT rule here"
in_ns rs nft -f - <<NFT
table ip masq {
  chain post {
    type nat hook postrouting priority srcnat
    oifname "eth0" masquerade
  }
}
NFT
contains "$(in_ns rs "$AGENT" doctor -c "$ST/config.json" 2>&1)" "warn  nat-rewrite: this host has NAT chains (ip masq post (postrouting))" "doctor: a masquerade here is named"
in_ns rs nft delete table ip masq
metrics=$(in_ns rs curl -s http://127.0.0.1:9100/metrics)
contains "$metrics" 'lvs_rs_agent_nat_reply_path_ok{family="ipv4",protocol="tcp",port="8080"} 1' "metrics: the reply path per port"
contains "$metrics" "lvs_rs_agent_nat_director_reachable{director=\"$DIP\"} 1" "metrics: the director reachable"

# The director stops answering (every frame to it dropped as it arrives): its NAT VIPs are
# not ready within seconds, with no traffic flowing to make the kernel notice.
t0=$(now_us)
in_ns dir nft -f - <<NFT
table netdev deaddir {
  chain in {
    type filter hook ingress device eth0 priority 0
    drop
  }
}
NFT
# The agent says so within 5 s (3 s without an answer, a tick or two); 8 s here for a busy
# machine, 15 s under a sanitizer (slower ticks).
limit=8; [ -n "${LVS_SANITIZER:-}" ] && limit=15
wait_until $limit vip_not_ready $VIPN && pass "a dead director makes $VIPN not ready ($(( ($(now_us) - t0) / 1000 )) ms after it stopped answering)" ||
  fail "$VIPN still ready $limit s after the director stopped answering"
contains "$(in_ns rs curl -s "http://127.0.0.1:9100/ready/$VIPN")" "NAT director $DIP is not reachable" "/ready/$VIPN says the director is not reachable"
wait_for "and the whole server is not ready" not_ready
logged() { grep -qF "$1" "$ST/daemon.log"; }
wait_for "the log says the director is unreachable" logged "NAT director $DIP is unreachable"
in_ns dir nft delete table netdev deaddir
wait_for "the director answering again: $VIPN ready again" vip_ready $VIPN
wait_for "and the log says so" logged "NAT director $DIP is reachable again"
# A failover to another director's MAC (as VRRP's move does): followed, logged and counted.
in_ns dir ip link set eth0 address 02:00:5e:00:01:50
wait_until 20 logged "answers from a new MAC" && pass "a new director MAC is logged" || fail "the director's new MAC was not logged"
mac_counted() { in_ns rs curl -s http://127.0.0.1:9100/metrics | grep -qF "lvs_rs_agent_nat_director_mac_changes_total{director=\"$DIP\"} 1"; }
wait_for "and counted" mac_counted
wait_for "and $VIPN is ready behind the new MAC" vip_ready $VIPN
equals "$(get4)" "hello from rs" "the client is served through the director's new MAC"

# --- drift: each item is put back on its own rtnetlink event
rule_back() { rules | grep -q "from $RIP ipproto tcp sport 8080 lookup 201 proto 177"; }
route_back() { in_ns rs ip route show table 201 | grep -q "default via $DIP dev eth0 proto 177"; }
route6_back() { in_ns rs ip -6 route show table 201 | grep -q "default via $DIP6 dev eth0 proto 177"; }
in_ns rs ip rule del from $RIP ipproto tcp sport 8080 lookup 201 priority 1000
wait_for "a deleted rule is put back" rule_back
in_ns rs ip route del default table 201
wait_for "a deleted table route is put back" route_back
in_ns rs ip -6 route del default table 201
wait_for "a deleted IPv6 table route is put back" route6_back
equals "$(get4)" "hello from rs" "and the client is served again"
contains "$(cat "$ST/daemon.log")" "added rule from $RIP ipproto tcp sport 8080 lookup 201 priority 1000" "the log names the repair"

# --- another program's route in the table: the agent leaves the table alone and is not ready
in_ns rs ip route replace default via $GW table 201
wait_for "a table another program uses makes the server not ready" not_ready
contains "$(in_ns rs curl -s http://127.0.0.1:9100/ready)" "another program uses it" "and /ready says why"
contains "$(in_ns rs ip route show table 201)" "default via $GW dev eth0" "the other program's route is left as it is"
in_ns rs ip route del default via $GW table 201
wait_for "once it is gone the agent's route comes back" route_back
wait_for "and the server is ready again" ready

# --- another program's rule before the agent's: the kernel's own lookup tells (not ready)
in_ns rs ip rule add from $RIP ipproto tcp sport 8080 lookup main priority 500
wait_for "a rule of another program before the agent's makes the server not ready" not_ready
contains "$(in_ns rs curl -s http://127.0.0.1:9100/ready)" "the kernel sends the replies of tcp/8080 via $GW dev eth0 (table 254)" "/ready says where the replies go"
in_ns rs ip rule del from $RIP ipproto tcp sport 8080 lookup main priority 500
wait_for "that rule gone, the server is ready again" ready

# --- the director's subnet gone from this server: not ready, the rules for the old RIP go
in_ns rs ip addr del $RIP/24 dev eth0
wait_for "no address on the director's subnet makes the server not ready" not_ready
contains "$(in_ns rs curl -s http://127.0.0.1:9100/ready)" "no interface has an address on the NAT director $DIP" "/ready names the director"
gone_rule() { ! rules | grep -q "from $RIP ipproto"; }
wait_for "the rules for the old address are removed" gone_rule
in_ns rs ip addr add $RIP/24 dev eth0
in_ns rs ip route replace default via $GW
wait_for "the address back: the rule is back" rule_back
wait_for "and the route" route_back
wait_for "and the server is ready" ready
equals "$(get4)" "hello from rs" "the client is served again"

# --- a reload that moves the table: the new one filled, the old one left empty
sed -i 's/"table": 201/"table": 202/' "$ST/config.json"
kill -HUP $DAEMON
moved() { in_ns rs ip route show table 202 | grep -q "default via $DIP dev eth0 proto 177" && [ -z "$(in_ns rs ip route show table 201)" ] &&
          rules | grep -q "sport 8080 lookup 202 proto 177" && ! rules | grep -q "lookup 201"; }
wait_for "a reload to nat.table 202 moves the rules and the route, and empties table 201" moved
route202_back() { in_ns rs ip route show table 202 | grep -q "default via $DIP dev eth0 proto 177"; }
in_ns rs ip route del default table 202
wait_for "after the reload, a deleted route in the new table is put back on its event" route202_back
equals "$(get4)" "hello from rs" "the client is served through the new table"

# --- the service behind the NAT VIP: probed where the director sends (RIP:8080), not on the VIP
status_json() { in_ns rs curl -s http://127.0.0.1:9100/status; }
svc_up() { status_json | python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if all(s['up'] for s in d['services']) else 1)"; }
wait_for "the NAT VIPs' service checks are up (probed on this server's address facing the director)" svc_up
kill "$WEB"; wait "$WEB" 2>/dev/null
wait_for "the web server gone: not ready" not_ready
http_down() { in_ns rs curl -s http://127.0.0.1:9100/ready | grep -qF "service http $VIPN:8080/ is down"; }
wait_for "/ready names the NAT VIP's service" http_down

# --- stop: everything the agent added goes, nothing else
kill -TERM $DAEMON; wait $DAEMON; rc=$?
equals "$rc" "0" "the agent exits 0 on SIGTERM"
! managed $DIP && ! managed $DIP6 && pass "the directors' neighbour entries are plain dynamic ones again" ||
  fail "a director's neighbour entry is still managed after the agent exited"
equals "$(rules)" "$before_rules" "after stop the rules are exactly as before"
equals "$(in_ns rs ip route show table all; in_ns rs ip -6 route show table all)" "$before_routes" "and the routes too"
lacks "$(get4 1)" "hello" "and the client is not served again (nothing left behind)"

# --- the one-shot commands: start adds the same, stop removes exactly that
expect_rc 0 "start -c (as root, one shot)" in_ns rs "$AGENT" start -c "$ST/config.json" --state-dir "$ST/cli"
contains "$(rules)" "from $RIP ipproto tcp sport 8080 lookup 202 proto 177" "start adds the rules (the reloaded file's table)"
contains "$(in_ns rs ip -6 route show table 202)" "default via $DIP6 dev eth0 proto 177" "and the routes"
expect_rc 0 "start again changes nothing" in_ns rs "$AGENT" start -c "$ST/config.json" --state-dir "$ST/cli"
expect_rc 0 "stop" in_ns rs "$AGENT" stop --state-dir "$ST/cli"
equals "$(rules)" "$before_rules" "after stop the rules are exactly as before"
equals "$(in_ns rs ip route show table all; in_ns rs ip -6 route show table all)" "$before_routes" "and the routes too"
finish
