#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Debian package, as an administrator meets it: build it from the
# release tree ("make distdir", so the dist tarball carries debian/), then
# "apt-get install ./vmtraced_*.deb" into this machine's root; check what
# it installed and that nothing was started; configure an endpoint on
# vcsim and run the installed daemon from its installed paths, as its
# unit would (user vmtraced, the credential handed over, the trail in
# /var/lib/vmtraced); one operation and "vmctl verify"; then remove, and
# purge, checking what each leaves (debian/README.Debian says why).
#
# Root only, and it changes the real system: it skips (77) rather than
# touch a vmtraced that is installed already (package, make install,
# configuration or trail), and its EXIT trap purges the package and removes
# what the test made (users and groups included) also when it fails.
# Run from a configured build directory: tests/package.sh (tools/check
# does, as root).  DEB_BUILD_OPTIONS=nocheck: the unit tests are run by
# the suite itself, and the build is the slow part.
skip_all() { echo "1..0 # SKIP $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip_all "needs root: it installs and purges the package in the system root"
for tool in dpkg-buildpackage apt-get dpkg-query setpriv; do
	command -v $tool >/dev/null || skip_all "needs $tool (tools/deps.sh installs it)"
done
# pkg_status: the package's state as dpkg has it (not-installed, config-files, installed...).
pkg_status() { dpkg-query -W -f='${db:Status-Status}' vmtraced 2>/dev/null || echo not-installed; }
if [ "$(pkg_status)" != not-installed ]; then
	skip_all "the vmtraced package is installed on this machine already; not touching it"
fi
for p in /usr/sbin/vmtraced /usr/bin/vmctl /etc/vmtraced /var/lib/vmtraced /run/vmtraced; do
	[ -e "$p" ] && skip_all "$p exists (a vmtraced installed or running here); not touching it"
done

. "${top_srcdir:-$(dirname "$0")/..}/tests/lib/common.sh"
# The installed programs, and nothing of the build tree's behind them.
VMTRACED=/usr/sbin/vmtraced
VMCTL=/usr/bin/vmctl
unset VMTRACED_MODULE_DIR VMTRACED_BACKEND_DIR VMCTL_TRAIL_HELPER
CONF=/etc/vmtraced/vmtraced.conf
STATE=/var/lib/vmtraced
ACCOUNTS="passwd:vmtraced group:vmtraced group:vmops group:vmtraced-audit"
# The accounts this test's install makes, to be taken away again at the end (purge keeps them).
new_accounts=
for a in $ACCOUNTS; do
	getent "${a%%:*}" "${a#*:}" >/dev/null 2>&1 || new_accounts="$new_accounts $a"
done
package_cleanup() {
	cleanup
	if [ "$(pkg_status)" != not-installed ]; then
		apt-get purge -y -qq vmtraced >/dev/null 2>&1 || dpkg --purge vmtraced >/dev/null 2>&1
	fi
	# None of these existed before (checked above): all of them are this test's.
	rm -rf /etc/vmtraced "$STATE" /run/vmtraced
	local a
	for a in $new_accounts; do
		case $a in
		passwd:*) userdel "${a#passwd:}" 2>/dev/null ;;
		group:*) groupdel "${a#group:}" 2>/dev/null ;;
		esac
	done
}
trap package_cleanup EXIT

