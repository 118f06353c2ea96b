# SPDX-License-Identifier: GPL-2.0-or-later
# What the vcsim benches share.  Source it after setting top_srcdir,
# top_builddir and the bench's own variables; it sources tests/lib/common.sh
# (the scratch dir $T, daemon_start, vmctl ...), builds the vcsim test peer and
# bench/govmomi-baseline into $baseline, and defines now_ns and median.

. "$top_srcdir/tests/lib/common.sh"

[ -x "$VMTRACED" ] && [ -x "$VMCTL" ] || { echo "build first: no $VMTRACED or $VMCTL" >&2; exit 1; }
vcsim_build "$VCSIM_BIN" || exit 1
baseline=$T/govmomi-baseline
(cd "$top_srcdir/bench/govmomi-baseline" && GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= \
	GOCACHE=${GOCACHE:-${TMPDIR:-/tmp}/vmtraced-gocache-$(id -u)} go build -o "$baseline" .) || exit 1
VCSIM_USER=bench VCSIM_PASSWORD=bench-pw

now_ns() { date +%s%N; }
# median: of the numbers on stdin (space or newline separated), "-" if none.
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }
