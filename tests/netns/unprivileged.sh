#!/usr/bin/env bash
# The systemd unit runs the agent as an unprivileged (dynamic) user with CAP_NET_ADMIN
# only: that must be enough for rtnetlink changes and /proc/sys/net writes.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"
command -v setpriv >/dev/null || skip_or_fail "setpriv (util-linux) is not installed"
chown 65534:65534 "$STATE"
as_agent_user() { setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+net_admin --ambient-caps=+net_admin \
                          --bounding-set=-all,+net_admin "$AGENT" "$@" --state-dir "$STATE/run"; }
expect_rc 0 "start as nobody with CAP_NET_ADMIN only" as_agent_user start --vip $VIP4 --vip $VIP6
has_addr $VIP4 32 && pass "VIP bound" || fail "VIP not bound"
equals "$(arp_all)" "1 2 1 2" "sysctls written"
expect_rc 0 "status" as_agent_user status --vip $VIP4 --vip $VIP6
expect_rc 0 "stop" as_agent_user stop
equals "$(arp_all)" "0 0 0 0" "sysctls restored"
# Without the capability it fails cleanly and changes nothing.
before=$(kernel_snapshot)
run setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all "$AGENT" start --vip $VIP4 --state-dir "$STATE/run2"
equals "$RC" "1" "start without CAP_NET_ADMIN fails"
contains "$OUT" "Permission denied" "says why"
contains "$OUT" "needs root, or CAP_NET_ADMIN" "says what it takes"
equals "$(grep -c "Permission denied" <<<"$OUT")" "1" "the failure is said once, not again for the rollback"
equals "$(kernel_snapshot)" "$before" "nothing changed"
finish
