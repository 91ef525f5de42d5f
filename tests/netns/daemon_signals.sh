#!/usr/bin/env bash
# SIGHUP reloads (a good file binds new VIPs and unbinds removed ones; a bad file is
# rejected and the old configuration keeps running); SIGTERM drains for drain_seconds,
# then undoes everything; kill -9 leaves a state that a new `run` adopts, and a later
# `stop` still restores the original sysctls. keep_on_exit leaves things in place.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"
trap 'end_started "${DAEMON:-}"' EXIT

setsys lo arp_ignore 3   # a non-default original to restore in the end
start_daemon '{"vips": ["198.51.100.1", "198.51.100.2"], "check_interval_ms": 100, "drain_seconds": 1, "api": {"listen": "127.0.0.1:9100"}}' || exit 1

# SIGHUP with a good file
printf '%s' '{"vips": ["198.51.100.2", "198.51.100.3"], "check_interval_ms": 100, "drain_seconds": 1, "api": {"listen": "127.0.0.1:9100"}}' > "$STATE/config.json"
kill -HUP $DAEMON
wait_for "reload binds the new VIP" has_addr 198.51.100.3 32
wait_for "reload unbinds the removed VIP" sh -c "! ip -o addr show dev lo | grep -q ' 198.51.100.1/32'"
has_addr 198.51.100.2 32 && pass "kept VIP stays" || fail "kept VIP lost"
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

# SIGTERM: drain, then undo
kill -TERM $DAEMON
sleep 0.3
equals "$(http_code http://$API/ready)" "503" "not ready while draining before exit"
has_addr 198.51.100.3 32 && pass "VIPs still bound during the drain" || fail "VIPs removed before the drain ended"
wait $DAEMON; rc=$?
equals "$rc" "0" "exit 0 after the drain"
has_addr 198.51.100.3 32 && fail "VIP left after exit" || pass "VIPs removed after the drain"
equals "$(sysv lo arp_ignore)" "3" "original lo arp_ignore restored at exit"
contains "$(cat $STATE/daemon.log)" "stopping: reporting not ready for 1 s" "drain logged"

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
# systemd's notify protocol: READY=1 with a STATUS after the first converge, STOPPING=1 at exit.
listen_notify() {  # collects datagrams on $1 for $2 seconds into $1.log
  python3 - "$1" "$2" > "$1.log" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(0.2)
end = time.time() + float(sys.argv[2])
while time.time() < end:
    try: print(s.recv(4096).decode().replace("\n", " | "), flush=True)
    except socket.timeout: pass
PY
  NOTIFY_PID=$!; sleep 0.3
}
listen_notify "$STATE/notify.sock" 3
printf '%s' '{"vips": ["198.51.100.1"], "check_interval_ms": 100, "drain_seconds": 0, "api": {"listen": "127.0.0.1:9100"}}' > "$STATE/config.json"
NOTIFY_SOCKET=$STATE/notify.sock "$AGENT" run -c "$STATE/config.json" --state-dir "$STATE" >>"$STATE/daemon.log" 2>&1 & DAEMON=$!
sleep 1; kill -TERM $DAEMON; wait $DAEMON; wait $NOTIFY_PID
contains "$(cat $STATE/notify.sock.log)" "READY=1 | STATUS=ready: 1 VIP(s) in place" "READY=1 with a status line"
contains "$(cat $STATE/notify.sock.log)" "STOPPING=1" "STOPPING=1 at exit"
rm -f "$STATE/notify.sock" "$STATE/notify.sock.log"

# A bad configuration at start: exit 2, nothing changed, no daemon left, and the reason
# where `systemctl status` shows it.
listen_notify "$STATE/notify.sock" 2
printf '%s' '{"vips": ["198.51.100.1/24"]}' > "$STATE/config.json"
NOTIFY_SOCKET=$STATE/notify.sock "$AGENT" run -c "$STATE/config.json" --state-dir "$STATE" >/dev/null 2>&1
wait $NOTIFY_PID
contains "$(cat $STATE/notify.sock.log)" "STATUS=configuration rejected, nothing changed" "STATUS= names the configuration error"
before=$(kernel_snapshot)
printf '%s' '{"vips": ["198.51.100.1/24"]}' > "$STATE/config.json"
expect_rc 2 "run with a bad configuration" "$AGENT" run -c "$STATE/config.json" --state-dir "$STATE"
equals "$(kernel_snapshot)" "$before" "nothing changed"
finish
