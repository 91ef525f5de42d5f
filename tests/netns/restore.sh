#!/usr/bin/env bash
# stop restores the values found before the first start, not 0; a kill -9 part-way
# through a start leaves a state file from which stop still undoes everything.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"

setsys lo arp_ignore 3
setsys all arp_announce 1
expect_rc 0 "start" agent start --vip $VIP4
equals "$(arp_all)" "1 2 1 2" "values set"
expect_rc 0 "stop" agent stop
equals "$(sysv lo arp_ignore) $(sysv all arp_announce) $(sysv all arp_ignore)" "3 1 0" "originals restored"

# kill -9 in the middle of a large start
setsys all arp_ignore 2
# documentation space only: hosts of 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32
args=(); for b in $(seq 1 254); do args+=(--vip 198.51.100.$b --vip 203.0.113.$b); done
for k in $(seq 1 6); do for b in $(seq 1 254); do args+=(--vip 2001:db8::$k:$b); done; done
"$AGENT" start "${args[@]}" --state-dir "$STATE" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 2000); do
  n=$(ip -o addr show dev lo | wc -l)
  [ "$n" -gt 50 ] && break
  sleep 0.005
done
kill -9 $pid; wait $pid 2>/dev/null
n=$(ip -o addr show dev lo | wc -l)
[ "$n" -gt 50 ] && pass "killed part-way ($n addresses on lo)" || fail "start was not caught part-way ($n addresses)"
[ -s "$STATE/state.json" ] && pass "state file present after kill -9" || fail "no state file after kill -9"
expect_rc 0 "stop after kill -9" agent stop
equals "$(ip -o addr show dev lo | grep -vcE ' (127\.0\.0\.1|::1)/')" "0" "every added address removed"
equals "$(ip route show table main proto 177 | wc -l)$(ip -6 route show table main proto 177 | wc -l)" "00" "every agent route removed"
equals "$(sysv all arp_ignore) $(sysv lo arp_ignore) $(sysv all arp_announce)" "2 3 1" "originals restored after crash"
finish
