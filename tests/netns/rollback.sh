#!/usr/bin/env bash
# A failure part-way through start undoes what that run changed and exits 1 with the
# reason. Two real kernel failures: IPv6 disabled on lo (the IPv6 address add fails after
# the IPv4 one succeeded) and a read-only arp_announce (a sysctl write fails after others).
NEED_MOUNT_NS=1
source "$(dirname "$0")/lib.sh"; enter_netns "$@"

setsys lo arp_ignore 3
# lo's first up gives it 127.0.0.1 for good; do that once so a later down compares equal.
ip link set lo up; ip link set lo down
echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6
before=$(kernel_snapshot)
expect_rc 1 "start fails when the IPv6 VIP cannot be added" agent start --vip $VIP4 --vip $VIP6
contains "$OUT" "add $VIP6/128 to lo failed" "names the failed action"
contains "$OUT" "rolled back: removed $VIP4/32 from lo" "rolls back the IPv4 VIP"
contains "$OUT" "rolled back: brought lo down" "puts lo back down as it was"
contains "$OUT" "what this run changed was rolled back" "says it rolled back"
equals "$(kernel_snapshot)" "$before" "kernel exactly as before"
[ -e "$STATE/state.json" ] && fail "state file left: $(cat $STATE/state.json)" || pass "no ownership left"
echo 0 > /proc/sys/net/ipv6/conf/lo/disable_ipv6

# Ownership from an earlier successful start survives a later failed one.
expect_rc 0 "start one VIP" agent start --vip $VIP4
owned=$(cat "$STATE/state.json")
f=/proc/sys/net/ipv4/conf/all/arp_announce
setsys all arp_announce 0      # drift the agent will try to repair
mount --bind $f $f && mount -o remount,ro,bind $f || fail "cannot make $f read-only"
before=$(kernel_snapshot)
expect_rc 1 "start fails on a read-only sysctl" agent start --vip $VIP4 --vip 203.0.113.20
contains "$OUT" "set net.ipv4.conf.all.arp_announce: 0 -> 2 failed" "names the sysctl"
equals "$(kernel_snapshot)" "$before" "kernel exactly as before"
equals "$(cat "$STATE/state.json")" "$owned" "state file as before"
umount $f
expect_rc 0 "stop" agent stop
equals "$(arp_all)" "0 0 3 0" "originals restored"
finish
