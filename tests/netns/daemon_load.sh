#!/usr/bin/env bash
# `run` under load: 8 clients poll /ready, /ready/<vip>, /status and /metrics while VIPs
# are deleted (each deletion awaited until repaired) and the configuration is reloaded
# back and forth. The ThreadSanitizer build runs this too. Bounded: 40 deletions, 30
# reloads, clients stop when the churn is done (or after 120 s).
source "$(dirname "$0")/lib.sh"; enter_netns "$@"
CLIENTS=()
trap 'end_started "${DAEMON:-}" "${CLIENTS[@]}"' EXIT

vips_json() { python3 -c "import json,sys; print(json.dumps([f'198.51.100.{h}' for h in range(1, int(sys.argv[1]) + 1)] + ['2001:db8::1']))" "$1"; }
config() { printf '{"vips": %s, "check_interval_ms": 100, "drain_seconds": 0, "api": {"listen": "127.0.0.1:9100"}}' "$(vips_json "$1")"; }
config 20 > "$STATE/config-20.json"; config 25 > "$STATE/config-25.json"
start_daemon "$(cat "$STATE/config-20.json")" || exit 1

# Each client counts answers that were not a known status; it stops when the flag goes.
touch "$STATE/polling"
for c in $(seq 1 8); do
  (
    bad=0; n=0; end=$(( $(now_us) + 120000000 ))
    while [ -e "$STATE/polling" ] && [ "$(now_us)" -lt "$end" ]; do
      for path in /ready /ready/198.51.100.$(( (n % 20) + 1 )) /status /metrics; do
        code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://$API$path")
        case $code in 200|503|404) ;; *) bad=$((bad + 1)) ;; esac
        n=$((n + 1))
      done
    done
    echo "$n $bad" > "$STATE/client.$c"
  ) &
  CLIENTS+=($!)
done

for i in $(seq 1 40); do
  v=198.51.100.$(( (i % 20) + 1 ))
  wait_until 20 has_addr "$v" 32 || { fail "VIP $v not in place before deletion $i"; break; }
  ip addr del "$v/32" dev lo 2>/dev/null
  if [ $((i % 4)) = 0 ]; then ip route del "$v/32" dev lo proto 177 2>/dev/null; fi
done
for i in $(seq 1 30); do
  if [ $((i % 2)) = 1 ]; then cp "$STATE/config-25.json" "$STATE/config.json"; else cp "$STATE/config-20.json" "$STATE/config.json"; fi
  kill -HUP "$DAEMON"
  want=$([ $((i % 2)) = 1 ] && echo 198.51.100.25 || echo "")
  if [ -n "$want" ]; then wait_until 20 has_addr "$want" 32 || fail "reload $i did not bind $want"
  else wait_until 20 sh -c "! ip -o addr show dev lo | grep -q ' 198.51.100.25/32'" || fail "reload $i did not unbind 198.51.100.25"; fi
done
rm -f "$STATE/polling"
for p in "${CLIENTS[@]}"; do wait "$p"; done
CLIENTS=()
total=0; bad=0
for c in $(seq 1 8); do read -r n b < "$STATE/client.$c"; total=$((total + n)); bad=$((bad + b)); done
echo "clients: $total requests, $bad failed"
[ "$total" -gt 0 ] && pass "8 clients polled ($total requests)" || fail "no request was made"
equals "$bad" "0" "every poll answered with a known status"
all_bound() { for h in $(seq 1 20); do has_addr 198.51.100.$h 32 || return 1; done; has_route 198.51.100.1; }
wait_for "every VIP in place after the churn" all_bound
wait_for "ready after the churn" http_is 200 "http://$API/ready"
kill -0 "$DAEMON" && pass "daemon alive" || fail "daemon died"
stop_daemon
equals "$DAEMON_RC" "0" "SIGTERM exits 0"
equals "$(ip -o addr show dev lo | grep -c '198.51.100')" "0" "every VIP removed at exit"
finish
