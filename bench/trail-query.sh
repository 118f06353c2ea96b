#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark of the auditors' commands over a large trail (default 1,000,000
# rows), run by hand, not by "make check":
#
#   bench/trail-query.sh [ROWS] [BUILDDIR]
#
# It writes a schema-version-1 trail (tests/trail-schema, then sqlite3), lets vmtraced migrate it
# (which chains every row: seq + hash), then times
#   - vmctl verify over the whole chain                 (goal: < 2 s)
#   - vmctl verify --from-checkpoint, 1,000 rows before the head (incremental)
#   - vmctl log filtered by VM and a time range         (goal: < 50 ms)
#   - the same filter as a plain sqlite3 full scan (NOT INDEXED), the baseline
# and prints the ratio baseline / vmctl log.
set -eu
ROWS=${1:-1000000}
BUILD=${2:-$(cd "$(dirname "$0")/.." && pwd)/build}
VMCTL=$BUILD/vmctl VMTRACED=$BUILD/vmtraced SCHEMA=$BUILD/tests/trail-schema
# vmctl runs log and verify in this helper; the build tree's, not an installed one.
export VMCTL_TRAIL_HELPER=$BUILD/vmctl-trail
[ -x "$VMCTL" ] && [ -x "$VMTRACED" ] && [ -x "$SCHEMA" ] ||
	{ echo "build first (make, and make tests/trail-schema): no $VMCTL, $VMTRACED or $SCHEMA" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/trail-bench.XXXXXX")
trap 'kill "${pid:-}" 2>/dev/null; rm -rf "$T"' EXIT

ms() { echo $(($(date +%s%N) / 1000000)); }
# best of 5 runs, in ms
best() {
	local b= t0 t1 i
	for i in 1 2 3 4 5; do
		t0=$(ms); "$@" >/dev/null; t1=$(ms)
		[ -z "$b" ] || [ $((t1 - t0)) -lt "$b" ] && b=$((t1 - t0))
	done
	echo "$b"
}

echo "Writing $ROWS rows (schema version 1) ..."
# Schema version 1 as vmtraced created it (its own migration, tests/trail-schema):
# the bench also exercises the migration.
"$SCHEMA" "$T/trail.db" 1
sqlite3 "$T/trail.db" <<SQL
PRAGMA journal_mode = WAL;
-- 1,000 VMs, 20 users, one operation every 30 s over the last ROWS * 30 s.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ROWS)
INSERT INTO records SELECT i, $(date +%s000) - ($ROWS - i) * 30000, $(date +%s000) - ($ROWS - i) * 30000 + 700,
 CASE i % 4 WHEN 0 THEN 'RenameVM' WHEN 1 THEN 'ModifyCPU' WHEN 2 THEN 'StartVM' ELSE 'StopVM' END,
 1000 + i % 20, 1000, 10000 + i, 'user' || (i % 20), 'vc1', 'https://vc1.example.com/sdk', 'esx' || (i % 16),
 'vm' || (i % 1000), 'vm-' || (i % 1000), printf('4203%028d', i % 1000), 'before-' || i, 'after-' || i,
 CASE WHEN i % 50 = 0 THEN 'NG' ELSE 'OK' END, CASE WHEN i % 50 = 0 THEN 'Timeout' END,
 CASE WHEN i % 50 = 0 THEN 'no answer from esx' || (i % 16) || ' in time' END, 'task-' || i FROM n;
SQL

echo "Migrating to schema version 2 (chaining every row) with vmtraced ..."
printf '[vmtraced]\nsocket = %s\ndatabase = %s\n' "$T/s.sock" "$T/trail.db" >"$T/vmtraced.conf"
t0=$(ms)
"$VMTRACED" --config "$T/vmtraced.conf" 2>"$T/daemon.log" &
pid=$!
# Ready once migrated (the socket may be bound before that).
until grep -q '^vmtraced: Ready' "$T/daemon.log"; do kill -0 "$pid" || { cat "$T/daemon.log"; exit 1; }; sleep 0.1; done
kill "$pid"; wait "$pid" || true
echo "  migration: $(($(ms) - t0)) ms"
sqlite3 "$T/trail.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null

