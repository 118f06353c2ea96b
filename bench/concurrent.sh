#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/concurrent.sh [BUILDDIR]: throughput of "vmctl cpu VM N" with 16
# concurrent clients, each on a VM of its own, against its yardstick in the
# same run: the lean govmomi client (bench/govmomi-baseline -lean) with 16
# workers, each on a VM of its own, sharing one warm session (issue 11:
# vmtraced at least 0.6x its throughput); and 1 client against 1 worker.
# A report, not a test: nothing here passes or fails on a number.
#
# vmtraced side: the daemon (pool-size 16, trail.db on disk in the scratch
# dir) and 16 shell loops at once, loop i running BENCH_CONC_OPS
# "vmctl cpu VM_i N" one after the other (N = 1, 2, 1, ...: every one a
# change), after one untimed "vmctl cpu VM_i 2" each; ops/s is the loops'
# operations over the wall clock from their start until the last reply.
# Yardstick side: govmomi-baseline -lean -workers 16, the same VMs and the
# same number of operations, each worker also after one untimed operation;
# ops/s over its own clock (bench/govmomi-baseline/main.go).  The daemon is
# stopped while the yardstick runs, so its inventory mirror does not cost
# vcsim CPU during the yardstick's turn; each pair runs back to back.
#
# CPU columns, milliseconds of CPU per operation over the timed part:
# the daemon's, vcsim's (its PropertyCollector serves the daemon's mirror
# too), and the clients' (the vmctl processes and their shell loops, or the
# yardstick process): on 2 cores, where the time goes.  At the end: the
# trail's OK ModifyCPU rows against the operations the loops made, and
# "vmctl verify".
#
# Environment: BENCH_CONC_OPS (operations per client, default 50),
# BENCH_RUNS (pairs per client count, default 3), BENCH_POST_EVENTS (the
# endpoint's post-events, default yes: "no" shows what the daemon's and
# vcsim's PostEvent calls cost; the issue's figure is with the default),
# KEEP_TEST_DIR.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(dirname "$here")}
top_builddir=$(cd "${1:-${top_builddir:-$top_srcdir/build}}" && pwd) || exit 1
export top_srcdir top_builddir
OPS=${BENCH_CONC_OPS:-50}
RUNS=${BENCH_RUNS:-3}
CLIENTS=16
for v in "$OPS" "$RUNS"; do
	case $v in '' | *[!0-9]* | 0*)
		echo "BENCH_CONC_OPS and BENCH_RUNS must be whole numbers of at least 1, not '$OPS' and '$RUNS'" >&2
		exit 1 ;;
	esac
done
. "$here/lib.sh"

# 16 VMs: 8 per resource pool of vcsim's VPX model.
vcsim_start "$T/vcsim" -vms $((CLIENTS / 2)) -user "$VCSIM_USER" -password "$VCSIM_PASSWORD" || exit 1
POST_EVENTS=${BENCH_POST_EVENTS:-yes}
case $POST_EVENTS in yes | no) ;; *) echo "BENCH_POST_EVENTS must be yes or no, not '$POST_EVENTS'" >&2; exit 1 ;; esac
write_config "$T/bench.conf" "$(POOL_SIZE=$CLIENTS endpoint_section vc1 "ca-file = $VCSIM_CA
post-events = $POST_EVENTS")"
mapfile -t vms < <(vcsim_vms | jq -r '.[].name' | head -n "$CLIENTS")
[ "${#vms[@]}" = "$CLIENTS" ] || { echo "vcsim has ${#vms[@]} VMs, not $CLIENTS" >&2; exit 1; }
hz=$(getconf CLK_TCK)
: >"$T/failed"

