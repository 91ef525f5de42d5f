#!/usr/bin/env bash
# SIGHUP reloads (a good file binds new VIPs and unbinds removed ones once they drained; a
# bad file is rejected and the old configuration keeps running); SIGTERM drains (an idle
# server for drain.min_seconds; a second SIGTERM cuts the drain short), then undoes everything; kill -9 leaves a state that a new `run` adopts, and a later
# `stop` still restores the original sysctls. keep_on_exit leaves things in place.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"
NOTIFY_PID=
trap 'end_started "${DAEMON:-}" "${NOTIFY_PID:-}"' EXIT

setsys lo arp_ignore 3   # a non-default original to restore in the end
start_daemon '{"vips": ["198.51.100.1", "198.51.100.2"], "check_interval_ms": 100, "drain_seconds": 1, "api": {"listen": "127.0.0.1:9100"}}' || exit 1

# SIGHUP with a good file: the removed VIP drains first (idle: drain.min_seconds, 5 s), then goes
printf '%s' '{"vips": ["198.51.100.2", "198.51.100.3"], "check_interval_ms": 100, "drain_seconds": 60, "api": {"listen": "127.0.0.1:9100"}}' > "$STATE/config.json"
kill -HUP $DAEMON
wait_for "reload binds the new VIP" has_addr 198.51.100.3 32
wait_for "reload unbinds the removed VIP" sh -c "! ip -o addr show dev lo | grep -q ' 198.51.100.1/32'"
has_addr 198.51.100.2 32 && pass "kept VIP stays" || fail "kept VIP lost"
contains "$(cat $STATE/daemon.log)" "reload: added 198.51.100.3/32 to lo" "the reload's change is logged as the reload's"
lacks "$(cat $STATE/daemon.log)" "drift repaired: added 198.51.100.3" "a reload is not drift"
equals "$(curl -s http://$API/metrics | awk '/^lvs_rs_agent_repairs_total\{kind="address"\}/ {print $2}')" "0" "no address repair counted for a reload"
equals "$(http_code http://$API/ready/198.51.100.1)" "404" "removed VIP is no longer managed"
equals "$(http_code http://$API/ready/198.51.100.3)" "200" "new VIP is ready"

# SIGHUP with a bad file
printf '%s' '{"vip": ["198.51.100.9"]}' > "$STATE/config.json"
kill -HUP $DAEMON
wait_for "bad reload is logged" grep -q "reload rejected; the running configuration stays in force" "$STATE/daemon.log"
contains "$(cat $STATE/daemon.log)" 'unknown key "vip" (did you mean "vips"?)' "log names the problem"
has_addr 198.51.100.3 32 && pass "old configuration still applied" || fail "bad reload changed the kernel"
equals "$(http_code http://$API/ready)" "200" "still ready after a bad reload"
kill -0 $DAEMON && pass "daemon still running" || fail "daemon died on a bad reload"

# `lvs-rs-agent reload` (the unit's ExecReload) waits for the outcome and says it
expect_rc 2 "reload of the bad file is refused" agent reload
contains "$OUT" 'reload rejected, the previous configuration stays in force: ' "reload names the rejection"
contains "$OUT" 'unknown key "vip"' "and the problem"
contains "$(curl -s http://$API/status)" '"ok":false' "/status shows the rejected reload"
# (and a drain long enough to look at for the SIGTERM below, cut short there)
printf '%s' '{"vips": ["198.51.100.2", "198.51.100.3", "198.51.100.4"], "check_interval_ms": 100, "drain": {"min_seconds": 60, "max_seconds": 60}, "api": {"listen": "127.0.0.1:9100"}}' > "$STATE/config.json"
expect_rc 0 "reload of a good file" agent reload
contains "$OUT" "reloaded $STATE/config.json: 3 VIP(s)" "reload says what it loaded"
has_addr 198.51.100.4 32 && pass "the reload applied before it answered" || fail "reload answered before the VIP was bound"
contains "$(cat $STATE/daemon.log)" "reload: added 198.51.100.4/32 to lo" "logged as the reload's"

# SIGTERM: drain (60 s, so there is time to look), then a second SIGTERM skips the rest
kill -TERM $DAEMON
wait_for "drain logged" log_has "stopping: draining until no connection is left on the VIPs (at least 60 s, at most 60 s)"
wait_for "not ready while draining before exit" http_is 503 "http://$API/ready"
has_addr 198.51.100.3 32 && pass "VIPs still bound during the drain" || fail "VIPs removed before the drain ended"
kill -0 $DAEMON && pass "still running during the drain" || fail "exited before the drain ended"
kill -TERM $DAEMON
wait $DAEMON; rc=$?
equals "$rc" "0" "exit 0 after a drain cut short"
contains "$(cat $STATE/daemon.log)" "second stop signal: skipping the rest of the drain" "second signal logged"
has_addr 198.51.100.3 32 && fail "VIP left after exit" || pass "VIPs removed after the drain"
equals "$(sysv lo arp_ignore)" "3" "original lo arp_ignore restored at exit"

# A drain that runs out by itself
start_daemon '{"vips": ["198.51.100.1"], "check_interval_ms": 100, "drain_seconds": 1, "api": {"listen": "127.0.0.1:9100"}}' || exit 1
kill -TERM $DAEMON; wait $DAEMON; rc=$?
equals "$rc" "0" "exit 0 after the drain ran out"
contains "$(cat $STATE/daemon.log)" "stopping: draining until no connection is left on the VIPs (at least 1 s, at most 1 s)" "1 s drain logged"
has_addr 198.51.100.1 32 && fail "VIP left after a drain ran out" || pass "VIP removed after the drain ran out"

