# SPDX-License-Identifier: GPL-2.0-or-later
#
# Shell helpers for starting and querying the test vCenter (tests/vcsim).
# Source this file from a test script; it is safe under "set -eu".
#
#   VCSIM_SRC   Go sources (default: ../vcsim next to this file), may be
#               read-only, as in "make distcheck"
#   VCSIM_BIN   the built program (default: ./vcsim-test-peer in the
#               current, i.e. build, directory)
#   VCSIM_USER, VCSIM_PASSWORD
#               credentials for vcsim_vm and friends (default user/pass);
#               pass the same ones to vcsim_start as -user/-password if the
#               simulator should accept only them
#
# vcsim_start exports VCSIM_URL, VCSIM_CA, VCSIM_FINGERPRINT, VCSIM_PID and
# VCSIM_DIR.  Typical use:
#
#   . "$srcdir/lib/vcsim.sh"
#   vcsim_build "$VCSIM_BIN" || exit 99
#   trap vcsim_stop EXIT
#   vcsim_start "$tmp/vcsim" -clone-delay 500 || exit 99
#
# Fault injection is in the launcher ("$VCSIM_BIN serve -h"): -idle S
# (sessions expire), -clone-delay MS (queued/running clones that
# CancelTask can stop), -strict-clone (DuplicateName), -drop-answer
# METHOD (the first such call runs, its answer is lost).

: "${VCSIM_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../vcsim" && pwd)}"
: "${VCSIM_BIN:=$PWD/vcsim-test-peer}"
: "${VCSIM_USER:=user}"
: "${VCSIM_PASSWORD:=pass}"
# The simulator this shell started.  VCSIM_PID is exported for the tests'
# use, but a sub-script that sources this file must not stop its parent's
# simulator from its own EXIT trap, hence the private copy.
_vcsim_pid=

# vcsim_build OUT: (re)build the Go program into OUT unless it is newer
# than every source.  Offline, against Debian's govmomi in /usr/share/gocode.
vcsim_build() {
	local out=${1:-$VCSIM_BIN}
	local newer

	if [ ! -d "$VCSIM_SRC" ]; then
		echo "vcsim_build: source directory $VCSIM_SRC not found" >&2
		return 1
	fi
	if [ -x "$out" ]; then
		newer=$(find "$VCSIM_SRC" -name '*.go' -newer "$out" -print -quit)
		[ -z "$newer" ] && return 0
	fi
	if ! command -v go >/dev/null 2>&1; then
		echo "vcsim_build: 'go' not found (install golang-go)" >&2
		return 1
	fi

	# GOPATH mode builds a directory outside GOPATH fine and never writes
	# into the source tree; only the build cache must be writable.
	local gocache=${GOCACHE:-}
	if [ -z "$gocache" ]; then
		gocache=$(GOPATH=/usr/share/gocode GO111MODULE=off go env GOCACHE 2>/dev/null) || gocache=
		case $gocache in
		/*) mkdir -p "$gocache" 2>/dev/null && [ -w "$gocache" ] || gocache= ;;
		*) gocache= ;;
		esac
	fi
	if [ -z "$gocache" ]; then
		gocache=${TMPDIR:-/tmp}/vmtraced-gocache-$(id -u)
		mkdir -p -m 0700 "$gocache" || return 1
		# A shared /tmp: refuse a cache someone else planted.
		if [ ! -O "$gocache" ]; then
			echo "vcsim_build: $gocache is not owned by us; set GOCACHE" >&2
			return 1
		fi
	fi

	case $out in
	/*) ;;
	*) out=$PWD/$out ;;
	esac
	mkdir -p "$(dirname "$out")" || return 1
	if ! (cd "$VCSIM_SRC" && GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= \
		GOCACHE=$gocache go build -o "$out.tmp" .) >&2; then
		rm -f "$out.tmp"
		echo "vcsim_build: building $VCSIM_SRC failed (needs golang-go and golang-github-vmware-govmomi-dev)" >&2
		return 1
	fi
	mv -f "$out.tmp" "$out"
}

# vcsim_start DIR [serve flags...]: start the simulator, wait until it is
# ready, export its coordinates.  Returns 1, after showing its log, if it
# does not come up within VCSIM_START_TIMEOUT seconds (default 20; building
# an inventory of 10,000 VMs takes longer).
vcsim_start() {
	local dir=${1:?usage: vcsim_start DIR [serve flags...]}
	shift
	local i

	if [ -n "$_vcsim_pid" ] && kill -0 "$_vcsim_pid" 2>/dev/null; then
		echo "vcsim_start: already running (pid $_vcsim_pid)" >&2
		return 1
	fi
	mkdir -p "$dir" || return 1
	dir=$(cd "$dir" && pwd)
	rm -f "$dir/url"

	"$VCSIM_BIN" serve -dir "$dir" "$@" >"$dir/vcsim.log" 2>&1 &
	_vcsim_pid=$!
	export VCSIM_PID=$_vcsim_pid VCSIM_DIR=$dir

	for i in $(seq $(( ${VCSIM_START_TIMEOUT:-20} * 10 ))); do
		[ -s "$dir/url" ] && break
		if ! kill -0 "$_vcsim_pid" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done

	if [ ! -s "$dir/url" ]; then
		echo "vcsim_start: simulator did not become ready; its log:" >&2
		sed 's/^/  vcsim: /' "$dir/vcsim.log" >&2
		vcsim_stop
		return 1
	fi

	VCSIM_URL=$(cat "$dir/url")
	VCSIM_CA=$dir/cert.pem
	VCSIM_FINGERPRINT=$(cat "$dir/fingerprint")
	export VCSIM_URL VCSIM_CA VCSIM_FINGERPRINT
}

# vcsim_stop: TERM, then KILL after 5 s.  Harmless when nothing runs, so
# it can sit in an EXIT trap and still be called explicitly.
vcsim_stop() {
	local pid=$_vcsim_pid i

	[ -n "$pid" ] || return 0
	_vcsim_pid=
	VCSIM_PID=
	if kill -TERM "$pid" 2>/dev/null; then
		for i in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "vcsim_stop: pid $pid ignored SIGTERM, killing it" >&2
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	wait "$pid" 2>/dev/null || true
	return 0
}

# vcsim_client CMD ARGS...: run a client subcommand of the program against
# the running simulator.
vcsim_client() {
	local cmd=${1:?usage: vcsim_client COMMAND [flags...]}
	shift
	"$VCSIM_BIN" "$cmd" -url "${VCSIM_URL:?vcsim not started}" -cacert "${VCSIM_CA:?vcsim not started}" \
		-user "$VCSIM_USER" -password "$VCSIM_PASSWORD" "$@"
}

# vcsim_vm (-name NAME | -id MOREF): one VM as JSON; exit status 2 if absent.
vcsim_vm() {
	vcsim_client vm "$@"
}

# vcsim_vms: all VMs as a JSON array.
vcsim_vms() {
	vcsim_client vms "$@"
}

# vcsim_events -id MOREF: the user events posted on a VM, newest first.
vcsim_events() {
	vcsim_client events "$@"
}

# vcsim_hosts: all hosts as a JSON array.
vcsim_hosts() {
	vcsim_client hosts "$@"
}

# vcsim_terminate_sessions: log out every other client (vmtraced included).
vcsim_terminate_sessions() {
	vcsim_client terminate-sessions "$@"
}
