# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the integration tests: TAP output, a private scratch directory,
# and starting/stopping vmtraced against the test vCenter.  Everything a
# test starts is stopped by the EXIT trap, also when the test fails.
#
# Environment (set by "make check"; defaults work from the build directory):
#   top_srcdir, top_builddir, VCSIM_BIN

set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$PWD}"
: "${VCSIM_BIN:=$top_builddir/tests/vcsim.bin}"
VCSIM_SRC=$top_srcdir/tests/vcsim
VMTRACED=$top_builddir/vmtraced
VMCTL=$top_builddir/vmctl
# The modules (backend-libvirt.so, forward-relp.so), in the build tree.
: "${VMTRACED_MODULE_DIR:=$top_builddir/daemon/modules}"
# vmctl runs this for log and verify.
: "${VMCTL_TRAIL_HELPER:=$top_builddir/vmctl-trail}"
export VCSIM_BIN VCSIM_SRC VMTRACED_MODULE_DIR VMCTL_TRAIL_HELPER
. "$top_srcdir/tests/lib/vcsim.sh"

t_n=0
t_failed=0
ok() { t_n=$((t_n + 1)); echo "ok $t_n - $*"; }
not_ok() { t_n=$((t_n + 1)); t_failed=$((t_failed + 1)); echo "not ok $t_n - $*"; }
skip() { t_n=$((t_n + 1)); echo "ok $t_n # SKIP $*"; }
# check DESC CMD...: passes when CMD succeeds.
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
# is DESC GOT WANT
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; printf '#   got:  %s\n#   want: %s\n' "$2" "$3"; fi
}
# like DESC GOT PATTERN (grep -E)
like() {
	if printf '%s' "$2" | grep -Eq -- "$3"; then ok "$1"; else not_ok "$1"; printf '#   got: %s\n#   want match: %s\n' "$2" "$3"; fi
}
done_testing() {
	# Sanitizer builds (--enable-sanitizers) report into the daemon's log.
	if [ -f "$T/daemon.log" ]; then
		check "daemon log has no sanitizer report" \
			bash -c "! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|ERROR SUMMARY: [1-9]|definitely lost: [1-9]' '$T/daemon.log'"
	fi
	echo "1..$t_n"
	echo "# $((t_n - t_failed)) passed, $t_failed failed"
	[ "$t_failed" -eq 0 ]
}
# bail MESSAGE: the test cannot run (a harness problem, not a finding): exit 99.
bail() { echo "Bail out! $*"; exit 99; }

