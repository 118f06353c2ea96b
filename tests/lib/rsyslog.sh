# SPDX-License-Identifier: GPL-2.0-or-later
# A real rsyslog receiving RELP on a loopback port of the test's own, for
# the forwarding tests.  Source after tests/lib/common.sh.
#
#   rsyslog_config [INPUT-PARAMS]  write $T/rsyslog.conf: imrelp on $PORT
#                                  (with INPUT-PARAMS, e.g. TLS), vmtraced's
#                                  messages as received into $RECEIVED
#   rsyslog_start                  start it (-n, -C: no fork, no journal), wait for the port
#   rsyslog_kill                   SIGKILL it: a collector that dies, not one that shuts down

RSYSLOGD=/usr/sbin/rsyslogd
[ -x "$RSYSLOGD" ] || bail "rsyslogd not found (apt-get install rsyslog rsyslog-relp)"
ls /usr/lib/*/rsyslog/imrelp.so >/dev/null 2>&1 || bail "rsyslog's imrelp not found (apt-get install rsyslog-relp)"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RECEIVED=$T/received.log
RS_PID=

rsyslog_config() {
	mkdir -p "$T/rsyslog"
	# Direct queue: imrelp acknowledges a message only once omfile has written it.
	cat >"$T/rsyslog.conf" <<CONF
global(workDirectory="$T/rsyslog" maxMessageSize="64k")
main_queue(queue.type="Direct")
module(load="imrelp")
input(type="imrelp" port="$PORT" address="127.0.0.1" maxDataSize="64k" ${1:-})
template(name="raw" type="string" string="%rawmsg%\n")
if \$app-name == "vmtraced" then {
	action(type="omfile" file="$RECEIVED" template="raw" flushOnTXEnd="on" asyncWriting="off")
}
CONF
}

rsyslog_start() {
	"$RSYSLOGD" -n -C -f "$T/rsyslog.conf" -i "$T/rsyslog.pid" >>"$T/rsyslog.log" 2>&1 &
	RS_PID=$!
	wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null
}

rsyslog_kill() {
	[ -n "$RS_PID" ] || return 0
	kill -KILL "$RS_PID" 2>/dev/null
	wait "$RS_PID" 2>/dev/null
	RS_PID=
}
trap 'rsyslog_kill; cleanup' EXIT
