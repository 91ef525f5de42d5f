#!/usr/bin/env bash
# The package under a real systemd: a minimal Debian 12 booted with systemd-nspawn
# (--private-network: the host's network namespace is never touched), the .deb installed
# inside, then end to end: enable -> READY with STATUS=, VIPs and ARP in place, restart,
# upgrade and kill -9 without leaving rotation, stop drains and undoes, reload
# good and bad, a configuration error at start, stop restores everything, a drain longer
# than TimeoutStopSec completes, the watchdog restarts a stopped daemon, a reboot brings
# the VIPs back before a dependent unit, online `systemd-analyze security`, `dpkg -r`
# and `--purge`, then the Ansible role rolls it out again from scratch.
#   tests/boot/boot.sh LVS_RS_AGENT_DEB
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../netns/lib.sh"   # pass/fail/contains/wait_until (nothing here enters a netns)
source "$HERE/container.sh"
DEB=${1:?usage: $0 lvs-rs-agent_VERSION_ARCH.deb}
[ "$(id -u)" = 0 ] || skip_or_fail "needs root (mmdebstrap, systemd-nspawn)"
for t in mmdebstrap systemd-nspawn nsenter ansible-playbook; do
  command -v "$t" >/dev/null || skip_or_fail "$t missing (.ci/install-deps.sh installs it)"
done
T0=$SECONDS
WORK=$(mktemp -d "${LVS_BOOT_CACHE:-/var/tmp/lvs-rs-agent-boot}.run.XXXXXX")
trap 'halt_container; rm -rf "$WORK"' EXIT

rootfs_for "$DEB" || exit 1
cp -a --reflink=auto "$ROOTFS" "$WORK/root"
cp "$DEB" "$WORK/root/root/lvs-rs-agent.deb"
boot_container "$WORK/root" || exit 1

VIPS='"198.51.100.1", "198.51.100.2"'
config() { in_ct sh -c "cat > /etc/lvs-rs-agent/config.json" <<<"$1"; }
prop() { in_ct systemctl show -P "$1" lvs-rs-agent; }
journal() { in_ct journalctl -b -u lvs-rs-agent --no-pager -o cat "$@"; }
has_vip() { in_ct_net ip -o addr show dev lo | grep -q " $1/32 "; }
arp() { in_ct_net cat /proc/sys/net/ipv4/conf/all/arp_ignore /proc/sys/net/ipv4/conf/all/arp_announce \
          /proc/sys/net/ipv4/conf/lo/arp_ignore /proc/sys/net/ipv4/conf/lo/arp_announce | paste -sd' '; }