T=$(mktemp -d "${TMPDIR:-/tmp}/vmtraced-test.XXXXXX") || exit 99
# Other uids (nobody) must reach the socket inside.
chmod 0755 "$T"
DAEMON_PID=
cleanup() {
	daemon_stop
	[ ! -f "$T/socat.pid" ] || kill "$(cat "$T/socat.pid")" 2>/dev/null
	vcsim_stop
	if [ "${KEEP_TEST_DIR:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

# Tests also run vmctl as nobody, which the policy refuses by default;
# this rule lets nobody do everything.  Set TEST_POLICY (maybe empty) for others.
TEST_POLICY=${TEST_POLICY-$'[policy "tests-nobody"]\nusers = nobody\ncommands = *'}

# write_config FILE ENDPOINT-LINES...: a config for the scratch dir.
write_config() {
	local f=$1; shift
	{
		printf '[vmtraced]\nsocket = %s\ndatabase = %s\n' "$T/vmtraced.sock" "$T/trail.db"
		printf '%s\n' "$@"
		printf '%s\n' "$TEST_POLICY"
	} >"$f"
}

# endpoint_section NAME TRUST-LINE: an endpoint on the running vcsim.
endpoint_section() {
	local pw=$T/$1.password
	printf '%s\n' "$VCSIM_PASSWORD" >"$pw"
	chmod 0600 "$pw"
	printf '[endpoint "%s"]\nurl = %s\nuser = %s\npassword-file = %s\n%s\npool-size = %s\n' \
		"$1" "$VCSIM_URL" "$VCSIM_USER" "$pw" "$2" "${POOL_SIZE:-2}"
}

# daemon_start CONFIG: start vmtraced, wait until it answers.
daemon_start() {
	# VMTRACED_WRAPPER: e.g. "valgrind --error-exitcode=99 --leak-check=full" to check the daemon.
	${VMTRACED_WRAPPER:-} "$VMTRACED" --config "$1" >>"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	local i
	for i in $(seq 300); do
		if [ -S "$T/vmtraced.sock" ] && "$VMCTL" --socket "$T/vmtraced.sock" ping >/dev/null 2>&1; then
			chmod 0666 "$T/vmtraced.sock"
			return 0
		fi
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "# vmtraced did not start; its log:"
	sed 's/^/#   /' "$T/daemon.log"
	DAEMON_PID=
	return 1
}

daemon_stop() {
	[ -n "$DAEMON_PID" ] || return 0
	kill -TERM "$DAEMON_PID" 2>/dev/null
	local i
	for i in $(seq 100); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_STATUS=$?
	DAEMON_PID=
}

# journal_capture_possible: daemon_start_journaled can run here (root, unshare -m, socat).
journal_capture_possible() { [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null && command -v socat >/dev/null; }
# daemon_start_journaled CONFIG RAW: start vmtraced in a private mount namespace whose
# /run/systemd/journal/socket is a socat listener (the journal's native protocol is one
# datagram per entry), so RAW gets exactly what journald would have received.  The
# daemon replaces the namespace's shell (exec), so DAEMON_PID is vmtraced's.
daemon_start_journaled() {
	unshare -m --propagation private -- bash -c '
		mount -t tmpfs tmpfs /run/systemd && mkdir -p /run/systemd/journal || exit 1
		socat -u UNIX-RECV:/run/systemd/journal/socket CREATE:"$1" & echo $! >"$2"
		for i in $(seq 50); do [ -S /run/systemd/journal/socket ] && break; sleep 0.1; done
		exec "$3" --config "$4"' _ "$2" "$T/socat.pid" "$VMTRACED" "$1" >>"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	local i
	for i in $(seq 100); do
		[ -S "$T/vmtraced.sock" ] && vmctl ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

vmctl() { "$VMCTL" --socket "$T/vmtraced.sock" "$@"; }
# sql QUERY: one value (or rows) from the trail.
# The daemon writes while tests read: without a busy timeout a read that meets
# a WAL checkpoint or recovery fails at once and returns nothing.
sql() { sqlite3 -batch -noheader -cmd ".timeout 5000" "$T/trail.db" "$@"; }
# jget JSON FILTER
jget() { printf '%s' "$1" | jq -r "$2"; }
# What vmctl shows people, and reading it back (vmctl(1), OUTPUT).
# printable_only TEXT: nothing in TEXT a terminal acts on (C0, C1, DEL, Unicode format
# characters, line and paragraph separators, bytes that are not UTF-8) but its line ends.
printable_only() {
	python3 -c '
import sys, unicodedata
t = sys.stdin.buffer.read().replace(b"\r\n", b"\n")
try:
    s = t.decode("utf-8")
except UnicodeDecodeError as e:
    sys.exit("# not UTF-8: %s" % e)
bad = sorted({"U+%04X" % ord(c) for c in s if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")})
sys.exit("# raw: " + " ".join(bad) if bad else 0)' <<<"$1"
}
# unescape: stdin with every \xHH, \uHHHH and \UHHHHHHHH undone, as vmctl(1) says.
unescape() {
	python3 -c '
import re, sys
def one(m):
    g = m.group(0)
    return bytes([int(g[2:], 16)]) if g[1:2] == b"x" else chr(int(g[2:], 16)).encode("utf-8")
sys.stdout.buffer.write(re.sub(rb"\\x[0-9a-f]{2}|\\u[0-9a-f]{4}|\\U[0-9a-f]{8}", one, sys.stdin.buffer.read()))'
}
# hex: stdin's bytes in lowercase hex, on one line.
hex() { od -An -tx1 | tr -d ' \n'; }
# csv_field NAME: field NAME of the first record of the CSV on stdin (RFC 4180), as it is.
csv_field() { python3 -c 'import csv, sys; sys.stdout.write(next(csv.DictReader(sys.stdin))[sys.argv[1]])' "$1"; }
# wait_for SECONDS CMD...: until CMD succeeds, every 0.1 s; false when the time is up.
# quiescent: until the daemon has nothing in flight.  An operation's reply
# comes before its platform event is posted (issue 11); a test that counts
# the platform's requests waits for this first.
quiescent() {
	local i
	for i in $(seq 100); do
		[ "$("$VMCTL" --socket "$T/vmtraced.sock" --json status 2>/dev/null | jq -r '.record.operations_in_flight')" = 0 ] &&
			return 0
		sleep 0.05
	done
	return 1
}

wait_for() {
	local i n=$(($1 * 10)); shift
	for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.1; done
	return 1
}