# --- build, from what "make dist" would ship ---
[ -f Makefile ] || bail "run from a configured build directory (tools/check does)"
src=$T/vmtraced-src
make -s distdir distdir="$src" >"$T/distdir.log" 2>&1 || { sed 's/^/# /' "$T/distdir.log"; bail "make distdir failed"; }
# The build's output is the tree's parent, dpkg-buildpackage's convention: here $T.
if (cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b builds the package"
else
	not_ok "dpkg-buildpackage -us -uc -b builds the package"
	tail -40 "$T/build.log" | sed 's/^/#   /'
	done_testing; exit
fi
debs=$(ls "$T"/vmtraced_*.deb 2>/dev/null)
is "one .deb, in the parent directory of the tree" "$(printf '%s\n' "$debs" | grep -c '\.deb$')" 1
deb=$(printf '%s\n' "$debs" | head -1)
# No errors, and no warnings either: debian/README.Debian says there are
# none, and a new one must be fixed or documented there (and overridden).
if command -v lintian >/dev/null; then
	out=$(lintian --fail-on error,warning "$T"/vmtraced_*.changes 2>&1); rc=$?
	is "lintian reports no errors and no warnings" "$rc" 0
	printf '%s\n' "$out" | grep -E '^[EW]: ' | sed 's/^/#   /'
else
	skip "lintian not installed"
fi

# --- install ---
if apt-get install -y -qq "$deb" >"$T/install.log" 2>&1; then
	ok "apt-get install $(basename "$deb")"
else
	not_ok "apt-get install $(basename "$deb")"; sed 's/^/#   /' "$T/install.log"; done_testing; exit
fi
helper=$(dpkg -L vmtraced | grep '/vmctl-trail$')
module=$(dpkg -L vmtraced | grep '/backend-libvirt\.so$')
for f in /usr/sbin/vmtraced /usr/bin/vmctl "$helper"; do
	check "installed and executable: $f" test -x "$f"
done
check "installed: the libvirt backend module ($module)" test -s "$module"
check "installed: the RELP forwarding module, beside it" test -s "$(dirname "$module")/forward-relp.so"
for f in /lib/systemd/system/vmtraced.service /lib/systemd/system/vmtraced.socket \
	/usr/lib/sysusers.d/vmtraced.conf /usr/lib/tmpfiles.d/vmtraced.conf \
	/usr/share/man/man1/vmctl.1.gz /usr/share/man/man8/vmtraced.8.gz \
	/usr/share/man/man5/vmtraced.conf.5.gz /usr/share/man/man5/vmtraced-trail.5.gz \
	/usr/share/bash-completion/completions/vmctl /usr/share/doc/vmtraced/README.Debian.gz "$CONF"; do
	check "installed: $f" test -s "$f"
done
like "the service runs the installed daemon" "$(grep '^ExecStart=' /lib/systemd/system/vmtraced.service)" \
	'^ExecStart=/usr/sbin/vmtraced '
is "$CONF is the package's one conffile" "$(dpkg-query -W -f='${Conffiles}' vmtraced | awk 'NF { print $1 }')" "$CONF"
is "the units are installed once, in one directory" \
	"$(dpkg -L vmtraced | grep -cE '/vmtraced\.(service|socket)$')" 2
# postinst: systemd-sysusers and systemd-tmpfiles, as the package's files say.
for a in $ACCOUNTS; do
	check "postinst made ${a%%:*} ${a#*:}" bash -c 'getent "$1" "$2" >/dev/null' _ "${a%%:*}" "${a#*:}"
done
check "the daemon's user is in the auditors' group" bash -c 'id -nG vmtraced | grep -qw vmtraced-audit'
is "$STATE made by tmpfiles.d" "$(stat -c '%a %U %G' "$STATE" 2>&1)" "2750 vmtraced vmtraced-audit"
is "/etc/vmtraced made by tmpfiles.d" "$(stat -c '%a %U %G' /etc/vmtraced 2>&1)" "750 root vmtraced"
is "/etc/vmtraced/credentials: root's alone" "$(stat -c '%a %U %G' /etc/vmtraced/credentials 2>&1)" "700 root root"
is "the conffile is root:vmtraced 0640, as its comment asks" "$(stat -c '%a %U %G' "$CONF" 2>&1)" "640 root vmtraced"
# Not started, and not to be started at boot, until the administrator enables it.
for u in vmtraced.service vmtraced.socket; do
	is "$u is not enabled by the installation" "$(systemctl is-enabled "$u" 2>&1)" disabled
done
running=$(for p in /proc/[0-9]*; do [ "$(readlink "$p/exe" 2>/dev/null)" = /usr/sbin/vmtraced ] && echo "${p#/proc/}"; done)
is "no vmtraced runs after the installation" "$running" ""
out=$(setpriv --reuid=vmtraced --regid=vmtraced --init-groups "$VMTRACED" --check-config 2>&1); rc=$?
is "the shipped configuration is valid, read as the daemon's user" "$rc" 0
[ "$rc" = 0 ] || printf '#   %s\n' "$out"
check "and it names no endpoint" bash -c '! printf "%s\n" "$1" | grep -q "^\[endpoint"' _ "$out"

# The libvirt backend is a module, found where the package put it (the path is built in).
printf '[vmtraced]\nsocket = %s\ndatabase = %s\n\n[endpoint "lv"]\nbackend = libvirt\nuri = test:///default\n' \
	"$T/lv.sock" "$T/lv.db" >"$T/lv.conf"
out=$("$VMTRACED" --config "$T/lv.conf" --check-config --connect 2>&1); rc=$?
is "the installed daemon loads its libvirt module and logs in (test:///default)" "$rc" 0
[ "$rc" = 0 ] || printf '#   %s\n' "$out"
printf '[forward "central"]\nprotocol = relp\ntarget = 127.0.0.1:20514\n' >>"$T/lv.conf"
out=$("$VMTRACED" --config "$T/lv.conf" --check-config 2>&1); rc=$?
is "... and its RELP module, for a [forward] with protocol relp" "$rc" 0
[ "$rc" = 0 ] || printf '#   %s\n' "$out"

# --- configure one endpoint (vcsim) and run the daemon as its unit would ---
vcsim_build "$VCSIM_BIN" || bail "cannot build the vcsim test peer"
VCSIM_USER=svc-vmtraced VCSIM_PASSWORD=$(head -c 12 /dev/urandom | base64)
vcsim_start "$T/vcsim" -user "$VCSIM_USER" -password "$VCSIM_PASSWORD" || bail "vcsim did not start"
# The administrator's steps (README.Debian): the password as a credential, the endpoint in the conffile.
printf '%s\n' "$VCSIM_PASSWORD" >/etc/vmtraced/credentials/vc1
chmod 0600 /etc/vmtraced/credentials/vc1
# Not the default socket in /run/vmtraced: another vmtraced of a developer's may come to use it.
sed -i "s|^#socket = .*|socket = $T/run/vmtraced.sock|" "$CONF"
printf '\n[endpoint "vc1"]\nurl = %s\nuser = %s\nca-file = %s\n' "$VCSIM_URL" "$VCSIM_USER" "$VCSIM_CA" >>"$CONF"
out=$(CREDENTIALS_DIRECTORY=/etc/vmtraced/credentials "$VMTRACED" --check-config --connect 2>&1); rc=$?
is "README.Debian's check: vmtraced --check-config --connect" "$rc" 0
like "it logs in to vc1 with the credential" "$out" 'endpoint vc1 .*OK, logged in as svc-vmtraced'
# What systemd does for the unit: LoadCredential= copies the credentials into a
# directory of the service's own, RuntimeDirectory= makes the socket's.
install -d -o vmtraced -g vmtraced -m 0700 "$T/creds" "$T/run"
install -o vmtraced -g vmtraced -m 0400 /etc/vmtraced/credentials/vc1 "$T/creds/endpoint_vc1"
(umask 0027; CREDENTIALS_DIRECTORY=$T/creds exec setpriv --reuid=vmtraced --regid=vmtraced --init-groups \
	"$VMTRACED" --config "$CONF") >>"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
vmctl() { "$VMCTL" --socket "$T/run/vmtraced.sock" "$@"; }
check "the installed daemon starts with the configured endpoint" wait_for 30 eval 'vmctl ping >/dev/null 2>&1'
vm=$(vcsim_vms | jq -r '.[0].name')
out=$(vmctl rename "$vm" "$vm-pkg" 2>&1); rc=$?
is "vmctl rename through the installed daemon" "$rc" 0
is "vcsim has the new name" "$(vcsim_vm -name "$vm-pkg" | jq -r .name)" "$vm-pkg"
daemon_stop
is "the daemon stops on SIGTERM" "$DAEMON_STATUS" 0
is "the trail is in $STATE, the auditors' group's" "$(stat -c '%U %G' "$STATE/trail.db" 2>&1)" "vmtraced vmtraced-audit"
out=$("$VMCTL" verify --db "$STATE/trail.db" 2>&1); rc=$?
is "vmctl verify (the installed helper) finds the trail intact" "$rc" 0
like "its row is the rename, OK" "$("$VMCTL" log --db "$STATE/trail.db" --format trace 2>&1)" "RenameVM.*$vm-pkg.*OK"

# --- remove: the configuration and the trail stay ---
apt-get remove -y -qq vmtraced >"$T/remove.log" 2>&1
is "apt-get remove" "$(pkg_status)" config-files
check "removed: the daemon" test ! -e /usr/sbin/vmtraced
check "removed: the units" test ! -e /lib/systemd/system/vmtraced.service
check "kept by remove: the edited conffile" grep -q '^\[endpoint "vc1"\]' "$CONF"
check "kept by remove: the credential" test -s /etc/vmtraced/credentials/vc1
check "kept by remove: the trail" test -s "$STATE/trail.db"

# --- purge: the configuration goes, the trail and the accounts stay ---
# The credential is the administrator's file, not the package's: taken away first, as README.Debian says.
rm -f /etc/vmtraced/credentials/vc1
out=$(apt-get purge -y -qq vmtraced 2>&1)
is "apt-get purge" "$(pkg_status)" not-installed
check "purged: the conffile" test ! -e "$CONF"
check "purged: /etc/vmtraced, once empty" test ! -e /etc/vmtraced
check "purged: the sysusers.d and tmpfiles.d files" \
	test ! -e /usr/lib/sysusers.d/vmtraced.conf -a ! -e /usr/lib/tmpfiles.d/vmtraced.conf
like "purge says the trail is kept" "$out" "trail in $STATE is kept"
# vmctl went with the package: the build tree's verifies what is left.
check "kept by purge: the trail, still intact" bash -c 'VMCTL_TRAIL_HELPER=$1/vmctl-trail "$1/vmctl" verify --db "$2" >/dev/null' \
	_ "$top_builddir" "$STATE/trail.db"
check "kept by purge: the user that owns the trail" bash -c 'getent passwd vmtraced >/dev/null'
done_testing
