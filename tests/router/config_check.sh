#!/usr/bin/env bash
# `router-config` prints configuration that the routing daemons' own parsers accept:
# bird -p -c (BIRD 2) and vtysh --dryrun -f (FRR); and refuses what it cannot render.
set -u
AGENT=${1:?usage: $0 PATH_TO_lvs-rs-agent}
for t in bird vtysh; do
  command -v $t >/dev/null || { [ -n "${CI:-}" ] && { echo "FAIL: $t missing"; exit 1; }; echo "SKIP: $t missing"; exit 77; }
done
D=$(mktemp -d /tmp/lvs-router.XXXXXX)
trap 'rm -rf "$D"' EXIT
FAILS=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; FAILS=$((FAILS+1)); }
cat > "$D/config.json" <<'JSON'
{"vips": ["198.51.100.188", "2001:db8::188", {"address": "198.51.100.189", "announce": false}],
 "announce": {"table": 200, "metric": 20}}
JSON
"$AGENT" router-config -c "$D/config.json" --format bird --neighbor 192.0.2.1 --neighbor 2001:db8::1 \
  --local-as 64511 --peer-as 64496 --router-id 192.0.2.11 > "$D/bird.conf" 2>"$D/err" \
  && ok "router-config --format bird" || bad "router-config --format bird: $(cat "$D/err")"
bird -p -c "$D/bird.conf" >"$D/bird.log" 2>&1 && ok "bird -p accepts it" || bad "bird -p: $(cat "$D/bird.log") in $(cat "$D/bird.conf")"
grep -q "kernel table 200;" "$D/bird.conf" && grep -q "import where krt_source = 177 && net.len = 32;" "$D/bird.conf" \
  && grep -q "neighbor 2001:db8::1 as 64496;" "$D/bird.conf" && ok "bird: learns table 200, the agent's host routes only, a session per family" \
  || bad "bird output: $(cat "$D/bird.conf")"
# A broken copy must fail the same parser, or the check above proves nothing.
sed 's/kernel table 200;/kernel table two-hundred;/' "$D/bird.conf" > "$D/broken.conf"
bird -p -c "$D/broken.conf" >/dev/null 2>&1 && bad "bird -p accepted a broken file (the check proves nothing)" || ok "bird -p refuses a broken copy"

"$AGENT" router-config -c "$D/config.json" --format frr --neighbor 192.0.2.1 > "$D/frr.conf" 2>"$D/err" \
  && ok "router-config --format frr" || bad "router-config --format frr: $(cat "$D/err")"
vtysh --dryrun -f "$D/frr.conf" >"$D/frr.log" 2>&1 && ! grep -qi "unknown command\|error" "$D/frr.log" \
  && ok "vtysh --dryrun accepts it" || bad "vtysh --dryrun: $(cat "$D/frr.log") in $(cat "$D/frr.conf")"
grep -q "ip import-table 200" "$D/frr.conf" && grep -q "redistribute table 200 route-map LVS_RS_AGENT" "$D/frr.conf" \
  && ok "frr: imports table 200 and redistributes it through the route-map" || bad "frr output: $(cat "$D/frr.conf")"
sed 's/ip import-table 200/ip import-tablet 200/' "$D/frr.conf" > "$D/broken-frr.conf"
vtysh --dryrun -f "$D/broken-frr.conf" >"$D/broken.log" 2>&1; rc=$?
[ $rc != 0 ] || grep -qi "unknown command" "$D/broken.log" && ok "vtysh --dryrun refuses a broken copy" \
  || bad "vtysh --dryrun accepted a broken file: $(cat "$D/broken.log")"

# Refusals: no "announce", bad flags; nothing printed.
echo '{"vips": ["198.51.100.188"]}' > "$D/plain.json"
"$AGENT" router-config -c "$D/plain.json" --format bird > "$D/out" 2>"$D/err"; rc=$?
[ $rc = 2 ] && grep -q 'no "announce"' "$D/err" && [ ! -s "$D/out" ] && ok "no announce: refused with what to add (exit 2)" || bad "no announce: exit $rc: $(cat "$D/err")"
"$AGENT" router-config -c "$D/config.json" --format quagga > "$D/out" 2>"$D/err"; rc=$?
[ $rc = 2 ] && grep -q 'unknown format "quagga" (known formats: bird or frr)' "$D/err" && ok "--format quagga refused" || bad "--format quagga: exit $rc: $(cat "$D/err")"
"$AGENT" router-config -c "$D/config.json" --format bird --peer-as 0 > "$D/out" 2>"$D/err"; rc=$?
[ $rc = 2 ] && grep -q 'peer-as "0"' "$D/err" && [ ! -s "$D/out" ] && ok "--peer-as 0 refused" || bad "--peer-as 0: exit $rc: $(cat "$D/err")"
[ $FAILS -eq 0 ] && { echo "all checks passed"; exit 0; } || { echo "$FAILS check(s) failed"; exit 1; }
