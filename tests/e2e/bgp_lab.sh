# The anycast / ECMP lab, in network namespaces of its own: a client, a router running
# BIRD 2 with ECMP (merge paths) and two real servers, each running the agent with
# "announce" and its own BIRD configured by `lvs-rs-agent router-config`. The routers'
# side of every wire is in the router namespace; nothing touches the host's namespace.
# Addresses: client wire 203.0.113.0/24, server wires 192.0.2.0/28 and 192.0.2.16/28, the
# VIP 198.51.100.188. Source it (after netns/lib.sh), then: bgp_lab_up; ...; bgp_lab_down.
BLAB=${BLAB:-lvsbgp$$}
VIP=198.51.100.188
CLIENT=203.0.113.2
R_CLIENT=203.0.113.1
R_RS1=192.0.2.1 RS1=192.0.2.2
R_RS2=192.0.2.17 RS2=192.0.2.18
R_RS3=192.0.2.33 RS3=192.0.2.34
BLAB_DIR=
BLAB_PIDS=()
declare -A AGENT_PID BIRD_PID WEB_PID FRR_PID

bns() { echo "$BLAB-$1"; }
# (a process started in the background is started by `ip netns exec` itself, never through
# a function: $! is then the process, which execs in place, and can be ended by PID)
in_bns() { local n=$1; shift; ip netns exec "$(bns "$n")" "$@"; }
bsys() { in_bns "$1" sh -c "echo $3 > /proc/sys/net/$2"; }  # bsys NS ipv4/... VALUE (that namespace only)

bgp_lab_up() {
  local n
  BLAB_DIR=$(mktemp -d /tmp/$BLAB.XXXXXX)
  for n in cl r rs1 rs2; do
    ip netns add "$(bns $n)"
    ip -n "$(bns $n)" link set lo up
  done
  # The router: forwards, spreads flows over the paths by their ports, no reverse-path
  # filter (replies come back from the VIP over whichever server's wire).
  bsys r ipv4/ip_forward 1
  bsys r ipv4/fib_multipath_hash_policy 1
  bsys r ipv4/conf/all/rp_filter 0
  bsys r ipv4/conf/default/rp_filter 0
  ip link add eth0 netns "$(bns cl)" type veth peer name ecl netns "$(bns r)"
  ip link add eth0 netns "$(bns rs1)" type veth peer name ers1 netns "$(bns r)"
  ip link add eth0 netns "$(bns rs2)" type veth peer name ers2 netns "$(bns r)"
  ip -n "$(bns r)" addr add $R_CLIENT/24 dev ecl
  ip -n "$(bns r)" addr add $R_RS1/28 dev ers1
  ip -n "$(bns r)" addr add $R_RS2/28 dev ers2
  ip -n "$(bns cl)" addr add $CLIENT/24 dev eth0
  ip -n "$(bns rs1)" addr add $RS1/28 dev eth0
  ip -n "$(bns rs2)" addr add $RS2/28 dev eth0
  for n in ecl ers1 ers2; do ip -n "$(bns r)" link set $n up; done
  for n in cl rs1 rs2; do ip -n "$(bns $n)" link set eth0 up; done
  ip -n "$(bns cl)" route add default via $R_CLIENT
  ip -n "$(bns rs1)" route add default via $R_RS1
  ip -n "$(bns rs2)" route add default via $R_RS2
  cat > "$BLAB_DIR/router.conf" <<EOF
router id $R_CLIENT;
protocol device { scan time 10; }
protocol kernel {
  merge paths on;              # ECMP: one route with a next hop per server
  ipv4 { import none; export all; };
}
protocol bgp rs1 { local $R_RS1 as 64496; neighbor $RS1 as 64500; hold time 3; keepalive time 1; ipv4 { import all; export none; }; }
protocol bgp rs2 { local $R_RS2 as 64496; neighbor $RS2 as 64500; hold time 3; keepalive time 1; ipv4 { import all; export none; }; }
EOF
  bird_up r "$BLAB_DIR/router.conf" || return 1
}

