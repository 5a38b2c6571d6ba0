#!/bin/bash
# t-server-decode: memtrace-server --report decodes, on the "host", a report
# memtrace wrote on the "device" for a stripped program, with the
# unstripped build in a sysroot (tests/victims/server_leak.c: a leak inside
# an always-inlined helper, another one plain).
#
# The device side: the stripped copy runs under memtrace --json; its frames
# carry the module's build-id (readelf's). The host side, each time from
# that same raw report:
#   - unstripped file at the module's path under the sysroot: the leaking
#     function, file:line and inlined frame are those the victim states and
#     those addr2line -f -i -C gives at offset - 1 (every frame of the
#     program is compared); the text output shows them too;
#   - another build at that path: "build_id_mismatch", nothing decoded; the
#     same with the right build elsewhere: found by name instead;
#   - found by name, by usr/lib/debug/.build-id/xx/rest.debug, by debuglink;
#   - refused: a module path with "..", and sysroot links that lead out
#     (relative climbing out; absolute, which names a path inside the
#     sysroot): the file outside is never read;
#   - a C++ program decoded with demangled names, as addr2line -C has them;
#   - bad input: missing file, not JSON, not a report, bad offset, usage.
# With the [asan] memtrace, the AddressSanitizer build of memtrace-server runs.
# "A && B || fail": a failure of either step is the one to report.
# shellcheck disable=SC2015
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

