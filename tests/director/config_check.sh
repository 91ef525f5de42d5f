#!/usr/bin/env bash
# `director-config` prints configuration that haproxy -c and keepalived -t accept.
set -u
AGENT=${1:?usage: $0 PATH_TO_lvs-rs-agent}
for t in haproxy keepalived; do
  command -v $t >/dev/null || { [ -n "${CI:-}" ] && { echo "FAIL: $t missing"; exit 1; }; echo "SKIP: $t missing"; exit 77; }
done
D=$(mktemp -d /tmp/lvs-director.XXXXXX)
trap 'rm -rf "$D"' EXIT
FAILS=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; FAILS=$((FAILS+1)); }
cat > "$D/config.json" <<'JSON'
{"vips": ["198.51.100.188", "2001:db8::188"],
 "api": {"listen": "0.0.0.0:9100", "agent_check_port": 9101},
 "services": [{"vip": "198.51.100.188", "port": 80}, {"vip": "198.51.100.188", "port": 443, "type": "tcp"}]}
JSON
# IPv4 and IPv6 VIPs: keepalived needs the real server's address of each family.
"$AGENT" director-config -c "$D/config.json" --format keepalived --director-check http://198.51.100.60:9100 > "$D/mixed.out" 2>"$D/mixed.err"; rc=$?
[ $rc = 2 ] && grep -q "VIP 2001:db8::188 is IPv6.*give --rip IPV6-RIP" "$D/mixed.err" && [ ! -s "$D/mixed.out" ] \
  && ok "keepalived: an IPv6 VIP without an IPv6 RIP is refused with what to add (exit 2), nothing printed" || bad "mixed without --rip: exit $rc: $(cat "$D/mixed.err")"
"$AGENT" director-config -c "$D/config.json" --format keepalived --director-check http://198.51.100.60:9100 --rip 198.51.100.61 > /dev/null 2>"$D/err"; rc=$?
[ $rc = 2 ] && grep -q "gives the other family's" "$D/err" && ok "--rip of the check's family refused" || bad "--rip same family: exit $rc: $(cat "$D/err")"
for f in keepalived haproxy; do
  "$AGENT" director-config -c "$D/config.json" --format $f --director-check http://198.51.100.60:9100 --rip 2001:db8::60 > "$D/$f.out" 2>"$D/$f.err" \
    && ok "director-config --format $f" || { bad "director-config --format $f: $(cat "$D/$f.err")"; }
done
grep -q "real_server 198.51.100.60 443" "$D/keepalived.out" && ok "keepalived: a block per service" || bad "keepalived output: $(cat "$D/keepalived.out")"
grep -A5 "virtual_server 2001:db8::188 80" "$D/keepalived.out" | grep -q "real_server 2001:db8::60 80" && grep -q "path /ready/2001:db8::188" "$D/keepalived.out" \
  && ok "keepalived: the IPv6 VIP emitted with the IPv6 real server, its check on /ready/<vip>" || bad "no IPv6 virtual_server: $(cat "$D/keepalived.out")"
"$AGENT" director-config -c "$D/config.json" --format keepalived --director-check 'http://[2001:db8::60]:9100' --rip 198.51.100.60 > "$D/ka6.out"
grep -q "path /ready/2001:db8::188" "$D/ka6.out" && keepalived -t -f "$D/ka6.out" >/dev/null 2>&1 && ok "keepalived: IPv6 VIP with an IPv6 RIP accepted" || bad "IPv6 keepalived: $(cat "$D/ka6.out")"
keepalived -t -f "$D/keepalived.out" >"$D/ka.log" 2>&1 && ok "keepalived -t accepts it" || bad "keepalived -t: $(cat "$D/ka.log")"
{ printf 'defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nfrontend fe\n  bind 127.0.0.1:8080\n  default_backend lvs_198_51_100_188_80\n'; cat "$D/haproxy.out"; } > "$D/haproxy.cfg"
grep -qF "agent-check agent-addr 198.51.100.60 agent-port 9101 agent-send \"198.51.100.188\\n\"" "$D/haproxy.out" && ok "haproxy: agent-check wired" || bad "haproxy output: $(cat "$D/haproxy.out")"
haproxy -c -f "$D/haproxy.cfg" >"$D/hap.log" 2>&1 && ok "haproxy -c accepts it" || bad "haproxy -c: $(cat "$D/hap.log")"
# A tunnel-mode real server: lb_kind TUN, IPIP by default and GUE with its port; keepalived -t
# accepts both (ipvsadm's lines need IPVS in the kernel to be tried, which this one lacks).
cat > "$D/tunnel.json" <<'JSON'
{"vips": ["198.51.100.188"], "api": {"listen": "203.0.113.11:9100"},
 "tunnel": {"interfaces": ["eth0"], "encap": ["ipip", "gue"], "gue_port": 6080, "directors": ["198.51.100.50"]}}
JSON
for e in ipip gue; do
  "$AGENT" director-config -c "$D/tunnel.json" --format keepalived --encap $e > "$D/tun-$e.out" 2>"$D/err" || bad "tunnel $e: $(cat "$D/err")"
  keepalived -t -f "$D/tun-$e.out" >"$D/ka.log" 2>&1 && ok "keepalived -t accepts the $e tunnel virtual server" || bad "keepalived -t ($e): $(cat "$D/ka.log")"
done
grep -q "lb_kind TUN$" "$D/tun-ipip.out" && grep -q "lb_kind TUN type gue port 6080" "$D/tun-gue.out" \
  && ok "keepalived: lb_kind TUN, and type gue port 6080 for GUE" || bad "tunnel output: $(cat "$D/tun-ipip.out" "$D/tun-gue.out")"
"$AGENT" director-config -c "$D/tunnel.json" --format ipvsadm --encap gue > "$D/ipvsadm.out" 2>"$D/err" \
  && grep -qx "ipvsadm -a -t 198.51.100.188:80 -r 203.0.113.11:80 -i --tun-type gue --tun-port 6080 -w 100" "$D/ipvsadm.out" \
  && ok "ipvsadm: -i --tun-type gue --tun-port 6080" || bad "ipvsadm output: $(cat "$D/ipvsadm.out" "$D/err")"
"$AGENT" director-config -c "$D/config.json" --format keepalived --method tun --director-check http://198.51.100.60:9100 --rip 2001:db8::60 >"$D/out" 2>"$D/err"; rc=$?
[ $rc = 2 ] && [ ! -s "$D/out" ] && grep -q 'no "tunnel"' "$D/err" && ok "--method tun without a tunnel configuration refused (exit 2), nothing printed" || bad "--method tun: exit $rc: $(cat "$D/err")"
# Without --director-check a wildcard api.listen cannot tell the director where to poll.
"$AGENT" director-config -c "$D/config.json" --format haproxy > /dev/null 2>"$D/err"; rc=$?
[ $rc = 2 ] && grep -q "give --director-check" "$D/err" && ok "wildcard listen needs --director-check (exit 2)" || bad "exit $rc: $(cat "$D/err")"
[ $FAILS -eq 0 ] && { echo "all checks passed"; exit 0; } || { echo "$FAILS check(s) failed"; exit 1; }
