#!/bin/sh
# Build the device-side libraries memtrace links (zlib, cJSON, libelf of
# elfutils, libunwind with libunwind-ptrace) against musl libc, from Debian's
# own source packages with Debian's patches: Debian ships them built for
# glibc only. All are static archives of -fPIC code (so they link into the
# agent's shared object too), with pkg-config files and the Linux kernel
# headers (linux/, asm/, asm-generic/) that musl's headers leave out.
#
#   scripts/musl-libs.sh [-q] TRIPLET...      TRIPLET: x86_64-linux-musl
#
#   scripts/musl-libs.sh --check TRIPLET...
#                             download and install nothing: name the host
#                             packages that are missing and each prefix that
#                             is missing or stale, and exit 1
#
# Result: ${MEMTRACE_CACHE:-$HOME/.cache/memtrace}/musl-TRIPLET with include/,
# lib/*.a and lib/pkgconfig/{zlib,libcjson,libelf,libunwind,libunwind-ptrace}.pc,
# whose prefix is relative to the .pc file (the folder can move). Link with
#   PKG_CONFIG_LIBDIR=.../musl-TRIPLET/lib/pkgconfig pkg-config --libs \
#       libelf libcjson zlib libunwind-ptrace
# (the same with or without --static: there are no shared libraries here).
#
# The source packages (.dsc, .orig and .debian tarballs) are downloaded once
# with apt-get source into .../musl-src and kept, so a rebuild downloads
# nothing; a temporary deb-src list is added to apt for that and removed
# again. Each step's output is in .../musl-build-TRIPLET/logs; a failed step
# is named with its log's tail and its build tree is left in place. Quick
# when the prefix's stamp names the same sources, musl and kernel headers.
# Prints one line per thing done (-q: nothing when there was nothing to do).
# Host packages (musl-tools, dpkg-dev, ...) are installed with apt-get, like
# the download through sudo when not root.
set -eu
# The libraries' own builds must not see the flags of a make that runs this
# (make deps-musl inside make check): memtrace's Makefile runs with -rR, and
# under it cJSON's Makefile found no $(AR) ("rcs: No such file or directory").
unset MAKEFLAGS MFLAGS MAKEOVERRIDES MAKELEVEL
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

quiet=0
only_check=0
while [ $# -gt 0 ]; do
	case $1 in
	-q) quiet=1 ;;
	--check) only_check=1 ;;
	*) break ;;
	esac
	shift
done
usage="usage: scripts/musl-libs.sh [-q] [--check] x86_64-linux-musl..."
[ $# -gt 0 ] || {
	echo "$usage" >&2
	exit 2
}

# target TRIPLET: set what building for TRIPLET takes: cc (the musl
# compiler), chost (configure's --host), debarch (Debian's architecture of
# musl-dev and linux-libc-dev), kinc (the kernel headers' folder with linux/
# and asm-generic/), kasm (its asm/ folder), unwarch (libunwind's name for
# the architecture) and tools (the host packages it needs).
# A cross target would take $TRIPLET-gcc from Debian's musl-dev:DEBARCH and
# the kernel headers of linux-libc-dev-DEBARCH-cross in /usr/GNUTRIPLET/include;
# not done yet.
target() {
	case $1 in
	x86_64-linux-musl)
		cc=musl-gcc
		chost=x86_64-linux-musl
		debarch=amd64
		kinc=/usr/include
		kasm=/usr/include/x86_64-linux-gnu/asm
		unwarch=x86_64
		tools="musl-tools musl-dev gcc binutils make dpkg-dev bzip2 xz-utils linux-libc-dev"
		;;
	aarch64-linux-musl | arm-linux-musleabi* | mips*-linux-musl* | riscv64-linux-musl | i?86-linux-musl)
		echo "musl-libs: $1 is not done yet: only x86_64-linux-musl (a cross" \
			"triplet needs its musl-dev:ARCH compiler and linux-libc-dev-ARCH-cross headers)" >&2
		exit 2
		;;
	*)
		echo "$usage" >&2
		exit 2
		;;
	esac
}
for t in "$@"; do
	target "$t"
