#!/bin/bash
#
# vm.sh: run memtrace's test suite inside an ARM or MIPS Linux VM.
#
#   tests/arm/vm.sh DEBARCH [FILTER...]      DEBARCH: arm64, armhf, armel,
#                                            mipsel or mips64el
#
# Boots Debian's own kernel for qemu's virt board (arm64 for arm64, armmp for
# armhf and armel) or malta board (4kc-malta for mipsel, 5kc-malta for
# mips64el) under qemu-system with an initramfs made here: busybox,
# bash, jq and gdbserver, the target's libc and the libraries memtrace
# needs, the cross build in $BUILD/TRIPLET (make target-bins), and tests/.
# Before the boot this host's memtrace-server starts on loopback with
# gdb-multiarch, a sysroot that mirrors the guest (unstripped victims) and
# --cores; the guest reaches it at 10.0.2.2 through qemu's user network
# (virtio-net, its modules loaded by the init), for t-gdb-console.  The guest
# runs tests/run.sh on the tests in tests/arm/suite, tests/mips/suite for
# MIPS (or those matching FILTER); this script prints its result lines.
# Then, here: t-server-decode-arm (-mips), the server decodes the raw
# report the guest took of a stripped victim (tests/arm/rawreport.sh,
# tests/arm/decode.sh); and t-coredump-arm (-mips), gdb-multiarch opens the
# cores t-gdb-console sent to the server (tests/arm/cores.sh).  The last
# line is "DEBARCH: N passed, N failed, N skipped".  Exit status 0 when every test
# passed or skipped, 1 when one failed, 2 when the VM could not run the suite.
#
# Needs qemu-system-arm (qemu-system-mips), cpio and gdb-multiarch
# (scripts/deps.sh --arm, --mips) and the guest files (scripts/sysroot.sh
# --guest DEBARCH).  The server's log is kept beside the console log
# (arm-DEBARCH-server.log, mips-DEBARCH-server.log).  Environment: BUILD
# (build), MEMTRACE_CACHE, VM_TIMEOUT (seconds for the whole boot, 600),
# VM_LOG (the console log is kept there; default $BUILD/arm-DEBARCH.log,
# $BUILD/mips-DEBARCH.log), VM_SMP (2; MIPS: always 1), VM_MEM (1024 MiB;
# mipsel: 256), VM_SCRIPT (a bash script to run instead of the suite).
#
# MIPS under qemu (measured: /work/shared/notes/mips-musl.md): malta's
# default Cirrus VGA and PCI NICs want option ROMs Debian's qemu packages
# leave to ipxe-qemu and vgabios (-vga none, romfile=); an -smp 2 malta
# guest hangs or panics with these CPUs; the 4kc kernel has no HIGHMEM, so
# mipsel sees 256 MiB at most.

set -u

TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 2
arch=${1:-}
[ $# -gt 0 ] && shift
BUILD=$(readlink -f "${BUILD:-build}")
cache=${MEMTRACE_CACHE:-${HOME:-/root}/.cache/memtrace}

# family: arm or mips (names the suite, the log and the deps target);
# console, nic: the kernel's console and qemu's network card of the board.
family=arm
smp=${VM_SMP:-2}
mem=${VM_MEM:-1024}
console=ttyAMA0
nic=(-device "virtio-net-device,netdev=n0")
case $arch in
arm64)
	triplet=aarch64-linux-gnu
	qemu=(qemu-system-aarch64 -M virt -cpu cortex-a57)
	;;
armhf)
	triplet=arm-linux-gnueabihf
	qemu=(qemu-system-arm -M virt -cpu cortex-a15)
	;;
armel)
	triplet=arm-linux-gnueabi
	qemu=(qemu-system-arm -M virt -cpu cortex-a15)
	;;
mipsel)
	triplet=mipsel-linux-gnu
	qemu=(qemu-system-mipsel -M malta -cpu 24Kf -vga none)
	mem=${VM_MEM:-256}
	;;
mips64el)
	triplet=mips64el-linux-gnuabi64
	qemu=(qemu-system-mips64el -M malta -cpu 5KEf -vga none)
	;;
