#!/usr/bin/env bash
# `import` on a system root holding an old setup: the printed config is accepted by
# `check`, the files to delete are listed; nothing found is exit 1.
set -u
AGENT=${1:?usage: $0 PATH_TO_lvs-rs-agent}
D=$(mktemp -d /tmp/lvs-import.XXXXXX)
trap 'rm -rf "$D"' EXIT
FAILS=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; FAILS=$((FAILS+1)); }
mkdir -p "$D/etc/init.d" "$D/etc/sysconfig/network-scripts"
cat > "$D/etc/init.d/realserver" <<'SH'
#!/bin/bash
VIP=198.51.100.188
case "$1" in
start)
  /sbin/ifconfig lo:0 $VIP broadcast $VIP netmask 255.255.255.255 up
  /sbin/route add -host $VIP dev lo:0
  echo "1" >/proc/sys/net/ipv4/conf/lo/arp_ignore
  echo "2" >/proc/sys/net/ipv4/conf/lo/arp_announce
  echo "1" >/proc/sys/net/ipv4/conf/all/arp_ignore
  echo "2" >/proc/sys/net/ipv4/conf/all/arp_announce
  ;;
esac
SH
printf 'DEVICE=lo:1\nIPADDR=198.51.100.189\nNETMASK=255.255.255.255\nONBOOT=yes\n' > "$D/etc/sysconfig/network-scripts/ifcfg-lo:1"
printf '#!/bin/sh\necho unrelated\n' > "$D/etc/init.d/unrelated"
"$AGENT" import --sysroot "$D" > "$D/config.json" 2> "$D/advice"; rc=$?
[ $rc = 0 ] && ok "import exits 0" || bad "import exit $rc: $(cat "$D/advice")"
"$AGENT" check -c "$D/config.json" > "$D/check" 2>&1 && ok "check accepts the imported config" || bad "check: $(cat "$D/check") $(cat "$D/config.json")"
grep -q "bind 198.51.100.188/32 on lo" "$D/check" && grep -q "bind 198.51.100.189/32 on lo" "$D/check" && ok "both VIPs imported" || bad "VIPs: $(cat "$D/config.json")"
grep -q "add host route" "$D/check" && ok "host routes kept" || bad "no host routes"
grep -q "/etc/init.d/realserver:5:" "$D/advice" && grep -q "ifcfg-lo:1 (the whole file" "$D/advice" && ok "lists what to delete" || bad "advice: $(cat "$D/advice")"
grep -q unrelated "$D/advice" && bad "unrelated script listed" || ok "unrelated scripts ignored"
"$AGENT" import --from "$D/etc/init.d/unrelated" > /dev/null 2> "$D/err"; rc=$?
[ $rc = 1 ] && grep -q "found no VIP" "$D/err" && ok "nothing found: exit 1" || bad "exit $rc: $(cat "$D/err")"
"$AGENT" import --from "$D/missing" > /dev/null 2> "$D/err"; rc=$?
[ $rc = 2 ] && grep -q "cannot read" "$D/err" && ok "unreadable --from: exit 2" || bad "exit $rc: $(cat "$D/err")"
# The corpus of real-world setups: exact output, and `check` accepts each configuration.
CORPUS=$(cd "$(dirname "$0")" && pwd)/import-corpus
for c in "$CORPUS"/*/; do
  name=$(basename "$c")
  "$AGENT" import --sysroot "$c" > "$D/$name.json" 2> "$D/$name.stderr"; rc=$?
  [ $rc = 0 ] && ok "corpus $name: exit 0" || bad "corpus $name: exit $rc"
  diff -u "$c/expected.json" "$D/$name.json" > "$D/diff" && ok "corpus $name: the configuration as expected" || { bad "corpus $name: configuration differs:"; cat "$D/diff"; }
  diff -u "$c/expected.stderr" "$D/$name.stderr" > "$D/diff" && ok "corpus $name: the lines to delete as expected" || { bad "corpus $name: advice differs:"; cat "$D/diff"; }
  "$AGENT" check -c "$D/$name.json" > /dev/null 2>&1 && ok "corpus $name: check accepts it" || bad "corpus $name: check refuses it"
done
# files as arguments, as a new user types it
"$AGENT" import "$CORPUS/lvs_server/etc/init.d/lvs_server.sh" > "$D/pos.json" 2>/dev/null; rc=$?
[ $rc = 0 ] && grep -q 198.51.100.202 "$D/pos.json" && ok "import FILE (positional)" || bad "import FILE: exit $rc"
# --output FILE: written whole, only when a VIP was found; an existing file is never replaced.
"$AGENT" import "$D/etc/init.d/unrelated" --output "$D/none.json" 2>"$D/err"; rc=$?
[ $rc = 1 ] && [ ! -e "$D/none.json" ] && [ ! -e "$D/none.json.tmp" ] && ok "--output: nothing found, no file written (exit 1)" || bad "--output with nothing found: exit $rc, $(ls "$D")"
"$AGENT" import --sysroot "$D" --output "$D/out.json" >"$D/stdout" 2>"$D/err"; rc=$?
[ $rc = 0 ] && [ ! -s "$D/stdout" ] && cmp -s "$D/out.json" "$D/config.json" && grep -q "wrote $D/out.json (2 VIP(s))" "$D/err" \
  && grep -qF "lvs-rs-agent check -c $D/out.json" "$D/err" && ok "--output: the same configuration, in the file, not on stdout" || bad "--output: exit $rc: $(cat "$D/err")"
echo keep > "$D/live.json"
"$AGENT" import --sysroot "$D" --output "$D/live.json" 2>"$D/err"; rc=$?
[ $rc = 1 ] && [ "$(cat "$D/live.json")" = keep ] && grep -q "exists; not overwritten" "$D/err" && ok "--output: an existing file is left as it was (exit 1)" || bad "--output over a file: exit $rc: $(cat "$D/err")"
"$AGENT" import --output "$D/x.json" --output "$D/y.json" 2>"$D/err"; rc=$?
[ $rc = 2 ] && grep -q "given twice" "$D/err" && ok "--output twice: exit 2" || bad "--output twice: exit $rc"
[ $FAILS -eq 0 ] && { echo "all checks passed"; exit 0; } || { echo "$FAILS check(s) failed"; exit 1; }
