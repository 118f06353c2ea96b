# SPDX-License-Identifier: GPL-2.0-or-later
# A real rsyslog receiving RELP, or syslog over TLS, on a loopback port of
# the test's own, for the forwarding tests.  Source after tests/lib/common.sh.
#
#   rsyslog_config [INPUT-PARAMS]  write $T/rsyslog.conf: imrelp on $PORT
#                                  (with INPUT-PARAMS, e.g. TLS), vmtraced's
#                                  messages as received into $RECEIVED
#   rsyslog_config_tls CA CERT KEY [PEER]
#                                  the same with imtcp over TLS (RFC 5425) instead
#   rsyslog_start                  start it (-n, -C: no fork, no journal), wait for the port
#   rsyslog_kill                   SIGKILL it: a collector that dies, not one that shuts down
#   pki_ca NAME                    a CA of the test's own: $T/NAME.pem and $T/NAME.key
#   pki_cert NAME CA SUBJECT-NAME  a certificate CA signs for SUBJECT-NAME (CN and DNS name)

RSYSLOGD=/usr/sbin/rsyslogd
[ -x "$RSYSLOGD" ] || bail "rsyslogd not found (apt-get install rsyslog rsyslog-relp)"
ls /usr/lib/*/rsyslog/imrelp.so >/dev/null 2>&1 || bail "rsyslog's imrelp not found (apt-get install rsyslog-relp)"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RECEIVED=$T/received.log
RS_PID=

# rsyslog_write GLOBAL-PARAMS MODULE INPUT: the config, with the input of the caller's protocol.
rsyslog_write() {
	mkdir -p "$T/rsyslog"
	# Direct queue: imrelp acknowledges a message, and imtcp reads the next, only once omfile has written it.
	cat >"$T/rsyslog.conf" <<CONF
global(workDirectory="$T/rsyslog" maxMessageSize="64k" $1)
main_queue(queue.type="Direct")
$2
$3
template(name="raw" type="string" string="%rawmsg%\n")
if \$app-name == "vmtraced" then {
	action(type="omfile" file="$RECEIVED" template="raw" flushOnTXEnd="on" asyncWriting="off")
}
CONF
}

rsyslog_config() {
	rsyslog_write "" 'module(load="imrelp")' \
		"input(type=\"imrelp\" port=\"$PORT\" address=\"127.0.0.1\" maxDataSize=\"64k\" ${1:-})"
}

# RFC 5425 over imtcp: TLS with GnuTLS (rsyslog-gnutls), the server's CA, CERT and KEY files;
# PEER: the client certificate's name it requires (none: any client, no certificate asked).
rsyslog_config_tls() {
	local auth='streamDriver.authMode="anon"'
	[ -z "${4:-}" ] || auth="streamDriver.authMode=\"x509/name\" permittedPeer=[\"$4\"]"
	rsyslog_write "defaultNetstreamDriver=\"gtls\" defaultNetstreamDriverCAFile=\"$1\" defaultNetstreamDriverCertFile=\"$2\" defaultNetstreamDriverKeyFile=\"$3\"" \
		"module(load=\"imtcp\" streamDriver.name=\"gtls\" streamDriver.mode=\"1\" $auth)" \
		"input(type=\"imtcp\" port=\"$PORT\" address=\"127.0.0.1\")"
}

pki() { openssl "$@" >>"$T/openssl.log" 2>&1 || bail "openssl $1 failed: $(tail -3 "$T/openssl.log")"; }
pki_ca() {
	pki req -x509 -newkey rsa:2048 -nodes -keyout "$T/$1.key" -subj "/CN=test $1" -days 2 -out "$T/$1.pem"
}
pki_cert() {
	pki req -new -newkey rsa:2048 -nodes -keyout "$T/$1.key" -subj "/CN=$3" -out "$T/$1.csr"
	printf 'subjectAltName=DNS:%s\n' "$3" >"$T/$1.ext"
	pki x509 -req -in "$T/$1.csr" -CA "$T/$2.pem" -CAkey "$T/$2.key" -CAcreateserial -days 2 \
		-extfile "$T/$1.ext" -out "$T/$1.pem"
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
