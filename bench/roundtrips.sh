#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/roundtrips.sh [BUILDDIR]: SOAP round trips and latency of every
# vmctl operation against vcsim, and "vmctl cpu VM N" end to end against a
# govmomi client doing the same on a warm session (bench/govmomi-baseline),
# measured in the same run and reported as ratios.  A report, not a test:
# nothing here passes or fails on a number.
#
# Round trips come from the reply: vmtraced puts the session's HTTP round
# trip count for the operation into record.debug.round_trips (read target,
# task call, the wait on the PropertyCollector, read-back; a re-login would
# show too) and the EventManager.PostEvent call into
# record.debug.post_event_round_trips (list and show make no row and
# report none: "-").  The daemon runs one pooled session,
# so every operation uses the same warm session, as the baseline does.
# vcsim finishes every task inside the call, so no WaitForUpdatesEx is
# counted here: with or without the wait, the numbers are the same.
#
# Environment: BENCH_N (repetitions per operation, default 5), BENCH_BASELINE_N
# (baseline operations, default 20), KEEP_TEST_DIR.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(dirname "$here")}
top_builddir=$(cd "${1:-${top_builddir:-$top_srcdir/build}}" && pwd) || exit 1
export top_srcdir top_builddir
N=${BENCH_N:-5}
BASE_N=${BENCH_BASELINE_N:-20}
. "$here/lib.sh"

vcsim_start "$T/vcsim" -user "$VCSIM_USER" -password "$VCSIM_PASSWORD" || exit 1
write_config "$T/bench.conf" "$(POOL_SIZE=1 endpoint_section vc1 "ca-file = $VCSIM_CA")"
daemon_start "$T/bench.conf" || exit 1

vms=$(vcsim_vms)
VM=$(jq -r '[.[] | select(.name | contains("_C0_"))][0].name' <<<"$vms")
BVM=$(jq -r '[.[] | select(.name | contains("_C0_"))][1].name' <<<"$vms")
mapfile -t hosts < <(vcsim_hosts | jq -r '.[] | select(.name | contains("_C0_")) | .name')

declare -A lat trips evtrips
# measure NAME ARGS...: one vmctl call; records ms and round trips under NAME.
measure() {
	local name=$1; shift
	local t0 t1 out
	t0=$(now_ns)
	out=$(vmctl --json "$@" 2>/dev/null)
	t1=$(now_ns)
	if [ "$(jq -r .status <<<"$out")" != ok ]; then
		echo "# $name failed: $(jq -r .error.message <<<"$out")" >&2
		return 1
	fi
	lat[$name]+="$(( (t1 - t0) / 1000 )) "
	trips[$name]+="$(jq -r '.record.debug.round_trips // "-"' <<<"$out") "
	evtrips[$name]+="$(jq -r '.record.debug.post_event_round_trips // "-"' <<<"$out") "
}

measure warmup cpu "$VM" 2 >/dev/null
for i in $(seq "$N"); do
	measure cpu cpu "$VM" $((1 + i % 2))
	measure memory memory "$VM" $((256 * (1 + i % 2)))
	measure disk-grow disk "$VM" 1 $((1024 * i))M
	measure disk-add disk "$VM" --add 64M
	measure stop stop "$BVM"
	measure start start "$BVM"
	measure reset reset "$BVM"
	measure suspend suspend "$BVM"
	measure start start "$BVM"
	measure rename rename "$VM" "bench-$i" && measure rename rename "bench-$i" "$VM"
	measure snapshot-create snapshot "$VM" create "s$i"
	measure snapshot-revert snapshot "$VM" revert "s$i"
	measure snapshot-remove snapshot "$VM" remove "s$i"
	measure migrate migrate "$BVM" --host "${hosts[$((i % ${#hosts[@]}))]}"
	measure clone clone "$BVM" "bench-clone-$i"
	measure destroy destroy "bench-clone-$i"
	measure show show "$VM"
	measure list list
done

printf '%-16s %12s %12s %14s\n' OPERATION ROUND_TRIPS POST_EVENT MEDIAN_MS
for op in cpu memory disk-grow disk-add start stop reset suspend rename snapshot-create snapshot-revert \
	snapshot-remove migrate clone destroy show list; do
	[ -n "${lat[$op]:-}" ] || { printf '%-16s %12s\n' "$op" failed; continue; }
	printf '%-16s %12s %12s %14s\n' "$op" "$(median <<<"${trips[$op]}")" "$(median <<<"${evtrips[$op]}")" \
		"$(awk -v us="$(median <<<"${lat[$op]}")" 'BEGIN {printf "%.1f", us / 1000}')"
done

# The baseline: same reconfigure on the same vcsim, govc-style, one warm session.
base=$("$baseline" -url "$VCSIM_URL" -cacert "$VCSIM_CA" -user "$VCSIM_USER" -password "$VCSIM_PASSWORD" \
	-vm "$VM" -n "$BASE_N") || exit 1
cpu_ms=$(awk -v us="$(median <<<"${lat[cpu]}")" 'BEGIN {printf "%.2f", us / 1000}')
cpu_trips=$(median <<<"${trips[cpu]}")
base_ms=$(jq -r .median_ms <<<"$base")
base_trips=$(jq -r .round_trips_per_op <<<"$base")
echo
echo "vmctl cpu VM N, end to end (vmctl process, trail row, post event): median $cpu_ms ms, $cpu_trips round trips (+ post event)"
echo "govmomi baseline (find, read, ReconfigVM_Task, wait, read; in-process): median $base_ms ms, $base_trips round trips"
awk -v a="$cpu_ms" -v b="$base_ms" -v ta="$cpu_trips" -v tb="$base_trips" 'BEGIN {
	printf "ratio vmctl/govmomi: latency %.2f, round trips %.2f\n", a / b, ta / tb }'

# The other yardstick: a govc-style process per operation, which starts, logs
# in, finds the VM, acts, reads back and logs out every time (wall clock).
cold=
for i in $(seq "$N"); do
	t0=$(now_ns)
	"$baseline" -url "$VCSIM_URL" -cacert "$VCSIM_CA" -user "$VCSIM_USER" -password "$VCSIM_PASSWORD" \
		-vm "$VM" -n 1 -warm=false >/dev/null || exit 1
	t1=$(now_ns)
	cold+="$(( (t1 - t0) / 1000 )) "
done
cold_ms=$(awk -v us="$(median <<<"$cold")" 'BEGIN {printf "%.2f", us / 1000}')
echo "govc-style process per operation (start, login, find, reconfigure, read, logout): median $cold_ms ms"
awk -v a="$cold_ms" -v b="$cpu_ms" 'BEGIN { printf "ratio govc-style/vmctl: %.1fx (target: at least 5x)\n", a / b }'

# Memory: the daemon's resident set with 8 pooled sessions logged in.
daemon_stop
write_config "$T/rss.conf" "$(POOL_SIZE=8 endpoint_section vc1 "ca-file = $VCSIM_CA")"
daemon_start "$T/rss.conf" || exit 1
for i in $(seq 100); do
	[ "$(vmctl --json status | jq -r .record.sessions_logged_in)" = 8 ] && break
	sleep 0.1
done
vmctl cpu "$VM" 2 >/dev/null 2>&1
rss_kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$DAEMON_PID/status")
echo "daemon RSS with 8 pooled sessions logged in: $((rss_kib / 1024)) MiB ($rss_kib KiB; target: below 16 MiB)"
