#!/usr/bin/env bash
# What an operator runs in a day, as the issue found it going wrong: status after the
# rc.local path (`start --vip` twice, no file), status while the daemon runs and the file
# on disk is broken or another one, status --ready with service checks and no daemon, a
# `run` whose api.listen is not an address of this host.
source "$(dirname "$0")/lib.sh"; enter_netns "$@"
trap 'end_started "${DAEMON:-}"' EXIT
A=198.51.100.21 B=198.51.100.22

# --- the rc.local path: no configuration file at all
expect_rc 0 "start --vip A" agent start --vip $A
expect_rc 0 "start --vip B" agent start --vip $B
expect_rc 0 "status with no file: from what the agent owns" agent status -c "$STATE/none.json"
contains "$OUT" "VIP $A: in place" "A shown"
contains "$OUT" "VIP $B: in place" "B shown"
contains "$OUT" "note: the configuration on disk cannot be used: $STATE/none.json: cannot read" "the file named in a note"
printf '{"vips": ["%s"], "services": [{"vip": "%s", "type": "tcp", "port": 80}]}' $A $A > "$STATE/a.json"
expect_rc 0 "status --all with a file naming only A" agent status --all -c "$STATE/a.json"
contains "$OUT" "owned by the agent, not in this configuration" "B is the agent's, not this file's"
lacks "$(sed -n '/not managed by the agent/,/owned by the agent/p' <<<"$OUT")" "$B/32" "B is not called unmanaged"
# --- status --ready with a service check and no daemon: cannot be told
expect_rc 4 "status --ready with a service check and no daemon" agent status --ready -c "$STATE/a.json"
contains "$OUT" "readiness (no daemon runs): UNKNOWN: 1 service check(s) are probed only by the running daemon" "says why"
expect_rc 0 "stop" agent stop

# --- check --json for CI: one verdict
expect_rc 0 "check --json" agent check --json -c "$STATE/a.json"
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["valid"] and d["exit"] == 0 and not d["problems"] and any("bind 198.51.100.21/32 on lo" in l for l in d["would"]), d' <<<"$OUT" \
  && pass "check --json: valid, with what start would do" || fail "check --json: $OUT"
printf '{"vips": ["%s"], "services": [{"vip": "%s", "port": "80"}]}' $A $A > "$STATE/bad.json"
expect_rc 2 "check --json of a bad file" agent check --json -c "$STATE/bad.json"
python3 -c 'import json,sys; d=json.load(sys.stdin); assert not d["valid"] and d["exit"] == 2 and not d["would"] and any("got the string \"80\"" in p for p in d["problems"]), d' <<<"$OUT" \
  && pass "check --json: not valid, the problems listed, nothing it would do" || fail "check --json bad: $OUT"

# --- run with an api.listen address that is not this host's
printf '{"vips": ["%s"], "api": {"listen": "203.0.113.77:9100"}}' $A > "$STATE/far.json"
expect_rc 2 "run with api.listen on an address not of this host" agent run -c "$STATE/far.json"
contains "$OUT" "203.0.113.77 is not an address of this host" "names the address"
[ ! -e "$STATE/daemon.pid" ] && pass "no daemon.pid left behind" || fail "daemon.pid left behind"
expect_rc 3 "status afterwards: nothing applied (3), and not DEAD (1)" agent status -c "$STATE/far.json"
lacks "$OUT" "DEAD" "status does not call it dead"

# --- the daemon runs; its file breaks; another file is asked about
start_daemon "{\"vips\": [\"$A\"], \"api\": {\"listen\": \"$API\"}}" || exit 1
printf '{"vips": ["%s",]}' $A > "$STATE/config.json"
expect_rc 0 "status while the daemon runs and its file is broken" agent status -c "$STATE/config.json"
contains "$OUT" "readiness (the running daemon's, as /ready answers): ready" "the running state"
contains "$OUT" "a trailing comma before ']'" "and the file's problem"
contains "$OUT" "the running daemon keeps what it loaded before" "and what that means"
printf '{"vips": ["%s"]}' $B > "$STATE/other.json"
expect_rc 3 "status -c another file while the daemon runs" agent status -c "$STATE/other.json"
contains "$OUT" "note: the daemon runs $STATE/config.json, not $STATE/other.json" "names the file the daemon runs"
printf '{"vips": ["%s", "%s"], "api": {"listen": "%s"}}' $A $B $API > "$STATE/config.json"
touch -d '+2 seconds' "$STATE/config.json"
expect_rc 3 "status after the file changed, before a reload" agent status -c "$STATE/config.json"
contains "$OUT" "changed on disk after the daemon loaded it: \`lvs-rs-agent reload\` applies it" "says a reload applies it"
# --- a user other than root: the kernel side, and what needs root said as such
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
expect_rc 4 "status as nobody while the daemon runs" nobody "$AGENT" status -c "$STATE/other.json" --state-dir "$STATE"
contains "$OUT" "daemon: cannot tell: $STATE is root's" "the daemon is not called 'not running'"
lacks "$OUT" "no daemon runs" "nor is readiness said to be without a daemon"
expect_rc 1 "drain as nobody" nobody "$AGENT" drain --state-dir "$STATE"
contains "$OUT" "control socket $STATE/control.sock is root's (the state dir is mode 0700): run this as root" "drain says it needs root"

# --- the daemon's log: timestamps (not under journald), and who drained
expect_rc 0 "drain --vip A over the control socket" agent drain --vip $A
wait_for "the log names who drained" grep -q "drain of $A requested by uid 0 (pid [0-9]*) on the control socket" "$STATE/daemon.log"
expect_rc 0 "undrain --vip A" agent undrain --vip $A
grep -qE "^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[+-][0-9]{4} running:" "$STATE/daemon.log" \
  && pass "the daemon's lines start with the local time and its offset" || fail "no timestamp: $(head -3 "$STATE/daemon.log")"
expect_rc 3 "a one-shot command's lines carry none" agent status -c "$STATE/other.json"
lacks "$OUT" "T$(date +%H)" "status output has no timestamp"
stop_daemon
equals "$DAEMON_RC" "0" "the daemon exits 0"
DAEMON=
finish
