#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Install what portburn needs to build, test and run, from Debian's archive.
# Idempotent: installs only missing packages; apt-get update at most once per run.
set -eu

PKGS="gcc libc6-dev clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make \
libcmocka-dev libjson-c-dev libmicrohttpd-dev libncurses-dev libcap-dev libcap2-bin \
iproute2 iptables conntrack haproxy nginx-light socat curl tmux jq \
busybox-static qemu-system-x86 cpio xz-utils prometheus yamllint \
linux-perf libclang-rt-14-dev libbpf-tools python3-yaml uthash-dev libglib2.0-dev valgrind"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