SERVER=$BUILD/memtrace-server
case $MEMTRACE in */asan/*) SERVER=$BUILD/asan/memtrace-server ;; esac
[ -x "$SERVER" ] || skip "$SERVER not built (host only: a cross build has no memtrace-server)"
for t in strip objcopy addr2line readelf; do
	command -v $t >/dev/null || skip "$t missing (binutils)"
done

# decode TAG SYSROOT...: memtrace-server --report $input --json, into TAG.json.
input=raw.json
decode() {
	local tag=$1 rc
	shift
	note "memtrace-server --report $input --json $*"
	timeout -k 5 "$MT_TIMEOUT" "$SERVER" --report "$input" --json "$@" >"$tag.json" 2>"$tag.err"
	rc=$?
	echo $rc >"$tag.rc"
	[ $rc = 0 ] || { fail_later "$tag: memtrace-server exit status $rc"; show "$tag.err"; return 1; }
	valid_json "$tag.json" || { fail_later "$tag: output is not JSON"; return 1; }
}

# leak TAG BYTES FIELD: FIELD (a jq path) of frames[0] of the context of BYTES live bytes.
leak() {
	jq -r --argjson b "$2" "first(.contexts[] | select(.live_bytes == \$b)) | .frames[0] | $3" "$1.json"
}

# expect_host TAG FILE: the two leaks decoded from FILE, the inlined one rightly.
expect_host() {
	local tag=$1 want got
	want=$(readlink -f "$2")
	for b in 48 32; do
		got=$(leak "$tag" $b '"\(.decode) \(.host_file)"')
		[ "$got" = "ok $want" ] ||
			fail_later "$tag: the $b-byte leak decoded '$got', want 'ok $want' ($(leak "$tag" $b .decode_error))"
	done
	got=$(leak "$tag" 48 '"\(.function) \(.line) \(.inlined[0].function) \(.inlined[0].line)"')
	[ "$got" = "server_leak_inlined $call_line make_record $malloc_line" ] ||
		fail_later "$tag: the inlined leak decoded as '$got', want 'server_leak_inlined $call_line make_record $malloc_line'"
}

# expect_undecoded TAG STATUS: frames of the program are STATUS, with a reason and nothing decoded.
expect_undecoded() {
	local bad
	bad=$(jq -r --arg m "$dev" --arg s "$2" '.contexts[].frames[] | select(.module == $m)
		| select(.decode != $s or .decode_error == null or .function != null or .file != null
			or .host_file != null or .inlined != [])
		| "  \(.offset): \({decode, decode_error, function, file, host_file} | tojson)"' "$1.json")
	[ -z "$bad" ] || fail_later "$1: frames of $dev not '$2' as they should be:
$bad"
}

# chain_a2l FILE OFFSET: addr2line -f -i -C at OFFSET - 1, "function|file|line;..." innermost first.
chain_a2l() {
	addr2line -f -i -C -e "$1" "$(printf '0x%x' $(($2 - 1)))" | paste - - |
		awk -F'\t' '{ fl = $2; sub(/ \(discriminator [0-9]+\)$/, "", fl)
			n = split(fl, a, ":"); line = a[n]; file = substr(fl, 1, length(fl) - length(line) - 1)
			if (line == "?") line = 0
			printf "%s%s|%s|%s", (NR > 1 ? ";" : ""), $1, file, line }'
}

# same_as_addr2line TAG MODULE FILE: every decoded frame of MODULE is addr2line's chain in FILE.
same_as_addr2line() {
	local tag=$1 mod=$2 file=$3 off ours theirs n=0
	while IFS=$'\t' read -r off ours; do
		theirs=$(chain_a2l "$file" "$off")
		n=$((n + 1))
		[ "$ours" = "$theirs" ] ||
			fail_later "$tag: frame at $off of $mod: decoded '$ours', addr2line -f -i -C says '$theirs'"
	done < <(jq -r --arg m "$mod" '.contexts[].frames[] | select(.module == $m)
		| [.offset, ([.inlined[], .] | map("\(.function // "??")|\(.file // "??")|\(.line // 0)")
			| join(";"))] | @tsv' "$tag.json" | sort -u)
	[ $n -gt 0 ] || fail_later "$tag: no frame of $mod to compare with addr2line"
	note "$tag: $n frames of $(basename "$mod") decoded as addr2line -f -i -C has them"
}

# ---------------------------------------------------------------- the device
prog=$(victim server_leak)
mkdir -p dev outside || broken "mkdir"
dev=$PWD/dev/server_leak
strip -o "$dev" "$prog" || broken "strip $prog"
run_plain plain "$prog"
expect_rc plain 0 || broken "server_leak fails without memtrace"
run_plain stripped "$dev"
[ "$(rc_of stripped)" != 126 ] || skip "cannot run programs from $PWD (noexec?)"
call_line=$(awk '$1 == "INLINED" { print $3 }' plain.out)
malloc_line=$(awk '$1 == "INLINED" { print $5 }' plain.out)
plain_line=$(awk '$1 == "SOURCE" { print $4 }' plain.out)
[ -n "$call_line" ] && [ -n "$plain_line" ] || broken "server_leak printed no INLINED/SOURCE line"

run_traced raw "$dev"
same_behaviour plain raw || fail_later "the stripped server_leak behaves differently under memtrace"
check_report_sane raw.json "$dev" "$DEFAULT_UNWINDER" 32 exit || fail_later "the raw report breaks the contract"
id=$(readelf -n "$prog" | awk '/Build ID/ { print $3 }')
[ -n "$id" ] || broken "$prog has no build-id note"
got=$(jq -r --arg m "$dev" '[.contexts[].frames[] | select(.module == $m) | .build_id] | unique | join(" ")' raw.json)
[ "$got" = "$id" ] || fail_later "raw report: build_id of the frames of $dev is '$got', readelf -n says $id"
got=$(jq -r --arg m "$dev" '[.contexts[].frames[] | select(.module == $m) | .symbol] | unique | join(" ")' raw.json)
[ -z "$got" ] || note "symbols of the stripped program on the device: $got"

# ---------------------------------------------------------------- decoded by path
mkdir -p "sys$(dirname "$dev")" && cp "$prog" "sys$dev" || broken "sysroot"
if decode path sys; then
	expect_host path "sys$dev"
	got=$(leak path 48 '.file')
	case $got in */tests/victims/server_leak.c) ;; *) fail_later "path: file of the leak is '$got'" ;; esac
	[ "$(leak path 48 '.inlined[0].file')" = "$got" ] || fail_later "path: the inlined frame's file differs"
	got=$(leak path 32 '"\(.function) \(.line) \(.inlined | length)"')
	[ "$got" = "server_leak_plain $plain_line 0" ] ||
		fail_later "path: the plain leak decoded as '$got', want 'server_leak_plain $plain_line 0'"
	same_as_addr2line path "$dev" "$prog"
	# libc is not in this sysroot: said so, and the raw fields are kept.
	bad=$(jq -r --arg m "$dev" '.contexts[].frames[] | select(.module != $m and .module != null)
		| select(.decode != "not_found" or .decode_error == null or .offset == null or .addr == null)
		| "  \(.module)+\(.offset): \(.decode)"' path.json)
	[ -z "$bad" ] || fail_later "path: frames of modules outside the sysroot:
$bad"
	check_report_sane path.json "$dev" "$DEFAULT_UNWINDER" 32 exit || fail_later "path: the decoded report breaks the raw contract"
fi

# The text report shows the same, the inlined call first.
note "memtrace-server --report raw.json sys"
"$SERVER" --report raw.json sys >text.out 2>text.err || fail_later "text: exit status $?"
has text.out "make_record at [^ ]*/server_leak\.c:$malloc_line \(inlined\)" ||
	fail_later "text: no 'make_record at .../server_leak.c:$malloc_line (inlined)' line"
has text.out "^ +server_leak_inlined at [^ ]*/server_leak\.c:$call_line \($dev\+0x" ||
	fail_later "text: no 'server_leak_inlined at .../server_leak.c:$call_line' line after it"
has text.out "#0 +0x[0-9a-f]+ +server_leak_plain at [^ ]*/server_leak\.c:$plain_line " ||
	fail_later "text: the plain leak is not shown decoded"
has text.out "libc\.so[^ ]*\+0x[0-9a-f]+\) \[not in the sysroots\]" ||
	fail_later "text: a libc frame does not say it is not in the sysroots"
[ -s text.err ] && show text.err
grep -q "server_leak_inlined" text.out || show text.out

# ---------------------------------------------------------------- build-id mismatch
# Another build of the same program: other flags, another build-id.
other=$PWD/outside/server_leak.O0
if cc -std=gnu11 -O0 -g -D_GNU_SOURCE -I"$TOP/tests/victims" -o "$other" "$TOP/tests/victims/server_leak.c" 2>cc.err; then
	:
else
	note "no compiler: another victim stands for the other build"
	cp "$(victim noleak)" "$other" || broken "cp noleak"
fi
mkdir -p "mis$(dirname "$dev")" && cp "$other" "mis$dev" || broken "sysroot mis"
if decode mis mis; then
	expect_undecoded mis build_id_mismatch
	got=$(leak mis 48 .decode_error)
	case $got in *"$id"*"$(readelf -n "$other" | awk '/Build ID/ { print $3 }')"*) ;;
	*) fail_later "mis: the mismatch does not name both build-ids: $got" ;; esac
