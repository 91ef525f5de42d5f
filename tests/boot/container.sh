# A Debian 12 system booted under a real systemd, for the boot test (sourced).
#
# The root file system is built once with mmdebstrap (minbase, systemd, dbus, what the
# .deb declares, and python3 + python3-apt for the Ansible role's test) and cached under
# /var/tmp keyed by that package list. Each run boots a copy with
# `systemd-nspawn --boot --private-network`: the container has a network namespace of
# its own, so nothing it does reaches the host's. CAP_BPF and the bpf() system call are
# let into the container (nspawn leaves both out): the unit grants them to the agent for
# the tunnel decapsulation, whose program attaches inside the container's namespace. The host's PID 1 need not be systemd:
# nspawn runs from a cgroup of its own, with --keep-unit and without registering.
#
#   rootfs_for DEB      sets ROOTFS (builds it when missing)
#   boot_container DIR  boots DIR, sets NSPAWN_PID and LEADER, waits until it is running
#   in_ct CMD...        runs CMD in all of the container's namespaces
#   in_ct_net CMD...    runs a host tool (ip, curl) in the container's network namespace
#   halt_container      powers it off (and waits for nspawn to exit)
CACHE=${LVS_BOOT_CACHE:-/var/tmp/lvs-rs-agent-boot}
MIRROR=${LVS_BOOT_MIRROR:-http://deb.debian.org/debian}
NSPAWN_PID=
LEADER=
CGROUP=

rootfs_for() {
  local deb=$1 deps pkgs key
  # the package's Depends, names only (versions and alternatives' first choice)
  deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/[[:space:]]//g' | grep -v '^$' | sort -u | paste -sd, -)
  pkgs="systemd,systemd-sysv,dbus,python3,python3-apt,$deps"
  key=$(printf 'bookworm minbase %s v1' "$pkgs" | sha256sum | cut -c1-16)
  ROOTFS=$CACHE/rootfs-$key
  echo "rootfs: minbase + $pkgs ($ROOTFS)"
  [ -f "$ROOTFS/.complete" ] && { echo "rootfs: cached"; return 0; }
  mkdir -p "$CACHE"
  local tmp t0=$SECONDS
  tmp=$(mktemp -d "$CACHE/building.XXXXXX")
  if ! mmdebstrap --quiet --variant=minbase --include="$pkgs" bookworm "$tmp/root" "$MIRROR" >"$tmp/log" 2>&1; then
    echo "mmdebstrap failed:"; tail -20 "$tmp/log"; rm -rf "$tmp"; return 1
  fi
  touch "$tmp/root/.complete"
  rm -rf "$ROOTFS"
  mv "$tmp/root" "$ROOTFS" && rm -rf "$tmp"
  echo "rootfs: built in $((SECONDS - t0)) s"
}

leader_of() { pgrep -P "$1" -x systemd | head -1; }

boot_container() {
  local dir=$1 t0=$EPOCHREALTIME
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    CGROUP=/sys/fs/cgroup/lvs-boot-$$          # unified hierarchy
  else
    CGROUP=/sys/fs/cgroup/systemd/lvs-boot-$$  # hybrid: systemd's named hierarchy
  fi
  mkdir -p "$CGROUP" || return 1
  ( echo "$BASHPID" > "$CGROUP/cgroup.procs"
    exec systemd-nspawn --quiet --boot --private-network --keep-unit --register=no --capability=CAP_BPF --system-call-filter=bpf \
      --machine=lvs-boot-$$ --console=pipe -D "$dir" ) >>"$dir.console" 2>&1 &
  NSPAWN_PID=$!
  wait_until 30 eval 'LEADER=$(leader_of "$NSPAWN_PID"); [ -n "$LEADER" ]' || { echo "no init in the container"; tail "$dir.console"; return 1; }
  LEADER=$(leader_of "$NSPAWN_PID")
  wait_until 60 nsenter -t "$LEADER" -m -- test -S /run/systemd/private || { echo "the container's systemd did not come up"; return 1; }
  local state
  state=$(timeout 90 nsenter -t "$LEADER" -a -- systemctl is-system-running --wait 2>&1)
  echo "booted in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}') s: $state"
  [ "$state" = running ] || { in_ct systemctl --failed --no-pager; return 1; }
}

in_ct() { nsenter -t "$LEADER" -a -- "$@"; }
in_ct_net() { nsenter -t "$LEADER" -n -- "$@"; }

# nspawn exits when the container's systemd does (poweroff, reboot); it is ours: by PID.
wait_nspawn_exit() { wait_until "${1:-60}" sh -c "! kill -0 $NSPAWN_PID 2>/dev/null"; }
halt_container() {
  [ -n "$NSPAWN_PID" ] || return 0
  if kill -0 "$NSPAWN_PID" 2>/dev/null; then
    kill -TERM "$NSPAWN_PID" 2>/dev/null  # nspawn asks the container's systemd to power off
    wait_nspawn_exit 60 || kill -KILL "$NSPAWN_PID" 2>/dev/null
  fi
  wait "$NSPAWN_PID" 2>/dev/null
  NSPAWN_PID= LEADER=
  [ -n "$CGROUP" ] && rmdir "$CGROUP" 2>/dev/null
  return 0
}
