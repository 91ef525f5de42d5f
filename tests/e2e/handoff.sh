#!/usr/bin/env bash
# Connection-safe hand-off with a real poller. HAProxy from Debian, in a director
# namespace, TCP mode, polling each real server with `option httpchk GET /ready/VIP` and
# `agent-check` exactly as `lvs-rs-agent director-config --format haproxy` prints them,
# in front of two real servers (rs1, rs2) each running the agent. A long-lived connection
# to rs1 survives rs1's `drain --wait` and is still served afterwards; every new
# connection made while rs1 is drained goes to rs2; not one connection fails or is reset.
#
# What the stand-in proves and what it cannot: this kernel has no IPVS, and HAProxy is a
# proxy, so the real servers see the director's connections on their RIPs, not on the VIP
# (their drains end after min_seconds: nothing is counted on the VIP; netns.drain proves
# the counting). It proves the director's side of the hand-off: a drain moves new traffic
# away while the established connection goes on. keepalived's inhibit_on_failure (weight
# 0 instead of removal) cannot run here (no IPVS); director.config_check checks that
# keepalived accepts it.
set -u
AGENT=${1:?usage: $0 PATH_TO_lvs-rs-agent}
source "$(dirname "$0")/../netns/lib.sh" "$AGENT"
[ "$(id -u)" = 0 ] || skip_or_fail "needs root for ip netns"
for t in haproxy python3 curl; do command -v $t >/dev/null || skip_or_fail "$t is not installed"; done
PEER="$(dirname "$0")/handoff_peer.py"
LAB=handoff$$
source "$(dirname "$0")/lab.sh"   # the namespaces (the client is the director's own here)
WORK=$(mktemp -d /tmp/$LAB.XXXXXX)
trap 'lab_down; rm -rf "$WORK"' EXIT
lab_net

# The real servers: the service on port 80, the agent (drained: at least 3 s, the time
# HAProxy's agent-check needs to see it, at most 30 s).
for n in rs1 rs2; do
  rip=$RIP1; [ $n = rs2 ] && rip=$RIP2
  mkdir -p "$WORK/$n"
  cat > "$WORK/$n/config.json" <<EOF
{"vips": ["$VIP"], "check_interval_ms": 100, "drain": {"min_seconds": 3, "max_seconds": 30},
 "api": {"listen": "$rip:9100", "agent_check_port": 9101},
 "services": [{"vip": "$VIP", "port": 80, "interval_ms": 200, "timeout_ms": 150}]}
EOF
  in_ns $n python3 "$PEER" serve $n 80 > "$WORK/$n/serve.out" 2>&1 & LAB_PIDS+=($!)
  in_ns $n "$AGENT" run -c "$WORK/$n/config.json" --state-dir "$WORK/$n" > "$WORK/$n/agent.log" 2>&1 & LAB_PIDS+=($!)
done
for n in rs1 rs2; do
  rip=$RIP1; [ $n = rs2 ] && rip=$RIP2
  wait_for "$n: the agent is ready" in_ns $n curl -sf "http://$rip:9100/ready" -o /dev/null || { cat "$WORK/$n/agent.log"; exit 1; }
done

# The director: HAProxy with the backend director-config prints for each real server.
in_ns rs1 "$AGENT" director-config --format haproxy -c "$WORK/rs1/config.json" > "$WORK/rs1.hap" || { cat "$WORK/rs1.hap"; exit 1; }
in_ns rs2 "$AGENT" director-config --format haproxy -c "$WORK/rs2/config.json" > "$WORK/rs2.hap" || exit 1
{
  cat <<CFG
global
  stats socket $WORK/haproxy.sock mode 600 level admin
defaults
  mode tcp
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout check 2s
frontend fe
  bind 127.0.0.1:8080
  default_backend $(awk '/^backend /{print $2; exit}' "$WORK/rs1.hap")
CFG
  grep -v '^#' "$WORK/rs1.hap"
  grep '^    server ' "$WORK/rs2.hap"
} > "$WORK/haproxy.cfg"
contains "$(cat "$WORK/haproxy.cfg")" "agent-check agent-addr $RIP1 agent-port 9101 agent-send \"$VIP\\n\"" "the backend is director-config's (agent-check with the VIP)"
contains "$(cat "$WORK/haproxy.cfg")" "option httpchk GET /ready/$VIP" "and httpchk of /ready/VIP"
in_ns dir haproxy -c -f "$WORK/haproxy.cfg" >/dev/null 2>&1 && pass "haproxy accepts it" || fail "haproxy -c: $(in_ns dir haproxy -c -f "$WORK/haproxy.cfg" 2>&1)"
in_ns dir haproxy -f "$WORK/haproxy.cfg" -db > "$WORK/haproxy.log" 2>&1 & LAB_PIDS+=($!)

