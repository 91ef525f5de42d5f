#!/usr/bin/env bash
# 10,000 VIPs (198.18.0.0/15, the benchmarking range, inside this private namespace only):
# start binds them all, run repairs 100 deleted addresses and 100 deleted routes from
# their events, SIGTERM undoes exactly what was added, stop finds nothing left.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"
trap 'end_started "${DAEMON:-}"' EXIT
N=10000
python3 - "$N" > "$STATE/vips" <<'PY'
import ipaddress, sys
n = int(sys.argv[1])
hosts = (a for a in ipaddress.ip_network("198.18.0.0/15").hosts() if a.packed[3] not in (0, 255))
print("\n".join(str(next(hosts)) for _ in range(n)))
PY
list=$(sed 's/.*/"&"/' "$STATE/vips" | paste -sd,)
lo_count() { ip -o -4 addr show dev lo | grep -c ' 198\.1[89]\.'; }
route_count() { ip route show table main proto 177 | grep -c '^198\.1[89]\.'; }

printf '{"vips": [%s]}' "$list" > "$STATE/start.json"
expect_rc 0 "start with $N VIPs" agent start -c "$STATE/start.json"
equals "$(lo_count) $(route_count)" "$N $N" "every VIP bound and routed"
expect_rc 0 "stop" agent stop
equals "$(lo_count) $(route_count)" "0 0" "stop removed them all"

start_daemon "{\"vips\": [$list], \"drain_seconds\": 0, \"api\": {\"listen\": \"127.0.0.1:9100\"}}" || exit 1
equals "$(lo_count) $(route_count)" "$N $N" "run bound every VIP"
dumps0=$(json_at http://$API/status 'd["reconcile"]["full_dumps"]')
head -n 100 "$STATE/vips" | sed 's#.*#address del &/32 dev lo#' | ip -batch -
sed -n '201,300p' "$STATE/vips" | sed 's#.*#route del &/32 dev lo proto 177#' | ip -batch -
wait_for "100 deleted addresses and 100 deleted routes repaired" sh -c "[ \"\$(ip -o -4 addr show dev lo | grep -c ' 198\.1[89]\.') \$(ip route show table main proto 177 | grep -c '^198\.1[89]\.')\" = '$N $N' ]"
wait_for "ready" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$API/ready)\" = 200 ]"
equals "$(json_at http://$API/status 'd["reconcile"]["full_dumps"]')" "$dumps0" "repaired from the events, without a full dump"
equals "$(json_at http://$API/status 'd["repairs"]["address"], d["repairs"]["route"]')" "100 100" "one repair per deletion"
len=$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$STATE/daemon.log")
[ "$len" -lt 1000 ] && pass "log lines stay short (longest $len bytes)" || fail "a log line of $len bytes"
stop_daemon
equals "$DAEMON_RC" "0" "SIGTERM exits 0"
equals "$(lo_count) $(route_count)" "0 0" "exit undid everything"
expect_rc 0 "stop afterwards" agent stop
contains "$OUT" "nothing to undo" "nothing left to undo"
finish