# server_wire N RIP ROUTER_ADDR: one more server namespace on a wire of its own (a /28) to
# the router, whose BIRD then peers with it (AS 64500, the router-config default).
server_wire() {
  local n=$1 rip=$2 raddr=$3
  ip netns add "$(bns $n)"
  ip -n "$(bns $n)" link set lo up
  ip link add eth0 netns "$(bns $n)" type veth peer name e$n netns "$(bns r)"
  ip -n "$(bns r)" addr add $raddr/28 dev e$n
  ip -n "$(bns r)" link set e$n up
  ip -n "$(bns $n)" addr add $rip/28 dev eth0
  ip -n "$(bns $n)" link set eth0 up
  ip -n "$(bns $n)" route add default via $raddr
  echo "protocol bgp $n { local $raddr as 64496; neighbor $rip as 64500; hold time 3; keepalive time 1; ipv4 { import all; export none; }; }" \
    >> "$BLAB_DIR/router.conf"
  birdc_in r configure >/dev/null
}

# frr_up N CONF: FRR's zebra and bgpd in N, in the foreground as the frr user (PIDs kept),
# their sockets in a folder of the lab's that the frr user owns.
frr_up() {
  local n=$1 conf=$2 d=$BLAB_DIR/$1/frr
  mkdir -p "$d"; cp "$conf" "$d/frr.conf"; chown -R frr:frr "$d"; chmod o+x "$BLAB_DIR" "$BLAB_DIR/$n"
  ip netns exec "$(bns $n)" /usr/lib/frr/zebra -f "$d/frr.conf" -z "$d/zserv.api" --vty_socket "$d" -i "$d/zebra.pid" -u frr -g frr \
    >"$d/zebra.log" 2>&1 &
  FRR_PID[$n.zebra]=$!
  wait_until 20 test -S "$d/zserv.api" || { echo "zebra in $n did not start:"; cat "$d/zebra.log"; return 1; }
  ip netns exec "$(bns $n)" /usr/lib/frr/bgpd -f "$d/frr.conf" -z "$d/zserv.api" --vty_socket "$d" -i "$d/bgpd.pid" -u frr -g frr \
    >"$d/bgpd.log" 2>&1 &
  FRR_PID[$n.bgpd]=$!
  wait_until 20 vtysh --vty_socket "$d" -d bgpd -c "show bgp summary" && return 0
  echo "bgpd in $n did not answer:"; cat "$d/bgpd.log"; return 1
}
vtysh_in() { local n=$1; shift; vtysh --vty_socket "$BLAB_DIR/$n/frr" "$@"; }

# bird_up NS CONF: BIRD in the foreground (PID kept), its control socket in the lab's dir.
bird_up() {
  ip netns exec "$(bns "$1")" bird -f -c "$2" -s "$BLAB_DIR/$1.ctl" -P "$BLAB_DIR/$1.pid" >"$BLAB_DIR/$1.bird.log" 2>&1 &
  BIRD_PID[$1]=$!
  wait_until 20 bird_answers "$1" && return 0
  echo "BIRD in $1 did not answer within 20 s:"; cat "$BLAB_DIR/$1.bird.log"; return 1
}
bird_answers() { kill -0 "${BIRD_PID[$1]}" 2>/dev/null || return 2; birdc -s "$BLAB_DIR/$1.ctl" show status 2>/dev/null | grep -q "Daemon is up"; }
birdc_in() { local n=$1; shift; birdc -s "$BLAB_DIR/$n.ctl" "$@"; }

