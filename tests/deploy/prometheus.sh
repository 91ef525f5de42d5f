#!/usr/bin/env bash
# deploy/prometheus and deploy/grafana: `promtool check rules` and `promtool test rules`
# pass, and fail once a rule is broken on purpose (the tests can fail); every
# lvs_rs_agent_* metric the rules and the dashboard use is one the agent exports, and
# `promtool check metrics` finds nothing to lint in what a running agent exports (with
# the standard process_* metrics), read in a private network namespace.
#   tests/deploy/prometheus.sh AGENT SOURCE_DIR
source "$(dirname "$0")/../netns/lib.sh"; enter_netns "$@"
SRC=${2:?usage: $0 AGENT SOURCE_DIR}
PROMTOOL=$(command -v promtool || echo /var/tmp/lvs-promtool/root/usr/bin/promtool)
[ -x "$PROMTOOL" ] || skip_or_fail "no promtool (.ci/install-deps.sh extracts it from Debian's prometheus package)"
RULES=$SRC/deploy/prometheus/lvs-rs-agent.rules.yml
DASH=$SRC/deploy/grafana/lvs-rs-agent.json

expect_rc 0 "promtool check rules" "$PROMTOOL" check rules "$RULES"
contains "$OUT" "SUCCESS: 7 rules found" "seven rules"
cp "$RULES" "$SRC/deploy/prometheus/lvs-rs-agent.rules.test.yml" "$STATE/"
expect_rc 0 "promtool test rules" "$PROMTOOL" test rules "$STATE/lvs-rs-agent.rules.test.yml"
# broken on purpose: the agent-down alert waits 10 minutes instead of 2
sed -i '0,/for: 2m/s//for: 10m/' "$STATE/lvs-rs-agent.rules.yml"
run "$PROMTOOL" test rules "$STATE/lvs-rs-agent.rules.test.yml"
[ "$RC" != 0 ] && pass "the rule tests fail for a broken rule (exit $RC)" || fail "the rule tests pass with a broken rule"
# and the announced-but-not-ready alert joined on the wrong labels (per instance, not VIP)
cp "$RULES" "$STATE/lvs-rs-agent.rules.yml"
sed -i 's/lvs_rs_agent_vip_announced == 1$/max by (instance, job) (lvs_rs_agent_vip_announced) == 1/' "$STATE/lvs-rs-agent.rules.yml"
grep -q "max by (instance, job) (lvs_rs_agent_vip_announced)" "$STATE/lvs-rs-agent.rules.yml" || fail "the second mutation did not apply"
run "$PROMTOOL" test rules "$STATE/lvs-rs-agent.rules.test.yml"
[ "$RC" != 0 ] && pass "the rule tests fail for an announce alert that loses the VIP label (exit $RC)" || fail "the rule tests pass with a broken announce alert"

python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$DASH" && pass "the dashboard is valid JSON" || fail "the dashboard is not JSON"

# The metrics an agent exports, with a service check so service_up is there too.
trap 'end_started "${DAEMON:-}"' EXIT
start_daemon '{"vips": ["198.51.100.1"], "announce": {"table": 200}, "drain_seconds": 0, "api": {"listen": "127.0.0.1:9100"}, "services": [{"vip": "198.51.100.1", "port": 80}]}' || exit 1
wait_until 10 sh -c "curl -sf http://127.0.0.1:9100/metrics > $STATE/metrics" && pass "/metrics answered" || fail "/metrics did not answer"
exported=$(grep -oE '^lvs_rs_agent_[a-z_]+' "$STATE/metrics" | sort -u)
used=$(cat "$RULES" "$DASH" | grep -oE 'lvs_rs_agent_[a-z_]+' | sort -u)
missing=
for m in $used; do
  grep -qx "$m" <<<"$exported" || missing+=" $m"
done
equals "${missing:-none}" "none" "every metric the rules and the dashboard use is exported"
run sh -c "'$PROMTOOL' check metrics < '$STATE/metrics'"
equals "$RC:$OUT" "0:" "promtool check metrics finds nothing to lint"
for m in process_cpu_seconds_total process_resident_memory_bytes process_virtual_memory_bytes process_open_fds process_max_fds process_start_time_seconds; do
  grep -qE "^$m [0-9.]+$" "$STATE/metrics" && pass "exports $m" || fail "no $m"
done
stop_daemon
finish