fi
# The right build elsewhere in the sysroot wins over the wrong one at the path.
mkdir -p mis/opt/other && cp "$prog" mis/opt/other/server_leak || broken "cp"
decode misname mis && expect_host misname mis/opt/other/server_leak

# ---------------------------------------------------------------- found by name, by build-id, by debuglink
mkdir -p byname/usr/local/bin && cp "$prog" byname/usr/local/bin/server_leak || broken "cp"
decode byname byname && expect_host byname byname/usr/local/bin/server_leak

bid=bid/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
mkdir -p "$(dirname "$bid")" && objcopy --only-keep-debug "$prog" "$bid" || broken "objcopy --only-keep-debug"
if decode bid bid; then
	expect_host bid "$bid"
	same_as_addr2line bid "$dev" "$prog"
fi

# A stripped file with a debuglink at the path, its debug file in .debug/ beside it.
dl=dl$dev
mkdir -p "$(dirname "$dl")/.debug" || broken "mkdir"
objcopy --only-keep-debug "$prog" "$(dirname "$dl")/.debug/server_leak.debug" &&
	objcopy --strip-debug --add-gnu-debuglink="$(dirname "$dl")/.debug/server_leak.debug" "$prog" "$dl" ||
	broken "objcopy --add-gnu-debuglink"
decode dl dl && expect_host dl "$(dirname "$dl")/.debug/server_leak.debug"
# ... and without its debug file: the stripped file's ELF symbols only.
rm "$(dirname "$dl")/.debug/server_leak.debug"
if decode dlgone dl; then
	got=$(leak dlgone 32 '"\(.decode) \(.function) \(.file)"')
	[ "$got" = "ok server_leak_plain null" ] ||
		fail_later "dlgone: without debug file the leak decoded '$got', want 'ok server_leak_plain null' (ELF symbol only)"
