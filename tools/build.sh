#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Configure and build in ./build (out of tree).  Extra arguments go to configure.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
autoreconf -fi >/dev/null
mkdir -p build
cd build
"$top/configure" --quiet --prefix=/usr --sysconfdir=/etc --localstatedir=/var "$@"
make -j"$(nproc)"
