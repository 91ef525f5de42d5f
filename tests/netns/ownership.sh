#!/usr/bin/env bash
# An address or route that was there before the first start is used, never removed.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"

ip link set lo up
ip addr add $VIP4/32 dev lo
ip route add $VIP4/32 dev lo proto static
ip addr add 203.0.113.50/32 dev lo      # unrelated, not a configured VIP
expect_rc 0 "start with a pre-existing VIP" agent start --vip $VIP4 --vip 198.51.100.189
lacks "$OUT" "added $VIP4/32" "did not re-add the pre-existing VIP"
contains "$OUT" "added 198.51.100.189/32 to lo" "added the new one"
expect_rc 0 "status" agent status --vip $VIP4 --vip 198.51.100.189 --all
contains "$OUT" "address $VIP4/32 on lo: ok (was already there; left alone by stop)" "status shows it is not owned"
contains "$OUT" "203.0.113.50/32" "--all lists the unmanaged address"
expect_rc 0 "stop" agent stop
has_addr $VIP4 32 && pass "pre-existing VIP kept" || fail "pre-existing VIP removed"
ip route show table main | grep -q "^$VIP4 dev lo proto static" && pass "pre-existing route kept" || fail "pre-existing route removed"
has_addr 198.51.100.189 32 && fail "agent's VIP left behind" || pass "agent's VIP removed"
has_addr 203.0.113.50 32 && pass "unrelated address kept" || fail "unrelated address removed"
ip -o link show lo | grep -q ',UP' && pass "lo left up" || fail "lo taken down"
finish
