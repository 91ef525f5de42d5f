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

# kill -9 in the middle of a large start. The workload is big enough to interrupt
# (20,000 VIPs of the benchmarking range 198.18.0.0/15 and 1,524 of 2001:db8::/32, in
# this private namespace only), and the test checks that the kill did land part-way.
setsys all arp_ignore 2
TOTAL=$(python3 - "$STATE/big.json" <<'PY'
import json, sys
v4 = [f"198.{18 + i // 65536}.{(i // 256) % 256}.{i % 256}" for i in range(0, 20000 * 2) if i % 256 not in (0, 255)][:20000]
v6 = [f"2001:db8::{k}:{b}" for k in range(1, 7) for b in range(1, 255)]
json.dump({"vips": v4 + v6}, open(sys.argv[1], "w"))
print(len(v4) + len(v6))
PY
)
"$AGENT" start -c "$STATE/big.json" --state-dir "$STATE" >/dev/null 2>&1 &
pid=$!
more_than_50() { [ "$(ip -o addr show dev lo | wc -l)" -gt 50 ]; }
wait_until 60 more_than_50
kill -9 $pid; wait $pid 2>/dev/null; rc=$?
n=$(ip -o addr show dev lo | wc -l)
equals "$rc" "137" "start was killed, not finished"
[ "$n" -gt 50 ] && [ "$n" -lt "$TOTAL" ] && pass "killed part-way ($n of $TOTAL addresses on lo)" || fail "start was not caught part-way ($n of $TOTAL addresses)"
[ -s "$STATE/state.json" ] && pass "state file present after kill -9" || fail "no state file after kill -9"
expect_rc 0 "stop after kill -9" agent stop
equals "$(ip -o addr show dev lo | grep -vcE ' (127\.0\.0\.1|::1)/')" "0" "every added address removed"
equals "$(ip route show table main proto 177 | wc -l)$(ip -6 route show table main proto 177 | wc -l)" "00" "every agent route removed"
equals "$(sysv all arp_ignore) $(sysv lo arp_ignore) $(sysv all arp_announce)" "2 3 1" "originals restored after crash"
finish
