#!/usr/bin/env bash
# What ifdown, sysctl -p or a colleague undo, status names and start repairs.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"

expect_rc 0 "start" agent start --vip $VIP4 --vip $VIP6
ip addr del $VIP4/32 dev lo
ip route del $VIP6/128 dev lo proto 177
setsys all arp_ignore 0
setsys lo arp_announce 1
expect_rc 3 "status after drift" agent status --vip $VIP4 --vip $VIP6
contains "$OUT" "$VIP4/32 is not bound on lo" "names the missing VIP"
contains "$OUT" "host route $VIP6/128 dev lo is missing from table main" "names the missing route"
contains "$OUT" "net.ipv4.conf.all.arp_ignore is 0, expected 1" "names arp_ignore"
contains "$OUT" "net.ipv4.conf.lo.arp_announce is 1, expected 2" "names arp_announce"
expect_rc 0 "start repairs" agent start --vip $VIP4 --vip $VIP6
contains "$OUT" "added $VIP4/32 to lo" "re-added VIP"
contains "$OUT" "added route $VIP6/128 dev lo table main" "re-added route"
contains "$OUT" "net.ipv4.conf.all.arp_ignore: 0 -> 1" "reset arp_ignore"
expect_rc 0 "status after repair" agent status --vip $VIP4 --vip $VIP6

ip link set lo down   # this also drops the kernel's routes through lo
expect_rc 3 "status with lo down" agent status --vip $VIP4 --vip $VIP6
contains "$OUT" "lo is down" "names lo down"
expect_rc 0 "start brings lo up and repairs" agent start --vip $VIP4 --vip $VIP6
contains "$OUT" "brought lo up" "logged"
expect_rc 0 "in place again" agent status --vip $VIP4 --vip $VIP6

# A sysctl drift must not forget the original: stop restores the first value seen.
setsys all arp_ignore 0
expect_rc 0 "repair again" agent start --vip $VIP4 --vip $VIP6
expect_rc 0 "stop" agent stop
equals "$(arp_all)" "0 0 0 0" "originals restored, not the drifted values"
finish
