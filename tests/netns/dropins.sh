#!/usr/bin/env bash
# The drop-in directory under `run`: a drop-in added, changed and removed, each picked up
# by a reload (SIGHUP, and `lvs-rs-agent reload`); a bad drop-in rejects the whole reload
# and the running configuration stays; /status names the file each VIP came from.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"
trap 'end_started "${DAEMON:-}"' EXIT
mkdir -p "$STATE/conf.d"
printf '%s' '{"vips": ["198.51.100.20"]}' > "$STATE/conf.d/10-web.json"
start_daemon '{"vips": ["198.51.100.1"], "check_interval_ms": 100, "drain_seconds": 0, "api": {"listen": "127.0.0.1:9100"}}' || exit 1
has_addr 198.51.100.1 32 && pass "the main file's VIP is bound" || fail "main VIP missing"
has_addr 198.51.100.20 32 && pass "the drop-in's VIP is bound at start" || fail "drop-in VIP missing at start"
equals "$(json_at "http://$API/status" "d['config']['vips_by_file']['$STATE/conf.d/10-web.json']")" "['198.51.100.20']" "/status names the drop-in of each VIP"

# added
printf '%s' '{"vips": ["198.51.100.30"], "services": [{"vip": "198.51.100.30", "port": 9}]}' > "$STATE/conf.d/20-mail.json"
kill -HUP $DAEMON
wait_for "a drop-in added and SIGHUP: its VIP is bound" has_addr 198.51.100.30 32
wait_for "its service is checked" sh -c "curl -s http://$API/status | grep -q '198.51.100.30:9'"

# changed
printf '%s' '{"vips": ["198.51.100.21"]}' > "$STATE/conf.d/10-web.json"
expect_rc 0 "a drop-in changed: lvs-rs-agent reload" agent reload
contains "$OUT" "reloaded $STATE/config.json: 3 VIP(s)" "the reload counts the drop-ins' VIPs"
has_addr 198.51.100.21 32 && pass "the changed drop-in's new VIP is bound" || fail "new VIP of the changed drop-in missing"
has_addr 198.51.100.20 32 && fail "the changed drop-in's old VIP is still bound" || pass "its old VIP is gone"

# a bad drop-in: the whole reload is rejected, nothing changes
before=$(ip -o addr show dev lo | sort)
printf '%s' '{"vips": ["198.51.100.40"], "drain_seconds": 1}' > "$STATE/conf.d/30-bad.json"
expect_rc 2 "a bad drop-in: the reload is rejected" agent reload
contains "$OUT" "$STATE/conf.d/30-bad.json: drain_seconds: not allowed in a drop-in" "the error names the file and the key"
rm -f "$STATE/conf.d/30-bad.json"
printf '%s' '{"vips": ["198.51.100.41", "198.51.100.21"]}' > "$STATE/conf.d/40-dup.json"
expect_rc 2 "a VIP in two drop-ins: the reload is rejected" agent reload
contains "$(cat "$STATE/daemon.log")" "$STATE/conf.d/40-dup.json: vips[1]: 198.51.100.21 is also in $STATE/conf.d/10-web.json" "the error names both files"
equals "$(ip -o addr show dev lo | sort)" "$before" "nothing changed in the kernel (198.51.100.41 not bound either)"
rm -f "$STATE/conf.d/40-dup.json"

# removed
rm -f "$STATE/conf.d/20-mail.json"
expect_rc 0 "a drop-in removed: reload" agent reload
has_addr 198.51.100.30 32 && fail "the removed drop-in's VIP is still bound" || pass "the removed drop-in's VIP is gone"
has_addr 198.51.100.1 32 && has_addr 198.51.100.21 32 && pass "the others stay" || fail "a VIP that stays was removed"
expect_rc 0 "check shows the source of each VIP" agent check -c "$STATE/config.json"
contains "$OUT" "bind 198.51.100.21/32 on lo (from $STATE/conf.d/10-web.json)" "check names the drop-in"
stop_daemon
equals "$DAEMON_RC" "0" "clean exit"
finish
