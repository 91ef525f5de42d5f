#!/usr/bin/env bash
# doctor: each classic LVS-DR trap built for real in a namespace (files under a
# --sysroot of the test's own), and the verdict asserted.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"
WEB=
trap 'end_started "${WEB:-}"' EXIT
command -v python3 >/dev/null || skip_or_fail "python3 is not installed"
ROOT=$STATE/root; mkdir -p "$ROOT/etc"
CFG=$STATE/config.json
echo "{\"vips\": [\"$VIP4\"], \"services\": [{\"vip\": \"$VIP4\", \"port\": 8080}], \"director\": \"198.51.100.50\"}" > "$CFG"
doctor() { run "$AGENT" doctor -c "$CFG" --sysroot "$ROOT" "$@"; }
ip link set lo up
ip link add veth0 type veth peer name veth1; ip link set veth0 up; ip link set veth1 up
ip addr add 198.51.100.60/24 dev veth0

doctor
equals "$RC" "1" "exit 1 when something is wrong"
contains "$OUT" "FAIL  vip-on-lo: $VIP4/32 is not bound on lo" "missing VIP"
contains "$OUT" "FAIL  arp-effective: veth0: effective arp_ignore 0, arp_announce 0" "default ARP settings on an interface that is up"
contains "$OUT" "FAIL  service-listening: nothing listens on $VIP4:8080" "no service"

ip addr add $VIP4/24 dev lo
doctor; contains "$OUT" "FAIL  vip-on-lo: $VIP4 is bound on lo as /24" "VIP with a /24 on lo"
ip addr del $VIP4/24 dev lo
agent start -c "$CFG" >/dev/null 2>&1
doctor
contains "$OUT" "ok    vip-on-lo: $VIP4/32 is bound on lo" "VIP in place after start"
contains "$OUT" "ok    arp-effective: veth0: effective arp_ignore 1, arp_announce 2" "ARP right after start"

ip addr add $VIP4/32 dev veth1
doctor; contains "$OUT" "FAIL  vip-on-real-interface: $VIP4 is also an address of veth1, which answers ARP" "VIP on a real interface"
ip addr del $VIP4/32 dev veth1

python3 -m http.server 8080 --bind 127.0.0.1 >/dev/null 2>&1 & WEB=$!
wait_listening 127.0.0.1 8080 || exit 1
doctor; contains "$OUT" "FAIL  service-listening: port 8080 listens only on 127.0.0.1, not on the VIP" "service on another address"
kill $WEB; wait $WEB 2>/dev/null
python3 -m http.server 8080 --bind 0.0.0.0 >/dev/null 2>&1 & WEB=$!
wait_listening 0.0.0.0 8080 || exit 1
doctor; contains "$OUT" "ok    service-listening: something listens on $VIP4:8080" "service on the wildcard"

mkdir -p "$ROOT/etc/sysctl.d"
printf '# old LVS tuning\nnet.ipv4.conf.all.arp_ignore = 0\nnet/ipv4/conf/lo/arp_announce=1\n' > "$ROOT/etc/sysctl.d/99-old-lvs.conf"
doctor
contains "$OUT" "warn  sysctl-files: /etc/sysctl.d/99-old-lvs.conf:2 sets net.ipv4.conf.all.arp_ignore = 0" "sysctl file line named"
contains "$OUT" "/etc/sysctl.d/99-old-lvs.conf:3 sets net.ipv4.conf.lo.arp_announce = 1" "slash notation too"

setsys all rp_filter 1
doctor; contains "$OUT" "warn  rp-filter: veth0 has strict rp_filter (1)" "strict rp_filter with two interfaces"
setsys all rp_filter 2

ip route add default via 198.51.100.50 dev veth0
doctor; contains "$OUT" "FAIL  default-route: the default route points at the director 198.51.100.50" "default route via the director"
ip route del default

mkdir -p "$ROOT/etc/network" "$ROOT/etc/sysconfig/network-scripts" "$ROOT/etc/NetworkManager/system-connections"
printf 'auto lo\niface lo inet loopback\n\nauto lo:0\niface lo:0 inet static\n  address %s\n' $VIP4 > "$ROOT/etc/network/interfaces"
printf 'DEVICE=lo:0\nIPADDR=%s\nNETMASK=255.255.255.255\n' $VIP4 > "$ROOT/etc/sysconfig/network-scripts/ifcfg-lo:0"
printf '[connection]\nid=lo\ninterface-name=lo\n' > "$ROOT/etc/NetworkManager/system-connections/lo.nmconnection"
doctor
contains "$OUT" "warn  lo-managers: /etc/network/interfaces:4 defines a lo alias" "ifupdown alias"
contains "$OUT" "warn  lo-managers: /etc/sysconfig/network-scripts/ifcfg-lo:0 configures a lo alias" "ifcfg alias"
contains "$OUT" "warn  lo-managers: /etc/NetworkManager/system-connections/lo.nmconnection:3 lets NetworkManager manage lo" "NetworkManager"
run "$AGENT" doctor -c "$CFG" --sysroot "$ROOT" --json
echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert any(f["check"]=="lo-managers" and f["verdict"]=="warn" for f in d), d' \
  && pass "--json" || fail "--json: $OUT"

rm -rf "$ROOT/etc/network" "$ROOT/etc/sysconfig" "$ROOT/etc/NetworkManager" "$ROOT/etc/sysctl.d"
doctor
equals "$RC" "0" "exit 0 once everything is right"
contains "$OUT" "nothing wrong found" "says so"
agent stop >/dev/null 2>&1
finish