done

# Debian's source packages, in build order (libelf needs zlib).
srcpkgs="zlib cjson elfutils libunwind"
# Bumped when the build steps below change: the prefixes are remade then.
recipe=1

cache=${MEMTRACE_CACHE:-${HOME:-/root}/.cache/memtrace}
src=$cache/musl-src
jobs=$(nproc 2>/dev/null || echo 2)

# dsc PKG: the source package's .dsc in $src, empty when not downloaded.
dsc() {
	for f in "$src/$1"_*.dsc; do
		[ -f "$f" ] && echo "$f"
	done | tail -n 1
}
# dsc_version DSC: the Debian version the .dsc describes.
dsc_version() {
	sed -n 's/^Version: *//p' "$1"
}
# upver PKG: the upstream version of a downloaded source package.
upver() {
	dsc_version "$(dsc "$1")" | sed 's/^[0-9]*://; s/-[^-]*$//; s/\.dfsg$//'
}
# stamp_of TRIPLET: what a prefix's stamp holds: the recipe, the versions of
# the sources, of musl and of the kernel headers. The prefix is remade when
# this changes.
stamp_of() {
	target "$1"
	s="recipe $recipe"
	for p in $srcpkgs; do
		d=$(dsc "$p")
		s="$s $p=$([ -z "$d" ] || dsc_version "$d")"
	done
	for p in musl-dev linux-libc-dev; do
		s="$s $p=$(dpkg-query -W -f='${Version}' "$p:$debarch" 2>/dev/null || true)"
	done
	echo "$s"
}

# The triplets whose prefix is missing or was made from other sources.
todo=""
for t in "$@"; do
	stamp="$cache/musl-$t/.memtrace-musl-libs"
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(stamp_of "$t")" ]; then
		[ $quiet = 1 ] || echo "musl-libs: $cache/musl-$t is up to date"
	else
		case " $todo " in *" $t "*) ;; *) todo="$todo $t" ;; esac
	fi
done
[ -n "$todo" ] || exit 0

# What the builds need on the host.
missing=""
for t in $todo; do
	target "$t"
	for p in $tools; do
		case " $missing " in *" $p "*) continue ;; esac
		st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
		[ "$st" = installed ] || missing="$missing $p"
	done
done
nosrc=""
for p in $srcpkgs; do
	[ -n "$(dsc "$p")" ] || nosrc="$nosrc $p"
done

if [ $only_check = 1 ]; then
	[ -z "$missing" ] || echo "musl-libs: missing host packages:$missing;" \
		"run scripts/musl-libs.sh$todo (it installs them with apt-get)" >&2
	[ -z "$nosrc" ] || echo "musl-libs: source packages not downloaded into $src:$nosrc;" \
		"run scripts/musl-libs.sh$todo (apt-get source)" >&2
	for t in $todo; do
		echo "musl-libs: $cache/musl-$t is missing or stale: run scripts/musl-libs.sh $t" >&2
	done
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if [ -n "$missing" ]; then
	need_root "musl-libs: missing host packages:$missing; run as root or install sudo"
	# A stale index of one mirror must not stop the install (see sysroot.sh).
	$SUDO apt-get update -q >/dev/null 2>&1 || echo "musl-libs: apt-get update reported errors, going on" >&2
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
	echo "musl-libs: installed$missing"
fi

