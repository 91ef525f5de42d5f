#!/usr/bin/env bash
# The Debian package, built the Debian way (dpkg-buildpackage, debhelper): its metadata,
# files, maintainer scripts (from dh_installsystemd), a stripped binary with a -dbgsym
# package, and lintian's verdict (printed; no error or warning allowed). Then the RPM from
# deploy/rpm/lvs-rs-agent.spec (rpm -qp), and `cmake --install` keeping an existing config.
# The .deb is left in OUT_DIR for the boot test (tests/boot).
#   tests/package/packages.sh SOURCE_DIR OUT_DIR
set -u
SRC=${1:?usage: $0 SOURCE_DIR OUT_DIR}
OUT=${2:?usage: $0 SOURCE_DIR OUT_DIR}
for t in dpkg-buildpackage dh lintian rpmbuild; do
  command -v "$t" >/dev/null || { [ -n "${CI:-}" ] && { echo "FAIL: $t missing"; exit 1; }; echo "SKIP: no $t"; exit 77; }
done
B=$(mktemp -d /tmp/lvs-pkg.XXXXXX)
trap 'rm -rf "$B"' EXIT
FAILS=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; FAILS=$((FAILS+1)); }
VERSION=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)

# The source tree as git would export it (no build directories).
mkdir -p "$B/src/lvs-rs-agent-$VERSION"
(cd "$SRC" && { git ls-files -co --exclude-standard 2>/dev/null || find . -path ./build\* -prune -o -type f -print; } |
   grep -vE '^(\./)?(build|obj-)' | tar -cf - -T -) | tar -xf - -C "$B/src/lvs-rs-agent-$VERSION"

