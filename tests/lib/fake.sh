# SPDX-License-Identifier: GPL-2.0-or-later
# Shell helpers for the fake backend (daemon/backends/fake/fake.c): its
# platform is one JSON file, which these read and edit under flock(1), as
# the backend itself does with flock(2).  Source after tests/lib/common.sh;
# the daemon started by daemon_start is then tests/vmtraced-fake.
#
#   fake_platform FILE           a small platform: hosts, datastores, three VMs
#   fake_jq FILE FILTER [ARG...] jq -r on the file, under a shared lock
#   fake_edit FILE FILTER [ARG...]  jq on the file, written back in place (the
#                                backend holds the same inode under its lock)
#   fake_endpoint NAME FILE [LINES]  an [endpoint] section for the file
#   wait_for SECONDS CMD...      until CMD succeeds

VMTRACED=$top_builddir/tests/vmtraced-fake
[ -x "$VMTRACED" ] || bail "$VMTRACED is not built (make check builds it)"
command -v jq >/dev/null && command -v flock >/dev/null && command -v sqlite3 >/dev/null ||
	{ echo "1..0 # SKIP jq, flock and sqlite3 are needed"; exit 77; }

fake_platform() {
	jq -n '{
		hosts: ["esx-a", "esx-b"],
		datastores: ["ds1", "ds2"],
		next_id: 100,
		vms: [
			{name: "web1", id: "vm-1", uuid: "42000000-0000-4000-8000-000000000001", host: "esx-a",
			 power: "poweredOn", cpus: 2, memory_mib: 1024,
			 disks: [{label: "Hard disk 1", mib: 1024}], datastores: ["ds1"],
			 snapshots: [], current_snapshot: null},
			{name: "db1", id: "vm-2", uuid: "42000000-0000-4000-8000-000000000002", host: "esx-b",
			 power: "poweredOff", cpus: 4, memory_mib: 4096,
			 disks: [{label: "Hard disk 1", mib: 2048}, {label: "Hard disk 2", mib: 8192}],
			 datastores: ["ds1", "ds2"], snapshots: [], current_snapshot: null},
			{name: "app1", id: "vm-3", uuid: "42000000-0000-4000-8000-000000000003", host: "esx-a",
			 power: "poweredOn", cpus: 1, memory_mib: 512,
			 disks: [{label: "Hard disk 1", mib: 512}], datastores: ["ds2"],
			 snapshots: [], current_snapshot: null}
		],
		tasks: {}, requests: [], events: [], faults: {}
	}' >"$1"
}

fake_jq() {
	local f=$1; shift
	flock -s "$f" jq -r "$@" "$f"
}

fake_edit() {
	local f=$1; shift
	flock "$f" sh -c 'f=$1; shift; jq "$@" "$f" >"$f.new" && cat "$f.new" >"$f"; s=$?; rm -f "$f.new"; exit $s' \
		sh "$f" "$@"
}

fake_endpoint() {
	printf '[endpoint "%s"]\nbackend = fake\nurl = fake://%s\npool-size = %s\n' "$1" "$2" "${POOL_SIZE:-1}"
	[ $# -lt 3 ] || printf '%s\n' "$3"
}

