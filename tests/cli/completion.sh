#!/usr/bin/env bash
# The bash completion: the command found past options (and their values), --vip offering
# the configured VIPs (the file's and its drop-ins'), the options of the command found.
set -u
D=$(mktemp -d /tmp/lvs-completion.XXXXXX)
trap 'rm -rf "$D"' EXIT
FAILS=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
source "$(dirname "$0")/../../docs/lvs-rs-agent.bash-completion"
# complete WORDS...: the last word is the one being completed; prints the candidates
complete_words() {
  COMP_WORDS=(lvs-rs-agent "$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=()
  _lvs_rs_agent
  [ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}
expect() {  # expect WHAT GOT WANT
  [ "$2" = "$3" ] && ok "$1" || bad "$1: got '$2', wanted '$3'"
}
mkdir -p "$D/conf.d"
echo '{"vips": ["198.51.100.188", {"address": "2001:db8::188"}], "api": {"listen": "127.0.0.1:9100"}}' > "$D/config.json"
echo '{"vips": ["203.0.113.7"]}' > "$D/conf.d/web.json"
expect "a command past -c FILE" "$(complete_words -c "$D/config.json" st)" "start status stop "
expect "a command first" "$(complete_words d)" "director-config doctor drain "
expect "--vip offers the configured VIPs and the drop-ins'" "$(complete_words -c "$D/config.json" drain --vip '')" \
  "198.51.100.188 2001:db8::188 203.0.113.7 "  # not the API's 127.0.0.1:9100
expect "--vip with a prefix typed" "$(complete_words drain -c "$D/config.json" --vip 198)" "198.51.100.188 "
expect "the command's options after a global one" "$(complete_words -c "$D/config.json" check --j)" "--json "
expect "--format for router-config" "$(complete_words router-config --format '')" "bird frr "
expect "no command twice" "$(complete_words status sta)" ""
[ $FAILS -eq 0 ] && { echo "all checks passed"; exit 0; } || { echo "$FAILS check(s) failed"; exit 1; }