echo "== dpkg-buildpackage"
t0=$SECONDS
(cd "$B/src/lvs-rs-agent-$VERSION" && dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$B/deb.log" 2>&1 \
  || { echo "FAIL: dpkg-buildpackage:"; tail -30 "$B/deb.log"; exit 1; }
echo "built in $((SECONDS - t0)) s"
deb=$B/src/lvs-rs-agent_${VERSION}_$(dpkg --print-architecture).deb
dbg=$B/src/lvs-rs-agent-dbgsym_${VERSION}_$(dpkg --print-architecture).deb
[ -f "$deb" ] && ok "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)" || { echo "FAIL: no .deb"; exit 1; }
[ -f "$dbg" ] && ok "built $(basename "$dbg")" || bad "no -dbgsym package"
mkdir -p "$OUT" && cp "$deb" "$OUT/lvs-rs-agent.deb"

info=$(dpkg-deb -I "$deb")
for want in "Package: lvs-rs-agent" "Section: net" "libmicrohttpd12" "libnl-route-3-200" " conffiles" " postinst" " prerm" " postrm"; do
  grep -qF -- "$want" <<<"$info" && ok "control has '$want'" || bad "control lacks '$want'"
done
grep -q procps <<<"$(dpkg-deb -f "$deb" Depends)" && bad "depends on procps" || ok "no procps needed (ExecReload is the agent itself)"
files=$(dpkg-deb -c "$deb")
for want in ./usr/sbin/lvs-rs-agent ./lib/systemd/system/lvs-rs-agent.service ./usr/share/man/man8/lvs-rs-agent.8.gz \
            ./usr/share/bash-completion/completions/lvs-rs-agent ./etc/lvs-rs-agent/config.json \
            ./etc/iproute2/rt_protos.d/lvs-rs-agent.conf ./usr/share/doc/lvs-rs-agent/copyright \
            ./usr/share/lvs-rs-agent/networkd.conf.d/lvs-rs-agent.conf ./usr/share/lvs-rs-agent/NetworkManager/conf.d/lvs-rs-agent.conf; do
  grep -qF -- " $want" <<<"$files" && ok "contains $want" || bad "missing $want"
done
X=$B/ctl; dpkg-deb -e "$deb" "$X"
grep -qx /etc/lvs-rs-agent/config.json "$X/conffiles" && ok "the config is a conffile" || bad "config not a conffile"
grep -q "deb-systemd-invoke stop" "$X/prerm" && ok "prerm stops the daemon on remove" || bad "prerm: $(cat "$X/prerm")"
grep -q "deb-systemd-helper purge" "$X/postrm" && ok "postrm purges the unit's links" || bad "postrm lacks deb-systemd-helper purge"
grep -q "was-enabled" "$X/postinst" && ok "postinst re-enables only a unit that was enabled (a fresh install enables nothing)" || bad "postinst lacks the was-enabled check"
dpkg-deb -x "$deb" "$B/root"
grep -q "^ExecReload=/usr/sbin/lvs-rs-agent reload" "$B/root/lib/systemd/system/lvs-rs-agent.service" && ok "ExecReload is the agent's reload" || bad "ExecReload: $(grep ExecReload "$B"/root/lib/systemd/system/*.service)"
readelf -S "$B/root/usr/sbin/lvs-rs-agent" | grep -q '\.debug_info' && bad "the binary is not stripped" || ok "the binary is stripped ($(du -k "$B/root/usr/sbin/lvs-rs-agent" | cut -f1) KiB)"
dpkg-deb -c "$dbg" 2>/dev/null | grep -q '/usr/lib/debug/.build-id/.*\.debug' && ok "-dbgsym holds the debug symbols" || bad "-dbgsym has no .debug file"
"$B/root/usr/sbin/lvs-rs-agent" check -c "$B/root/etc/lvs-rs-agent/config.json" >/dev/null && ok "the packaged binary accepts the packaged config" || bad "packaged config rejected"

echo "== lintian"
lint=$(lintian --pedantic -I "$B/src/lvs-rs-agent_${VERSION}_$(dpkg --print-architecture).changes" 2>&1 | grep -v "running with root privileges")
echo "${lint:-(nothing)}" | sed 's/^/    /'
grep -qE '^[EW]: ' <<<"$lint" && bad "lintian errors or warnings" || ok "lintian: no error, no warning ($(grep -c '^[IPX]: ' <<<"$lint") info/pedantic)"

echo "== rpmbuild (deploy/rpm/lvs-rs-agent.spec)"
R=$B/rpm; mkdir -p "$R/SOURCES"
tar -czf "$R/SOURCES/lvs-rs-agent-$VERSION.tar.gz" -C "$B/src" --exclude=debian/.debhelper --exclude='obj-*' "lvs-rs-agent-$VERSION"
load=()
rpm --eval '%{?systemd_post:yes}' | grep -q yes || load=(--load "$(dirname "$0")/macros.systemd-fallback")
t0=$SECONDS
# -O0: this checks the packaging (the .deb above is the optimised build), in half the time
rpmbuild -bb --nodeps "${load[@]}" --define "_topdir $R" --define "debug_package %{nil}" --define "_smp_mflags -j$(nproc)" --define "optflags -O0" \
  "$SRC/deploy/rpm/lvs-rs-agent.spec" >"$B/rpm.log" 2>&1 || { bad "rpmbuild:"; tail -20 "$B/rpm.log"; }
rpmf=$(ls "$R"/RPMS/*/lvs-rs-agent-"$VERSION"-*.rpm 2>/dev/null | head -1)
if [ -f "$rpmf" ]; then
  ok "built $(basename "$rpmf") in $((SECONDS - t0)) s"
  list=$(rpm -qpl "$rpmf" 2>/dev/null)
  for want in /usr/sbin/lvs-rs-agent /usr/lib/systemd/system/lvs-rs-agent.service /etc/lvs-rs-agent/config.json /usr/share/man/man8/lvs-rs-agent.8 /usr/share/lvs-rs-agent/networkd-keep-configuration.conf; do
    grep -qx -- "$want" <<<"$list" && ok "rpm contains $want" || bad "rpm lacks $want"
  done
  grep -qx /etc/lvs-rs-agent/config.json <<<"$(rpm -qpc "$rpmf" 2>/dev/null)" && ok "rpm: config is %config" || bad "rpm: config not %config"
  scripts=$(rpm -qp --scripts "$rpmf" 2>/dev/null)
  grep -q "preset lvs-rs-agent.service" <<<"$scripts" && ok "rpm %post presets the unit" || bad "rpm %post: $scripts"
  grep -q "disable --now lvs-rs-agent.service" <<<"$scripts" && ok "rpm %preun stops and disables on erase" || bad "rpm %preun"
  grep -q "try-restart lvs-rs-agent.service" <<<"$scripts" && ok "rpm %postun restarts after an upgrade" || bad "rpm %postun"
  grep -q "libnl-route-3.so" <<<"$(rpm -qp --requires "$rpmf" 2>/dev/null)" && ok "rpm requires libnl-route-3 (from the ELF)" || bad "rpm requires: $(rpm -qp --requires "$rpmf")"
else
  bad "no .rpm built"
fi

echo "== cmake --install keeps an existing config"
obj=$(ls -d "$B/src/lvs-rs-agent-$VERSION"/obj-* 2>/dev/null | head -1)
DESTDIR=$B/inst cmake --install "$obj" >/dev/null
[ -f "$B/inst/etc/lvs-rs-agent/config.json" ] && ok "cmake --install installs the config" || bad "no config installed"
echo '{"vips": ["203.0.113.77"]}' > "$B/inst/etc/lvs-rs-agent/config.json"
out=$(DESTDIR=$B/inst cmake --install "$obj")
grep -q "203.0.113.77" "$B/inst/etc/lvs-rs-agent/config.json" && ok "an existing config is kept" || bad "config overwritten"
grep -q "Keeping existing" <<<"$out" && ok "install says it kept it" || bad "no message"
[ $FAILS -eq 0 ] && { echo "all checks passed"; exit 0; } || { echo "$FAILS check(s) failed"; exit 1; }
