#!/usr/bin/env bash
# Readiness to routers, end to end: two real servers announce the VIP by BGP (the agent
# keeps it in table 200, BIRD configured by `router-config` exports it), a router running
# BIRD with ECMP has a route with both as next hops, and the client reaches both. Then each
# way a server leaves rotation withdraws its path at the router: its service failing,
# `drain --vip`, SIGTERM (before its VIP is unbound); undrain and recovery announce again;
# kill -9 leaves the path (the route stays in table 200; nobody withdraws it) until the
# next agent decides, and a server whose host dies goes with BGP's hold time.
set -u
AGENT=${1:?usage: $0 PATH_TO_lvs-rs-agent}
source "$(dirname "$0")/../netns/lib.sh" "$AGENT"
[ "$(id -u)" = 0 ] || skip_or_fail "needs root for ip netns"
for t in bird birdc curl python3; do command -v $t >/dev/null || skip_or_fail "$t is not installed"; done
source "$(dirname "$0")/bgp_lab.sh"
trap bgp_lab_down EXIT
bgp_lab_up || { fail "the router's BIRD did not start"; finish; }
rs_up rs1 $RS1 $R_RS1 || { fail "rs1 did not come up"; finish; }
rs_up rs2 $RS2 $R_RS2 || { fail "rs2 did not come up"; finish; }
BOTH="$RS1 $RS2"
# A generous bound for BGP: sessions come up within seconds; every change below is then
# carried in milliseconds (bench/bgp measures them).
wait_long() { local what=$1; shift; wait_until 30 "$@" && pass "$what" || { fail "$what (not within 30 s)"; diag; }; }
diag() {
  echo "    router: $(ip -n "$(bns r)" route show $VIP/32 | tr '\n' ' ')"
  for n in rs1 rs2; do echo "    $n table 200: $(ip -n "$(bns $n)" route show table 200 | tr '\n' ' ')"; done
  birdc_in r show protocols | sed 's/^/    /'
}

wait_for "rs1: the ready VIP is in table 200" announced_on rs1
wait_for "rs2: the ready VIP is in table 200" announced_on rs2
wait_long "the router's FIB has one route to the VIP with both servers as next hops" paths_are "$BOTH"
contains "$(ip -n "$(bns r)" route show $VIP/32)" "nexthop via $RS1" "a multipath route (nexthop via each)"
contains "$(birdc_in rs1 show route protocol lvs_rs_agent_kernel4)" "$VIP/32" "rs1's BIRD learned the agent's route from table 200"
equals "$(answering 41001 32)" "rs1 rs2" "the client's requests reach both servers"

# --- a service check failing on rs1 withdraws its path --------------------------------
web_down rs1
wait_for "rs1's service down: withdrawn from its table" withdrawn_on rs1
wait_for "and the router's FIB drops rs1's path" paths_are "$RS2"
equals "$(answering 41101 16)" "rs2" "every request goes to rs2"
vip_bound_on rs1 && pass "rs1 keeps its VIP bound (only the route follows readiness)" || fail "rs1's VIP was unbound"
web_up rs1
wait_for "rs1's service back: the router has both paths again" paths_are "$BOTH"

# --- drain --vip and undrain ------------------------------------------------------------
expect_rc 0 "drain --vip on rs1" agent_cli rs1 drain --vip $VIP
wait_for "drain --vip: the router drops rs1's path" paths_are "$RS2"
equals "$(answering 41201 16)" "rs2" "while drained no request reaches rs1"
expect_rc 0 "undrain on rs1" agent_cli rs1 undrain --vip $VIP
wait_for "undrain: rs1 announces again, both paths" paths_are "$BOTH"
equals "$(answering 41301 32)" "rs1 rs2" "and requests reach both again"

# --- SIGTERM (systemctl stop): the path goes first, then the drain, then the VIP -------
kill -TERM "${AGENT_PID[rs1]}"
wait_for "SIGTERM on rs1's agent: the router drops rs1's path" paths_are "$RS2"
vip_bound_on rs1 && pass "while rs1's VIP is still bound (the drain wait, so no connection is cut)" || fail "rs1's VIP went before its path"
wait "${AGENT_PID[rs1]}"; AGENT_PID[rs1]=
vip_bound_on rs1 && fail "rs1's VIP still bound after the agent exited" || pass "then the agent unbinds the VIP and exits"
withdrawn_on rs1 && pass "and leaves table 200 empty" || fail "a route left in rs1's table 200"
agent_up rs1 || fail "rs1's agent did not start again"
wait_for "a new agent on rs1: announced again, both paths" paths_are "$BOTH"

# --- a restart hands over: the path never leaves the router ------------------------------
# (systemd's restart job leaves this marker through exit-hook; here it is written by hand)
ip -n "$(bns rs1)" monitor route > "$BLAB_DIR/rs1.monitor" 2>&1 & MON1=$!
ip -n "$(bns r)" monitor route > "$BLAB_DIR/r.monitor" 2>&1 & MONR=$!
# A marker route on each side, once each monitor shows it, proves they are listening.
seen_mark() { grep -q "Deleted $2" "$1"; }
mark() { ip -n "$(bns $1)" route add $2/32 dev $3; ip -n "$(bns $1)" route del $2/32 dev $3; }
mark r 203.0.113.251 ecl; mark rs1 203.0.113.251 eth0
wait_until 10 seen_mark "$BLAB_DIR/r.monitor" 203.0.113.251 && wait_until 10 seen_mark "$BLAB_DIR/rs1.monitor" 203.0.113.251 \
  && pass "route monitors listening on the router and rs1" || fail "the route monitors never listened"
