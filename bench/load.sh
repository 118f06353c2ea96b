#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Load: CLIENTS concurrent vmctl processes x REQUESTS requests each against
# a private vcsim + vmtraced; every request must be answered, and the
# daemon must be healthy afterwards.  Prints timing figures; it is not a
# timed test (tests/control.test has a small functional variant).
#
#   bench/load.sh [ping|rename|all]     (default all)
#   top_builddir=BUILD CLIENTS=100 REQUESTS=20 bench/load.sh
#
# rename: each client renames its own VM (vcsim holds 100 of them) back
# and forth, so every request is a platform call and a trail row.
set -u
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
: "${top_builddir:=$top_srcdir/build}"
export top_srcdir top_builddir
. "$top_srcdir/tests/lib/common.sh"
CLIENTS=${CLIENTS:-100} REQUESTS=${REQUESTS:-20}
modes=${1:-all}
[ "$modes" = all ] && modes="ping rename"

vcsim_build "$VCSIM_BIN" || bail "cannot build the vcsim test peer"
VCSIM_USER=vmtuser VCSIM_PASSWORD=vmtpass
vcsim_start "$T/vcsim" -vms $(((CLIENTS + 1) / 2)) -user "$VCSIM_USER" -password "$VCSIM_PASSWORD" ||
	bail "vcsim did not start"
write_config "$T/c.conf" "$(POOL_SIZE=${POOL_SIZE:-4} endpoint_section vc1 "ca-file = $VCSIM_CA")"
# One uid runs all clients: lift the per-uid limit above CLIENTS.
sed -i "/^database/a max-connections-per-uid = $((CLIENTS + 10))\nmax-operations = $((CLIENTS + 10))" "$T/c.conf"
daemon_start "$T/c.conf" || bail "vmtraced did not start"

ms() { date +%s%3N; }

# client N MODE: REQUESTS requests, one "latency_ms status" line each.
client() {
	local n=$1 mode=$2 name=$3 i t0 rc
	for i in $(seq "$REQUESTS"); do
		t0=$(ms)
		if [ "$mode" = ping ]; then
			"$VMCTL" --socket "$T/vmtraced.sock" ping >/dev/null 2>>"$T/errors"; rc=$?
		else
			"$VMCTL" --socket "$T/vmtraced.sock" rename "$name" "load-$n-$i" >/dev/null 2>>"$T/errors"; rc=$?
			[ $rc = 0 ] && name=load-$n-$i
		fi
		echo "$(($(ms) - t0)) $rc"
	done
}

failed=0
for mode in $modes; do
	mapfile -t vms < <(vcsim_vms | jq -r '.[].name')
	[ "$mode" = rename ] && [ "${#vms[@]}" -lt "$CLIENTS" ] && bail "vcsim has ${#vms[@]} VMs, need $CLIENTS"
	rm -f "$T"/lat.*
	rows0=$(sql "SELECT count(*) FROM trail WHERE operation='RenameVM'")
	start=$(ms)
	pids=
	for c in $(seq "$CLIENTS"); do
		client "$c" "$mode" "${vms[$((c - 1))]:-}" >"$T/lat.$c" &
		pids="$pids $!"
	done
	wait $pids
	wall=$(($(ms) - start))
	total=$((CLIENTS * REQUESTS))
	answered=$(cat "$T"/lat.* | awk '$2 == 0' | wc -l)
	sorted=$(cat "$T"/lat.* | awk '{print $1}' | sort -n)
	pct() { printf '%s\n' "$sorted" | awk -v p="$1" '{a[NR]=$1} END {i=int(NR*p/100); if (i<1) i=1; print a[i]}'; }
	echo "== $mode: $CLIENTS clients x $REQUESTS requests = $total"
	echo "   answered OK:  $answered / $total"
	echo "   wall time:    ${wall} ms ($((total * 1000 / (wall > 0 ? wall : 1))) requests/s)"
	echo "   latency ms:   p50 $(pct 50)  p95 $(pct 95)  p99 $(pct 99)  max $(pct 100)"
	if [ "$mode" = rename ]; then
		rows=$(($(sql "SELECT count(*) FROM trail WHERE operation='RenameVM' AND result='OK'") - rows0))
		echo "   trail rows:   $rows OK RenameVM rows (want $total)"
		[ "$rows" = "$total" ] || failed=1
	fi
	[ "$answered" = "$total" ] || failed=1
done

# Healthy afterwards: answers, sessions in, database ok, nothing in flight.
s=$("$VMCTL" --socket "$T/vmtraced.sock" --json status) || failed=1
echo "== daemon afterwards: $(jget "$s" '"sessions \(.record.sessions_logged_in)/\(.record.sessions), in flight \(.record.operations_in_flight), database \(.record.database_health)"')"
[ "$(jget "$s" .record.database_ok)/$(jget "$s" .record.operations_in_flight)" = true/0 ] || failed=1
if [ -s "$T/errors" ]; then
	echo "== errors (first 5):"
	head -5 "$T/errors"
fi
daemon_stop
[ "$DAEMON_STATUS" = 0 ] || { echo "daemon exit status $DAEMON_STATUS"; failed=1; }
echo "== $([ $failed = 0 ] && echo PASS || echo FAIL)"
exit $failed
