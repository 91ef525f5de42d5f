#!/usr/bin/env bash
# Keeps the key reference honest: every configuration key the parser accepts is in the
# README's reference tables (header "| key | type | default | meaning |") and in the man
# page (a ".B key" line under CONFIGURATION KEYS), and every key those name is one the
# parser accepts. The parser's keys are asked of the parser itself: an unknown key in each
# section gets "(known keys: ...)" in its refusal (`check --offline`).
set -u
AGENT=${1:?usage: $0 PATH_TO_lvs-rs-agent}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FAILS=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

# known PREFIX JSON: the keys the parser lists for the section JSON puts "zzzzzzzz" in.
known() {
  local prefix=$1 json=$2 list
  list=$(printf '%s' "$json" | "$AGENT" check --offline -c /dev/stdin 2>&1 | grep -o 'zzzzzzzz" (known keys: [^)]*)' | head -1 |
         sed 's/.*known keys: //; s/)$//')
  [ -n "$list" ] || { bad "the parser named no keys for $prefix (the probe no longer reaches its section)"; return; }
  tr ',' '\n' <<<"$list" | sed 's/^ *//' | sed "s/^/$prefix/"
}
V='"vips": ["198.51.100.1"]'
P=$( {
  known "" "{$V, \"zzzzzzzz\": 1}"
  for s in arp announce api drain tunnel nat colocated; do known "$s." "{$V, \"$s\": {\"zzzzzzzz\": 1}}"; done
  known "vips[]." '{"vips": [{"address": "198.51.100.1", "zzzzzzzz": 1}]}'
  known "vips[]." '{"vips": [{"prefix": "198.18.0.0/24", "zzzzzzzz": 1}]}'
  known "services[]." "{$V, \"services\": [{\"vip\": \"198.51.100.1\", \"port\": 80, \"zzzzzzzz\": 1}]}"
  known "nat.ports[]." '{"nat": {"director": "198.51.100.50", "vips": ["203.0.113.1"], "ports": [{"port": 80, "zzzzzzzz": 1}]}}'
  # colocated.ports[] shares nat.ports[]'s parser, which refuses virtual_port there ("a virtual_port is for NAT")
  known "colocated.ports[]." "{$V, \"colocated\": {\"peer_directors\": [\"198.51.100.52\"], \"fwmark\": 3, \"ports\": [{\"port\": 80, \"zzzzzzzz\": 1}]}}" |
    grep -v '^colocated.ports\[\].virtual_port$'
} | sort -u)
[ "$(wc -l <<<"$P")" -ge 60 ] && ok "the parser names $(wc -l <<<"$P") keys" || bad "only $(wc -l <<<"$P") keys from the parser: $P"

# The README's reference: first column of the key tables.
R=$(awk '/^\| key \| type \| default \| meaning \|$/ {t=1; next} t && /^\|/ {print; next} {t=0}' "$ROOT/README.md" |
    grep -o '^| `[^`]*`' | sed 's/^| `//; s/`$//' | grep -v '^---' | sort -u)
# The man page's: ".B key" lines in CONFIGURATION KEYS.
M=$(awk '/^\.SH CONFIGURATION KEYS/ {t=1; next} /^\.SH/ {t=0} t && /^\.B / {sub(/^\.B /, ""); gsub(/"/, ""); print}' "$ROOT/docs/lvs-rs-agent.8" | sort -u)

check_side() {  # check_side NAME LIST
  local missing extra
  missing=$(comm -23 <(echo "$P") <(echo "$2"))
  extra=$(comm -13 <(echo "$P") <(echo "$2"))
  [ -z "$missing" ] && ok "$1 names every key the parser accepts" || bad "$1 lacks: $(tr '\n' ' ' <<<"$missing")"
  [ -z "$extra" ] && ok "$1 names no key the parser refuses" || bad "$1 names keys the parser refuses: $(tr '\n' ' ' <<<"$extra")"
}
check_side "README" "$R"
check_side "the man page" "$M"
[ $FAILS -eq 0 ] && { echo "all checks passed"; exit 0; } || { echo "$FAILS check(s) failed"; exit 1; }
