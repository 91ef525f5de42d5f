#!/usr/bin/env bash
# status exit codes follow LSB: 0 in place, 3 not, 4 cannot tell, 2 bad usage (never the
# configuration file: a broken or missing file is when status is needed most).
source "$(dirname "$0")/lib.sh"; enter_netns "$@"

expect_rc 3 "status before start" agent status --vip $VIP4
contains "$OUT" "$VIP4/32 is not bound on lo" "names what is missing"
expect_rc 0 "start" agent start --vip $VIP4
expect_rc 0 "status in place" agent status --vip $VIP4
expect_rc 0 "status --json" agent status --vip $VIP4 --json
echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["in_place"] and d["vips"][0]["address"]["owned"], d' \
  && pass "json is valid and says in place" || fail "bad json: $OUT"
ip addr del $VIP4/32 dev lo
expect_rc 3 "status --json with drift" agent status --vip $VIP4 --json
echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert not d["in_place"] and "198.51.100.188/32 is not bound on lo" in d["problems"], d' \
  && pass "json names the problem" || fail "bad json: $OUT"
expect_rc 2 "status with a bad config" agent status --vip 198.51.100.188/24
contains "$OUT" "has prefix /24" "says why"
expect_rc 2 "status with an unknown option" agent status --vip $VIP4 --bogus
expect_rc 2 "no command" "$AGENT"
expect_rc 3 "no configuration file: status from what the agent owns (its VIP, removed above, not in place)" "$AGENT" status --state-dir "$STATE"
contains "$OUT" "note: the configuration on disk cannot be used: /etc/lvs-rs-agent/config.json: cannot read" "names the missing file"
contains "$OUT" "VIP $VIP4: NOT in place" "and shows the VIP the agent owns"
# The state dir (0700, root's) is unreadable for an unprivileged user: the kernel side, and
# exit 4 (whose the addresses are cannot be told).
expect_rc 4 "status as nobody" setpriv --reuid=65534 --regid=65534 --clear-groups "$AGENT" status --vip $VIP4 --state-dir "$STATE"
contains "$OUT" "VIP $VIP4: NOT in place" "the kernel side shown"
contains "$OUT" "readable by root only: shown without it" "and why the rest is not"
expect_rc 0 "stop" agent stop
finish
