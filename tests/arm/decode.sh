#!/bin/bash
#
# decode.sh: the host half of the ARM decoding test (t-server-decode-arm).
#
#   tests/arm/decode.sh LOG SYSROOT SERVER TRIPLET [NAME]
#
# LOG is an ARM (or MIPS) VM's console log (tests/arm/vm.sh), holding the
# raw report tests/arm/rawreport.sh took there of the stripped victim
# /t/dev/server_leak and the victim's own output. SYSROOT holds the
# unstripped cross build at t/dev/server_leak. This x86_64 memtrace-server
# (SERVER) decodes the report with it; the two leaks the victim states must
# come out in the functions and at the file:line it prints, the inlined
# helper included, and every frame of the program as TRIPLET-addr2line -f
# -i -C gives it (when that cross addr2line is installed).
#
# Prints one result line, "PASS t-server-decode-arm" or "FAIL
# t-server-decode-arm: why" (or SKIP), and exits 0, 1 or 77 accordingly.
# NAME replaces the test's name (t-server-decode-mips for the MIPS VMs).

set -u
log=$1 sysroot=$2 server=$3 triplet=$4
name=${5:-t-server-decode-arm}
work=$(mktemp -d "${TMPDIR:-/tmp}/memtrace-armdecode.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

fail() {
	echo "FAIL $name: $*"
	exit 1
}
[ -x "$server" ] || { echo "SKIP $name: $server not built"; exit 77; }

# The guest's lines, without the seconds vm.sh puts in front.
sed -n 's/^ *[0-9]* //; s/\r$//; s/^MEMTRACE-VM-RAW-//p' "$log" >"$work/raw.lines"
rc=$(sed -n 's/^RC //p' "$work/raw.lines")
[ -n "$rc" ] || fail "the VM gave no raw report (no MEMTRACE-VM-RAW lines in $log)"
[ "$rc" = 0 ] || fail "memtrace in the VM exited $rc: $(sed -n 's/^ERR //p' "$work/raw.lines" | head -n 3)"
sed -n 's/^OUT //p' "$work/raw.lines" >"$work/victim.out"
sed -n 's/^JSON //p' "$work/raw.lines" >"$work/raw.json"
jq -e '.contexts | length > 0' "$work/raw.json" >/dev/null 2>&1 ||
	fail "the raw report from the VM is not a report with contexts: $(head -c 200 "$work/raw.json")"

"$server" --report "$work/raw.json" --json "$sysroot" >"$work/dec.json" 2>"$work/dec.err" ||
	fail "memtrace-server --report failed: $(head -n 3 "$work/dec.err")"

call_line=$(awk '$1 == "INLINED" { print $3 }' "$work/victim.out")
malloc_line=$(awk '$1 == "INLINED" { print $5 }' "$work/victim.out")
plain_line=$(awk '$1 == "SOURCE" { print $4 }' "$work/victim.out")
[ -n "$call_line" ] && [ -n "$plain_line" ] || fail "the victim printed no INLINED/SOURCE line in the VM"

# leak BYTES: frames[0] of the context of BYTES live bytes, as "function file:line / inlined".
leak() {
	jq -r --argjson b "$1" 'first(.contexts[] | select(.live_bytes == $b)) | .frames[0]
		| "\(.decode) \(.function) \(.file | tostring | split("/") | last):\(.line)"
		  + ([.inlined[] | " < \(.function) \(.file | split("/") | last):\(.line)"] | join(""))' \
		"$work/dec.json"
}
got=$(leak 48)
want="ok server_leak_inlined server_leak.c:$call_line < make_record server_leak.c:$malloc_line"
[ "$got" = "$want" ] || fail "the inlined leak decoded as '$got', want '$want'"
got=$(leak 32)
want="ok server_leak_plain server_leak.c:$plain_line"
[ "$got" = "$want" ] || fail "the plain leak decoded as '$got', want '$want'"

# Every frame of the program as the cross addr2line has it (offset - 1, innermost first).
a2l=$triplet-addr2line
command -v "$a2l" >/dev/null || a2l=""
n=0
if [ -n "$a2l" ]; then
	while IFS=$'\t' read -r off ours; do
		theirs=$("$a2l" -f -i -C -e "$sysroot/t/dev/server_leak" "$(printf '0x%x' $((off - 1)))" | paste - - |
			awk -F'\t' '{ fl = $2; sub(/ \(discriminator [0-9]+\)$/, "", fl)
				n = split(fl, a, ":"); l = a[n] == "?" ? 0 : a[n]; printf "%s%s|%s", (NR > 1 ? ";" : ""), $1, l }')
		[ "$ours" = "$theirs" ] || fail "frame at $off: decoded '$ours', $a2l says '$theirs'"
		n=$((n + 1))
	done < <(jq -r '.contexts[].frames[] | select(.module == "/t/dev/server_leak")
		| [.offset, ([.inlined[], .] | map("\(.function // "??")|\(.line // 0)") | join(";"))] | @tsv' \
		"$work/dec.json" | sort -u)
fi
echo "PASS $name (${n} frames as $([ -n "$a2l" ] && echo "$a2l" || echo "addr2line (not installed)") has them)"
