#!/usr/bin/env bash
# Runs the tunnel program's tests: loading BPF needs root (CAP_BPF, CAP_NET_ADMIN).
# Outside CI without root they skip (77); in CI a skip is a failure.
set -u
[ "$(id -u)" = 0 ] || { [ -n "${CI:-}" ] && { echo "FAIL: needs root to load BPF"; exit 1; }; echo "SKIP: needs root to load BPF"; exit 77; }
exec "$1" --no-intro=true
