#!/usr/bin/env bash
# Service checks against real servers written for the test (check_servers.py):
# - https: a self-signed certificate is up with verify false (no SNI sent), down with
#   verify true against the system's CAs, up with its own ca_file and the name it holds
#   (that name sent as SNI), down for another name; https against plain HTTP is down;
# - http: expect_body matched (up) and not (down);
# - exec: exit 0 up; exit 1 down with its first line as the reason; a hang killed at the
#   timeout with its whole process group; no capabilities, a clean environment, stdin
#   /dev/null; script files anyone else could change refused by check, start and reload
#   (exit 2, nothing changed);
# - dns (UDP): a responder is up, a silent port is down;
# - a black hole (3 s timeout) never delays another VIP's 200 ms check: its service dies
#   and /ready/<vip> turns 503 within one interval plus fall.
# A mount namespace puts the scripts on a root-owned tmpfs (/tmp is writable by all, so
# scripts under it are refused, which is tested too).
NEED_MOUNT_NS=1
source "$(dirname "$0")/lib.sh"; enter_netns "$@"
PIDS=()
trap 'end_started "${DAEMON:-}" "${PIDS[@]}"' EXIT
command -v python3 >/dev/null || skip_or_fail "python3 is not installed"
command -v openssl >/dev/null || skip_or_fail "openssl is not installed"
SERVERS="$(dirname "$0")/check_servers.py"
FAST=198.51.100.189   # the 200 ms check's VIP
HOLE=198.51.100.190   # the black hole's VIP

ip link set lo up
mount -t tmpfs -o mode=0755 tmpfs /mnt || skip_or_fail "cannot mount a tmpfs in the test's mount namespace"
S=/mnt/checks; mkdir -m 0755 $S
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=www.example.org -addext subjectAltName=DNS:www.example.org \
  -keyout "$STATE/key.pem" -out "$STATE/cert.pem" 2>/dev/null || { fail "openssl made no certificate"; finish; }

script() {  # script NAME BODY: a root-owned 0755 script in $S
  printf '#!/bin/sh\n%s\n' "$2" > "$S/$1"; chmod 0755 "$S/$1"
}
script ok.sh 'exit 0'
script lag.sh 'echo "replication lag 42 s (limit 5)"; echo "second line"; exit 1'
script hang.sh "echo \$\$ >> $STATE/hang.pids; sleep 60 & echo \$! >> $STATE/hang.pids; wait"
# What the command sees: no capabilities, stdin /dev/null, only PATH, LVS_VIP, LVS_PORT.
script env.sh 'caps=$(sed -n "s/^CapEff:[[:space:]]*//p" /proc/self/status)
[ "$caps" = 0000000000000000 ] || { echo "capabilities $caps"; exit 1; }
[ "$(readlink /proc/self/fd/0)" = /dev/null ] || { echo "stdin is $(readlink /proc/self/fd/0)"; exit 1; }
[ -z "${LEAKED_FROM_THE_AGENT:-}" ] || { echo "the environment leaked"; exit 1; }
[ "$LVS_VIP" = 198.51.100.188 ] && [ "$LVS_PORT" = 5432 ] || { echo "LVS_VIP=$LVS_VIP LVS_PORT=$LVS_PORT"; exit 1; }
[ -n "$PATH" ] || { echo "no PATH"; exit 1; }
exit 0'
export LEAKED_FROM_THE_AGENT=1