active() { [ "$(prop ActiveState)" = "$1" ]; }
dropin() {  # dropin NAME TEXT | dropin NAME (removes)
  local d=/etc/systemd/system/lvs-rs-agent.service.d
  if [ $# -gt 1 ]; then in_ct sh -c "mkdir -p $d && cat > $d/$1.conf" <<<"$2"; else in_ct rm -f "$d/$1.conf"; fi
  in_ct systemctl daemon-reload
}

echo "== install"
run in_ct dpkg -i /root/lvs-rs-agent.deb
equals "$RC" "0" "dpkg -i"
equals "$(in_ct systemctl is-enabled lvs-rs-agent)" "disabled" "installed, not enabled"
active inactive && pass "installed, not started" || fail "started at install: $(prop ActiveState)"
in_ct test -e /bin/kill && fail "/bin/kill is present: the reload test would not prove anything" || pass "no /bin/kill in the container (procps not installed)"
lacks "$(dpkg-deb -f "$DEB" Depends)" "procps" "the package does not need procps"

echo "== enable"
config "{\"vips\": [$VIPS], \"drain_seconds\": 1, \"api\": {\"listen\": \"127.0.0.1:9100\"}}"
expect_rc 0 "systemctl enable --now" in_ct systemctl enable --now lvs-rs-agent
active active && pass "active" || fail "not active: $(prop ActiveState) $(prop Result)"
equals "$(prop StatusText)" "ready: 2 VIP(s) in place" "STATUS= says ready"
ready_ms=$(( ($(prop ActiveEnterTimestampMonotonic) - $(prop ExecMainStartTimestampMonotonic)) / 1000 ))
echo "READY ${ready_ms} ms after ExecStart"
has_vip 198.51.100.1 && has_vip 198.51.100.2 && pass "VIPs on lo in the container" || fail "VIPs missing: $(in_ct_net ip -o addr show dev lo)"
contains "$(in_ct_net ip -N route show table main)" "198.51.100.1 dev lo proto 177" "host route in table main, proto lvs-rs-agent (177)"
equals "$(arp)" "1 2 1 2" "arp_ignore/arp_announce on all and lo"
equals "$(in_ct_net curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9100/ready)" "200" "/ready answers 200"
expect_rc 0 "status --ready: in place, the daemon running and ready (the rollout gate)" in_ct lvs-rs-agent status --ready
contains "$OUT" "readiness (the running daemon's, as /ready answers): ready" "status reads the daemon's readiness"
pid=$(prop MainPID)
equals "$(in_ct awk '/^Uid:/ {print ($2 == 0) ? "root" : "unprivileged"}' /proc/$pid/status)" "unprivileged" "runs as a dynamic user"
equals "$(in_ct awk '/^CapEff:/ {print $2}' /proc/$pid/status)" "0000008000001400" "with CAP_NET_ADMIN, CAP_NET_BIND_SERVICE and CAP_BPF only"

echo "== restart and upgrade without leaving rotation"
# A director-style poller (20/s), a VIP sampler (every 10 ms) and one TCP connection to a
# service on the VIP watch each: systemctl restart and an upgrade hand over (no poll
# refused or 503, the VIP never missing, the connection alive), kill -9 restarts keep the
# VIPs, systemctl stop drains (503) and then undoes.
cp "$HERE/restart_probe.py" "$WORK/root/root/restart_probe.py"
polls() { in_ct cat /root/probe/polls 2>/dev/null || echo 0; }
probe() {  # probe LABEL CMD...: runs CMD under the probe, then 10 more polls; sets PROBE (its result.json)
  local label=$1 pid n; shift
  in_ct rm -rf /root/probe && in_ct mkdir -p /root/probe
  in_ct python3 /root/restart_probe.py /root/probe 198.51.100.1 http://127.0.0.1:9100/ready >"$WORK/probe.log" 2>&1 &
  pid=$!
  wait_until 20 in_ct test -e /root/probe/started || { fail "$label: the probe did not start: $(cat "$WORK/probe.log")"; kill "$pid"; return 1; }
  "$@"
  PROBE_RC=$?
  n=$(polls)
  wait_until 30 eval '[ "$(polls)" -ge $((n + 10)) ]' || fail "$label: the poller stalled"
  in_ct touch /root/probe/stop
  wait "$pid"
  PROBE=$(in_ct cat /root/probe/result.json)
  echo "$label: $PROBE"
}
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$PROBE" "$1"; }
seamless() {  # seamless LABEL: nothing seen by the poller, the sampler or the connection
  equals "$(field not_200_count)" "0" "$1: no poll refused or not 200 ($(field polls) polls, max $(field max_ms) ms, p99 $(field p99_ms) ms)"
  equals "$(field vip_missing_ms)" "0" "$1: the VIP never missing ($(field vip_samples) samples)"
  equals "$(field connection_after)" "True" "$1: the TCP connection to the VIP survives (data both ways after it)"
}
equals "$(prop FileDescriptorStoreMax)" "8" "FileDescriptorStoreMax=8"
[ "$(prop NFileDescriptorStore)" -ge 1 ] && pass "the HTTP API's socket is in systemd's descriptor store ($(prop NFileDescriptorStore))" || fail "nothing in the descriptor store"
old=$(prop MainPID)
probe "systemctl restart" in_ct systemctl restart lvs-rs-agent
equals "$PROBE_RC" "0" "systemctl restart"
[ "$(prop MainPID)" != "$old" ] && pass "a new process" || fail "the same process after a restart"
seamless "systemctl restart"
contains "$(journal)" "exit-hook: job restart: marked /run/lvs-rs-agent/restart-requested, the daemon hands over" "ExecStop's hook saw the restart job over D-Bus"
contains "$(journal)" "a hand-over marker written 0 s ago: handing over to the next process" "the old process handed over"
contains "$(journal)" "HTTP API listening on 127.0.0.1:9100 (the socket kept across the restart)" "the new process took the socket from the store"
lacks "$(journal)" "draining before exit" "no drain on restart"
restart_max_ms=$(field max_ms)

mkdir -p "$WORK/newer"
dpkg-deb -R "$DEB" "$WORK/newer/pkg"
sed -i -E 's/^(Version: .*)$/\1+boot1/' "$WORK/newer/pkg/DEBIAN/control"
dpkg-deb -b "$WORK/newer/pkg" "$WORK/root/root/lvs-rs-agent-newer.deb" >/dev/null
old=$(prop MainPID)
probe "upgrade (dpkg -i of a newer version)" in_ct dpkg -i /root/lvs-rs-agent-newer.deb
equals "$PROBE_RC" "0" "dpkg -i of the newer package"
contains "$(in_ct dpkg-query -W -f='${Version}' lvs-rs-agent)" "+boot1" "the newer version is installed"
[ "$(prop MainPID)" != "$old" ] && pass "the upgrade restarted the daemon" || fail "the upgrade did not restart the daemon"
seamless "upgrade"

old=$(prop MainPID)
probe "kill -9 (on-failure restart)" in_ct timeout 30 sh -c "kill -9 $old && until [ \"\$(systemctl show -P MainPID lvs-rs-agent)\" != $old ] && [ \"\$(systemctl show -P SubState lvs-rs-agent)\" = running ]; do sleep 0.05; done"
equals "$PROBE_RC" "0" "kill -9: restarted within the 30 s deadline"
equals "$(field vip_missing_ms)" "0" "kill -9: the VIP never missing ($(field vip_samples) samples); polls meanwhile: $(field not_200_count) not 200 of $(field polls), max $(field max_ms) ms"
equals "$(field connection_after)" "True" "kill -9: the TCP connection to the VIP survives"

probe "systemctl stop" in_ct systemctl stop lvs-rs-agent
contains "$(field not_200)" "503" "systemctl stop: the poller saw 503 (the drain)"
[ "$(field vip_missing_ms)" != "0" ] && pass "systemctl stop: then the VIP went" || fail "systemctl stop: the VIP stayed"
has_vip 198.51.100.1 && fail "VIPs left after stop" || pass "systemctl stop undid everything"
equals "$(arp)" "0 0 0 0" "ARP settings restored by the stop"
contains "$(journal)" "exit-hook: job stop: the daemon stops (drains, then undoes)" "the stop was told from the job"
contains "$(journal)" "no hand-over marker, so this is a stop" "the daemon stopped"
expect_rc 0 "start again" in_ct systemctl start lvs-rs-agent
echo "restart: max poll latency ${restart_max_ms} ms"

echo "== systemd-networkd managing lo"
# A .network matching lo without KeepConfiguration=, networkd started, lo reconfigured,
# networkd reloaded and restarted: each time networkd has configured lo (its own address
# is there), the agent's VIPs and routes are still in place and the agent repaired
# nothing. Then the same with the shipped KeepConfiguration=static snippet.
ND_NET=/etc/systemd/network/10-lo.network
in_ct sh -c "mkdir -p /etc/systemd/network && printf '[Match]\\nName=lo\\n\\n[Network]\\nAddress=203.0.113.250/32\\n' > $ND_NET"
configured_lo() { [ "$(in_ct journalctl -b -u systemd-networkd -o cat --no-pager | grep -c "lo: Configuring with $ND_NET")" -ge "$1" ] &&
                  in_ct networkctl list --no-pager --no-legend | grep -Eq '^ *1 lo .* configured'; }
agent_untouched() {
  has_vip 198.51.100.1 && has_vip 198.51.100.2 && in_ct_net ip -N route show table main | grep -q "^198.51.100.2 dev lo proto 177" &&
    ! journal | grep -q "drift repaired" && in_ct_net curl -s http://127.0.0.1:9100/status | grep -q '"fighting":{"active":false'
}
networkd_round() {  # networkd_round LABEL: start, reconfigure, reload, restart; the agent's state after each
  local n
  expect_rc 0 "$1: systemd-networkd starts" in_ct systemctl start systemd-networkd
  n=$(in_ct journalctl -b -u systemd-networkd -o cat --no-pager | grep -c "lo: Configuring with $ND_NET")
  wait_for "$1: networkd has configured lo" configured_lo "$n"
  has_vip 203.0.113.250 && pass "$1: networkd manages lo (its own address is on it)" || fail "$1: networkd did not configure lo"
  agent_untouched && pass "$1: after start, VIPs and routes in place, nothing repaired" || fail "$1: after start: $(journal | grep drift)"
  expect_rc 0 "$1: networkctl reconfigure lo" in_ct networkctl reconfigure lo
  wait_for "$1: lo configured again" configured_lo $((n + 1))
  agent_untouched && pass "$1: after reconfigure, untouched" || fail "$1: after reconfigure: $(journal | grep drift)"
  expect_rc 0 "$1: networkctl reload" in_ct networkctl reload
  expect_rc 0 "$1: restart systemd-networkd" in_ct systemctl restart systemd-networkd
  wait_for "$1: lo configured by the new networkd" configured_lo $((n + 2))
  agent_untouched && pass "$1: after reload and restart, untouched" || fail "$1: after restart: $(journal | grep drift)"
}
contains "$(in_ct networkctl --version)" "systemd 252" "systemd-networkd 252 (Debian 12)"
networkd_round "without the snippet"
contains "$(in_ct lvs-rs-agent doctor 2>&1)" "ok    network-managers: $ND_NET makes systemd-networkd 252 manage lo without KeepConfiguration=static; this version leaves" "doctor: ok for 252, naming the file and the snippet"
in_ct systemctl stop systemd-networkd.socket systemd-networkd
in_ct sh -c "mkdir -p $ND_NET.d && cp /usr/share/lvs-rs-agent/networkd-keep-configuration.conf $ND_NET.d/lvs-rs-agent.conf"
networkd_round "with the snippet"
contains "$(in_ct lvs-rs-agent doctor 2>&1)" "ok    network-managers: no systemd-networkd, NetworkManager or netplan configuration would remove" "doctor: nothing to say with the snippet"
in_ct systemctl stop systemd-networkd.socket systemd-networkd
in_ct rm -rf "$ND_NET" "$ND_NET.d"
in_ct_net ip addr del 203.0.113.250/32 dev lo

echo "== reload"
config "{\"vips\": [$VIPS, \"198.51.100.3\"], \"drain_seconds\": 1, \"api\": {\"listen\": \"127.0.0.1:9100\"}}"
expect_rc 0 "systemctl reload with a good file" in_ct systemctl reload lvs-rs-agent
has_vip 198.51.100.3 && pass "the reload bound the new VIP" || fail "new VIP missing after reload"
contains "$(journal)" "reload: added 198.51.100.3/32 to lo" "logged as the reload's"
lacks "$(journal)" "drift repaired: added 198.51.100.3" "not as drift"
echo "== an exec service check under the unit's sandbox"
# The command runs as the unit's dynamic user: not root, no capabilities, a clean
# environment, the system read-only. One script passes when that is so; the other fails
# with a line that must reach /ready.
in_ct sh -c 'mkdir -p -m 0755 /usr/local/lib/lvs-rs-agent && cat > /usr/local/lib/lvs-rs-agent/sandboxed && chmod 0755 /usr/local/lib/lvs-rs-agent/sandboxed' <<'SH'
#!/bin/sh
[ "$(id -u)" != 0 ] || { echo "runs as root"; exit 1; }
caps=$(sed -n "s/^CapEff:[[:space:]]*//p" /proc/self/status)
[ "$caps" = 0000000000000000 ] || { echo "capabilities $caps"; exit 1; }
[ "$LVS_VIP" = 198.51.100.3 ] || { echo "LVS_VIP=$LVS_VIP"; exit 1; }
touch /etc/lvs-rs-agent/written 2>/dev/null && { echo "wrote to /etc"; exit 1; }
exit 0
SH
in_ct sh -c 'printf "#!/bin/sh\necho \"maintenance flag set\"\nexit 1\n" > /usr/local/lib/lvs-rs-agent/flag && chmod 0755 /usr/local/lib/lvs-rs-agent/flag'
exec_check() { printf '{"vip": "%s", "type": "exec", "command": ["/usr/local/lib/lvs-rs-agent/%s"], "interval_ms": 200, "timeout_ms": 200, "rise": 1, "fall": 1}' "$1" "$2"; }
config "{\"vips\": [$VIPS, \"198.51.100.3\"], \"drain_seconds\": 1, \"api\": {\"listen\": \"127.0.0.1:9100\"},
  \"services\": [$(exec_check 198.51.100.3 sandboxed), $(exec_check 198.51.100.2 flag)]}"
expect_rc 0 "systemctl reload with exec checks" in_ct systemctl reload lvs-rs-agent
ready_is() { [ "$(in_ct_net curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:9100/ready/$1")" = "$2" ]; }
wait_for "the sandboxed script's check is up: not root, no capabilities, /etc read-only" ready_is 198.51.100.3 200 ||
  in_ct_net curl -s http://127.0.0.1:9100/ready/198.51.100.3
wait_for "the failing script holds its VIP back" ready_is 198.51.100.2 503
contains "$(in_ct_net curl -s http://127.0.0.1:9100/ready/198.51.100.2)" "exit 1: maintenance flag set" "/ready names the script's line"
in_ct test -e /etc/lvs-rs-agent/written && fail "the script could write to /etc" || pass "nothing written to /etc"
in_ct chmod 0777 /usr/local/lib/lvs-rs-agent/flag
run in_ct systemctl reload lvs-rs-agent
[ "$RC" != 0 ] && pass "reload refuses a script writable by all (exit $RC)" || fail "reload took a script writable by all"
contains "$(journal -p err)" "/usr/local/lib/lvs-rs-agent/flag is writable by its others" "the journal names the script"
in_ct chmod 0755 /usr/local/lib/lvs-rs-agent/flag

config '{"vip": ["198.51.100.9"]}'
run in_ct systemctl reload lvs-rs-agent
[ "$RC" != 0 ] && pass "systemctl reload fails with a bad file (exit $RC)" || fail "systemctl reload succeeded with a bad file"
contains "$(prop StatusText)" "reload rejected, the previous configuration stays in force: " "STATUS= says the reload was rejected"
contains "$(journal -p err)" 'unknown key "vip"' "the problem is in the journal at priority err"
active active && has_vip 198.51.100.3 && pass "the running configuration stays" || fail "a bad reload changed something"

echo "== a configuration error at start"
run in_ct systemctl restart lvs-rs-agent
[ "$RC" != 0 ] && pass "restart with a bad file fails (exit $RC)" || fail "restart with a bad file succeeded"
contains "$(in_ct systemctl status lvs-rs-agent --no-pager 2>&1)" "configuration rejected" "systemctl status names it"
contains "$(journal -p err)" 'unknown key "vip" (did you mean "vips"?)' "journal, priority err, names the key"
equals "$(prop ExecMainStatus)" "2" "exit status 2"
equals "$(prop NRestarts)" "0" "not restarted in a loop (RestartPreventExitStatus=2)"
has_vip 198.51.100.1 && fail "VIPs left after stop + failed start" || pass "nothing applied by the failed start"
equals "$(arp)" "0 0 0 0" "ARP settings as before"

echo "== stop restores everything"
config "{\"vips\": [$VIPS], \"drain_seconds\": 1, \"api\": {\"listen\": \"127.0.0.1:9100\"}}"
in_ct rm -rf /usr/local/lib/lvs-rs-agent   # the exec checks' scripts: the purge test looks for any lvs-rs-agent file
in_ct systemctl reset-failed lvs-rs-agent
expect_rc 0 "start" in_ct systemctl start lvs-rs-agent
expect_rc 0 "stop" in_ct systemctl stop lvs-rs-agent
has_vip 198.51.100.1 || has_vip 198.51.100.2 && fail "VIPs left after stop" || pass "VIPs removed"
lacks "$(in_ct_net ip route show table main)" "198.51.100." "routes removed"
equals "$(arp)" "0 0 0 0" "ARP settings restored"

echo "== tunnel: the decapsulation with the unit's privileges (CAP_BPF, CAP_NET_ADMIN, bpf())"
# A veth pair inside the container's own network namespace stands in for its uplink.
in_ct_net ip link add lvs-up type veth peer name lvs-up-peer
in_ct_net ip link set lvs-up up && in_ct_net ip link set lvs-up-peer up
config "{\"vips\": [$VIPS], \"drain_seconds\": 1, \"api\": {\"listen\": \"127.0.0.1:9100\"},
  \"tunnel\": {\"interfaces\": [\"lvs-up\"], \"encap\": [\"ipip\", \"gue\"], \"gue_port\": 6080, \"directors\": [\"203.0.113.50\"]}}"
expect_rc 0 "start with a tunnel" in_ct systemctl start lvs-rs-agent
contains "$(in_ct_net tc filter show dev lvs-up ingress)" "lvs_decap" "the unprivileged daemon attached lvs_decap (clsact ingress)"
contains "$(in_ct_net tc filter show dev lvs-up egress)" "lvs_mss" "and lvs_mss (clsact egress)"
equals "$(in_ct_net curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9100/ready)" "200" "ready with the decapsulation attached"
contains "$(in_ct lvs-rs-agent status)" "tunnel" "status shows the tunnel"
prog_id() { in_ct_net tc filter show dev lvs-up ingress | grep -o 'lvs_decap:\[[0-9]*\]'; }
before=$(prog_id)
equals "$(prop NFileDescriptorStore)" "2" "the API's socket and the tunnel program's bundle are in systemd's store"
expect_rc 0 "systemctl restart with a tunnel" in_ct systemctl restart lvs-rs-agent
decap_back() { in_ct_net tc filter show dev lvs-up ingress | grep -q lvs_decap && [ "$(in_ct_net curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9100/ready)" = 200 ]; }
wait_for "after the restart: lvs_decap attached and the server ready" decap_back
equals "$(prog_id)" "$before" "the restart took the running program up from the store (same program, counters kept), no new load"
lacks "$(journal -p err | grep -i tunnel)" "tunnel" "no tunnel error in the journal"
expect_rc 0 "stop with a tunnel" in_ct systemctl stop lvs-rs-agent
lacks "$(in_ct_net tc filter show dev lvs-up ingress)" "lvs_decap" "stop removed lvs_decap (named by its place: the unit cannot open programs by id)"
lacks "$(in_ct_net tc qdisc show dev lvs-up)" "clsact" "and the clsact qdisc the agent created"
in_ct_net ip link del lvs-up
echo "== a drain longer than TimeoutStopSec"
dropin short-stop $'[Service]\nTimeoutStopSec=3s'
config "{\"vips\": [$VIPS], \"drain\": {\"min_seconds\": 8, \"max_seconds\": 8}, \"api\": {\"listen\": \"127.0.0.1:9100\"}}"
expect_rc 0 "start" in_ct systemctl start lvs-rs-agent
t=$SECONDS
expect_rc 0 "systemctl stop (8 s drain, TimeoutStopSec=3s)" in_ct systemctl stop lvs-rs-agent
took=$((SECONDS - t))
[ "$took" -ge 7 ] && pass "the drain ran to its end (${took} s)" || fail "stop took ${took} s: the drain was cut short"
equals "$(prop Result)" "success" "Result=success"
lacks "$(in_ct journalctl -b --no-pager -o cat)" "State 'stop-sigterm' timed out" "never killed for the timeout"
has_vip 198.51.100.1 && fail "VIPs left after a long drain" || pass "then everything undone"
equals "$(arp)" "0 0 0 0" "ARP settings restored after the long drain"
dropin short-stop

echo "== the watchdog restarts a stopped daemon"
dropin fast-watchdog $'[Service]\nWatchdogSec=2s'
config "{\"vips\": [$VIPS], \"drain_seconds\": 1, \"api\": {\"listen\": \"127.0.0.1:9100\"}}"
expect_rc 0 "start" in_ct systemctl start lvs-rs-agent
old=$(prop MainPID)
restarted() { local p; p=$(prop MainPID); [ "$p" != 0 ] && [ "$p" != "$old" ] && active active && [ "$(prop SubState)" = running ]; }
# under the probe: the VIP is never missing while the hung daemon is killed and replaced
probe "watchdog restart" in_ct timeout 30 sh -c "kill -STOP $old && until [ \"\$(systemctl show -P MainPID lvs-rs-agent)\" != $old ] && [ \"\$(systemctl show -P SubState lvs-rs-agent)\" = running ]; do sleep 0.05; done"
if wait_until 30 restarted; then pass "restarted after the watchdog timeout (NRestarts=$(prop NRestarts))"; else fail "not restarted: $(prop ActiveState)/$(prop SubState) pid $(prop MainPID)"; fi
equals "$(field vip_missing_ms)" "0" "watchdog restart: the VIP never missing ($(field vip_samples) samples); polls meanwhile: $(field not_200_count) not 200 of $(field polls), max $(field max_ms) ms"
contains "$(in_ct journalctl -b --no-pager -o cat)" "Watchdog timeout" "systemd logged the watchdog timeout"
wait_until 10 eval 'journal | grep -q "adopting the state of an earlier run"' && pass "the new daemon adopted the state" || fail "no adoption logged"
has_vip 198.51.100.1 && pass "VIPs in place after the restart" || fail "VIPs missing after the restart"
dropin fast-watchdog

echo "== reboot: the VIPs are in place before a dependent unit starts"
in_ct sh -c 'cat > /etc/systemd/system/vip-user.service' <<'EOF'
[Unit]
Description=a service that needs the VIPs (records what it saw)
Wants=lvs-rs-agent.service
After=lvs-rs-agent.service
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "$(grep -c -e "198.51.100.1\$" -e "198.51.100.2\$" /proc/net/fib_trie)" >> /var/lib/vip-user.seen'
[Install]
WantedBy=multi-user.target
EOF
in_ct systemctl daemon-reload
in_ct systemctl enable vip-user.service 2>/dev/null
in_ct systemctl reboot
wait_nspawn_exit 60 && pass "the container went down for the reboot" || fail "no reboot"
halt_container
boot_container "$WORK/root" || exit 1
active active && pass "lvs-rs-agent active after the reboot" || fail "not active after the reboot: $(prop ActiveState)"
seen=$(in_ct tail -1 /var/lib/vip-user.seen)
[ "${seen:-0}" -ge 2 ] && pass "the dependent unit saw both VIPs at boot" || fail "the dependent unit saw ${seen:-nothing}"

echo "== online systemd-analyze security"
sec=$(in_ct systemd-analyze security --no-pager lvs-rs-agent.service 2>&1)
score=$(grep -o 'Overall exposure level for [^:]*: [0-9.]*' <<<"$sec" | awk '{print $NF}')
echo "exposure (online): ${score:-none}"
[ -n "$score" ] && awk -v s="$score" 'BEGIN {exit !(s <= 2.0)}' && pass "exposure $score <= 2.0" || fail "exposure ${score:-unknown}"

echo "== dpkg -r and --purge"
expect_rc 0 "dpkg -r" in_ct dpkg -r lvs-rs-agent
in_ct pgrep -x lvs-rs-agent >/dev/null 2>&1 && fail "daemon still running after dpkg -r" || pass "daemon stopped"
in_ct sh -c 'for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = lvs-rs-agent ] && exit 1; done; exit 0' && pass "no lvs-rs-agent process" || fail "an lvs-rs-agent process is left"
has_vip 198.51.100.1 && fail "VIPs left after dpkg -r" || pass "VIPs removed by dpkg -r"
equals "$(arp)" "0 0 0 0" "ARP settings restored by dpkg -r"
in_ct test -f /etc/lvs-rs-agent/config.json && pass "remove keeps the configuration" || fail "remove deleted the configuration"
expect_rc 0 "dpkg --purge" in_ct dpkg --purge lvs-rs-agent
left=$(in_ct sh -c 'find /etc /lib /usr /var /run -name "*lvs-rs-agent*" 2>/dev/null; find /etc/systemd -xtype l 2>/dev/null')
equals "$left" "" "purge leaves nothing behind (no file, no dangling unit link)"

echo "== fleet rollout: the Ansible role, from scratch"
TOKEN=$(head -c 32 /dev/urandom | base64)
cat > "$WORK/inventory" <<EOF
[realservers]
ct ansible_host=$LEADER ansible_connection=nsenter ansible_become=false ansible_python_interpreter=/usr/bin/python3
EOF
cat > "$WORK/vars.yml" <<EOF
lvs_rs_agent_deb: $DEB
lvs_rs_agent_api_token: "$TOKEN"
lvs_rs_agent_config:
  vips: ["198.51.100.1", "198.51.100.2"]
  drain_seconds: 1
  api: {listen: "127.0.0.1:9100"}
EOF
export ANSIBLE_ROLES_PATH=$HERE/../../deploy/ansible/roles ANSIBLE_CONNECTION_PLUGINS=$HERE/ansible ANSIBLE_NOCOLOR=1 \
       ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_LOCAL_TEMP=$WORK/ansible-tmp ANSIBLE_RETRY_FILES_ENABLED=False
run ansible-playbook -i "$WORK/inventory" -e "@$WORK/vars.yml" "$HERE/../../deploy/ansible/site.yml"
equals "$RC" "0" "the playbook ran"
[ "$RC" = 0 ] || echo "$OUT" | tail -30
active active && pass "the role enabled and started it" || fail "not active after the role: $(prop ActiveState)"
equals "$(in_ct systemctl is-enabled lvs-rs-agent)" "enabled" "enabled at boot"
equals "$(in_ct stat -c %a /etc/lvs-rs-agent/api.token)" "600" "the token file is 0600"
has_vip 198.51.100.2 && pass "VIPs in place" || fail "VIPs missing after the role"
equals "$(in_ct_net curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" http://127.0.0.1:9100/drain)" "200" "the token reached the daemon (POST /drain 200)"
wait_until 10 sh -c "[ \"\$(in_ct_net curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9100/ready)\" = 503 ]"
expect_rc 3 "status --ready of a drained node: not ready (the role's gate holds a rollout back)" in_ct lvs-rs-agent status --ready
equals "$(in_ct_net curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" http://127.0.0.1:9100/undrain)" "200" "POST /undrain"
run ansible-playbook -i "$WORK/inventory" -e "@$WORK/vars.yml" "$HERE/../../deploy/ansible/site.yml"
equals "$RC" "0" "the playbook ran again"
contains "$OUT" "changed=0" "a second run changes nothing"

echo "boot test: $((SECONDS - T0)) s"
finish
