#!/usr/bin/env bash
# The systemd unit: `systemd-analyze verify` prints nothing, and
# `systemd-analyze security --offline=yes` rates its exposure 2.0 or lower.
# Both work without systemd as PID 1.
set -u
UNIT_IN=${1:?usage: $0 GENERATED_UNIT AGENT_BINARY}
AGENT=${2:?usage: $0 GENERATED_UNIT AGENT_BINARY}
command -v systemd-analyze >/dev/null || { [ -n "${CI:-}" ] && { echo "FAIL: systemd-analyze missing"; exit 1; }; echo "SKIP: no systemd-analyze"; exit 77; }
D=$(mktemp -d /tmp/lvs-unit.XXXXXX)
trap 'rm -rf "$D"' EXIT
# verify checks that ExecStart and ExecReload exist: point them at the binary just built.
sed -E "s|^(Exec[A-Za-z]+)=[^ ]*|\1=$AGENT|" "$UNIT_IN" > "$D/lvs-rs-agent.service"
rc=0
out=$(cd "$D" && systemd-analyze verify --man=no ./lvs-rs-agent.service 2>&1)
if [ -n "$out" ]; then echo "FAIL: systemd-analyze verify printed:"; echo "$out"; rc=1; else echo "ok: systemd-analyze verify is silent"; fi
sec=$(cd "$D" && systemd-analyze security --offline=yes ./lvs-rs-agent.service 2>&1)
score=$(grep -o 'Overall exposure level for [^:]*: [0-9.]*' <<<"$sec" | awk '{print $NF}')
if [ -z "$score" ]; then echo "FAIL: no exposure score in:"; echo "$sec" | tail -5; exit 1; fi
echo "exposure: $score"
if awk -v s="$score" 'BEGIN {exit !(s <= 2.0)}'; then echo "ok: exposure $score <= 2.0"; else echo "FAIL: exposure $score > 2.0"; grep -E '^✗' <<<"$sec" | head -20; rc=1; fi
exit $rc
