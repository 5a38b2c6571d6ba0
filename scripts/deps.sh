#!/bin/sh
# Install the Debian packages memtrace needs that are missing, with apt-get
# (through sudo when not root). Quick and silent when nothing is missing.
#   scripts/deps.sh           build and test packages
#   scripts/deps.sh --bench   also what `make bench` compares against
#   scripts/deps.sh --cross [DEBARCH...]
#                             cross gcc and libc for DEBARCH (arm64 armhf armel
#                             mipsel mips64el, default arm64 armhf armel), then
#                             the target libraries in a sysroot for each
#                             (scripts/sysroot.sh)
#   scripts/deps.sh --arm [DEBARCH...]
#                             the same, plus cross g++, qemu-system-arm, cpio,
#                             gdb-multiarch (the host gdb of the VMs' gdb test)
#                             and what the ARM test VMs boot (kernel, libc,
#                             busybox, gdbserver: scripts/sysroot.sh --guest)
#   scripts/deps.sh --mips [DEBARCH...]
#                             the same for the MIPS test VMs (mipsel mips64el,
#                             the default), with qemu-system-mips
#   scripts/deps.sh --musl    musl-gcc, and the target libraries built
#                             against musl from Debian's sources
#                             (scripts/musl-libs.sh x86_64-linux-musl)
#   scripts/deps.sh --check [...]
#                             install nothing: name what is missing (packages,
#                             sysroots) and exit 1; the steps of `make check`
#                             run this after its one `make deps`
set -eu
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

only_check=0
if [ "${1:-}" = --check ]; then
	only_check=1
	shift
fi

# libtcmalloc-minimal4 and libjemalloc2: the allocators the C++ tests preload
# (t-cxx-alloc, t-attach-cxx-alloc); strace: what the server's gdb opens and
# runs (t-server-gdb-gate, t-server-gdb-sysroot); valgrind: the oracle of
# the verdicts memtrace must match (t-ctor-leak, t-cxx-pool, t-leaks-valgrind);
# chromium and python3: a real browser renders memtrace-server --plot's page
# and its screenshot is read (t-server-plot, tests/tools/pngstat.py); man-db
# (with groff-base): the manual pages are rendered and checked (t-man);
# golang-go: Go's pprof reads report --pprof's profile (t-report-since);
# prometheus (promtool with it) and curl: memtrace-server --metrics checked
# by promtool and scraped by a real Prometheus on loopback (t-server-metrics)
pkgs="gcc g++ make pkg-config libc6-dev libunwind-dev libelf-dev libdw-dev libcjson-dev zlib1g-dev jq gdb gdbserver clang libclang-rt-dev libtcmalloc-minimal4 libjemalloc2 strace valgrind chromium python3 man-db golang-go prometheus curl"
cross=""
vm=0
musl=""
case "${1:-}" in
--bench) pkgs="$pkgs heaptrack redis-server redis-tools" ;;
--musl)
	pkgs="make pkg-config musl-tools file"
	musl=x86_64-linux-musl
	;;
--cross | --arm | --mips)
	[ "$1" = --cross ] || vm=1
	cross="arm64 armhf armel"
	[ "$1" != --mips ] || cross="mipsel mips64el"
	shift
	cross=${*:-$cross}
	pkgs="make pkg-config"
	[ $vm = 0 ] || pkgs="$pkgs cpio gdb-multiarch"
	for a in $cross; do
		case $a in
		arm64) t=aarch64-linux-gnu q=qemu-system-arm ;;
		armhf) t=arm-linux-gnueabihf q=qemu-system-arm ;;
		armel) t=arm-linux-gnueabi q=qemu-system-arm ;;
		mipsel) t=mipsel-linux-gnu q=qemu-system-mips ;;
		mips64el) t=mips64el-linux-gnuabi64 q=qemu-system-mips ;;
		*)
			echo "deps: no cross build for '$a' (arm64, armhf, armel, mipsel, mips64el)" >&2
			exit 2
			;;
		esac
		pkgs="$pkgs gcc-$t libc6-dev-$a-cross"
		[ $vm = 0 ] || pkgs="$pkgs g++-$t"
		case " $pkgs " in
		*" $q "*) ;;
		*) [ $vm = 0 ] || pkgs="$pkgs $q" ;;
		esac
	done
	;;
esac
# shellcheck disable=SC2086
sysroots() {
	q=-q
	[ $only_check = 0 ] || q="-q --check"
	[ -z "$musl" ] || "$(dirname "$0")/musl-libs.sh" $q $musl
	[ -z "$cross" ] && return 0
	"$(dirname "$0")/sysroot.sh" $q $cross
	[ $vm = 0 ] || "$(dirname "$0")/sysroot.sh" $q --guest $cross
}

missing=""
for p in $pkgs; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done
if [ -z "$missing" ]; then
	sysroots
	exit 0
fi
if [ $only_check = 1 ]; then
	echo "deps: missing packages:$missing; run 'make deps' (it installs them with apt-get)" >&2
	exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: missing packages:$missing, and apt-get is not available; install them by hand" >&2
	exit 1
fi
need_root "deps: missing packages:$missing; run as root or install sudo"
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# The sysroots need the foreign architectures' indexes: adding them before
# this update saves sysroot.sh an update of its own.
for a in $cross; do
	dpkg --print-foreign-architectures | grep -qx "$a" || $SUDO dpkg --add-architecture "$a"
done
# A stale index of one mirror must not stop the install: update errors are
# tolerated, the install itself is not.
$SUDO apt-get update -q >/dev/null 2>&1 || echo "deps: apt-get update reported errors, going on" >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
sysroots
