#!/usr/bin/env bash
# Bad configurations exit 2, name the file, field and problem, and change nothing. A VIP
# that a real interface already holds is refused at start the same way.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"

ip link set lo up
before=$(kernel_snapshot)
cfg=$STATE/config.json
try() {  # try JSON EXPECTED
  printf '%s' "$1" > "$cfg"
  expect_rc 2 "rejects $1" agent start -c "$cfg"
  contains "$OUT" "$cfg: $2" "message for $1"
  contains "$OUT" "nothing was changed" "says nothing changed"
}
try '{"vip": ["198.51.100.188"]}' 'vip: unknown key "vip" (did you mean "vips"?)'
try '{"vips": ["198.51.100.188/24"]}' 'vips[0]: "198.51.100.188/24" has prefix /24'
try '{"vips": ["198.51.100.188", "198.51.100.188"]}' 'vips[1]: "198.51.100.188" duplicates vips[0]'
try '{"vips": ["198.51.100.188"], "arp": {"ignore": 9}}' "arp.ignore: 9 is out of the kernel's range 0-8"
try '{"vips": ["198.51.100.188"' '(document): not valid JSON'
try '[]' '(document): must be a JSON object, not array'
try '{"vips": []}' 'vips: is empty'
try '{"vips": ["198.51.100.188", "bad"]}' 'vips[1]: "bad" is not an IPv4 or IPv6 address'
expect_rc 2 "check rejects too" "$AGENT" check -c "$cfg"
chmod 000 "$cfg"
expect_rc 2 "unreadable file (as nobody)" setpriv --reuid=65534 --regid=65534 --clear-groups "$AGENT" check -c "$cfg"
contains "$OUT" "cannot read: Permission denied" "names the permission problem"
expect_rc 2 "bad --vip" agent start --vip 224.0.0.1
contains "$OUT" "--vip[0]: 224.0.0.1 is a multicast address" "names --vip"
expect_rc 2 "a configured interface that does not exist" agent start --vip $VIP4 -c <(echo '{"arp": {"interfaces": ["lo", "eth9"]}}')
contains "$OUT" "interface eth9 (arp.interfaces) does not exist" "names the interface"
equals "$(kernel_snapshot)" "$before" "nothing changed by any rejected start"
[ -e "$STATE/state.json" ] && fail "state written" || pass "no state written"

# The VIP on a real interface: this host is a director or the VIP is wrong.
ip link add veth0 type veth peer name veth1
ip link set veth0 up
ip addr add 198.51.100.60/24 dev veth0
before=$(kernel_snapshot)
expect_rc 2 "refuses a VIP held by a real interface" agent start --vip 198.51.100.60 --vip $VIP4
contains "$OUT" "198.51.100.60 is also an address of veth0" "names the interface"
contains "$OUT" "refused; nothing was changed" "changes nothing"
equals "$(kernel_snapshot)" "$before" "kernel unchanged"
finish