svc() { printf '{"vip": "%s", "interval_ms": %s, "timeout_ms": %s, "rise": 1, "fall": 1, %s}' "$1" "$2" "$3" "$4"; }
CA="\"ca_file\": \"$STATE/cert.pem\""
CHECKS=(
  "$(svc $VIP4 1000 1000 '"type": "https", "port": 8443')"
  "$(svc $VIP4 1000 1000 '"type": "https", "port": 8443, "path": "/system-cas", "verify": true')"
  "$(svc $VIP4 1000 1000 "\"type\": \"https\", \"port\": 8443, \"path\": \"/own-ca\", \"verify\": true, $CA, \"host\": \"www.example.org\"")"
  "$(svc $VIP4 1000 1000 "\"type\": \"https\", \"port\": 8443, \"path\": \"/other-name\", \"verify\": true, $CA, \"host\": \"other.example.org\"")"
  "$(svc $VIP4 1000 1000 '"type": "https", "port": 8080, "path": "/plain"')"
  "$(svc $VIP4 1000 1000 '"type": "http", "port": 8080, "expect_body": "ok-body"')"
  "$(svc $VIP4 1000 1000 '"type": "http", "port": 8080, "path": "/miss", "expect_status": [200, 204], "expect_body": "maintenance"')"
  "$(svc $VIP4 1000 1000 "\"type\": \"exec\", \"command\": [\"$S/ok.sh\"]")"
  "$(svc $VIP4 1000 1000 "\"type\": \"exec\", \"command\": [\"$S/lag.sh\", \"--max\", \"5\"]")"
  "$(svc $VIP4 500 200 "\"type\": \"exec\", \"command\": [\"$S/hang.sh\"]")"
  "$(svc $VIP4 1000 1000 "\"type\": \"exec\", \"port\": 5432, \"command\": [\"$S/env.sh\"]")"
  "$(svc $VIP4 1000 1000 '"type": "dns", "query": "www.example.org", "qtype": "AAAA"')"
  "$(svc $VIP4 500 300 '"type": "dns", "port": 5300, "query": "www.example.org"')"
  "$(svc $FAST 200 150 '"type": "tcp", "port": 8082')"
  "$(svc $HOLE 3000 3000 '"type": "http", "port": 8081')"
)
services=$(IFS=,; echo "${CHECKS[*]}")
CONFIG="{\"vips\": [\"$VIP4\", \"$FAST\", \"$HOLE\"], \"check_interval_ms\": 100, \"drain\": {\"min_seconds\": 0},
  \"api\": {\"listen\": \"$API\"}, \"services\": [$services]}"

# check shows each service check it would run.
printf '%s' "$CONFIG" > "$STATE/config.json"
expect_rc 0 "check accepts the configuration" agent check -c "$STATE/config.json"
contains "$OUT" "https $VIP4:8443/own-ca host www.example.org" "check names the https check"
contains "$OUT" "exec $VIP4 $S/lag.sh --max 5" "check names the exec check and its arguments"
contains "$OUT" "dns $VIP4:53 www.example.org AAAA" "check names the dns check"

start_daemon "$CONFIG" || exit 1
serve() {  # serve KIND ARGS...: a check server, up when it says "ready"
  local out="$STATE/server.$RANDOM"
  python3 "$SERVERS" "$@" > "$out" 2>&1 & PIDS+=($!)
  wait_until 20 grep -q ready "$out" || { fail "check server $* did not start:"; cat "$out"; finish; }
}
serve https $VIP4 8443 "$STATE/cert.pem" "$STATE/key.pem" "$STATE/sni.log"
serve http $VIP4 8080
serve dns $VIP4 53
serve silent-udp $VIP4 5300
serve black-hole $HOLE 8081
serve http $FAST 8082
FAST_SERVER=${PIDS[-1]}

# One service's field from /status, by its name.
field() {  # field NAME KEY
  curl -s "http://$API/status" | python3 -c '
import json, sys
for s in json.load(sys.stdin)["services"]:
    if s["name"] == sys.argv[1]: print(s[sys.argv[2]])' "$1" "$2"
}
probed() { [ "$(field "$1" checks)" -ge 2 ]; }   # checked at least twice since the servers are up
state_is() {  # state_is NAME up|down: the check's state after at least two probes
  probed "$1" && [ "$(field "$1" up)" = "$([ "$2" = up ] && echo True || echo False)" ]
}
expect_state() {  # expect_state NAME up|down [REASON]
  if wait_until 15 state_is "$1" "$2"; then pass "$1 is $2"; else fail "$1 is not $2: $(field "$1" last_error)"; return; fi
  [ -n "${3:-}" ] && contains "$(field "$1" last_error)" "$3" "$1: the reason says '$3'"
}

