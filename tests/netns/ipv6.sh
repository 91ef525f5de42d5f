#!/usr/bin/env bash
# IPv6 VIPs: /128 on lo without DAD, a host route of the agent's own, stop removes both.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"

expect_rc 0 "start with IPv6 VIPs" agent start --vip $VIP6 --vip 2001:db8:0:1::7
line=$(ip -o -6 addr show dev lo | grep "$VIP6/128")
[ -n "$line" ] && pass "VIP6 bound as /128" || fail "VIP6 missing"
contains "$line" "nodad" "no duplicate address detection"
has_route6 $VIP6 && pass "IPv6 host route proto 177" || fail "no IPv6 route: $(ip -6 route)"
equals "$(ip -6 route show table main | grep -c "^$VIP6 ")" "1" "exactly one main route for the VIP"
ip -6 route get $VIP6 | grep -q "dev lo" && pass "traffic to the VIP is local" || fail "route get: $(ip -6 route get $VIP6)"
expect_rc 0 "status" agent status --vip $VIP6 --vip 2001:db8:0:1::7
ip -6 addr del $VIP6/128 dev lo
expect_rc 3 "status notices" agent status --vip $VIP6 --vip 2001:db8:0:1::7
expect_rc 0 "start repairs" agent start --vip $VIP6 --vip 2001:db8:0:1::7
contains "$OUT" "added $VIP6/128 to lo" "re-added"
expect_rc 0 "stop" agent stop
ip -o -6 addr show dev lo | grep -q 2001:db8 && fail "IPv6 VIP left" || pass "IPv6 VIPs removed"
ip -6 route show | grep -q 2001:db8 && fail "IPv6 route left" || pass "IPv6 routes removed"
finish
