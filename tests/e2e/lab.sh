# The LVS-DR lab of shared/dr-lab.md, in network namespaces of its own: a client, a
# director forwarding at layer 2 with nftables (only the destination MAC is rewritten),
# and two real servers, on one bridge in a "switch" namespace. Addresses are TEST-NET-2.
# Source it, then: lab_up; ...; lab_down. Nothing touches the host's own namespace.
LAB=${LAB:-lvslab$$}
VIP=198.51.100.188
CLIENT_IP=198.51.100.200
DIP=198.51.100.50
RIP1=198.51.100.60
RIP2=198.51.100.70
LAB_PIDS=()

ns() { echo "$LAB-$1"; }
in_ns() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }
mac_of() { ip -n "$(ns "$1")" -br link show eth0 | awk '{print $3}'; }

# The namespaces on one bridge, with their addresses (the VIP on the director's wire).
# lab_switch NAME...: a namespace per NAME (lo up) and a "switch" namespace whose bridge
# br0 has each one's eth0 on port pNAME.
lab_switch() {
  local n
  for n in sw "$@"; do ip netns add "$(ns $n)"; ip -n "$(ns $n)" link set lo up; done
  ip -n "$(ns sw)" link add br0 type bridge
  ip -n "$(ns sw)" link set br0 up
  for n in "$@"; do
    ip link add eth0 netns "$(ns $n)" type veth peer name "p$n" netns "$(ns sw)"
    ip -n "$(ns sw)" link set "p$n" master br0 up
    ip -n "$(ns $n)" link set eth0 up
  done
}

lab_net() {
  lab_switch cl dir rs1 rs2
  ip -n "$(ns cl)" addr add $CLIENT_IP/24 dev eth0
  ip -n "$(ns dir)" addr add $DIP/24 dev eth0
  ip -n "$(ns dir)" addr add $VIP/32 dev eth0
  ip -n "$(ns rs1)" addr add $RIP1/24 dev eth0
  ip -n "$(ns rs2)" addr add $RIP2/24 dev eth0
}

# The lab with the director's DR forwarding (nftables: only the destination MAC rewritten).
lab_up() {
  lab_net
  local m1 m2 md
  m1=$(mac_of rs1) m2=$(mac_of rs2) md=$(mac_of dir)
  in_ns dir nft -f - <<NFT
table netdev lvs {
  chain ingress {
    type filter hook ingress device "eth0" priority 0;
    ip saddr $VIP counter comment "replies: DR sends none through the director"
    ip daddr $VIP tcp dport 80 ether saddr set $md ether daddr set jhash ip saddr . tcp sport mod 2 map { 0 : $m1, 1 : $m2 } fwd to "eth0"
  }
}
NFT
}

# A web server on port 80 of a real server that names it.
lab_web() {
  local n=$1 dir
  dir=$(mktemp -d "/tmp/$LAB-$n-www.XXXXXX")
  echo "hello from $n" > "$dir/index.html"
  in_ns "$n" python3 -m http.server 80 --bind 0.0.0.0 --directory "$dir" >/dev/null 2>&1 &
  LAB_PIDS+=($!)
  local i
  for i in $(seq 1 100); do
    in_ns "$n" bash -c 'exec 3<>/dev/tcp/127.0.0.1/80' 2>/dev/null && return 0
    sleep 0.05
  done
  echo "web server in $n did not start" >&2; return 1
}

# The MACs that answer ARP for the VIP on the client's wire, one per line, sorted.
arp_responders() {
  ip -n "$(ns cl)" neigh flush all
  in_ns cl arping -c 3 -w 300000 -i eth0 $VIP 2>/dev/null | grep -o 'from [0-9a-f:]*' | awk '{print $2}' | sort -u
}

# Packets from the VIP that reached the director (replies that did not bypass it).
replies_seen_by_director() {
  in_ns dir nft list chain netdev lvs ingress | grep -o 'counter packets [0-9]*' | head -1 | awk '{print $3}'
}

# Which real server answers a request from a given client port.
lab_get() { in_ns cl curl -s --max-time 3 --local-port "$1" "http://$VIP/"; }

# lab_netns_down NAME...: ends what still runs in the lab's namespaces (an agent started
# through `ip netns exec` in a subshell outlives that subshell) and waits for it - an agent
# drains before it exits (at most 35 s here) - then removes the namespaces, so nothing of
# the test is left behind. For EXIT traps: every step runs even if one fails. (The demo
# sources this file without tests/netns/lib.sh, so it polls by itself.)
lab_netns_down() {
  local p n i alive left=()
  set +e
  for n in "$@"; do
    for p in $(ip netns pids "$(ns $n)" 2>/dev/null); do kill "$p" 2>/dev/null && left+=("$p"); done
  done
  for i in $(seq 1 700); do   # polls for the condition every 50 ms, 35 s at most
    alive=0
    for p in "${left[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.05
  done
  for n in "$@"; do ip netns del "$(ns $n)" 2>/dev/null; done
}

lab_down() {
  local p
  set +e   # runs from EXIT traps: every step must run even if one fails
  for p in "${LAB_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  lab_netns_down cl dir rs1 rs2 sw
  rm -rf /tmp/"$LAB"-*-www.*
}
