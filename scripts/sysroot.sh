#!/bin/sh
# Unpack the target libraries a cross build of memtrace compiles and links
# against (libunwind, libelf + libz, cJSON) from Debian's packages of another
# architecture into a sysroot folder, without installing anything of that
# architecture: the packages are downloaded with apt-get and unpacked with
# dpkg -x. libc comes from the cross toolchain (libc6-dev-DEBARCH-cross).
#
#   scripts/sysroot.sh [-q] DEBARCH...     DEBARCH: arm64, armhf, armel,
#                                          mipsel or mips64el
#
#   scripts/sysroot.sh [-q] --guest DEBARCH...
#
#   scripts/sysroot.sh --check [--guest] DEBARCH...
#                             download nothing: name each sysroot that is
#                             missing or stale and exit 1 (make check's steps)
#
# Result: ${MEMTRACE_CACHE:-$HOME/.cache/memtrace}/sysroot-DEBARCH, the .debs
# in .../debs-DEBARCH. Quick when the sysroot is already there with the same
# package list. Prints one line per DEBARCH saying what it did (-q: nothing
# when there was nothing to do). apt-get and dpkg --add-architecture run
# through sudo when not root.
#
# --guest unpacks instead what the test VMs (tests/arm/vm.sh) run on into
# .../guest-DEBARCH: the target's libc, libstdc++, tcmalloc, jemalloc,
# busybox, bash, jq and gdbserver, and from Debian's kernel for qemu's board
# (virt: arm64 for arm64, armmp for armhf and armel; malta: 4kc-malta for
# mipsel, 5kc-malta for mips64el) the vmlinuz and the modules its virtio
# network card needs (virt's virtio-net-device: four; malta's
# virtio-net-pci: eight; not the other 350 MB of modules), in
# .../guest-DEBARCH/modules in the order they load.
set -eu
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

quiet=0
mode=sysroot
only_check=0
while [ $# -gt 0 ]; do
	case $1 in
	-q) quiet=1 ;;
	--check) only_check=1 ;;
	--guest) mode=guest ;;
	*) break ;;
	esac
	shift
done
[ $# -gt 0 ] || set -- usage
for arch in "$@"; do
	case $arch in
	arm64 | armhf | armel | mipsel | mips64el) ;;
	*)
		echo "usage: scripts/sysroot.sh [-q] [--check] [--guest] arm64|armhf|armel|mipsel|mips64el..." >&2
		exit 2
		;;
	esac
done

# What compiling and linking memtrace and the agent needs: headers, .so links
# and .pc files from the -dev packages, and the libraries their libraries need
# (libelf -> libz, libunwind -> liblzma) for the link's -rpath-link. zlib1g-dev
# only for zlib.pc, which libelf.pc requires. libgcc_s comes with the cross gcc.
pkgs="libunwind8 libunwind-dev liblzma5 libelf1 libelf-dev zlib1g zlib1g-dev libcjson1 libcjson-dev"
# What the guest adds: the runtime libraries the cross toolchain links
# against, a shell and tools for the test scripts (busybox has the rest),
# gdbserver for the gdb console's test, and tcmalloc and jemalloc for the
# C++ tests that preload them (t-cxx-alloc, t-attach-cxx-alloc).
if [ $mode = guest ]; then
	pkgs="libc6 libgcc-s1 libstdc++6 busybox-static bash libtinfo6 jq libjq1 libonig5 gdbserver"
	pkgs="$pkgs libtcmalloc-minimal4 libjemalloc2"
fi
# netmods DEBARCH: the kernel modules of the guest's network card, in the
# order insmod needs them (dependencies from each .ko's depends=; the
# kernel package has no modules.dep). ARM: virtio-net-device on the virt
# board's virtio-mmio transport. MIPS: virtio-net-pci on malta's PCI bus.
netmods() {
	case $1 in
	mips*) echo "drivers/virtio/virtio.ko drivers/virtio/virtio_ring.ko" \
		"drivers/virtio/virtio_pci_modern_dev.ko drivers/virtio/virtio_pci_legacy_dev.ko" \
		"drivers/virtio/virtio_pci.ko net/core/failover.ko drivers/net/net_failover.ko" \
		"drivers/net/virtio_net.ko" ;;
	*) echo "drivers/virtio/virtio_mmio.ko net/core/failover.ko drivers/net/net_failover.ko drivers/net/virtio_net.ko" ;;
	esac
}
# stampv DEBARCH: what a sysroot's stamp holds: it is remade when this changes.
stampv() {
	if [ $mode = sysroot ]; then
		echo "$pkgs"
	else
		echo "$pkgs / $(netmods "$1")"
	fi
}

# kernel DEBARCH: the versioned package behind Debian's kernel metapackage
# for qemu's board, e.g. linux-image-6.1.0-50-armmp.
# Debian has no armel kernel for the virt board: armel runs on the armmp
# kernel of armhf (ARMv7), so its guest needs armhf's package index too.
# MIPS: the malta board's kernels of the architecture itself (4kc-malta is
# MIPS32r2, 5kc-malta MIPS64r2, Debian's baseline ISAs).
kernel_arch() {
	case $1 in
	arm64 | mipsel | mips64el) echo "$1" ;;
	*) echo armhf ;;
	esac
}
kernel_meta() {
	case $1 in
	arm64) echo linux-image-arm64 ;;
	mipsel) echo linux-image-4kc-malta ;;
	mips64el) echo linux-image-5kc-malta ;;
	*) echo linux-image-armmp ;;
	esac
}
kernel_pkg() {
	apt-cache depends "$(kernel_meta "$1"):$(kernel_arch "$1")" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*\).*/\1/p' | head -n 1
}