*)
	echo "usage: tests/arm/vm.sh arm64|armhf|armel|mipsel|mips64el [FILTER...]" >&2
	exit 2
	;;
esac
case $arch in
mips*)
	family=mips
	smp=1
	console=ttyS0
	nic=(-device "virtio-net-pci,netdev=n0,romfile=")
	;;
esac

die() {
	echo "vm.sh $arch: $*" >&2
	echo "$arch: 0 passed, 0 failed, 0 skipped (the VM did not run the suite)"
	exit 2
}

guest=$cache/guest-$arch
sysroot=$cache/sysroot-$arch
tbuild=$BUILD/$triplet
command -v "${qemu[0]}" >/dev/null || die "${qemu[0]} is not installed (make deps-$family)"
command -v cpio >/dev/null || die "cpio is not installed (make deps-$family)"
[ -f "$guest/vmlinuz" ] || die "no guest files in $guest (scripts/sysroot.sh --guest $arch)"
[ -d "$sysroot/usr/lib/$triplet" ] || die "no sysroot $sysroot (scripts/sysroot.sh $arch)"
[ -x "$tbuild/memtrace" ] && [ -d "$tbuild/tests/victims" ] ||
	die "no cross build in $tbuild (make target-bins CROSS_COMPILE=$triplet- BUILD=$tbuild)"