touch "$BLAB_DIR/rs1/state/restart-requested"
kill -TERM "${AGENT_PID[rs1]}"; wait "${AGENT_PID[rs1]}"; AGENT_PID[rs1]=
grep -q "handing over to the next process" "$BLAB_DIR/rs1/daemon.log" && pass "SIGTERM with the restart marker: rs1's agent hands over" || fail "no hand-over: $(tail -5 "$BLAB_DIR/rs1/daemon.log")"
announced_on rs1 && pass "the route stays in table 200 between the two processes" || fail "the route went with the hand-over"
agent_up rs1 || fail "rs1's agent did not start again"
rs1_ready() { in_bns rs1 curl -sf -o /dev/null http://127.0.0.1:9100/ready/$VIP; }
wait_for "the next agent is ready" rs1_ready
# The end of the monitors' view: another marker, seen by both.
mark r 203.0.113.250 ecl; mark rs1 203.0.113.250 eth0
wait_until 10 seen_mark "$BLAB_DIR/r.monitor" 203.0.113.250 && wait_until 10 seen_mark "$BLAB_DIR/rs1.monitor" 203.0.113.250 \
  && pass "the monitors saw everything up to now" || fail "the end marker never reached the monitors"
kill "$MON1" "$MONR"; wait "$MON1" "$MONR" 2>/dev/null
equals "$(grep -c "$VIP" "$BLAB_DIR/r.monitor")" "0" "the router's FIB never changed its route to the VIP across the restart"
equals "$(grep -c "$VIP" "$BLAB_DIR/rs1.monitor")" "0" "nor did rs1's table 200 (not withdrawn and announced again)"
paths_are "$BOTH" && pass "both paths throughout" || fail "router: $(router_paths)"

# --- kill -9: nobody withdraws; the route stays until the next agent --------------------
kill -9 "${AGENT_PID[rs1]}"; wait "${AGENT_PID[rs1]}" 2>/dev/null; AGENT_PID[rs1]=
announced_on rs1 && pass "kill -9: the route stays in rs1's table 200 (no process left to withdraw it)" || fail "the route went with kill -9"
paths_are "$BOTH" && pass "and the router keeps both paths (the VIP is still bound, the service still answers)" || fail "router: $(router_paths)"
equals "$(answering 41401 32)" "rs1 rs2" "so requests keep reaching rs1, which still serves them"
web_down rs1
agent_up rs1 || fail "rs1's agent did not start again"
wait_for "the next agent finds rs1's service down and withdraws the path" paths_are "$RS2"
web_up rs1
wait_for "and announces it once the service answers" paths_are "$BOTH"

# --- the host dies: BGP's hold time (3 s, from router-config) takes the path away -------
kill -9 "${BIRD_PID[rs2]}"; wait "${BIRD_PID[rs2]}" 2>/dev/null; BIRD_PID[rs2]=
# (a dead BIRD, like a dead host, sends no withdrawal: the router's hold timer expires)
wait_for "rs2's BIRD dead: the router drops rs2's path within the hold time" paths_are "$RS1"

# --- FRR (Debian 12's 8.4): rs3 announces through zebra and bgpd from router-config -------
# The VIP is a range of one address there: bound as an address on lo, zebra would hold it
# as a connected route that wins over the imported table route, and never announce it.
server_wire rs3 $RS3 $R_RS3
rs_up rs3 $RS3 $R_RS3 frr || { fail "rs3 (FRR) did not come up"; finish; }
range_bound_on rs3 && pass "rs3: the VIP is a local route in table local" || fail "rs3: no local route for the VIP"
vip_bound_on rs3 && fail "rs3: the VIP was bound as an address" || pass "rs3: no address on lo (zebra sees no connected route)"
wait_long "FRR on rs3 announces the VIP: the router has rs1 and rs3" paths_are "$RS1 $RS3"
contains "$(vtysh_in rs3 -c 'show ip route table 200' 2>/dev/null; vtysh_in rs3 -c 'show ip route' 2>/dev/null)" "$VIP/32" "zebra imported table 200's route"
equals "$(answering 41501 32)" "rs1 rs3" "the client's requests reach rs1 and rs3"
web_down rs3
wait_for "rs3's service down: FRR withdraws, the router keeps rs1 only" paths_are "$RS1"
web_up rs3
wait_for "rs3's service back: announced again through FRR" paths_are "$RS1 $RS3"
kill -TERM "${AGENT_PID[rs3]}"
wait_for "SIGTERM on rs3's agent: the router drops rs3's path" paths_are "$RS1"
range_bound_on rs3 && pass "while rs3's range is still bound (the drain wait)" || fail "rs3's range went before its path"
wait "${AGENT_PID[rs3]}"; AGENT_PID[rs3]=
range_bound_on rs3 && fail "rs3's local route stayed after the agent exited" || pass "then the agent removes the local route and exits"
finish