# kill -9, then a new run adopts, then stop restores the originals
start_daemon '{"vips": ["198.51.100.1"], "check_interval_ms": 100, "drain_seconds": 0, "api": {"listen": "127.0.0.1:9100"}}' || exit 1
kill -9 $DAEMON; wait $DAEMON 2>/dev/null
has_addr 198.51.100.1 32 && pass "kill -9 leaves the VIP" || fail "VIP gone after kill -9"
start_daemon '{"vips": ["198.51.100.1"], "check_interval_ms": 100, "drain_seconds": 0, "api": {"listen": "127.0.0.1:9100"}}' || exit 1
contains "$(cat $STATE/daemon.log)" "adopting the state of an earlier run" "new run adopts the state"
kill -9 $DAEMON; wait $DAEMON 2>/dev/null
expect_rc 0 "stop after two crashed runs" agent stop
equals "$(sysv lo arp_ignore) $(sysv all arp_ignore)" "3 0" "originals restored"
has_addr 198.51.100.1 32 && fail "VIP left" || pass "VIP removed"

# keep_on_exit
start_daemon '{"vips": ["198.51.100.1"], "check_interval_ms": 100, "drain_seconds": 0, "keep_on_exit": true, "api": {"listen": "127.0.0.1:9100"}}' || exit 1
stop_daemon
equals "$DAEMON_RC" "0" "exit 0"
has_addr 198.51.100.1 32 && pass "keep_on_exit leaves the VIP" || fail "keep_on_exit removed the VIP"
expect_rc 0 "stop afterwards" agent stop
# systemd's notify protocol: READY=1 with a STATUS after the first converge; STOPPING=1 at
# exit with EXTEND_TIMEOUT_USEC covering the drain and the undo (TimeoutStopSec never cuts
# a long drain off); a rejected reload in STATUS=.
# listen_notify SOCKET: collects datagrams on SOCKET into SOCKET.log, one line each, until
# ended (at most 120 s); returns once the socket is bound ("bound" is its first line).
listen_notify() {
  python3 - "$1" > "$1.log" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(0.2)
print("bound", flush=True)
end = time.time() + 120
while time.time() < end:
    try: print(s.recv(4096).decode().replace("\n", " | "), flush=True)
    except socket.timeout: pass
PY
  NOTIFY_PID=$!
  wait_until 20 grep -qx bound "$1.log" || { echo "notify listener did not bind"; return 1; }
}
end_notify() { kill "$NOTIFY_PID" 2>/dev/null; wait "$NOTIFY_PID" 2>/dev/null; NOTIFY_PID=; }
listen_notify "$STATE/notify.sock" || exit 1
printf '%s' '{"vips": ["198.51.100.1"], "check_interval_ms": 100, "drain": {"min_seconds": 6, "max_seconds": 6}, "api": {"listen": "127.0.0.1:9100"}}' > "$STATE/config.json"
NOTIFY_SOCKET=$STATE/notify.sock "$AGENT" run -c "$STATE/config.json" --state-dir "$STATE" >>"$STATE/daemon.log" 2>&1 & DAEMON=$!
wait_for "READY=1 with a status line" log_has "READY=1 | STATUS=ready: 1 VIP(s) in place" "$STATE/notify.sock.log"
printf '%s' '{"vips": 7}' > "$STATE/config.json"
expect_rc 2 "a bad reload under notify" agent reload
wait_for "STATUS= shows the rejected reload" log_has "STATUS=ready: 1 VIP(s) in place; reload rejected" "$STATE/notify.sock.log"
kill -TERM $DAEMON
wait_for "STOPPING=1 at exit" log_has "STOPPING=1" "$STATE/notify.sock.log"
# 6 s of drain + 30 s for the undo + 5 s until the next one, from now: at least 40 s
wait_for "EXTEND_TIMEOUT_USEC covers the drain" python3 -c "
import re,sys
v=[int(x) for x in re.findall(r'EXTEND_TIMEOUT_USEC=(\d+)', open('$STATE/notify.sock.log').read())]
sys.exit(0 if v and v[0] >= 40_000_000 else 1)"
wait_for "EXTEND_TIMEOUT_USEC again while draining" python3 -c "
import sys; sys.exit(0 if open('$STATE/notify.sock.log').read().count('EXTEND_TIMEOUT_USEC=') >= 2 else 1)"
wait $DAEMON
end_notify
rm -f "$STATE/notify.sock" "$STATE/notify.sock.log"

# A bad configuration at start: exit 2, nothing changed, no daemon left, and the reason
# where `systemctl status` shows it.
listen_notify "$STATE/notify.sock" || exit 1
printf '%s' '{"vips": ["198.51.100.1/24"]}' > "$STATE/config.json"
NOTIFY_SOCKET=$STATE/notify.sock "$AGENT" run -c "$STATE/config.json" --state-dir "$STATE" >/dev/null 2>&1
wait_for "STATUS= names the configuration error" log_has "STATUS=configuration rejected, nothing changed" "$STATE/notify.sock.log"
end_notify
before=$(kernel_snapshot)
printf '%s' '{"vips": ["198.51.100.1/24"]}' > "$STATE/config.json"
expect_rc 2 "run with a bad configuration" "$AGENT" run -c "$STATE/config.json" --state-dir "$STATE"
equals "$(kernel_snapshot)" "$before" "nothing changed"
finish
