#!/bin/bash
#
# cores.sh: the host half of the ARM core test (t-coredump-arm).
#
#   tests/arm/cores.sh DIR SYSROOT [NAME]
#
# DIR holds the cores that t-gdb-console, in an ARM VM, sent over the link
# to this host's memtrace-server (--cores DIR): `coredump -c ID` and
# `coredump -n` of the running core_victim. SYSROOT mirrors the guest, with
# the unstripped victim at t/dev/core_victim. gdb-multiarch must see each
# core whole: five threads, each in its own function, core_global readable,
# the notes as readelf parses them (tests/lib/corecheck.sh).
#
# Prints one result line, "PASS t-coredump-arm ...", "FAIL t-coredump-arm:
# why" or "SKIP t-coredump-arm: why", and exits 0, 1 or 77 accordingly.
# NAME replaces the test's name (t-coredump-mips for the MIPS VMs).

set -u
dir=$1 sysroot=$2
name=${3:-t-coredump-arm}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
command -v gdb-multiarch >/dev/null || { echo "SKIP $name: gdb-multiarch is not installed (make deps-arm)"; exit 77; }
mapfile -t cores < <(find "$dir" -maxdepth 1 -type f -name 'core.core_victim.*' ! -name '*.gdb' ! -name '*.notes' | sort)
[ ${#cores[@]} -gt 0 ] || { echo "SKIP $name: no core came from the VM (t-gdb-console did not run there)"; exit 77; }
[ ${#cores[@]} = 2 ] || { echo "FAIL $name: ${#cores[@]} cores came from the VM, not 2: ${cores[*]##*/}"; exit 1; }
for c in "${cores[@]}"; do
	if ! out=$("$TOP/tests/lib/corecheck.sh" gdb-multiarch "$sysroot/t/dev/core_victim" "$c" "$sysroot"); then
		echo "FAIL $name: $(head -n 1 <<<"$out" | sed "s|^$dir/||")"
		sed 's/^/  | /' "$c.gdb" | tail -n 30 >&2
		exit 1
	fi
done
echo "PASS $name (${#cores[@]} cores of the VM's core_victim: 5 threads each in gdb-multiarch)"