# Download the missing source packages with a deb-src list of its own, removed
# again on the way out. Its Signed-By must be the main list's, else apt
# refuses both ("Conflicting values set for option Signed-By").
if [ -n "$nosrc" ]; then
	need_root "musl-libs: apt-get source needs a deb-src list; run as root or install sudo"
	list=/etc/apt/sources.list.d/memtrace-musl-src.list
	trap '$SUDO rm -f "$list"' EXIT
	trap 'exit 1' INT TERM
	echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main" |
		$SUDO tee "$list" >/dev/null
	# Allowed to fail: a stale foreign-architecture index of the security
	# mirror makes it exit 100 while the sources' index loads.
	$SUDO apt-get update -q >/dev/null 2>&1 || echo "musl-libs: apt-get update reported errors (stale index?), going on" >&2
	mkdir -p "$src"
	# Sandbox user root: the download folder may not be readable by _apt.
	# shellcheck disable=SC2086
	if ! (cd "$src" && $SUDO apt-get -q -o APT::Sandbox::User=root source --download-only $nosrc >/dev/null); then
		echo "musl-libs: apt-get source of$nosrc failed" >&2
		exit 1
	fi
	$SUDO rm -f "$list"
	trap - EXIT INT TERM
	[ -z "$SUDO" ] || $SUDO chown -R "$(id -u):$(id -g)" "$src"
	for p in $nosrc; do
		[ -n "$(dsc "$p")" ] || {
			echo "musl-libs: apt-get source gave no $p .dsc in $src" >&2
			exit 1
		}
	done
	echo "musl-libs: downloaded the sources of$nosrc into $src"
fi

# step NAME DIR CMD...: run CMD in DIR with its output in $logs/NAME.log; when
# it fails, name the step and show the log's tail, and stop.
n=0
step() {
	name=$1
	dir=$2
	shift 2
	n=$((n + 1))
	log=$logs/$(printf %02d $n)-$name.log
	if ! (cd "$dir" && "$@") >"$log" 2>&1; then
		echo "musl-libs: $triplet: step $name failed: $*" >&2
		echo "musl-libs: the end of $log (build tree in $work):" >&2
		tail -n 30 "$log" >&2
		exit 1
	fi
}

# pc NAME DESCRIPTION VERSION REQUIRES LIBS: write NAME.pc into $out. Its
# prefix is found from the .pc file's own place, so the prefix can move.
# Requires, not Requires.private: everything here is static, so what a
# library needs belongs on every link line, with --static or without.
pc() {
	{
		echo "prefix=\${pcfiledir}/../.."
		echo "libdir=\${prefix}/lib"
		echo "includedir=\${prefix}/include"
		echo
		echo "Name: $1"
		echo "Description: $2 (static, musl, built by memtrace's scripts/musl-libs.sh)"
		echo "Version: $3"
		[ -z "$4" ] || echo "Requires: $4"
		echo "Libs: -L\${libdir} $5"
		echo "Cflags: -I\${includedir}"
	} >"$out/lib/pkgconfig/$1.pc"
}

