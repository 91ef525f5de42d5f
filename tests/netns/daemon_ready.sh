#!/usr/bin/env bash
# /ready and /ready/<vip> follow the truth: a service that listens only on another
# address fails its check on the VIP, drain (CLI and token) reports 503 while the VIPs
# stay bound, a conflict (the VIP on a real interface) is named; agent-check answers.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"
WEB=
trap 'end_started "${DAEMON:-}" "${WEB:-}"' EXIT
command -v python3 >/dev/null || skip_or_fail "python3 is not installed"

(umask 077; printf 'tok-0123456789abcdef0123456789abcdef\n' > "$STATE/token")
start_daemon "{\"vips\": [\"$VIP4\", \"198.51.100.189\"], \"check_interval_ms\": 100, \"drain_seconds\": 0,
  \"api\": {\"listen\": \"127.0.0.1:9100\", \"token_file\": \"$STATE/token\", \"agent_check_port\": 9101},
  \"services\": [{\"vip\": \"$VIP4\", \"port\": 8080, \"type\": \"http\", \"path\": \"/\", \"interval_ms\": 100, \"timeout_ms\": 50, \"rise\": 2, \"fall\": 2}]}" || exit 1
agent_check() { exec 3<>/dev/tcp/127.0.0.1/9101 && cat <&3; exec 3<&-; }

equals "$(http_code http://$API/ready)" "503" "not ready while the service is down"
body=$(curl -s http://$API/ready/$VIP4)
contains "$body" "service http $VIP4:8080/ is down" "per-VIP reason names the service"
equals "$(http_code http://$API/ready/198.51.100.189)" "200" "the other VIP (no service) is ready"
equals "$(http_code http://$API/ready/203.0.113.1)" "404" "an unmanaged VIP is 404"
equals "$(agent_check)" "down" "agent-check says down"

# A service bound to another address only: DR traffic to the VIP would never reach it.
# The checker must have probed a few times (rise is 2) while the listener was up, and
# still say down: checks are counted in /status.
python3 -m http.server 8080 --bind 127.0.0.1 >/dev/null 2>&1 & WEB=$!
wait_listening 127.0.0.1 8080 || exit 1
checks() { json_at "http://$API/status" 'd["services"][0]["checks"]'; }
checks_at_least() { [ "$(checks)" -ge "$1" ]; }
c0=$(checks)
wait_for "the checker probed 3 more times with the listener up" checks_at_least $((c0 + 3))
equals "$(http_code http://$API/ready/$VIP4)" "503" "service on 127.0.0.1 only is still down on the VIP"
contains "$(json_at "http://$API/status" 'd["services"][0]["last_error"]')" "refused" "the check's last error says the VIP refused"
kill $WEB; wait $WEB 2>/dev/null
python3 -m http.server 8080 --bind $VIP4 >/dev/null 2>&1 & WEB=$!
wait_for "service on the VIP brings /ready to 200" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$API/ready)\" = 200 ]"
equals "$(agent_check)" "up ready" "agent-check says up ready"
kill $WEB; wait $WEB 2>/dev/null; WEB=
wait_for "service stopped: 503 after fall" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$API/ready)\" = 503 ]"
python3 -m http.server 8080 --bind $VIP4 >/dev/null 2>&1 & WEB=$!
wait_for "service back: 200" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$API/ready)\" = 200 ]"

# Drain from the CLI
expect_rc 0 "drain (CLI)" "$AGENT" drain --state-dir "$STATE"
contains "$OUT" "draining: /ready answers 503" "CLI confirms"
wait_for "/ready 503 while draining" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$API/ready)\" = 503 ]"
contains "$(curl -s http://$API/ready)" '"draining"' "reason says draining"
equals "$(agent_check)" "up drain" "agent-check says drain"
has_addr $VIP4 32 && pass "VIP stays bound while draining" || fail "drain unbound the VIP"
expect_rc 0 "undrain (CLI)" "$AGENT" undrain --state-dir "$STATE"
wait_for "/ready 200 after undrain" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$API/ready)\" = 200 ]"
expect_rc 1 "drain with no daemon behind the state dir" "$AGENT" drain --state-dir "$STATE/none"
contains "$OUT" "cannot reach the running agent" "says why"

# Drain over HTTP: token required
equals "$(http_code -X POST http://$API/drain)" "401" "POST /drain without a token"
equals "$(http_code -X POST -H 'Authorization: Bearer wrong-token-000000' http://$API/drain)" "401" "POST /drain with a wrong token"
equals "$(http_code http://$API/ready)" "200" "still ready after refused drains"
equals "$(http_code -X POST -H 'Authorization: Bearer tok-0123456789abcdef0123456789abcdef' http://$API/drain)" "200" "POST /drain with the token"
wait_for "drained over HTTP" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$API/ready)\" = 503 ]"
equals "$(http_code -X POST -H 'Authorization: Bearer tok-0123456789abcdef0123456789abcdef' http://$API/undrain)" "200" "POST /undrain with the token"
wait_for "undrained over HTTP" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$API/ready)\" = 200 ]"
equals "$(http_code -X DELETE http://$API/ready)" "405" "wrong method is 405"
equals "$(http_code -H 'Content-Length: 5' --data-binary 'xxxxx' -X GET http://$API/ready)" "400" "GET with a body is 400"

# A conflict appears: the second VIP is bound on a real interface.
ip link add veth0 type veth peer name veth1; ip link set veth0 up
ip addr add 198.51.100.189/32 dev veth0
wait_for "conflict makes that VIP not ready" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$API/ready/198.51.100.189)\" = 503 ]"
contains "$(curl -s http://$API/ready/198.51.100.189)" "also an address of veth0" "the reason names the interface"
equals "$(http_code http://$API/ready/$VIP4)" "200" "the other VIP stays ready during the conflict"
equals "$(http_code http://$API/ready)" "503" "the aggregate /ready needs every VIP"
ip addr del $VIP4/32 dev lo
wait_for "the other VIP is still repaired during the conflict" has_addr $VIP4 32
ip addr del 198.51.100.189/32 dev veth0
wait_for "conflict resolved: ready" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$API/ready)\" = 200 ]"
equals "$(curl -s http://$API/metrics | grep '^lvs_rs_agent_service_up' | awk '{print $NF}')" "1" "service_up metric"
finish
