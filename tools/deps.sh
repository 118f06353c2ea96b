#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Install every Debian package vmtraced needs to build, test and demo.
# Run as root on Debian 12 (bookworm).  Idempotent; no prompts.
set -eu
export DEBIAN_FRONTEND=noninteractive
PACKAGES="
  build-essential autoconf automake pkg-config
  gsoap libgsoap-dev libssl-dev openssl libsystemd-dev libjson-c-dev
  libsqlite3-dev sqlite3 libinih-dev
  golang-go golang-github-vmware-govmomi-dev
  jq socat util-linux mandoc ca-certificates valgrind python3 python3-pyvmomi systemd
  pmccabe cppcheck
  libvirt-dev libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils
  librelp-dev rsyslog rsyslog-relp rsyslog-gnutls
  debhelper devscripts lintian fakeroot dpkg-dev
  chromium fonts-dejavu-core zsh python3-prometheus-client strace
"
missing=
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -n "$missing" ] || exit 0
echo "Installing:$missing"
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