for triplet in $todo; do
	target "$triplet"
	root=$cache/musl-$triplet
	out=$root.new
	build=$cache/musl-build-$triplet
	work=$build/src
	logs=$build/logs
	n=0
	rm -rf "$out" "$build"
	mkdir -p "$out/include" "$out/lib/pkgconfig" "$work" "$logs"
	for p in $srcpkgs; do
		d=$(dsc "$p")
		step "$p-unpack" "$work" dpkg-source -x "$d" "$work/$p"
	done

	# The kernel's headers first: a copy, not links, so the prefix stands on
	# its own. Some of linux/ clash with musl's own headers when both are
	# included (struct definitions of netinet/, sys/): a program takes care.
	cp -R "$kinc/linux" "$kinc/asm-generic" "$out/include/"
	cp -R "$kasm" "$out/include/asm"
	cppflags="-I$out/include"
	ldflags="-L$out/lib"

	# zlib: its own configure script (not autoconf's); static only.
	step zlib-configure "$work/zlib" env CC="$cc" CFLAGS="-O2 -fPIC" ./configure --static --prefix="$out"
	step zlib-make "$work/zlib" make -j"$jobs" libz.a
	step zlib-install "$work/zlib" make install
	rm -rf "$out/share"
	pc zlib "zlib compression library" "$(upver zlib)" "" "-lz"

	# cJSON: its plain Makefile (Debian builds with its CMake files), the
	# static library only; its PIC_FLAGS give -fPIC. Its CFLAGS would have
	# no -O and its -Werror (before CFLAGS) is not Debian's. Installed where
	# memtrace includes it from: <cjson/cJSON.h>.
	step cjson-make "$work/cjson" make -j"$jobs" CC="$cc -std=c89" \
		CFLAGS="-O2 -fstack-protector-strong -Wno-error" libcjson.a
	mkdir -p "$out/include/cjson"
	cp "$work/cjson/cJSON.h" "$out/include/cjson/"
	cp "$work/cjson/libcjson.a" "$out/lib/"
	pc libcjson "JSON parser library" "$(upver cjson)" "" "-lcjson"

	# libelf of elfutils, with zlib for compressed sections. What musl lacks
	# (argp, fts, obstack) only the tools, libdw and lib/'s libeu.a use, none
	# of which libelf.a takes: configure is told it is there, and only
	# libelf.a is made. -Wno-error: what Debian's disable_werror patch does in
	# config/eu.am, which reaches Makefile.in only through automake.
	step elfutils-configure "$work/elfutils" ./configure --host="$chost" CC="$cc" \
		CFLAGS="-O2 -fPIC -Wno-error" CPPFLAGS="$cppflags" LDFLAGS="$ldflags" \
		--disable-debuginfod --disable-libdebuginfod --without-bzlib --without-lzma --without-zstd \
		ac_cv_search_argp_parse="none required" ac_cv_search_fts_close="none required" \
		ac_cv_search__obstack_free="none required"
	step elfutils-make-libelf "$work/elfutils" make -j"$jobs" -C libelf libelf.a
	cp "$work/elfutils/libelf/libelf.a" "$out/lib/"
	cp "$work/elfutils/libelf/libelf.h" "$work/elfutils/libelf/gelf.h" "$work/elfutils/libelf/nlist.h" "$out/include/"
	pc libelf "ELF object file access library" "$(upver elfutils)" "zlib" "-lelf"

	# libunwind, static only (its shared library wants libgcc_s, which musl
	# has not). No minidebuginfo (liblzma), zlib debuginfo or coredump.
	step libunwind-configure "$work/libunwind" ./configure --host="$chost" CC="$cc" \
		CFLAGS="-O2 -g -fPIC" CPPFLAGS="$cppflags" LDFLAGS="$ldflags" --prefix="$out" \
		--disable-shared --enable-static --disable-minidebuginfo --disable-zlibdebuginfo \
		--disable-coredump --disable-tests --disable-documentation
	step libunwind-make "$work/libunwind" make -j"$jobs"
	step libunwind-install "$work/libunwind" make install
	# Its unwind.h would hide gcc's, its .la and .pc name the build's prefix.
	rm -f "$out/include/unwind.h" "$out"/lib/*.la
	rm -rf "$out/share"
	v=$(upver libunwind)
	pc libunwind "libunwind: unwind the own process" "$v" "" "-lunwind"
	# As upstream's: ptrace -> generic (remote unwinding) -> libunwind,
	# whose libunwind.a the generic one needs (_Ux86_64_setcontext).
	pc libunwind-generic "libunwind: unwind other processes" "$v" "libunwind" "-lunwind-$unwarch"
	pc libunwind-ptrace "libunwind-ptrace: unwind other processes through ptrace" "$v" \
		"libunwind-generic" "-lunwind-ptrace"
	pc libunwind-setjmp "libunwind setjmp replacement" "$v" "libunwind" "-lunwind-setjmp"

	stamp_of "$triplet" >"$out/.memtrace-musl-libs"
	rm -rf "$root" "$work"
	mv "$out" "$root"
	echo "musl-libs: built$(for p in $srcpkgs; do printf ' %s %s' "$p" "$(upver "$p")"; done) with $cc into $root"
done
