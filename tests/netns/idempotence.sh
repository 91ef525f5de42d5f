#!/usr/bin/env bash
# A second start changes nothing; dry runs change nothing; stop twice is fine.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"

expect_rc 0 "start --dry-run on a fresh host" agent start --vip $VIP4 --vip $VIP6 --dry-run
contains "$OUT" "would add $VIP4/32 to lo" "dry run shows the address"
contains "$OUT" "would set net.ipv4.conf.all.arp_ignore: 0 -> 1" "dry run shows the sysctl"
equals "$(arp_all)" "0 0 0 0" "dry run changed no sysctl"
has_addr $VIP4 32 && fail "dry run bound the VIP" || pass "dry run bound nothing"
[ -e "$STATE/state.json" ] && fail "dry run wrote state" || pass "dry run wrote no state"

expect_rc 0 "first start" agent start --vip $VIP4 --vip $VIP6
before=$(kernel_snapshot); state_before=$(cat "$STATE/state.json")
expect_rc 0 "second start" agent start --vip $VIP4 --vip $VIP6
contains "$OUT" "2 VIPs in place, nothing changed" "second start reports nothing changed"
lacks "$OUT" "added" "second start logs no change"
equals "$(kernel_snapshot)" "$before" "kernel unchanged by second start"
equals "$(cat "$STATE/state.json")" "$state_before" "state unchanged by second start"
expect_rc 0 "start --dry-run when in place" agent start --vip $VIP4 --vip $VIP6 --dry-run
contains "$OUT" "nothing to do: already in place" "dry run says nothing to do"

expect_rc 0 "stop --dry-run" agent stop --dry-run
contains "$OUT" "would remove $VIP4/32 from lo" "stop dry run shows removal"
equals "$(kernel_snapshot)" "$before" "stop dry run changed nothing"
expect_rc 0 "stop" agent stop
expect_rc 0 "second stop" agent stop
contains "$OUT" "nothing to undo" "second stop says nothing to undo"
expect_rc 0 "stop with a state dir that never existed" "$AGENT" stop --state-dir "$STATE/never"
contains "$OUT" "nothing to undo" "says so"
[ -e "$STATE/never" ] && fail "stop created a state dir" || pass "stop created nothing"
finish