fi

# ---------------------------------------------------------------- refused
# A module path with "..": refused without a look at the sysroot.
jq --arg d "$dev" --arg m "/x/..$dev" '(.contexts[].frames[] | select(.module == $d) | .module) |= $m' \
	raw.json >raw-dotdot.json || broken "jq"
input=raw-dotdot.json
decode dotdot sys
input=raw.json
got=$(jq -r '[.contexts[].frames[] | select(.module | . != null and startswith("/x/..")) | .decode] | unique | join(" ")' dotdot.json)
[ "$got" = refused ] || fail_later "dotdot: a module path with '..' gave '$got', want 'refused'"

# Links in the sysroot that lead out of it: the real file outside is never read.
cp "$prog" outside/server_leak || broken "cp"
up=$(dirname "$dev" | sed -e 's|^/||' -e 's|[^/][^/]*|..|g')
mkdir -p "esc$(dirname "$dev")" && ln -s "../$up/outside/server_leak" "esc$dev" || broken "ln"
[ "$(readlink -f "esc$dev")" = "$PWD/outside/server_leak" ] || broken "the escaping link does not reach outside/"
if decode esc esc; then
	expect_undecoded esc not_found
	has esc.err "leads outside the sysroot" || fail_later "esc: no warning that a link leads outside the sysroot"
fi
mkdir -p "abs$(dirname "$dev")" && ln -s "$PWD/outside/server_leak" "abs$dev" || broken "ln"
decode abs abs && expect_undecoded abs not_found

# ---------------------------------------------------------------- C++, demangled
cxx=$(victim cxx)
run_traced cxx "$cxx"
input=cxx.json
if decode cxxdec /; then
	same_as_addr2line cxxdec "$cxx" "$cxx"
	jq -e '[.contexts[].frames[] | .function // "" | select(test("::|\\("))] | length > 0' cxxdec.json >/dev/null ||
		fail_later "cxxdec: no demangled C++ name (with :: or parameters) among the frames"
fi

# ---------------------------------------------------------------- bad input
# srv_run TAG ARGS...: memtrace-server with ARGS; TAG.out, TAG.err, TAG.rc.
srv_run() {
	local tag=$1
	shift
	timeout -k 5 "$MT_TIMEOUT" "$SERVER" "$@" >"$tag.out" 2>"$tag.err"
	echo $? >"$tag.rc"
}
srv_run missing --report no-such.json sys
expect_rc missing 1 && has missing.err "no-such.json: No such file" || fail_later "missing file: not said"
echo 'not json {' >garbled.json
srv_run garbled --report garbled.json sys
expect_rc garbled 1 && has garbled.err "garbled.json: not JSON" || fail_later "garbled file: not said"
echo '{"a": 1}' >other.json
srv_run other --report other.json sys
expect_rc other 1 && has other.err "not a memtrace report" || fail_later "a JSON that is no report: not said"
jq '.contexts[0].frames[0].offset = "12"' cxx.json >badoff.json
srv_run badoff --report badoff.json sys
expect_rc badoff 1 && has badoff.err "contexts\[0\]\.frames\[0\]\.offset is not a hex string" ||
	fail_later "a bad offset: not said where"
input=raw.json
srv_run nosys --report raw.json no-such-sysroot
expect_rc nosys 1 && has nosys.err "no-such-sysroot" || fail_later "a missing sysroot: not said"
srv_run usage --json sys
expect_rc usage 2 && has usage.err "--report" || fail_later "--json without --report: not a usage error"
srv_run help --help
expect_rc help 0 && has help.out "^usage: memtrace-server" || fail_later "--help"
srv_run version --version
expect_rc version 0 && has version.out "^memtrace-server [0-9]" || fail_later "--version"
# A program killed by SIGKILL leaves a report without contexts: decoded as is.
echo '{"version": 1, "pid": 5, "program": "/bin/x", "exit": {"signal": 9, "report": false}}' >killed.json
srv_run killed --report killed.json sys
expect_rc killed 0 && has killed.out "no exit report" || fail_later "a report without contexts"
finish