# rs_up N RIP PEER [bird|frr]: a web server naming the server, the agent with "announce"
# (its API on its own loopback), and BIRD (or FRR) configured by router-config to peer with
# the router. With FRR the VIP is a range of one address ({"prefix": "VIP/32"}): bound on
# lo as an address it would be a connected route in zebra, which FRR 8 never announces.
rs_up() {
  local n=$1 rip=$2 peer=$3 daemon=${4:-bird} vip="\"$VIP\""
  [ "$daemon" = frr ] && vip="{\"prefix\": \"$VIP/32\"}"
  mkdir -p "$BLAB_DIR/$n/www" "$BLAB_DIR/$n/state"
  echo "hello from $n" > "$BLAB_DIR/$n/www/index.html"
  cat > "$BLAB_DIR/$n/config.json" <<EOF
{"vips": [$vip], "announce": {"table": 200}, "check_interval_ms": 100, "drain_seconds": 2,
 "api": {"listen": "127.0.0.1:9100"},
 "services": [{"vip": "$VIP", "port": 80, "interval_ms": 100, "timeout_ms": 100, "rise": 1, "fall": 1}]}
EOF
  web_up "$n" || return 1
  agent_up "$n" || return 1
  "$AGENT" router-config -c "$BLAB_DIR/$n/config.json" --format "$daemon" --neighbor "$peer" --local-as 64500 --peer-as 64496 \
    --router-id "$rip" > "$BLAB_DIR/$n/$daemon.conf" || return 1
  if [ "$daemon" = frr ]; then frr_up "$n" "$BLAB_DIR/$n/frr.conf"; else bird_up "$n" "$BLAB_DIR/$n/bird.conf"; fi
}
web_up() {
  ip netns exec "$(bns "$1")" python3 -m http.server 80 --bind 0.0.0.0 --directory "$BLAB_DIR/$1/www" >/dev/null 2>&1 &
  WEB_PID[$1]=$!
  wait_until 20 in_bns "$1" bash -c 'exec 3<>/dev/tcp/127.0.0.1/80' && return 0
  echo "web server in $1 did not start"; return 1
}
web_down() { kill "${WEB_PID[$1]}"; wait "${WEB_PID[$1]}" 2>/dev/null; WEB_PID[$1]=; }
agent_up() {
  local n=$1
  : > "$BLAB_DIR/$n/daemon.log"
  ip netns exec "$(bns "$n")" "$AGENT" run -c "$BLAB_DIR/$n/config.json" --state-dir "$BLAB_DIR/$n/state" >>"$BLAB_DIR/$n/daemon.log" 2>&1 &
  AGENT_PID[$n]=$!
  wait_until 30 agent_answers "$n" && return 0
  echo "agent in $n did not come up:"; cat "$BLAB_DIR/$n/daemon.log"; return 1
}
agent_answers() {
  kill -0 "${AGENT_PID[$1]}" 2>/dev/null || return 2
  grep -qE "(^| )running:" "$BLAB_DIR/$1/daemon.log" && in_bns "$1" curl -s -o /dev/null http://127.0.0.1:9100/healthz
}
agent_cli() { local n=$1; shift; in_bns "$n" "$AGENT" "$@" --state-dir "$BLAB_DIR/$n/state"; }

# What the router's kernel has for the VIP: its next hops, in address order, one line ("" for none).
router_paths() {
  ip -n "$(bns r)" route show $VIP/32 | grep -o 'via [0-9.]*' | awk '{print $2}' | sort -V | tr '\n' ' ' | sed 's/ $//'
}
paths_are() { [ "$(router_paths)" = "$1" ]; }
announced_on() { ip -n "$(bns $1)" route show table 200 | grep -q "^$VIP dev lo proto \(177\|lvs-rs-agent\)"; }
withdrawn_on() { ! announced_on "$1"; }
vip_bound_on() { ip -n "$(bns $1)" -o addr show dev lo | grep -qw "inet $VIP/32"; }
range_bound_on() { ip -n "$(bns $1)" route show table local | grep -q "^local $VIP dev lo proto \(177\|lvs-rs-agent\)"; }
# Which servers answer the client's requests from ports FROM..FROM+COUNT-1, sorted, unique.
answering() {
  local from=$1 count=$2 p out=""
  for p in $(seq "$from" $((from + count - 1))); do
    out+="$(in_bns cl curl -s --max-time 2 --local-port "$p" "http://$VIP/")"$'\n'
  done
  grep -o 'rs[123]' <<<"$out" | sort -u | tr '\n' ' ' | sed 's/ $//'
}

bgp_lab_down() {
  local p n
  set +e   # runs from EXIT traps: every step must run even if one fails
  for p in "${AGENT_PID[@]}" "${WEB_PID[@]}" "${BIRD_PID[@]}" "${FRR_PID[@]}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  for p in "${AGENT_PID[@]}" "${WEB_PID[@]}" "${BIRD_PID[@]}" "${FRR_PID[@]}"; do [ -n "$p" ] && wait "$p" 2>/dev/null; done
  for n in cl r rs1 rs2 rs3; do ip netns del "$(bns $n)" 2>/dev/null; done
  [ -n "$BLAB_DIR" ] && rm -rf "$BLAB_DIR"
}
