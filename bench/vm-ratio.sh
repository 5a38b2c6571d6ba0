#!/bin/bash
# bench/vm-ratio.sh: memtrace in the mipsel VM beside the armhf VM, both
# under qemu's emulation on this host: the cost per allocation that tracing
# adds on bench/churn.c (start mode, --unwind libunwind, the unwinder both
# have) and the attach latency to a waiting victim. Emulated figures are
# not device figures: what means something is their ratio, mipsel / armhf.
#
#     bench/vm-ratio.sh [DEBARCH...]      default: mipsel armhf
#
# Needs, for each DEBARCH, the cross build's target-bins and its churn
#     make target-bins build/T/bench/churn CROSS_COMPILE=T- CC=T-gcc AR=T-ar BUILD=build/T
# (T: mipsel-linux-gnu, arm-linux-gnueabihf) and the VM's files (make
# deps-mips, make deps-arm). Each VM runs PAIRS (default 5) counted pairs
# of plain and traced churn after one warm-up pair, and ATTACHES (default
# 5) attaches to tests/victims/attach_blocked; it prints the medians, then
# this script the ratios. The guests have one clock a 100th of a second
# fine (/proc/uptime): the runs are long enough for it. Environment:
# BUILD (build), PAIRS, ATTACHES, THREADS (1), ITERS (20000).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 2
[ $# -gt 0 ] || set -- mipsel armhf
export BUILD=${BUILD:-build}
PAIRS=${PAIRS:-5} ATTACHES=${ATTACHES:-5} THREADS=${THREADS:-1} ITERS=${ITERS:-20000}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# What each guest runs (tests/arm/vm.sh VM_SCRIPT): the figures as
# "FIGURE name value" lines, and the summary line vm.sh waits for.
cat >"$tmp/guest.sh" <<EOF
B=/t/build
now() { cut -d' ' -f1 /proc/uptime; }
median() { sort -n | awk '{ v[NR] = \$1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
allocs=\$(($THREADS * $ITERS))
: >/tmp/d
for i in \$(seq 0 $PAIRS); do
	t0=\$(now)
	\$B/bench/churn -t $THREADS -n $ITERS >/dev/null || echo "FIGURE error churn"
	t1=\$(now)
	\$B/memtrace --unwind libunwind -o /dev/null \$B/bench/churn -t $THREADS -n $ITERS >/dev/null 2>/tmp/err ||
		echo "FIGURE error \$(head -n 2 /tmp/err)"
	t2=\$(now)
	[ "\$i" = 0 ] || awk -v a="\$t0" -v b="\$t1" -v c="\$t2" -v n="\$allocs" \
		'BEGIN { printf "%.0f\n", ((c - b) - (b - a)) * 1e9 / n }' >>/tmp/d
done
echo "FIGURE ns_per_alloc \$(median </tmp/d)"
: >/tmp/a
for i in \$(seq $ATTACHES); do
	rm -rf /tmp/v && mkdir -p /tmp/v
	\$B/tests/victims/attach_blocked /tmp/v </dev/null >/dev/null 2>&1 &
	pid=\$!
	for _ in \$(seq 200); do [ -e /tmp/v/ready ] && break; sleep 0.05; done
	echo detach | \$B/memtrace -v --console - -p "\$pid" >/dev/null 2>/tmp/err
	sed -n 's/.*attached to process [0-9]* in \([0-9.]*\) ms.*/\1/p' /tmp/err >>/tmp/a
	kill "\$pid" 2>/dev/null
	wait "\$pid" 2>/dev/null
done
echo "FIGURE attach_ms \$(median </tmp/a)"
echo "0 passed, 0 failed, 0 skipped"
EOF

printf '%-10s %-22s %s\n' arch 'ns per allocation' 'attach ms (medians)'
for a in "$@"; do
	log=$tmp/$a.log
	VM_SCRIPT=$tmp/guest.sh VM_LOG=$log VM_TIMEOUT=${VM_TIMEOUT:-1800} tests/arm/vm.sh "$a" >"$tmp/$a.out" 2>&1
	err=$(sed -n 's/^ *[0-9]* FIGURE error //p' "$log" | head -n 1)
	ns=$(sed -n 's/^ *[0-9]* FIGURE ns_per_alloc //p' "$log")
	ms=$(sed -n 's/^ *[0-9]* FIGURE attach_ms //p' "$log")
	if [ -n "$err" ] || [ -z "$ns" ] || [ -z "$ms" ]; then
		echo "vm-ratio.sh: no figures from the $a VM${err:+: $err}; its output:" >&2
		tail -n 20 "$tmp/$a.out" >&2
		exit 1
	fi
	printf '%-10s %-22s %s\n' "$a" "$ns" "$ms"
	echo "$a $ns $ms" >>"$tmp/figs"
done
if [ "$#" -ge 2 ]; then
	awk 'NR == 1 { n = $2; m = $3; a = $1 } NR == 2 {
		printf "ratio %s / %s: %.2f per allocation, %.2f attach\n", a, $1, n / $2, m / $3 }' "$tmp/figs"
fi
