#!/usr/bin/env bash
# HAProxy from Debian as a real director-side poller: its view of this real server (stats
# socket `show stat`) goes UP, DOWN on drain and when the VIP is removed from the agent's
# configuration, and UP again; the same through agent-check (DRAIN on drain).
# Per VIP: one backend server per VIP, whose agent-check sends its VIP (agent-send, as
# director-config writes it); `drain --vip` (or POST /drain/<vip>, or "drained": true)
# puts that one alone in DRAIN, and it stays so across a reload.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"
WEB= HAP=
trap 'end_started "${DAEMON:-}" "${WEB:-}" "${HAP:-}"' EXIT
for t in haproxy python3; do command -v $t >/dev/null || skip_or_fail "$t is not installed"; done

VIP2=198.51.100.189
(umask 077; printf 'haproxy-test-token-0123456789abcdef\n' > "$STATE/token")
API_CFG="\"api\": {\"listen\": \"127.0.0.1:9100\", \"agent_check_port\": 9101, \"token_file\": \"$STATE/token\"}"
CFG_ON="{\"vips\": [\"$VIP4\", \"$VIP2\"], \"check_interval_ms\": 100, \"drain_seconds\": 0, $API_CFG}"
CFG_OFF="{\"vips\": [\"$VIP2\"], \"check_interval_ms\": 100, \"drain_seconds\": 0, $API_CFG}"
CFG_DRAINED="{\"vips\": [\"$VIP4\", {\"address\": \"$VIP2\", \"drained\": true}], \"check_interval_ms\": 100, \"drain_seconds\": 0, $API_CFG}"
start_daemon "$CFG_ON" || exit 1
python3 -m http.server 80 --bind $VIP4 >/dev/null 2>&1 & WEB=$!

cat > "$STATE/haproxy.cfg" <<CFG
global
  stats socket $STATE/haproxy.sock mode 600 level admin
defaults
  mode http
  timeout check 2s
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
backend vip188
  server rs1 $VIP4:80 check addr 127.0.0.1 port 9100 inter 100ms fall 1 rise 1 agent-check agent-addr 127.0.0.1 agent-port 9101 agent-send "$VIP4\n" agent-inter 100ms
backend vip189
  server rs1 $VIP2:80 check addr 127.0.0.1 port 9100 inter 100ms fall 1 rise 1 agent-check agent-addr 127.0.0.1 agent-port 9101 agent-send "$VIP2\n" agent-inter 100ms
backend not_a_vip
  server rs1 $VIP4:80 check addr 127.0.0.1 port 9100 inter 100ms fall 1 rise 1 agent-check agent-addr 127.0.0.1 agent-port 9101 agent-send "203.0.113.9\n" agent-inter 100ms
CFG
haproxy -c -f "$STATE/haproxy.cfg" >/dev/null 2>&1 && pass "haproxy accepts the configuration" || fail "haproxy -c: $(haproxy -c -f "$STATE/haproxy.cfg" 2>&1)"
haproxy -f "$STATE/haproxy.cfg" -db >"$STATE/haproxy.log" 2>&1 & HAP=$!

# HAProxy's status of server rs1 in a backend (or another column: hap_status BACKEND COLUMN).
hap_status() { haproxy_stat "$STATE/haproxy.sock" "$1" rs1 "${2:-status}"; }
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

# Per VIP. Each condition reads both servers at (nearly) one moment.
both() { hap_is vip188 "$1" && hap_is vip189 "$2"; }
wait_for "per-VIP agent-check: both VIPs UP" both UP UP
# DOWN alone can come before the first agent reply (a busy machine): wait for the reply too.
agent_says() { [[ "$(hap_status "$1" last_agt)" == *"$2"* ]]; }
wait_for "an agent-send that is not a VIP: DOWN" hap_is not_a_vip DOWN
wait_for "HAProxy shows why (the reply's description)" agent_says not_a_vip "203.0.113.9 is not a VIP of this agent"
run "$AGENT" drain --vip $VIP4 --state-dir "$STATE"
equals "$RC" 0 "drain --vip exits 0"
contains "$OUT" "draining $VIP4: /ready/$VIP4 answers 503" "drain --vip says what it did"
wait_for "drain --vip $VIP4: its server DRAIN, the other VIP's UP" both DRAIN UP
equals "$(http_code http://$API/ready/$VIP2)" 200 "/ready of the other VIP stays 200"
equals "$(curl -s http://$API/ready/$VIP4)" '{"ready":false,"reasons":["draining"]}' "/ready/$VIP4: 503, reason draining"
equals "$(http_code http://$API/ready)" 200 "the aggregate /ready stays 200"
contains "$(agent status -c "$STATE/config.json")" "VIPs drained on their own: 1 ($VIP4)" "status shows the drained VIP"
contains "$(curl -s http://$API/metrics)" "lvs_rs_agent_vip_draining{vip=\"$VIP4\"} 1" "metric lvs_rs_agent_vip_draining"
# Across a reload (the file unchanged): still drained.
run "$AGENT" reload --state-dir "$STATE"
equals "$RC" 0 "reload"
both DRAIN UP && equals "$(http_code http://$API/ready/$VIP4)" 503 "the drain survives a reload" || fail "after the reload: $(hap_status vip188) / $(hap_status vip189)"
# Swapped, by the HTTP API for one of them: each backend follows its own VIP.
TOKEN="Authorization: Bearer $(cat "$STATE/token")"
equals "$(http_code -X POST -H "$TOKEN" http://$API/undrain/$VIP4)" 200 "POST /undrain/$VIP4"
equals "$(http_code -X POST -H "$TOKEN" http://$API/drain/203.0.113.9)" 404 "POST /drain of a VIP not configured: 404"
run "$AGENT" drain --vip $VIP2 --vip 203.0.113.9 --state-dir "$STATE"
equals "$RC" 1 "drain --vip with one VIP not configured fails"
contains "$OUT" "not a VIP of this agent's configuration: 203.0.113.9; nothing changed" "and names it"
equals "$(http_code http://$API/ready/$VIP2)" 200 "and drained nothing"
run "$AGENT" drain --vip 198.51.100.189/24 --state-dir "$STATE"
equals "$RC" 2 "drain --vip with a malformed address: exit 2"
contains "$OUT" "--vip: \"198.51.100.189/24\" has prefix /24" "and names it"
"$AGENT" drain --vip $VIP2 --state-dir "$STATE" >/dev/null
wait_for "swapped: $VIP4 UP, $VIP2 DRAIN" both UP DRAIN
"$AGENT" undrain --vip $VIP2 --state-dir "$STATE" >/dev/null
wait_for "undrain --vip: both UP" both UP UP
# Planned maintenance in the file: "drained": true, applied by a reload.
printf '%s' "$CFG_DRAINED" > "$STATE/config.json"
run "$AGENT" reload --state-dir "$STATE"
equals "$RC" 0 "reload with \"drained\": true"
wait_for "\"drained\": true: $VIP2 DRAIN, $VIP4 UP" both UP DRAIN
finish