# HAProxy's view of a real server (its status column in `show stat`).
BACKEND=$(awk '/^backend /{print $2; exit}' "$WORK/rs1.hap")
hap_status() { in_ns dir bash -c "$(declare -f haproxy_stat); haproxy_stat '$WORK/haproxy.sock' '$BACKEND' '$1'"; }
hap_is() { local s; s=$(hap_status "$1" 2>/dev/null); [ "${s% (agent)}" = "$2" ]; }
S1=rs_${RIP1//./_} S2=rs_${RIP2//./_}
wait_for "HAProxy: rs1 UP" hap_is $S1 UP
wait_for "HAProxy: rs2 UP" hap_is $S2 UP
wait_until 20 sh -c "[ -S '$WORK/haproxy.sock' ]"

# A long-lived connection that lands on rs1 (HAProxy balances round robin: a second one
# lands on the other server).
file_has() { [ -f "$2" ] && grep -q "$1" "$2"; }  # 1 (not 2, "never") until the file exists
long_on_rs1() {
  local i f
  for i in 1 2 3 4; do
    f="$WORK/long$i.out"
    ip netns exec "$(ns dir)" python3 "$PEER" long 127.0.0.1 8080 "$f" & LAB_PIDS+=($!)  # execs python: $! is its PID
    wait_until 10 file_has '^exchanges' "$f" || { echo "long-lived connection $i: $(cat "$f" 2>&1)"; return 1; }
    if grep -qx 'name rs1' "$f"; then LONG=$!; LONG_OUT=$f; return 0; fi
  done
  return 1
}
long_on_rs1 && pass "a long-lived connection to rs1" || { fail "no long-lived connection landed on rs1"; finish; }
exchanges() { awk '/^exchanges/ {n=$2} END {print n+0}' "$LONG_OUT"; }

# rs1 drains, and waits for it.
in_ns rs1 "$AGENT" drain --wait --timeout 30 --state-dir "$WORK/rs1" > "$WORK/drain.out" 2>&1 & WAITER=$!; LAB_PIDS+=($WAITER)
rs1_out() { hap_is $S1 DRAIN || hap_is $S1 DOWN; }
wait_for "HAProxy: rs1 in DRAIN (agent-check) or DOWN (httpchk)" rs1_out
at_drain=$(exchanges)
out=$(in_ns dir python3 "$PEER" short 127.0.0.1 8080 20); rc=$?
equals "$rc" "0" "20 new connections while rs1 drains: none failed"
equals "$(grep -cx rs2 <<<"$out")" "20" "every one went to rs2"
wait_until 40 sh -c "! kill -0 $WAITER 2>/dev/null"
wait $WAITER; rc=$?
equals "$rc" "0" "rs1's drain --wait returned 0"
contains "$(cat "$WORK/drain.out")" "drained: no connection left" "and says so"
target=$(( $(exchanges) + 10 ))
wait_for "the long-lived connection to rs1 is still served after the drain" sh -c "[ \$(awk '/^exchanges/ {n=\$2} END {print n+0}' '$LONG_OUT') -ge $target ]"
[ "$(exchanges)" -gt "$at_drain" ] && pass "it exchanged through the whole drain ($at_drain at the drain, $(exchanges) now)" || fail "no exchange since the drain"
kill $LONG; wait $LONG; rc=$?
equals "$rc" "0" "the long-lived connection ended cleanly"
lacks "$(cat "$WORK"/long*.out)" "error" "no connection failed or was reset"
out=$(in_ns dir python3 "$PEER" short 127.0.0.1 8080 4); rc=$?
equals "$rc" "0" "after the drain, new connections still succeed"
finish
