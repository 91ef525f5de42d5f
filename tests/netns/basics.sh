#!/usr/bin/env bash
# start binds the VIP, adds the host route and sets the ARP sysctls; status says so;
# stop undoes it all. Each change is logged on one line.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"

equals "$(arp_all)" "0 0 0 0" "fresh namespace has default ARP sysctls"
expect_rc 0 "start" agent start --vip $VIP4
contains "$OUT" "added $VIP4/32 to lo" "logs the address"
contains "$OUT" "added route $VIP4/32 dev lo table main" "logs the route"
contains "$OUT" "net.ipv4.conf.all.arp_ignore: 0 -> 1" "logs arp_ignore"
contains "$OUT" "net.ipv4.conf.lo.arp_announce: 0 -> 2" "logs arp_announce"
contains "$OUT" "brought lo up" "logs lo up"
has_addr $VIP4 32 && pass "VIP bound on lo as /32" || fail "VIP not on lo"
has_route $VIP4 && pass "host route in main, proto 177" || fail "no host route: $(ip route)"
equals "$(ip route show table main $VIP4 | grep -o 'scope [a-z]*')" "scope link" "route scope link"
equals "$(arp_all)" "1 2 1 2" "arp_ignore=1 arp_announce=2 on all and lo"
ip -o link show lo | grep -q ',UP' && pass "lo up" || fail "lo down"
[ "$(stat -c %a "$STATE")" = 700 ] && pass "state dir 0700" || fail "state dir mode $(stat -c %a "$STATE")"
expect_rc 0 "status in place" agent status --vip $VIP4
contains "$OUT" "result: everything in place" "status verdict"
expect_rc 0 "stop" agent stop
contains "$OUT" "removed $VIP4/32 from lo" "logs removal"
contains "$OUT" "net.ipv4.conf.all.arp_ignore: 1 -> 0 (restored)" "logs restore"
has_addr $VIP4 32 && fail "VIP still on lo" || pass "VIP gone"
has_route $VIP4 && fail "route still there" || pass "route gone"
equals "$(arp_all)" "0 0 0 0" "sysctls restored"
[ -e "$STATE/state.json" ] && fail "state file left behind" || pass "state file removed"

# The same through a config file, with every key.
cat > "$STATE/config.json" <<JSON
{"vips": ["$VIP4", "203.0.113.10"], "arp": {"ignore": 2, "announce": 2, "interfaces": ["lo", "all"]}, "host_routes": false}
JSON
expect_rc 0 "check a config" "$AGENT" check -c "$STATE/config.json"
contains "$OUT" "bind 203.0.113.10/32 on lo" "check prints what start would do"
expect_rc 0 "start -c" agent start -c "$STATE/config.json"
has_addr 203.0.113.10 32 && pass "second VIP bound" || fail "second VIP missing"
has_route $VIP4 && fail "host_routes false still added a route" || pass "no route with host_routes false"
equals "$(sysv all arp_ignore)" "2" "arp.ignore honoured"
expect_rc 0 "stop" agent stop
# Under systemd (JOURNAL_STREAM set) each line carries its syslog priority for the journal.
OUT=$(JOURNAL_STREAM=8:1 "$AGENT" start --vip 203.0.113.99 --state-dir "$STATE" 2>&1 >/dev/null)
contains "$OUT" "<6>added 203.0.113.99/32 to lo" "info lines carry <6>"
OUT=$(JOURNAL_STREAM=8:1 "$AGENT" start --vip 203.0.113.99/24 --state-dir "$STATE" 2>&1 >/dev/null)
contains "$OUT" "<3>--vip[0]:" "errors carry <3>"
agent stop >/dev/null 2>&1
expect_rc 0 "--version" "$AGENT" --version
contains "$OUT" "lvs-rs-agent " "version printed"
expect_rc 0 "--help" "$AGENT" start --help
contains "$OUT" "--dry-run" "start help lists --dry-run"
finish