# per_op MS OPS: MS / OPS with one decimal.
per_op() { awk -v a="$1" -v n="$2" 'BEGIN {printf "%.1f", a / n}'; }
# client_loop VM: OPS "vmctl cpu" on VM, N = 1, 2, 1, ...; a line in $T/failed per failure.
client_loop() {
	local k
	for ((k = 0; k < OPS; k++)); do
		vmctl cpu "$1" $((k % 2 + 1)) </dev/null >/dev/null 2>&1 || echo "$1" >>"$T/failed"
	done
}
# fan_out C: C client loops at once on the first C VMs; "WALL_NS CLIENTS_CPU_MS".
# A subshell, so that its children's CPU time is the loops' and their vmctl processes'.
fan_out() (
	me=$BASHPID  # this subshell; inside $(...) BASHPID would be that one's
	now_ns t0
	for ((i = 0; i < $1; i++)); do client_loop "${vms[i]}" & done
	wait
	now_ns t1
	echo "$((t1 - t0)) $(children_cpu_ms "$me")"
)
# pool_in: all the daemon's pooled sessions are logged in.
pool_in() { [ "$(vmctl --json status | jq -r .record.sessions_logged_in)" = "$CLIENTS" ]; }
# vmtraced_turn C: the daemon started, its 16 sessions in, one untimed operation
# per client, then fan_out C; sets v_ops (ops/s) and v_dcpu, v_scpu, v_ccpu (the
# daemon's, vcsim's and the clients' CPU ms per operation).
vmtraced_turn() {
	local c=$1 i d0 s0 wall ccpu pids n=$(($1 * OPS))
	daemon_start "$T/bench.conf" || exit 1
	wait_for 30 pool_in || echo "# not all $CLIENTS pooled sessions logged in" >&2
	through_mirror "${vms[0]}" || echo "# lookups do not go through the inventory mirror" >&2
	pids=()
	for ((i = 0; i < c; i++)); do
		vmctl cpu "${vms[i]}" 2 </dev/null >/dev/null 2>&1 || echo "${vms[i]}" >>"$T/failed" &
		pids+=($!)
	done
	wait "${pids[@]}"  # not a bare wait: vcsim and the daemon are this shell's children too
	quiescent
	d0=$(cpu_ms "$DAEMON_PID") s0=$(cpu_ms "$VCSIM_PID")
	read -r wall ccpu < <(fan_out "$c")
	quiescent || echo "# operations still in flight after the replies" >&2
	v_ops=$(awk -v n="$n" -v ns="$wall" 'BEGIN {printf "%.1f", n / (ns / 1e9)}')
	v_dcpu=$(per_op $(($(cpu_ms "$DAEMON_PID") - d0)) "$n")
	v_scpu=$(per_op $(($(cpu_ms "$VCSIM_PID") - s0)) "$n")
	v_ccpu=$(per_op "$ccpu" "$n")
	daemon_stop
}
# yardstick_turn C: govmomi-baseline -lean -workers C on the first C VMs; sets
# l_ops (ops/s), l_scpu and l_ccpu (vcsim's and its own CPU ms per operation).
yardstick_turn() {
	local c=$1 out
	out=$("$baseline" -url "$VCSIM_URL" -cacert "$VCSIM_CA" -user "$VCSIM_USER" -password "$VCSIM_PASSWORD" \
		-lean -workers "$c" -vms "$(IFS=,; echo "${vms[*]:0:c}")" -n $((c * OPS)) -watch-pid "$VCSIM_PID") || exit 1
	read -r l_ops l_scpu l_ccpu < <(jq -r --argjson hz "$hz" '[.ops_per_s, .watched_cpu_ticks * 1000 / $hz / .operations,
		.cpu_ms / .operations] | join(" ")' <<<"$out" | awk '{printf "%.1f %.1f %.1f", $1, $2, $3}')
}

declare -A ratios
row() { printf '%-4s %-3s %10s %10s %7s   %7s %7s %7s   %7s %7s\n' "$@"; }
echo "vmctl cpu VM N, C clients on C VMs at once, against the lean govmomi client with C workers on the same VMs"
echo "($OPS operations per client or worker; CPU in ms per operation over the timed part; post-events = $POST_EVENTS)"
printf '%41s   %-23s   %s\n' "" "vmtraced side, CPU" "lean side, CPU"
row RUN C VMCTL_OP/S LEAN_OP/S RATIO DAEMON VCSIM VMCTLS VCSIM LEAN
for run in $(seq "$RUNS"); do
	for c in "$CLIENTS" 1; do
		vmtraced_turn "$c"
		yardstick_turn "$c"
		ratio=$(awk -v v="$v_ops" -v l="$l_ops" 'BEGIN {printf "%.2f", v / l}')
		ratios[$c]+="$ratio "
		row "$run" "$c" "$v_ops" "$l_ops" "${ratio}x" "$v_dcpu" "$v_scpu" "$v_ccpu" "$l_scpu" "$l_ccpu"
	done
done

echo
for c in "$CLIENTS" 1; do
	read -ra r <<<"${ratios[$c]}"
	set -- "${r[@]}"
	printf 'vmctl / lean client, %2s clients / %2s workers, ops/s: %s; median %sx, spread %s to %sx%s\n' "$c" "$c" \
		"$(printf '%sx ' "$@" | sed 's/ $//')" "$(median <<<"$*")" "$(printf '%s\n' "$@" | sort -n | head -1)" \
		"$(printf '%s\n' "$@" | sort -n | tail -1)" "$([ "$c" = "$CLIENTS" ] && echo ' (target: at least 0.6x)')"
done

# The trail: one OK ModifyCPU row per operation the loops made (the untimed ones too), and an intact chain.
want=$((RUNS * (CLIENTS + 1) * (OPS + 1)))
failed=$(wc -l <"$T/failed")
rows=$(sql "SELECT count(*) FROM records WHERE operation = 'ModifyCPU' AND result = 'OK'")
other=$(sql "SELECT count(*) FROM records WHERE result <> 'OK'")
echo "trail: $rows OK ModifyCPU rows, want $want ($failed vmctl calls failed; $other rows not OK)"
verify=$("$VMCTL" verify --db "$T/trail.db" 2>&1)
echo "vmctl verify (exit $?): $verify"