cache=${MEMTRACE_CACHE:-${HOME:-/root}/.cache/memtrace}

# The architectures whose sysroot is missing or was made from another list.
todo=""
for arch in "$@"; do
	stamp="$cache/$mode-$arch/.memtrace-sysroot"
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(stampv "$arch")" ]; then
		[ $quiet = 1 ] || echo "sysroot: $cache/$mode-$arch is up to date"
	else
		todo="$todo $arch"
	fi
done
[ -n "$todo" ] || exit 0
if [ $only_check = 1 ]; then
	for arch in $todo; do
		case $mode-$arch in
		sysroot-*) target=cross ;;
		guest-mips*) target=mips ;;
		*) target=arm ;;
		esac
		echo "sysroot: $cache/$mode-$arch is missing or stale:" \
			"run 'make deps-$target'" \
			"or scripts/sysroot.sh$([ $mode = sysroot ] || echo ' --guest') $arch" >&2
	done
	exit 1
fi

need_root "sysroot: run as root or install sudo (needs apt-get and dpkg --add-architecture)"
export DEBIAN_FRONTEND=noninteractive

# apt-get download needs the architecture's package index: add the
# architecture to dpkg (nothing of it gets installed) and update the index
# once for all of them, unless apt already knows every package.
update=0
archs=$todo
[ $mode = sysroot ] || for arch in $todo; do
	case " $archs " in *" $(kernel_arch "$arch") "*) ;; *) archs="$archs $(kernel_arch "$arch")" ;; esac
done
for arch in $archs; do
	if [ "$(dpkg --print-architecture)" != "$arch" ] &&
		! dpkg --print-foreign-architectures | grep -qx "$arch"; then
		$SUDO dpkg --add-architecture "$arch"
		update=1
	else
		set --
		for p in $pkgs; do
			set -- "$@" "$p:$arch"
		done
		apt-cache show "$@" >/dev/null 2>&1 || update=1
	fi
done
# The update is allowed to fail: with armhf added it exits 100 because the
# mirror's bookworm-security armhf index has the wrong size ("Mirror sync in
# progress?"). Main's index still loads, and that is the one used here.
if [ $update = 1 ]; then
	$SUDO apt-get update -q >/dev/null 2>&1 ||
		echo "sysroot: apt-get update reported errors (stale index?), going on" >&2
fi

for arch in $todo; do
	root="$cache/$mode-$arch"
	debs="$cache/debs-$mode-$arch"
	mkdir -p "$debs"
	rm -f "$debs"/*.deb
	set --
	for p in $pkgs; do
		set -- "$@" "$p:$arch"
	done
	kernel=""
	if [ $mode = guest ]; then
		kernel=$(kernel_pkg "$arch")
		if [ -z "$kernel" ]; then
			echo "sysroot: apt knows no kernel package for $arch ($(kernel_meta "$arch"):$(kernel_arch "$arch"))" >&2
			exit 1
		fi
		set -- "$@" "$kernel:$(kernel_arch "$arch")"
	fi
	npkgs=$#
	# Sandbox user root: the download folder may not be readable by _apt.
	if ! (cd "$debs" && $SUDO apt-get -q -o APT::Sandbox::User=root download "$@" >/dev/null); then
		echo "sysroot: apt-get download of $pkgs for $arch failed" >&2
		exit 1
	fi
	[ -z "$SUDO" ] || $SUDO chown -R "$(id -u):$(id -g)" "$debs"

	# Unpack beside the old sysroot, then swap, so that an interrupted run
	# never leaves a half sysroot that looks complete.
	rm -rf "$root.new"
	mkdir -p "$root.new"
	for d in "$debs"/*.deb; do
		case $d in
		*/linux-image-*)
			set --
			for m in $(netmods "$arch"); do
				set -- "$@" "./lib/modules/*/kernel/$m"
			done
			dpkg-deb --fsys-tarfile "$d" | tar -x -C "$root.new" --wildcards './boot/vmlinuz-*' "$@"
			mv "$root.new"/boot/vmlinuz-* "$root.new/vmlinuz"
			mkdir -p "$root.new/modules"
			n=0
			for m in $(netmods "$arch"); do
				n=$((n + 1))
				mv "$root.new"/lib/modules/*/kernel/"$m" "$root.new/modules/$n-${m##*/}"
			done
			rm -rf "$root.new/lib/modules"
			;;
		*) dpkg -x "$d" "$root.new" ;;
		esac
	done
	# mips64el's glibc loader, /lib64/ld.so.1 (PT_INTERP), is an absolute
	# link to /lib/mips64el-linux-gnuabi64/ld.so.1: here it would lead to
	# this host's file (for cp -L, gdb, memtrace-server's sysroot), so the
	# guest gets the loader itself there.
	for l in "$root.new"/lib64/ld*.so*; do
		[ -L "$l" ] || continue
		t=$(readlink "$l")
		case $t in
		/*)
			rm "$l"
			cp "$root.new$t" "$l"
			;;
		esac
	done
	# The guest's debs hold a whole kernel (60 MB): not kept.
	[ $mode = sysroot ] || rm -rf "$debs"
	stampv "$arch" >"$root.new/.memtrace-sysroot"
	rm -rf "$root"
	mv "$root.new" "$root"
	echo "sysroot: unpacked $npkgs $arch packages into $root"
done
