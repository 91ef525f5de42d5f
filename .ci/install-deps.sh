#!/usr/bin/env bash
# Installs what building, testing and the demo need from Debian's packages. Idempotent:
# apt-get runs only when a package is missing.
set -euo pipefail
PACKAGES=(
  build-essential cmake pkg-config                  # toolchain
  libnl-3-dev libnl-route-3-dev                      # rtnetlink
  nlohmann-json3-dev libmicrohttpd-dev doctest-dev  # JSON, HTTP, tests
  libsystemd-dev                                     # sd-bus (restart or stop?), sd-daemon (fd store)
  libcpp-httplib-dev libssl-dev libc-ares-dev        # service checks: http and https, dns
  iproute2 nftables arping curl python3 util-linux   # namespace tests and the DR lab
  openssl                                            # the TLS test server's certificate (netns.checks, bench/checks)
  haproxy keepalived                                 # director-side: a real poller, config checks
  rpm                                                # rpmbuild, for the .rpm package test
  debhelper dpkg-dev fakeroot lintian                # the Debian package (dpkg-buildpackage)
  mmdebstrap systemd-container ansible-core          # the boot test: a booted Debian 12, the Ansible role
  clang-19 libclang-rt-19-dev                        # sanitizer builds, libFuzzer (clang 14 lacks std::expected), the BPF target
  libbpf-dev                                         # the tunnel decapsulation program: loaded and configured with libbpf
  libnftables-dev                                    # nftables through its own library (doctor's NAT rules, the two-box marks)
  bird2 frr                                          # readiness to routers: the BGP lab, router-config checks
)
PACKAGES+=("$@")
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # The routing daemons (bird2, frr) and the directors would start on the host when
  # installed: a policy-rc.d that refuses every start, for the install only, keeps them
  # stopped (the tests run their own, inside namespaces). One already there is left alone.
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\n# lvs-rs-agent install-deps: no service starts during this install\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -z "$policy" ] || { rm -f "$policy"; trap - EXIT; }
fi

# promtool (rules checks and tests) from Debian's prometheus package, unpacked under
# /var/tmp rather than installed: installing it would start a Prometheus server.
PROMTOOL_DIR=/var/tmp/lvs-promtool
if [ ! -x "$PROMTOOL_DIR/root/usr/bin/promtool" ]; then
  echo "unpacking promtool from Debian's prometheus package into $PROMTOOL_DIR"
  mkdir -p "$PROMTOOL_DIR"
  (cd "$PROMTOOL_DIR" && rm -f prometheus_*.deb && apt-get download -qq prometheus 2>/dev/null \
     && dpkg-deb -x prometheus_*.deb root && rm -f prometheus_*.deb)
fi
