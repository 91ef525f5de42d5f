# Shared helpers for the namespace tests. Each test re-runs itself inside a fresh network
# namespace (unshare -n, plus a mount namespace where asked), so nothing it does can reach
# the host's network; the namespace disappears with the test's process.
# Usage at the top of a test:  source lib.sh; enter_netns "$@"
set -u
AGENT=${1:?usage: $0 PATH_TO_lvs-rs-agent}
VIP4=198.51.100.188
VIP6=2001:db8::188

skip_or_fail() {
  if [ -n "${CI:-}" ]; then echo "FAIL: $1 (in CI a skipped namespace test is a failure)"; exit 1; fi
  echo "SKIP: $1"; exit 77
}

enter_netns() {
  if [ -z "${LVS_IN_NETNS:-}" ]; then
    [ "$(id -u)" = 0 ] || skip_or_fail "needs root to create network namespaces"
    unshare -n true 2>/dev/null || skip_or_fail "cannot create a network namespace (unshare -n)"
    local extra=()
    [ -n "${NEED_MOUNT_NS:-}" ] && extra=(-m --propagation private)
    LVS_IN_NETNS=1 exec unshare -n "${extra[@]}" bash "$0" "$@"
  fi
  STATE=$(mktemp -d /tmp/lvs-test-state.XXXXXX)
  trap 'rm -rf "$STATE"' EXIT
}

FAILS=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

# run CMD...: sets OUT (stdout+stderr) and RC
run() { OUT=$("$@" 2>&1); RC=$?; }

expect_rc() {  # expect_rc WANT DESCRIPTION CMD...
  local want=$1 what=$2; shift 2
  run "$@"
  if [ "$RC" = "$want" ]; then pass "$what (exit $RC)"; else fail "$what: exit $RC, wanted $want"; echo "$OUT" | sed 's/^/    /'; fi
}

contains() {  # contains HAYSTACK NEEDLE DESCRIPTION
  if grep -qF -- "$2" <<<"$1"; then pass "$3"; else fail "$3: missing '$2' in:"; echo "$1" | sed 's/^/    /'; fi
}
lacks() {
  if grep -qF -- "$2" <<<"$1"; then fail "$3: unexpected '$2' in:"; echo "$1" | sed 's/^/    /'; else pass "$3"; fi
}
equals() {  # equals GOT WANT DESCRIPTION
  if [ "$1" = "$2" ]; then pass "$3"; else fail "$3: got '$1', wanted '$2'"; fi
}

sysv() { cat "/proc/sys/net/ipv4/conf/$1/$2"; }
setsys() { echo "$3" > "/proc/sys/net/ipv4/conf/$1/$2"; }
arp_all() { echo "$(sysv all arp_ignore) $(sysv all arp_announce) $(sysv lo arp_ignore) $(sysv lo arp_announce)"; }
has_addr() { ip -o addr show dev lo | grep -qw "inet6\? $1/$2"; }
has_route() { ip route show table main | grep -q "^$1 dev lo proto 177"; }
has_route6() { ip -6 route show table main | grep -q "^$1 dev lo proto 177"; }
# Everything the agent may touch, for "nothing changed" comparisons.
kernel_snapshot() {
  ip -o addr show; ip route show table all; ip -6 route show table all
  ip -o link show lo; arp_all
}

agent() { "$AGENT" "$@" --state-dir "$STATE"; }

finish() {
  if [ "$FAILS" -gt 0 ]; then echo "$FAILS check(s) failed"; exit 1; fi
  echo "all checks passed"; exit 0
}

# The daemon: start_daemon CONFIG_JSON starts `run` in the background (PID in DAEMON),
# logging to $STATE/daemon.log, and waits until its first converge is done (the log says
# "running:") and its API answers on API (host:port).
API=127.0.0.1:9100
start_daemon() {
  printf '%s' "$1" > "$STATE/config.json"
  : > "$STATE/daemon.log"
  "$AGENT" run -c "$STATE/config.json" --state-dir "$STATE" >>"$STATE/daemon.log" 2>&1 &
  DAEMON=$!
  if wait_until 30 daemon_up; then return 0; fi
  kill -0 $DAEMON 2>/dev/null && echo "daemon did not come up within 30 s:" || echo "daemon exited:"
  cat "$STATE/daemon.log"; return 1
}
daemon_up() {
  kill -0 "$DAEMON" 2>/dev/null || return 2
  grep -qE "(^| )running:" "$STATE/daemon.log" 2>/dev/null && curl -s -o /dev/null "http://$API/healthz"
}
# For EXIT traps: end what the test started (by PID) and wait, so the daemon has finished
# writing into $STATE before it is removed.
end_started() {
  local p
  for p in "$@"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  for p in "$@"; do [ -n "$p" ] && wait "$p" 2>/dev/null; done
  rm -rf "$STATE"
}
stop_daemon() {  # SIGTERM, wait; sets DAEMON_RC
  kill -TERM "$DAEMON" 2>/dev/null; wait "$DAEMON"; DAEMON_RC=$?
}
http_code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
# Waiting is for a condition, never for a time: wait_until SECONDS CMD... polls CMD every
# 20 ms until it succeeds (0) or the deadline passes (1). A CMD that returns 2 means it
# can never succeed (a process it waits for has died): stop at once.
now_us() { echo "${EPOCHREALTIME/./}"; }
wait_until() {
  local limit=$1 rc; shift
  local end=$(( $(now_us) + limit * 1000000 ))
  while :; do
    "$@" >/dev/null 2>&1; rc=$?
    [ "$rc" = 0 ] && return 0
    [ "$rc" = 2 ] && return 1
    [ "$(now_us)" -ge "$end" ] && return 1
    sleep 0.02
  done
}
# wait_for DESCRIPTION CMD...: a check that passes once CMD succeeds within 10 s
wait_for() {
  local what=$1; shift
  if wait_until 10 "$@"; then pass "$what"; return 0; fi
  fail "$what (not within 10 s)"; return 1
}
# listening ADDR PORT: a TCP listener on exactly ADDR:PORT ("*" or "0.0.0.0" for any)
listening() { ss -Hltn "sport = :$2" | awk '{print $4}' | grep -qxF "$1:$2"; }
# wait_listening ADDR PORT: a started server is up when ss shows its socket (20 s)
wait_listening() {
  wait_until 20 listening "$1" "$2" && return 0
  echo "nothing listens on $1:$2 after 20 s"; return 1
}
http_is() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$2")" = "$1" ]; }  # http_is CODE URL
log_has() { grep -qF -- "$1" "${2:-$STATE/daemon.log}"; }  # log_has TEXT [FILE]
# haproxy_stat SOCKET BACKEND SERVER [COLUMN]: a column (default status) of HAProxy's
# `show stat` for one server, read from its stats socket.
haproxy_stat() {
  python3 - "$1" "$2" "$3" "${4:-status}" <<'PY'
import socket, sys, csv
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"show stat\n")
data = b""
while True:
    b = s.recv(65536)
    if not b: break
    data += b
rows = list(csv.reader(data.decode().lstrip("# ").splitlines()))
hdr = rows[0]
for r in rows[1:]:
    if len(r) > 1 and r[0] == sys.argv[2] and r[1] == sys.argv[3]:
        print(r[hdr.index(sys.argv[4])])
PY
}
# json_at URL PYEXPR: evaluates PYEXPR over the JSON document d fetched from URL
json_at() { curl -s "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"; }
