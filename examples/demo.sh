#!/usr/bin/env bash
# The demo: builds the agent, creates an LVS-DR lab in private network namespaces
# (client, director, two real servers), shows the ARP problem and the agent fixing it,
# traffic through the director answered by both real servers, status, drift repair and
# stop; then removes everything. Run as root on Debian 12. Touches nothing outside its
# own namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target lvs-rs-agent >/dev/null
AGENT=$PWD/build/lvs-rs-agent
source tests/e2e/lab.sh
ST1=$(mktemp -d /tmp/lvs-demo-st1.XXXXXX) ST2=$(mktemp -d /tmp/lvs-demo-st2.XXXXXX)
trap 'lab_down; rm -rf "$ST1" "$ST2"; echo; echo "== cleaned up: namespaces removed"' EXIT

step() { echo; echo "== $*"; }
show() { echo "\$ $*"; "$@" 2>&1 | sed 's/^/  /'; }
macname() {
  case "$1" in "$MD") echo "$1 (director)";; "$M1") echo "$1 (rs1)";; "$M2") echo "$1 (rs2)";; *) echo "$1";; esac
}
who_answers_arp() {
  echo "  client asks: who has $VIP?"
  local m; for m in $(arp_responders); do echo "    answered by $(macname "$m")"; done
}

step "Building the lab: client $CLIENT_IP, director $DIP (holds VIP $VIP on its wire), rs1 $RIP1, rs2 $RIP2"
lab_up
MD=$(mac_of dir) M1=$(mac_of rs1) M2=$(mac_of rs2)
echo "  namespaces: $(ip netns list | grep -o "^$LAB-[a-z0-9]*" | tr '\n' ' ')"

step "The problem: the rc.local way binds the VIP on lo of each real server and forgets ARP"
show in_ns rs1 ip addr add $VIP/32 dev lo
show in_ns rs2 ip addr add $VIP/32 dev lo
who_answers_arp
echo "  -> the real servers answer ARP for the VIP: they steal it from the director."
in_ns rs1 ip addr del $VIP/32 dev lo; in_ns rs2 ip addr del $VIP/32 dev lo

step "The fix: lvs-rs-agent start on each real server"
show in_ns rs1 "$AGENT" start --vip $VIP --state-dir "$ST1"
show in_ns rs2 "$AGENT" start --vip $VIP --state-dir "$ST2"
who_answers_arp
echo "  -> only the director answers."

step "Traffic: the client talks to the VIP; the director forwards by MAC; the real servers reply directly"
lab_web rs1; lab_web rs2
for port in 40001 40002 40003 40004 40005 40006; do
  echo "  client port $port -> $(lab_get $port)"
done
echo "  replies that passed through the director: $(replies_seen_by_director)"

step "status on rs1 (exit code 0 = everything in place)"
show in_ns rs1 "$AGENT" status --vip $VIP --state-dir "$ST1" --all

step "Drift: someone runs 'ip addr del' and resets arp_ignore; status notices, start repairs"
in_ns rs1 ip addr del $VIP/32 dev lo
in_ns rs1 sh -c 'echo 0 > /proc/sys/net/ipv4/conf/all/arp_ignore'
set +e; in_ns rs1 "$AGENT" status --vip $VIP --state-dir "$ST1" | sed 's/^/  /'; echo "  (exit ${PIPESTATUS[0]})"; set -e
show in_ns rs1 "$AGENT" start --vip $VIP --state-dir "$ST1"

step "stop undoes exactly what the agent did and restores the original sysctls"
show in_ns rs1 "$AGENT" stop --state-dir "$ST1"
show in_ns rs1 cat /proc/sys/net/ipv4/conf/all/arp_ignore /proc/sys/net/ipv4/conf/all/arp_announce
in_ns rs2 "$AGENT" stop --state-dir "$ST2" >/dev/null 2>&1

step "Watch mode on rs2: lvs-rs-agent run keeps it in place and tells the director (API on $RIP2:9100)"
cat > "$ST2/config.json" <<JSON
{"vips": ["$VIP"], "check_interval_ms": 200, "drain_seconds": 1,
 "api": {"listen": "$RIP2:9100", "agent_check_port": 9101},
 "services": [{"vip": "$VIP", "port": 80, "type": "http", "path": "/", "interval_ms": 500, "timeout_ms": 200, "rise": 1, "fall": 1}]}
JSON
# ip netns exec execs the agent, so $! is the agent itself (a function would add a subshell)
ip netns exec "$(ns rs2)" "$AGENT" run -c "$ST2/config.json" --state-dir "$ST2" > "$ST2/run.log" 2>&1 &
RUN_PID=$!; LAB_PIDS+=($RUN_PID)
poll() { echo "  director polls /ready/$VIP -> $(in_ns dir curl -s -o /dev/null -w '%{http_code}' http://$RIP2:9100/ready/$VIP) $(in_ns dir curl -s http://$RIP2:9100/ready/$VIP)"; }
# until CMD... succeeds, polling every 20 ms for at most 20 s (the demo waits for what it shows)
until_ok() { local i; for i in $(seq 1 1000); do "$@" >/dev/null 2>&1 && return 0; sleep 0.02; done; return 1; }
ready_is() { [ "$(in_ns dir curl -s -o /dev/null -w '%{http_code}' http://$RIP2:9100/ready)" = "$1" ]; }
vip_on_rs2() { in_ns rs2 ip -o addr show dev lo | grep -q " $VIP/32"; }
until_ok ready_is 200
kill -0 $RUN_PID 2>/dev/null || { echo "lvs-rs-agent run exited:"; cat "$ST2/run.log"; exit 1; }
poll
echo "  \$ ip addr del $VIP/32 dev lo   (someone's ifdown)"
t0=${EPOCHREALTIME/./}
in_ns rs2 ip addr del $VIP/32 dev lo; until_ok vip_on_rs2
echo "  back on lo $(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms later (as seen from this shell); the log says: $(grep 'drift repaired' "$ST2/run.log" | head -1)"
show in_ns rs2 "$AGENT" drain --state-dir "$ST2"
until_ok ready_is 503; poll
echo "  agent-check (HAProxy) answers: $(in_ns dir bash -c "exec 3<>/dev/tcp/$RIP2/9101; cat <&3")"
show in_ns rs2 "$AGENT" undrain --state-dir "$ST2"
until_ok ready_is 200; poll
echo "  metrics: $(in_ns dir curl -s http://$RIP2:9100/metrics | grep -E '^lvs_rs_agent_(ready|repairs_total\{kind="address"\})' | tr '\n' ' ')"
echo "  \$ kill -TERM <run>   (systemctl stop): drains for drain_seconds, then undoes"
kill -TERM $RUN_PID; until_ok grep -q "^stopping:" "$ST2/run.log"; poll; wait $RUN_PID || true
echo "  after exit: $(in_ns rs2 ip -o addr show dev lo | grep -c " $VIP/32") VIP on lo, arp_ignore $(in_ns rs2 cat /proc/sys/net/ipv4/conf/all/arp_ignore)"