work=$(mktemp -d "${TMPDIR:-/tmp}/memtrace-vm-$arch.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$work"' EXIT
root=$work/root

# ------------------------------------------------------------ the initramfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib,dev,proc,sys,tmp,t/src/tests,t/build/tests} ||
	die "cannot fill $root"
cp -a "$guest/lib/." "$root/lib/"
# mips64el's loader is /lib64/ld.so.1 (scripts/sysroot.sh put the file
# itself there).
[ -d "$guest/lib64" ] && cp -a "$guest/lib64" "$root/"
mkdir -p "$root/lib/$triplet"
cp -a "$guest/usr/lib/$triplet/." "$root/lib/$triplet/"
# The libraries memtrace and the agent link against (no static archives,
# headers or pkg-config files).
for d in "$sysroot/lib/$triplet" "$sysroot/usr/lib/$triplet"; do
	[ -d "$d" ] || continue
	find "$d" -maxdepth 1 -name '*.so*' -exec cp -a {} "$root/lib/$triplet/" \;
done
cp "$guest/bin/busybox" "$guest/bin/bash" "$root/bin/"
cp "$guest/usr/bin/jq" "$root/usr/bin/"
# gdbserver and the network card's modules, for t-gdb-console (older guest
# files have neither: the test then skips).
[ -x "$guest/usr/bin/gdbserver" ] && cp "$guest/usr/bin/gdbserver" "$root/usr/bin/"
[ -d "$guest/modules" ] && cp -a "$guest/modules" "$root/modules"

# The tests and the cross build, at the paths the runner expects; the
# victims' sources for the tests that read their line numbers.
cp -a tests/run.sh tests/lib tests/integration tests/arm "$root/t/src/tests/"
[ $family = arm ] || cp -a "tests/$family" "$root/t/src/tests/"
echo "$family" >"$root/t/family"
mkdir -p "$root/t/src/tests/victims"
cp -a tests/victims/*.c tests/victims/*.h "$root/t/src/tests/victims/"
cp -a "$tbuild/memtrace" "$tbuild/libmemtrace-agent.so" "$root/t/build/"
cp -a "$tbuild/tests/victims" "$root/t/build/tests/"
[ -d "$tbuild/tests/unit" ] && cp -a "$tbuild/tests/unit" "$root/t/build/tests/"
# The benchmarks' workloads, when built for the target (bench/vm-ratio.sh).
[ -x "$tbuild/bench/churn" ] && mkdir -p "$root/t/build/bench" && cp -a "$tbuild/bench/churn" "$root/t/build/bench/"
# The guest has no nm: each victim's symbol table goes beside it as
# NAME.nm (tests/lib/common.sh reads it instead of running nm).
nm=$triplet-nm
command -v "$nm" >/dev/null || nm=nm
for v in "$root"/t/build/tests/victims/*; do
	case $v in *.nm) continue ;; esac
	"$nm" --defined-only "$v" >"$v.nm" 2>/dev/null || rm -f "$v.nm"
done
printf '%s\n' "$@" >"$root/t/filters"
# The device copies of server_leak and core_victim are stripped, as on a
# device; their unstripped builds are in the host's sysroot, for
# t-server-decode-arm (tests/arm/decode.sh) and t-gdb-console. That sysroot
# shows gdb the guest's libraries and the cross build (the agent) where the
# guest has them; memtrace-server, which follows a sysroot's links as the
# device would (so these absolute ones lead nowhere for it), gets the
# guest's root as its second sysroot for them.
hostsys=$work/hostsys
mkdir -p "$root/t/dev" "$hostsys/t/dev"
ln -s "$root/lib" "$hostsys/lib"
[ ! -d "$root/lib64" ] || ln -s "$root/lib64" "$hostsys/lib64"
ln -s "$root/t/build" "$hostsys/t/build"
strip=$triplet-strip
command -v "$strip" >/dev/null || strip=strip
for v in server_leak core_victim nounwind; do
	[ -x "$tbuild/tests/victims/$v" ] || continue
	"$strip" -o "$root/t/dev/$v" "$tbuild/tests/victims/$v" &&
		cp "$tbuild/tests/victims/$v" "$hostsys/t/dev/" || die "cannot strip $v"
done
# t-gdb-console's host: this machine's memtrace-server with gdb-multiarch
# and that sysroot, on loopback; the guest reaches it through qemu's user
# network at 10.0.2.2. Without gdb-multiarch, gdbserver or the network
# modules the guest gets no address and the test skips, saying why.
server_pid=""
server_log=${VM_LOG:-$BUILD/$family-$arch.log}
server_log=${server_log%.log}-server.log
gdbhost=""
if ! command -v gdb-multiarch >/dev/null; then
	gdbhost="gdb-multiarch is not installed on the host (make deps-$family)"
elif [ ! -x "$root/usr/bin/gdbserver" ] || [ ! -d "$root/modules" ]; then
	gdbhost="the guest files have no gdbserver or network modules (scripts/sysroot.sh --guest $arch)"
elif [ ! -x "$BUILD/memtrace-server" ]; then
	gdbhost="$BUILD/memtrace-server is not built"
else
	mkdir -p "$work/cores"
	"$BUILD/memtrace-server" --listen 127.0.0.1:0 --no-multicast --gdb gdb-multiarch --cores "$work/cores" \
		-v "$hostsys" "$root" \
		>/dev/null 2>"$server_log" &
	server_pid=$!
	for _ in $(seq 100); do
		port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$server_log" | head -n 1)
		[ -n "$port" ] && break
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -n "$port" ]; then
		echo "10.0.2.2:$port" >"$root/t/server"
	else
		gdbhost="memtrace-server did not listen: $(head -n 2 "$server_log")"
	fi
fi
[ -z "$gdbhost" ] || echo "no host: $gdbhost" >"$root/t/server"
trap 'rm -rf "$work"; [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null' EXIT

# VM_SCRIPT=FILE: run that bash script (in /t/src) instead of the suite, to
# look into something by hand; its output is in the console log.
if [ -n "${VM_SCRIPT:-}" ]; then
	cp "$VM_SCRIPT" "$root/t/script.sh" || die "cannot read VM_SCRIPT $VM_SCRIPT"
fi
# Users for the tests that drop privileges (t-attach-err-perm).
mkdir -p "$root/etc"
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/sh' \
	>"$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$root/etc/group"

cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o size=256m tmpfs /tmp
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
ln -s /proc/self/fd /dev/fd
hostname memtrace-vm
echo "MEMTRACE-VM up $(uname -m) $(uname -r) cpus $(nproc)"
ip link set lo up
# The network to the host's memtrace-server (qemu's user network: the
# guest is 10.0.2.15, the host's loopback 10.0.2.2).
read -r server </t/server
case $server in
"no host: "*) export MEMTRACE_TEST_NO_SERVER="${server#no host: }" ;;
*)
	for m in /modules/*.ko; do insmod "$m" || echo "insmod $m failed"; done
	ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2 &&
		export MEMTRACE_TEST_SERVER="$server" MEMTRACE_TEST_STRIPPED=/t/dev ||
		export MEMTRACE_TEST_NO_SERVER="the guest's network did not come up (eth0)"
	;;
esac
cd /t/src
if [ -f /t/script.sh ]; then
	bash /t/script.sh
	rc=$?
else
	read -r family </t/family
	bash "tests/$family/suite.sh"
	rc=$?
	bash tests/arm/rawreport.sh
fi
echo "MEMTRACE-VM-RESULT rc=$rc"
poweroff -f
EOF
chmod +x "$root/init"

(cd "$root" && find . -print0 | cpio --null -o -H newc --owner=0:0 --quiet) >"$work/initramfs.cpio" ||
	die "cpio failed"

# ------------------------------------------------------------ boot
# The console log has each line's second since qemu started in front.
log=${VM_LOG:-$BUILD/$family-$arch.log}
SECONDS=0
timeout -k 5 "${VM_TIMEOUT:-600}" "${qemu[@]}" -smp "$smp" -m "$mem" \
	-nographic -no-reboot -netdev user,id=n0 "${nic[@]}" \
	-kernel "$guest/vmlinuz" -initrd "$work/initramfs.cpio" \
	-append "console=$console panic=-1 quiet" </dev/null 2>&1 |
	while IFS= read -r line; do printf '%4d %s\n' "$SECONDS" "${line%$'\r'}"; done >"$log"
qrc=${PIPESTATUS[0]}
secs=$SECONDS
if [ -n "$server_pid" ]; then
	kill "$server_pid" 2>/dev/null
	wait "$server_pid" 2>/dev/null
	server_pid=""
fi

# What the runner printed (not the kernel's lines), then its summary.
sed -n 's/^ *[0-9]* //; /^MEMTRACE-VM up/,/^MEMTRACE-VM-RESULT/p' "$log" |
	grep -Ev '^\[ *[0-9]+\.[0-9]+\]|^MEMTRACE-VM|^[0-9]+ passed, ' | sed "s/^/$arch: /"
summary=$(sed 's/^ *[0-9]* //' "$log" | grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' | tail -n 1)
if [ -z "$summary" ]; then
	echo "vm.sh $arch: the guest printed no summary (qemu status $qrc after $secs s); console log $log:" >&2
	tail -n 30 "$log" | sed 's/^/  | /' >&2
	die "suite did not finish"
fi
grep -q ' MEMTRACE-VM-RESULT rc=0$' "$log"
status=$?
# host_test COMMAND...: a test of this host's half, whose one result line
# COMMAND prints and whose status (0 pass, 77 skip, else fail) joins the
# summary.
host_test() {
	local line rc p f s
	line=$("$@")
	rc=$?
	echo "$arch: $line"
	read -r p _ f _ s _ <<<"$summary"
	case $rc in
	0) p=$((p + 1)) ;;
	77) s=$((s + 1)) ;;
	*) f=$((f + 1)) status=1 ;;
	esac
	summary="$p passed, $f failed, $s skipped"
}
# t-server-decode-arm: this host's memtrace-server decodes the raw report
# the VM took (not with VM_SCRIPT, which replaces the suite).
if [ -z "${VM_SCRIPT:-}" ] && [ -x "$tbuild/tests/victims/server_leak" ]; then
	host_test tests/arm/decode.sh "$log" "$hostsys" "$BUILD/memtrace-server" "$triplet" \
		"t-server-decode-$family"
fi
# t-coredump-arm: gdb-multiarch here opens the cores the guest's
# t-gdb-console sent to the server (none: t-gdb-console did not run).
[ ! -d "$work/cores" ] || host_test tests/arm/cores.sh "$work/cores" "$hostsys" "t-coredump-$family"
echo "$arch: $summary (VM $secs s)"
[ $status -eq 0 ] || exit 1
exit 0