since=$(date -u -d '@'$(($(date +%s) - ROWS * 30 / 2)) +%Y-%m-%dT%H:%M:%SZ)
until=$(date -u -d '@'$(($(date +%s) - ROWS * 30 / 4)) +%Y-%m-%dT%H:%M:%SZ)
since_ms=$(($(date -d "$since" +%s) * 1000)) until_ms=$(($(date -d "$until" +%s) * 1000))

verify_ms=$(best "$VMCTL" verify --db "$T/trail.db")
# The head an earlier verify would have printed 1,000 rows ago.
from=$(sqlite3 "$T/trail.db" "SELECT seq || ':' || hash FROM records WHERE seq = (SELECT max(seq) - 1000 FROM records)")
incr_ms=$(best "$VMCTL" verify --db "$T/trail.db" --from-checkpoint --checkpoint "$from")
"$VMCTL" verify --db "$T/trail.db" --from-checkpoint --checkpoint "$from" | grep -q 'NOT checked' ||
	{ echo "verify --from-checkpoint did not start at the checkpoint" >&2; exit 1; }
log_ms=$(best "$VMCTL" log --db "$T/trail.db" --format json --vm vm42 --since "$since" --until "$until")
scan_ms=$(best sqlite3 "$T/trail.db" "SELECT * FROM records NOT INDEXED WHERE vm_name = 'vm42'
	AND start_ms BETWEEN $since_ms AND $until_ms ORDER BY start_ms, id")
rows=$("$VMCTL" log --db "$T/trail.db" --format json --vm vm42 --since "$since" --until "$until" | wc -l)
base_rows=$(sqlite3 "$T/trail.db" "SELECT count(*) FROM records NOT INDEXED WHERE vm_name = 'vm42'
	AND start_ms BETWEEN $since_ms AND $until_ms")

echo
echo "rows in the trail:                           $ROWS"
echo "vmctl verify (whole chain):                  $verify_ms ms (goal < 2000)"
echo "vmctl verify --from-checkpoint (1,000 rows): $incr_ms ms"
echo "vmctl log --vm vm42 --since .. --until ..:   $log_ms ms, $rows rows (goal < 50)"
echo "sqlite3 full scan, same filter (baseline):   $scan_ms ms, $base_rows rows"
echo "baseline / vmctl log:                        $(awk -v a="$scan_ms" -v b="$log_ms" 'BEGIN { printf "%.1fx\n", a / (b ? b : 1) }')"
[ "$rows" = "$base_rows" ] || { echo "MISMATCH: vmctl log and the baseline disagree" >&2; exit 1; }

# Each filter alone, as an auditor's first page (--limit 100), on the whole
# trail; the matching rows range from 0 to nearly all, which is what costs.
echo
echo "each filter alone, first 100 rows (goal < 50 ms each):"
for f in "--user user3" "--vm vm42" "--op RenameVM" "--result NG" "--result OK" "--host esx3" \
	"--endpoint vc1" "--platform-user nobody" "--source out-of-band" "--uid 1003" "--login-uid 1000" \
	"--fault Timeout" "--fault NoSuchFault" "--vm vc1:vm42" "--message esx6" "--message no-such-text"; do
	# shellcheck disable=SC2086
	t=$(best "$VMCTL" log --db "$T/trail.db" --format json --limit 100 $f)
	case $f in
	--message*) where="instr(message, '${f#--message }') > 0" ;;
	--vm*) v=${f#--vm }; where="vm_name = '${v#*:}'" ;;
	*) where=$(sed 's/^--//; s/-/_/; s/ \(.*\)/ = '"'"'\1'"'"'/; s/^op /operation /' <<<"$f") ;;
	esac
	n=$(sqlite3 "$T/trail.db" "SELECT count(*) FROM trail WHERE $where")
	printf '  %-24s %5s ms   (%s rows match)\n' "$f" "$t" "$n"
done
