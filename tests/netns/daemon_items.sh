#!/usr/bin/env bash
# `run` repairs item by item: an IPv6 VIP that cannot be re-added (IPv6 disabled on lo)
# is reported on that VIP alone and retried with its own backoff, while a reset ARP
# setting is repaired and kept (never rolled back) and the IPv4 VIP stays ready.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"
trap 'end_started "${DAEMON:-}"' EXIT

start_daemon '{"vips": ["198.51.100.188", "2001:db8::188"], "check_interval_ms": 100, "drain_seconds": 0, "api": {"listen": "127.0.0.1:9100"}}' || exit 1
equals "$(http_code http://$API/ready)" "200" "ready after start"

echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6   # takes the IPv6 VIP away; it cannot come back
wait_for "the IPv6 VIP is reported on its own" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$API/ready/$VIP6)\" = 503 ]"
contains "$(curl -s http://$API/ready/$VIP6)" "cannot repair $VIP6" "the reason names the failed repair"
setsys all arp_ignore 0
wait_for "the ARP setting is repaired meanwhile" sh -c '[ "$(cat /proc/sys/net/ipv4/conf/all/arp_ignore)" = 1 ]'
ip addr del $VIP4/32 dev lo
wait_for "the IPv4 VIP is repaired meanwhile" has_addr $VIP4 32
wait_for "the IPv4 VIP is ready" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$API/ready/$VIP4)\" = 200 ]"
equals "$(http_code http://$API/ready)" "503" "the aggregate /ready waits for every VIP"
equals "$(cat /proc/sys/net/ipv4/conf/all/arp_ignore)" "1" "the ARP repair stays (nothing rolled back)"
lacks "$(cat $STATE/daemon.log)" "rolled back" "no rollback in run"
lacks "$(cat $STATE/daemon.log)" "(restored)" "no setting restored in run"
failures=$(grep "cannot repair $VIP6" "$STATE/daemon.log" | grep -vcE "(^| )readiness: ")
[ "$failures" -le 2 ] && pass "the failure is logged once, not at every retry ($failures)" || fail "$failures failure lines"
# The readiness transitions it caused: one line for the VIP, one for the server, not one per retry.
equals "$(grep -cE "(^| )readiness: VIP $VIP6 not ready: .*cannot repair $VIP6" "$STATE/daemon.log")" "1" "the VIP's readiness transition logged once"
equals "$(grep -cE "(^| )readiness: server not ready: .*cannot repair $VIP6" "$STATE/daemon.log")" "1" "the server's readiness transition logged once"

echo 0 > /proc/sys/net/ipv6/conf/lo/disable_ipv6
wait_until 40 has_addr $VIP6 128 && pass "the IPv6 VIP comes back at its next retry" || fail "IPv6 VIP not re-added"
wait_for "ready again" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$API/ready)\" = 200 ]"
stop_daemon
equals "$DAEMON_RC" "0" "SIGTERM exits 0"
equals "$(arp_all)" "0 0 0 0" "exit undid the sysctls"
finish
