#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Fetch Debian's stock cloud kernel of one suite into tests/vm/cache, without
# touching the host's apt setup and without installing anything:
# private sources list + state dir -> apt-cache depends linux-image-cloud-amd64
# -> apt-get download the versioned image -> dpkg -x.
# Usage: tests/vm/fetch-kernel.sh SUITE      (bullseye | bookworm | trixie)
# Prints the unpacked kernel directory on stdout; progress goes to stderr.
# Cached: once tests/vm/cache/kernels/SUITE/vmlinuz exists nothing is downloaded.
# PBVM_REFRESH=1 re-resolves the metapackage (a newer point release).
set -eu

suite=${1:?usage: fetch-kernel.sh SUITE}
here=$(cd "$(dirname "$0")" && pwd)
cache=${PBVM_CACHE:-$here/cache}
mirror=${PBVM_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
kdir=$cache/kernels/$suite

say() { printf 'vm: %s\n' "$*" >&2; }
die() { printf 'vm: %s\n' "$*" >&2; exit 1; }

if [ -s "$kdir/vmlinuz" ] && [ "${PBVM_REFRESH:-0}" != 1 ]; then
	echo "$kdir"
	exit 0
fi
command -v apt-get >/dev/null || die "apt-get not found: the kernel matrix needs a Debian host"
[ -r "$keyring" ] || die "missing $keyring (package debian-archive-keyring)"

adir=$cache/apt/$suite
mkdir -p "$adir/lists/partial" "$adir/archives/partial" "$adir/debs" "$adir/empty.d"
echo "deb [signed-by=$keyring] $mirror $suite main" >"$adir/sources.list"
: >"$adir/status"

# Every option that could read or write the host's apt state is redirected.
apt_opts() {
	printf '%s\n' \
		-o "Dir::Etc::sourcelist=$adir/sources.list" \
		-o "Dir::Etc::sourceparts=$adir/empty.d" \
		-o "Dir::Etc::preferencesparts=$adir/empty.d" \
		-o "Dir::Etc::preferences=$adir/empty.d/none" \
		-o "Dir::State=$adir" \
		-o "Dir::State::Lists=$adir/lists" \
		-o "Dir::State::status=$adir/status" \
		-o "Dir::Cache=$adir" \
		-o "Dir::Cache::archives=$adir/archives" \
		-o "APT::Architecture=amd64" \
		-o "APT::Architectures=amd64" \
		-o "Acquire::Languages=none" \
		-o "APT::Get::List-Cleanup=0" \
		-o "APT::Sandbox::User=root" \
		-o "Debug::NoLocking=1"
}
apt() { cmd=$1; shift; apt_opts | xargs -d '\n' sh -c 'exec "$@"' "$cmd" "$cmd" "$@"; }

say "$suite: fetching package lists from $mirror (private apt state in $adir)"
apt apt-get -qq update >&2 || die "$suite: apt-get update failed"

img=$(apt apt-cache depends linux-image-cloud-amd64 |
	sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\(-unsigned\)\?\)$/\1/p' | head -n 1)
[ -n "$img" ] || die "$suite: cannot resolve linux-image-cloud-amd64"
say "$suite: linux-image-cloud-amd64 -> $img"

say "$suite: downloading $img"
(cd "$adir/debs" && rm -f ./*.deb && apt apt-get -qq download "$img" >&2) ||
	die "$suite: apt-get download $img failed"
for deb in "$adir"/debs/*.deb; do break; done
[ -f "$deb" ] || die "$suite: apt-get download left no .deb"

say "$suite: unpacking ${deb##*/}"
rm -rf "$kdir.tmp"
mkdir -p "$kdir.tmp/root"
dpkg -x "$deb" "$kdir.tmp/root"
for vmlinuz in "$kdir.tmp"/root/boot/vmlinuz-*; do break; done
[ -f "$vmlinuz" ] || die "$suite: no /boot/vmlinuz-* in ${deb##*/}"
release=${vmlinuz##*/vmlinuz-}
ln -s "root/boot/vmlinuz-$release" "$kdir.tmp/vmlinuz"
ln -s "root/boot/config-$release" "$kdir.tmp/config"
# Only the image and its config are used: tcp, ipv6, bpf, tracefs, cgroup2 and
# the 8250 console are built into Debian's cloud kernels; drop the modules.
rm -rf "$kdir.tmp/root/lib" "$kdir.tmp/root/usr"
echo "$release" >"$kdir.tmp/release"
echo "${deb##*/}" >"$kdir.tmp/package"
rm -rf "$kdir"
mv "$kdir.tmp" "$kdir"
rm -f "$deb"
say "$suite: kernel $release ready"
echo "$kdir"
