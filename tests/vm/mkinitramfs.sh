#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Build the guest's initramfs (an uncompressed newc cpio: nothing to inflate
# under TCG): busybox-static, guest/init, checks.sh + checks.jq, pbvm-conn,
# portburn and jq with every library ldd lists and the dynamic loader, and
# each kernel's config as /boot/config-<release>, as on an installed Debian
# system (libbpf reads it for __kconfig externs).
# Usage: tests/vm/mkinitramfs.sh OUT.cpio PORTBURN PBVM_CONN [KERNEL_DIR...]
set -eu

out=${1:?usage: mkinitramfs.sh OUT.cpio PORTBURN PBVM_CONN}
portburn=${2:?}
conn=${3:?}
shift 3
here=$(cd "$(dirname "$0")" && pwd)
jq=$(command -v jq || true)

die() { printf 'vm: %s\n' "$*" >&2; exit 1; }
[ -x "$portburn" ] || die "no portburn binary at $portburn"
[ -x "$conn" ] || die "no pbvm-conn at $conn"
[ -x /bin/busybox ] || die "no /bin/busybox (package busybox-static)"
ldd /bin/busybox >/dev/null 2>&1 && die "/bin/busybox is dynamic: install busybox-static"
[ -n "$jq" ] || die "jq is not installed"

root=$out.root
rm -rf "$root"
mkdir -p "$root/bin" "$root/pbvm/bin" "$root/lib64" "$root/lib/x86_64-linux-gnu" \
	"$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/run"

cp /bin/busybox "$root/bin/busybox"
cp "$here/guest/init" "$root/init"
cp "$here/checks.sh" "$here/checks.jq" "$here/snapshot.jq" "$root/pbvm/"
cp "$conn" "$root/pbvm/bin/pbvm-conn"

# A dynamically linked binary and its libraries, at the paths ldd resolves.
add_dynamic() { # binary name
	cp "$1" "$root/pbvm/bin/$2"
	ldd "$1" 2>/dev/null | awk '/=> \// { print $3 } /^[[:space:]]*\/[^ ]*ld-linux/ { print $1 }' |
		while read -r lib; do
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		done
}
add_dynamic "$portburn" portburn
add_dynamic "$jq" jq
for kdir in "$@"; do
	mkdir -p "$root/boot"
	cp -L "$kdir/config" "$root/boot/config-$(cat "$kdir/release")"
done
chmod 755 "$root/init" "$root/pbvm/checks.sh"

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
rm -rf "$root"