expect_state "https $VIP4:8443/" up
grep -qx none "$STATE/sni.log" && pass "without host no SNI is sent" || fail "SNI without host: $(sort -u "$STATE/sni.log" | tr '\n' ' ')"
expect_state "https $VIP4:8443/system-cas" down "certificate not trusted"
expect_state "https $VIP4:8443/own-ca host www.example.org" up
grep -qx www.example.org "$STATE/sni.log" && pass "host is sent as SNI" || fail "SNI www.example.org not seen: $(sort -u "$STATE/sni.log" | tr '\n' ' ')"
expect_state "https $VIP4:8443/other-name host other.example.org" down "does not name other.example.org"
expect_state "https $VIP4:8080/plain" down "TLS handshake failed"
expect_state "http $VIP4:8080/" up
expect_state "http $VIP4:8080/miss" down 'the body does not hold "maintenance"'
expect_state "exec $VIP4 $S/ok.sh" up
expect_state "exec $VIP4 $S/lag.sh --max 5" down "exit 1: replication lag 42 s (limit 5)"
lacks "$(field "exec $VIP4 $S/lag.sh --max 5" last_error)" "second line" "only the first line of output is the reason"
expect_state "exec $VIP4:5432 $S/env.sh" up
expect_state "exec $VIP4 $S/hang.sh" down "no result within 200 ms"
expect_state "dns $VIP4:53 www.example.org AAAA" up
expect_state "dns $VIP4:5300 www.example.org A" down "no answer within 300 ms"
expect_state "tcp $FAST:8082" up
contains "$(curl -s "http://$API/ready/$VIP4")" "service exec $VIP4 $S/lag.sh --max 5 is down: exit 1: replication lag 42 s" "/ready/<vip> shows the script's reason"
# The daemon's loop logs the transition after the checker has it (/ready can show it first).
lag_logged() { log_has "exec $VIP4 $S/lag.sh --max 5" && log_has "replication lag 42 s"; }
wait_for "the log shows the script's reason" lag_logged
contains "$(curl -s "http://$API/metrics")" "lvs_rs_agent_service_probes_total{check=\"exec $VIP4 $S/hang.sh\",vip=\"$VIP4\",port=\"\",type=\"exec\",result=\"timeout\"}" "timeouts are counted per check"

# The hang: each instance (the script and its sleep) is killed at the timeout. Probes of
# one check never overlap, so by the second timeout the first instance is gone for good.
timeouts_reach() {  # timeouts_reach N
  [ "$(curl -s "http://$API/status" | python3 -c '
import json, sys
print([s for s in json.load(sys.stdin)["services"] if s["name"].endswith("hang.sh")][0]["probes"]["timeout"])')" -ge "$1" ]
}
wait_until 10 timeouts_reach 2 || fail "the hang did not time out twice"
# (a killed script's child is reparented to PID 1, which reaps it in its own time: a
# zombie is dead, so only live processes count)
# (the PIDs are the host's: one is the script's only while its command line says so)
alive() {
  [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ] &&
    tr '\0' ' ' 2>/dev/null < "/proc/$1/cmdline" | grep -qE "hang\.sh|^sleep 60"
}
first=$(head -2 "$STATE/hang.pids" | tr '\n' ' ')
gone=1; for p in $first; do alive "$p" && gone=0; done
equals "$gone" 1 "the first hung instance and its child are gone ($first)"

# The black hole holds a probe for 3 s; the 200 ms check beside it is not delayed: its
# service dies and its VIP turns 503 within interval + fall (200 ms) plus slack for a
# busy machine and the sanitizers, always well inside the black hole's 3 s.
wait_until 10 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$API/ready/$FAST)\" = 200 ]" || fail "$FAST not ready before its service dies"
hole="http $HOLE:8081/"
equals "$(field "$hole" up)" False "the black hole is down"
kill "$FAST_SERVER"; wait "$FAST_SERVER" 2>/dev/null
t0=$(now_us)
if wait_until 10 http_is 503 "http://$API/ready/$FAST"; then
  ms=$(( ($(now_us) - t0) / 1000 ))
  [ "$ms" -lt 2000 ] && pass "the dead service was noticed in $ms ms beside the black hole" || fail "noticed only after $ms ms"
