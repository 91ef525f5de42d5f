#!/usr/bin/env bash
# The whole DR flow: before the agent the real servers answer ARP for the VIP (they steal
# it from the director); after `lvs-rs-agent start` on both, only the director does, and
# requests sent through the director are answered by both real servers directly.
set -u
AGENT=${1:?usage: $0 PATH_TO_lvs-rs-agent}
source "$(dirname "$0")/../netns/lib.sh" "$AGENT"
[ "$(id -u)" = 0 ] || skip_or_fail "needs root for ip netns"
for t in nft arping curl python3; do command -v $t >/dev/null || skip_or_fail "$t is not installed"; done
source "$(dirname "$0")/lab.sh"
trap lab_down EXIT
lab_up
ST1=$(mktemp -d /tmp/$LAB-st1.XXXXXX) ST2=$(mktemp -d /tmp/$LAB-st2.XXXXXX)
trap 'lab_down; rm -rf "$ST1" "$ST2"' EXIT
MD=$(mac_of dir) M1=$(mac_of rs1) M2=$(mac_of rs2)

equals "$(arp_responders)" "$MD" "without the VIP on the real servers only the director answers"
# The naive setup: VIP on lo, no ARP settings.
in_ns rs1 ip addr add $VIP/32 dev lo
in_ns rs2 ip addr add $VIP/32 dev lo
got=$(arp_responders)
contains "$got" "$M1" "the problem: rs1 answers ARP for the VIP"
contains "$got" "$M2" "the problem: rs2 answers ARP for the VIP"

expect_rc 0 "agent start on rs1" in_ns rs1 "$AGENT" start --vip $VIP --state-dir "$ST1"
expect_rc 0 "agent start on rs2" in_ns rs2 "$AGENT" start --vip $VIP --state-dir "$ST2"
equals "$(arp_responders)" "$MD" "the fix: only the director answers ARP for the VIP"

lab_web rs1 && lab_web rs2
replies=""
for port in $(seq 40001 40016); do replies+="$(lab_get $port)"$'\n'; done
contains "$replies" "hello from rs1" "requests through the director reach rs1"
contains "$replies" "hello from rs2" "requests through the director reach rs2"
equals "$(grep -c hello <<<"$replies")" "16" "all 16 requests answered"
expect_rc 0 "status on rs1" in_ns rs1 "$AGENT" status --vip $VIP --state-dir "$ST1"

# The director never sees the replies: they go from the real servers to the client.
equals "$(replies_seen_by_director)" "0" "no reply passed through the director"
in_ns rs1 curl -s --max-time 1 --interface $VIP "http://$DIP:9/" >/dev/null 2>&1  # control: a packet from the VIP to the director
[ "$(replies_seen_by_director)" -ge 1 ] && pass "control: the director's counter does count packets from the VIP" || fail "counter never counts"

expect_rc 0 "agent stop on rs1" in_ns rs1 "$AGENT" stop --state-dir "$ST1"
contains "$(arp_responders)" "$M1" "after stop rs1 is back to the naive setup it had (VIP kept, ARP restored)"
finish
