#!/usr/bin/env bash
# HAProxy from Debian as a real director-side poller: its view of this real server (stats
# socket `show stat`) goes UP, DOWN on drain and when the VIP is removed from the agent's
# configuration, and UP again; the same through agent-check (DRAIN on drain).
source "$(dirname "$0")/lib.sh"; enter_netns "$@"
WEB= HAP=
trap 'end_started "${DAEMON:-}" "${WEB:-}" "${HAP:-}"' EXIT
for t in haproxy python3; do command -v $t >/dev/null || skip_or_fail "$t is not installed"; done

CFG_ON='{"vips": ["198.51.100.188", "198.51.100.189"], "check_interval_ms": 100, "drain_seconds": 0, "api": {"listen": "127.0.0.1:9100", "agent_check_port": 9101}}'
CFG_OFF='{"vips": ["198.51.100.189"], "check_interval_ms": 100, "drain_seconds": 0, "api": {"listen": "127.0.0.1:9100", "agent_check_port": 9101}}'
start_daemon "$CFG_ON" || exit 1
python3 -m http.server 80 --bind $VIP4 >/dev/null 2>&1 & WEB=$!

cat > "$STATE/haproxy.cfg" <<CFG
global
  stats socket $STATE/haproxy.sock mode 600 level admin
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend fe
  bind 127.0.0.1:8080
  default_backend by_httpchk
backend by_httpchk
  option httpchk GET /ready/$VIP4
  server rs1 $VIP4:80 check addr 127.0.0.1 port 9100 inter 100ms fall 1 rise 1
backend by_agent
  server rs1 $VIP4:80 check inter 100ms fall 1 rise 1 agent-check agent-addr 127.0.0.1 agent-port 9101 agent-inter 100ms
CFG
haproxy -c -f "$STATE/haproxy.cfg" >/dev/null 2>&1 && pass "haproxy accepts the configuration" || fail "haproxy -c: $(haproxy -c -f "$STATE/haproxy.cfg" 2>&1)"
haproxy -f "$STATE/haproxy.cfg" -db >"$STATE/haproxy.log" 2>&1 & HAP=$!

# HAProxy's status of server rs1 in a backend, from `show stat` on its stats socket.
hap_status() {
  python3 - "$STATE/haproxy.sock" "$1" <<'PY'
import socket, sys, csv
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"show stat\n")
data = b""
while True:
    b = s.recv(65536)
    if not b: break
    data += b
rows = list(csv.reader(data.decode().lstrip("# ").splitlines()))
hdr = rows[0]
for r in rows[1:]:
    if len(r) > 1 and r[0] == sys.argv[2] and r[1] == "rs1":
        print(r[hdr.index("status")])
PY
}
hap_is() { local s; s=$(hap_status "$1"); [ "$s" = "$2" ] || [ "${s% (agent)}" = "$2" ]; }

wait_for "httpchk: UP" hap_is by_httpchk UP
wait_for "agent-check: UP" hap_is by_agent UP
"$AGENT" drain --state-dir "$STATE" >/dev/null
wait_for "httpchk: DOWN on drain" hap_is by_httpchk DOWN
wait_for "agent-check: DRAIN on drain" hap_is by_agent DRAIN
"$AGENT" undrain --state-dir "$STATE" >/dev/null
wait_for "httpchk: UP after undrain" hap_is by_httpchk UP
wait_for "agent-check: UP after undrain (\"ready\" leaves drain)" hap_is by_agent UP

# The VIP removed from the agent's configuration (SIGHUP): 404 for it, agent-check down.
printf '%s' "$CFG_OFF" > "$STATE/config.json"; kill -HUP $DAEMON
wait_for "httpchk: DOWN when the VIP is removed" hap_is by_httpchk DOWN
printf '%s' "$CFG_ON" > "$STATE/config.json"; kill -HUP $DAEMON
wait_for "httpchk: UP when the VIP is back" hap_is by_httpchk UP
# The VIP missing while the agent cannot put it back (a real interface holds it).
ip link add veth0 type veth peer name veth1; ip link set veth0 up; ip addr add $VIP4/32 dev veth0
wait_for "httpchk: DOWN on a VIP conflict" hap_is by_httpchk DOWN
wait_for "agent-check: DOWN on a VIP conflict" hap_is by_agent DOWN
ip addr del $VIP4/32 dev veth0
wait_for "httpchk: UP again" hap_is by_httpchk UP
wait_for "agent-check: UP again" hap_is by_agent UP
finish
