#!/usr/bin/env bash
# Builds the .deb (prefix /usr) and checks its metadata and contents with dpkg-deb; the
# .rpm too where rpmbuild is present (rpm -qp). And cmake --install keeps an existing config.
set -u
SRC=${1:?usage: $0 SOURCE_DIR}
command -v dpkg-deb >/dev/null && command -v cpack >/dev/null || { echo "SKIP: no dpkg-deb/cpack"; exit 77; }
B=$(mktemp -d /tmp/lvs-deb.XXXXXX)
trap 'rm -rf "$B"' EXIT
FAILS=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; FAILS=$((FAILS+1)); }
cmake -S "$SRC" -B "$B" -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
cmake --build "$B" -j"$(nproc)" --target lvs-rs-agent >/dev/null || exit 1
(cd "$B" && cpack -G DEB >/dev/null) || { echo "FAIL: cpack"; exit 1; }
deb=$(ls "$B"/lvs-rs-agent_*.deb 2>/dev/null | head -1)
[ -f "$deb" ] && ok "built $(basename "$deb")" || { echo "FAIL: no .deb"; exit 1; }
info=$(dpkg-deb -I "$deb")
files=$(dpkg-deb -c "$deb")
for want in "Package: lvs-rs-agent" "Depends: libnl-3-200, libnl-route-3-200, libmicrohttpd12" "Section: net" " conffiles" " postinst"; do
  grep -qF -- "$want" <<<"$info" && ok "control has '$want'" || bad "control lacks '$want'"
done
[ "$(dpkg-deb -f "$deb" Architecture)" = "$(dpkg --print-architecture)" ] && ok "architecture" || bad "architecture"
for want in ./usr/sbin/lvs-rs-agent ./usr/lib/systemd/system/lvs-rs-agent.service ./usr/share/man/man8/lvs-rs-agent.8 \
            ./usr/share/bash-completion/completions/lvs-rs-agent ./etc/lvs-rs-agent/config.json \
            ./etc/iproute2/rt_protos.d/lvs-rs-agent.conf ./usr/share/doc/lvs-rs-agent/examples/config.json; do
  grep -qF -- " $want" <<<"$files" && ok "contains $want" || bad "missing $want"
done
X=$B/x; dpkg-deb -e "$deb" "$X"
grep -qx /etc/lvs-rs-agent/config.json "$X/conffiles" && ok "config is a conffile" || bad "config not a conffile"
grep -q "daemon-reload" "$X/postinst" && ! grep -qE "systemctl (start|enable|restart)" "$X/postinst" && ok "postinst reloads systemd, starts nothing" || bad "postinst"
dpkg-deb -x "$deb" "$B/root"
grep -q "^ExecStart=/usr/sbin/lvs-rs-agent run" "$B/root/usr/lib/systemd/system/lvs-rs-agent.service" && ok "unit points at /usr/sbin" || bad "unit ExecStart: $(grep ExecStart "$B"/root/usr/lib/systemd/system/*.service)"
"$B/root/usr/sbin/lvs-rs-agent" check -c "$B/root/etc/lvs-rs-agent/config.json" >/dev/null && ok "packaged binary accepts the packaged config" || bad "packaged config rejected"
# cmake --install puts the example config in place once and never overwrites it.
DESTDIR=$B/inst cmake --install "$B" >/dev/null
[ -f "$B/inst/etc/lvs-rs-agent/config.json" ] && ok "cmake --install installs the config" || bad "no config installed"
echo '{"vips": ["203.0.113.77"]}' > "$B/inst/etc/lvs-rs-agent/config.json"
out=$(DESTDIR=$B/inst cmake --install "$B")
grep -q "203.0.113.77" "$B/inst/etc/lvs-rs-agent/config.json" && ok "an existing config is kept" || bad "config overwritten"
grep -q "Keeping existing" <<<"$out" && ok "install says it kept it" || bad "no message"
if command -v rpmbuild >/dev/null; then
  (cd "$B" && cpack -G RPM >/dev/null 2>"$B/rpm.err") || bad "cpack -G RPM: $(tail -5 "$B/rpm.err")"
  rpm=$(ls "$B"/lvs-rs-agent-*.rpm 2>/dev/null | head -1)
  if [ -f "$rpm" ]; then
    ok "built $(basename "$rpm")"
    list=$(rpm -qpl "$rpm" 2>/dev/null)
    for want in /usr/sbin/lvs-rs-agent /usr/lib/systemd/system/lvs-rs-agent.service /etc/lvs-rs-agent/config.json /usr/share/man/man8/lvs-rs-agent.8; do
      grep -qx -- "$want" <<<"$list" && ok "rpm contains $want" || bad "rpm lacks $want"
    done
    grep -qx /etc/lvs-rs-agent/config.json <<<"$(rpm -qpc "$rpm" 2>/dev/null)" && ok "rpm: config is %config" || bad "rpm: config not %config"
    grep -q "^libnl3" <<<"$(rpm -qp --requires "$rpm" 2>/dev/null)" && ok "rpm requires libnl3" || bad "rpm requires: $(rpm -qp --requires "$rpm")"
    grep -q "daemon-reload" <<<"$(rpm -qp --scripts "$rpm" 2>/dev/null)" && ok "rpm %post reloads systemd" || bad "rpm scripts"
  else
    bad "no .rpm built"
  fi
else
  [ -n "${CI:-}" ] && bad "rpmbuild missing in CI" || echo "note: no rpmbuild here, .rpm not built"
fi
[ $FAILS -eq 0 ] && { echo "all checks passed"; exit 0; } || { echo "$FAILS check(s) failed"; exit 1; }
