#!/usr/bin/env bash
# The API and the control socket under attack (tests/netns/api_attack.py, bounded in
# count and time, loopback only): memory stays bounded, a director's fresh poll is
# answered within 100 ms during every slow-client attack, nothing is dropped silently,
# and nothing changes without the token. Meanwhile a deleted VIP is repaired.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"
ATT=
trap 'end_started "${DAEMON:-}" "${ATT:-}"' EXIT
command -v python3 >/dev/null || skip_or_fail "python3 is not installed"

(umask 077; head -c 32 /dev/urandom | base64 > "$STATE/token")
start_daemon "{\"vips\": [\"$VIP4\"], \"check_interval_ms\": 100, \"drain_seconds\": 0,
  \"api\": {\"listen\": \"127.0.0.1:9100\", \"token_file\": \"$STATE/token\"}}" || exit 1

# A VIP deleted while the attacks run is put back (the loop is not held up by the API).
python3 "$(dirname "$0")/api_attack.py" "$DAEMON" 9100 "$VIP4" "$AGENT" "$STATE" > "$STATE/attack.out" 2>&1 & ATT=$!
wait_until 60 grep -q "overlapping Range" "$STATE/attack.out"
ip addr del "$VIP4/32" dev lo
wait_for "a VIP deleted during the attacks is repaired" has_addr "$VIP4" 32
wait "$ATT"; rc=$?; ATT=
cat "$STATE/attack.out"
equals "$rc" "0" "every attack held"
FAILS=$((FAILS + $(grep -c '^FAIL' "$STATE/attack.out")))

equals "$(grep -c 'draining: reporting not ready' "$STATE/daemon.log")" "1" "drained once: by the CLI, never by an attack"
lacks "$(cat "$STATE/daemon.log")" "rolled back" "nothing rolled back"
kill -0 "$DAEMON" && pass "the agent is still running"
equals "$(http_code http://$API/ready/$VIP4)" "200" "and serving"
stop_daemon
equals "$DAEMON_RC" "0" "it stops cleanly"
finish