else fail "the dead service was never noticed"; fi
contains "$(field "$hole" last_error)" "within 3000 ms" "the black hole is down by its timeout"
delay=$(curl -s "http://$API/metrics" | awk '$1 == "lvs_rs_agent_service_probe_delay_max_seconds" {print $2}')
# (how late at most is bench/checks's to measure; here: never by the black hole's 3 s)
python3 -c "import sys; sys.exit(0 if float('$delay') < 2 else 1)" && pass "no probe waited for the black hole (at most $delay s late)" || fail "a probe started $delay s late"

# Script files anyone else could change are refused by check, reload and start (exit 2,
# nothing changed). /tmp itself is writable by all.
refuse() {  # refuse DESCRIPTION COMMAND_PATH REASON
  local bad="{\"vips\": [\"$VIP4\"], \"api\": {\"listen\": \"$API\"}, \"services\": [$(svc $VIP4 1000 500 "\"type\": \"exec\", \"command\": [\"$2\"]")]}"
  printf '%s' "$bad" > "$STATE/bad.json"
  expect_rc 2 "check refuses $1" agent check -c "$STATE/bad.json"
  contains "$OUT" "$3" "check names why ($1)"
}
cp $S/ok.sh "$STATE/ok.sh"
refuse "a script under /tmp" "$STATE/ok.sh" "/tmp is writable by its others"
cp $S/ok.sh $S/open.sh; chmod 0777 $S/open.sh
refuse "a script writable by all" "$S/open.sh" "$S/open.sh is writable by its others"
mkdir -m 0775 $S/team; cp $S/ok.sh $S/team/ok.sh
refuse "a script in a group-writable directory" "$S/team/ok.sh" "$S/team is writable by its group"
cp $S/ok.sh $S/nobody.sh; chown 65534 $S/nobody.sh
refuse "a script owned by another user" "$S/nobody.sh" "belongs to uid 65534"
refuse "a missing script" "$S/none.sh" "cannot run $S/none.sh"
sed -i "s|\"$S/none.sh\"|\"checks/ok.sh\"|" "$STATE/bad.json"
expect_rc 2 "check refuses a relative path" agent check -c "$STATE/bad.json"
contains "$OUT" "is not an absolute path" "check names why (relative)"

# reload keeps the running configuration.
printf '%s' "{\"vips\": [\"$VIP4\", \"$FAST\", \"$HOLE\"], \"api\": {\"listen\": \"$API\"}, \"services\": [$(svc $VIP4 1000 500 "\"type\": \"exec\", \"command\": [\"$S/open.sh\"]")]}" > "$STATE/config.json"
expect_rc 2 "reload refuses a script writable by all" agent reload
contains "$OUT" "is writable by its others" "reload says why"
equals "$(curl -s "http://$API/status" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["services"]))')" "${#CHECKS[@]}" "the running checks are kept"
stop_daemon
equals "$DAEMON_RC" 0 "the daemon stops cleanly"
DAEMON=
none_left() { local p; for p in $(cat "$STATE/hang.pids"); do alive "$p" && return 1; done; return 0; }
if wait_until 5 none_left; then pass "no check process is left after the daemon stopped ($(wc -l < "$STATE/hang.pids") started)"
else fail "check processes left after the daemon stopped:"; for p in $(cat "$STATE/hang.pids"); do alive "$p" && ps -o pid,ppid,pgid,stat,args -p "$p"; done; fi

# start refuses it too, and changes nothing.
printf '%s' "{\"vips\": [\"$VIP4\"], \"services\": [$(svc $VIP4 1000 500 "\"type\": \"exec\", \"command\": [\"$S/open.sh\"]")]}" > "$STATE/bad.json"
before=$(kernel_snapshot)
expect_rc 2 "start refuses a script writable by all" agent start -c "$STATE/bad.json"
equals "$(kernel_snapshot)" "$before" "start changed nothing"
finish
