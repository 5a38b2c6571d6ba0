#!/bin/bash
# t-server-core: memtrace-server --core reads, with the real gdb, cores that
# memtrace's own coredump wrote.  The "device" runs a stripped copy of
# tests/victims/core_victim -p under memtrace: it leaks a struct core_item
# from core_leak_item every 50 ms and prints each one once filled in
# ("core_item ADDR tag ITEM-N serial N magic M").  The console takes the
# leaking context's ID from `report --json` (the context of the program's
# own frame with more than one block), `dump -c ID -n 100`, then
# `coredump -c ID -f core1` (the thread held in malloc) and
# `coredump -n --gz -f core2.gz`.  On the "host", with the unstripped build:
#   --frames ID   thread 1, the LWP memtrace named, first shown frame
#                 core_leak_item at the malloc line of the victim, with gdb's
#                 frame number and the serial the victim then gave the held
#                 block; main below it with its local `serial`; the same
#                 through a sysroot;
#   --blocks ID   every block of the dump, the held block, one more at least;
#   --inspect     ITEM-1's block as a struct core_item (its tag, serial and
#                 magic) and as hex + ASCII, also from an interior pointer;
#   a gzip core   read the same, its temporary copy removed;
#   errors        missing core, not a core, another program, a core without
#                 the agent (gdb's gcore of a plain process), unknown ID,
#                 unknown type, gdb missing: exit 1 and a message; bad
#                 usage: exit 2.
# With the [asan] memtrace, the AddressSanitizer build of memtrace-server runs.
# "A && B || fail": a failure of either step is the one to report.
# shellcheck disable=SC2015
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

SERVER=$BUILD/memtrace-server
case $MEMTRACE in */asan/*) SERVER=$BUILD/asan/memtrace-server ;; esac
[ -x "$SERVER" ] || skip "$SERVER not built (host only: a cross build has no memtrace-server)"
command -v gdb >/dev/null || skip "gdb is not installed (apt-get install gdb)"
command -v strip >/dev/null || skip "strip missing (binutils)"

prog=$(victim core_victim)
src=$TOP/tests/victims/core_victim.c
mkdir -p dev tmp && strip -o dev/core_victim "$prog" || broken "strip $prog"
dev=$PWD/dev/core_victim

# ---------------------------------------------------------------- the device
console_start h --json -o h.json "$dev" -p -i 50 -f stop -s 60
wait_for test -e core_victim.started || fail_later "core_victim did not start"
wait_for has h.out '^core_item .* serial 2 ' || fail_later "core_victim printed no items"
pid=$(sed -n 1p core_victim.started 2>/dev/null)
agent=$(grep -o '/[^ ]*libmemtrace-agent[^ ]*\.so' "/proc/${pid:-0}/maps" 2>/dev/null | head -n 1)
console_item_id "$dev"
console_send "dump -c $id -n 100"
console_send "coredump -c $id -f core1"
WAIT_SECONDS=20 wait_for has h.out '^core written to core1' || fail_later "coredump -c $id: no 'core written' line"
console_send 'coredump -n --gz -f core2.gz'
wait_for has h.out '^core written to core2.gz' || fail_later "coredump -n --gz: no 'core written' line"
touch stop
console_end "$MT_TIMEOUT"
expect_rc h 0 || fail_later "core_victim's exit status"
[ -s core1 ] && [ -s core2.gz ] || { show h.out; show h.err; fail "no cores to read"; }

# "core written to core1 (5 threads, 5.6 MiB, context 4 held at 0x... size 40 in thread 123)"
line=$(grep '^core written to core1' h.out)
held=$(sed -n 's/.* held at \(0x[0-9a-f]*\) size 40 in thread [0-9]*)$/\1/p' <<<"$line")
tid=$(sed -n 's/.* in thread \([0-9]*\))$/\1/p' <<<"$line")
[ -n "$held" ] && [ -n "$tid" ] || fail_later "the 'core written' line does not say where and in which thread: $line"
sed -n 's/^block \(0x[0-9a-f]*\), 40 bytes, allocation #[0-9]*:$/\1/p' h.out | sort >dump.addr
[ -s dump.addr ] || fail_later "dump -c $id listed no block"
# the held block, filled in once released: its serial is the one the frames must show
serial=$(awk -v a="${held:-x}" '$1 == "core_item" && $2 == a { print $6; exit }' h.out)
item1=$(awk '$1 == "core_item" && $6 == 1 { print $2 }' h.out)
[ -n "$serial" ] && [ -n "$item1" ] || fail_later "core_victim did not print the held item (${held:-?}) or ITEM-1"

# server TAG ARGS...: memtrace-server ARGS, output in TAG.out/.err, status in TAG.rc, time in TAG.ms.
server() {
	local tag=$1 t0
	shift
	note "memtrace-server $*"
	t0=$(now_ms)
	TMPDIR=$PWD/tmp timeout -k 5 "$MT_TIMEOUT" "$SERVER" "$@" >"$tag.out" 2>"$tag.err"
	echo $? >"$tag.rc"
	echo $(($(now_ms) - t0)) >"$tag.ms"
}
# ok TAG ARGS...: server, which must succeed.
ok() {
	server "$@"
	[ "$(cat "$1.rc")" = 0 ] && return 0
	fail_later "$1: exit status $(cat "$1.rc")"
	show "$1.err"
	return 1
}

# ---------------------------------------------------------------- --frames
malloc_line=$(grep -n 'struct core_item \*it = malloc' "$src" | cut -d: -f1)
gdb -nx -batch -iex 'set debuginfod enabled off' -ex bt "$prog" core1 >bt.out 2>&1
level=$(sed -n 's/^#\([0-9]*\) .* in core_leak_item .*/\1/p' bt.out | head -n 1)
# frames FILE TAG: FILE shows the held thread from core_leak_item down, as gdb numbers it.
frames() {
	local f=$1 first
	# "thread 1 (Thread 0x... (LWP N))" when gdb loaded libthread_db (its own search for the libraries,
	# without a sysroot), "thread 1 (LWP N)" when the server gave it the libraries (add-symbol-file)
	has "$f" "^== frames of context $id: thread 1 \((Thread 0x[0-9a-f]+ \()?LWP ${tid:-x}\)\)?, held at its allocation" ||
		fail_later "$2: the heading does not name thread 1, LWP ${tid:-?}"
	first=$(grep -m1 '^#' "$f")
	[[ $first =~ ^#${level:-x}\ +0x[0-9a-f]+\ in\ core_leak_item\ \(serial=${serial:-x}\)\ at\ .*tests/victims/core_victim\.c:${malloc_line:-x}$ ]] ||
		fail_later "$2: first frame is '$first', not #${level:-?} core_leak_item (serial=${serial:-?}) at core_victim.c:${malloc_line:-?}"
	awk '/^#[0-9]+ .* in main /{m=1; next} /^#/{m=0} m' "$f" | grep -Eq "^ +serial = ${serial:-x}$" ||
		fail_later "$2: main's local serial = ${serial:-?} is not shown"
	has "$f" ' (agent_malloc|wait_release|malloc) ' && fail_later "$2: the agent's or the allocator's frames are shown"
	[ "$FAILURES" -eq 0 ] || show "$f"
}
ok fr --core core1 --exe "$prog" --frames "$id" && frames fr.out "--frames $id"
note "--frames: $(cat fr.ms) ms to open the core and answer"
ok fra --core core1 --exe "$prog" --all-frames --frames "$id" &&
	{ has fra.out '^#0 .*\[allocator/agent\]$' || fail_later "--all-frames: frame #0 is not shown, marked"; }

# the same through sysroots: root/ mirrors the device (its program unstripped), then this machine's /
# holds the libraries and the agent (the links in root/ lead back into root/ for the server, which
# follows them as the device would; gdb no longer opens a library but through the server)
mkdir -p "root$(dirname "$dev")" && cp "$prog" "root$dev"
for d in lib lib64 usr; do [ -e /$d ] && ln -s /$d root/$d; done
if [ -n "$agent" ]; then
	mkdir -p "root$(dirname "$agent")" && ln -sf "$agent" "root$agent"
	ok frs --core core1 --exe "$prog" --frames "$id" root / && frames frs.out "--frames $id with a sysroot"
else
	fail_later "no agent in /proc/${pid:-?}/maps"
fi

# ---------------------------------------------------------------- --blocks
ok bl --core core1 --exe "$prog" --blocks "$id"
awk '/^0x/ { print $1 }' bl.out | sort >core.addr
n=$(wc -l <core.addr)
missing=$(comm -23 dump.addr core.addr)
[ -z "$missing" ] || fail_later "--blocks: blocks of the dump missing: $missing"
grep -qx -- "${held:-x}" core.addr || fail_later "--blocks: the held block ${held:-?} is missing"
[ "$n" -gt "$(wc -l <dump.addr)" ] || fail_later "--blocks: $n blocks, not more than the dump's $(wc -l <dump.addr)"
has bl.out "^== blocks of context $id: $n live, $((n * 40)) bytes" || fail_later "--blocks: the heading does not count $n blocks"
[ "$(grep -c '^0x[0-9a-f]* 40 [0-9]*$' bl.out)" = "$n" ] || fail_later "--blocks: not every line is 'ADDR 40 SEQ'"
[ "$FAILURES" -eq 0 ] || show bl.out

# ---------------------------------------------------------------- --inspect
ok ty --core core1 --exe "$prog" --inspect "${item1:-0}" --type 'struct core_item' &&
	for want in "^== \*\(struct core_item \*\) ${item1:-x}: 0 bytes into block ${item1:-x} of 40 bytes, allocation #[0-9]+, context $id$" \
		'^  tag = "ITEM-1\\000' '^  serial = 1,$' '^  magic = 1296387395,$' '^  weight = 1.5,$'; do
		has ty.out "$want" || { fail_later "--inspect --type: no line matching '$want'" && show ty.out; }
	done
interior=$(printf '0x%x' $((${item1:-0} + 20)))
ok hx --core core1 --exe "$prog" --inspect "$interior" --bytes 16 &&
	for want in "^== $interior: in block ${item1:-x}, 40 bytes, allocation #[0-9]+, context $id$" \
		'^  0000  49 54 45 4d 2d 31 00 00  00 00 00 00 00 00 00 00  \|ITEM-1\.\.\.\.\.\.\.\.\.\.\|$'; do
		has hx.out "$want" || { fail_later "--inspect: no line matching '$want'" && show hx.out; }
	done
[ "$(grep -c '^  00' hx.out)" = 1 ] || fail_later "--inspect --bytes 16: not one line of 16 bytes"

# ---------------------------------------------------------------- a gzip core
ok gz --core core2.gz --exe "$prog" --blocks "$id" --inspect "${item1:-0}" --type 'struct core_item'
has gz.out '^  tag = "ITEM-1\\000' || fail_later "core2.gz: ITEM-1 not read"
[ "$(grep -c '^0x' gz.out)" -ge "$n" ] || fail_later "core2.gz: fewer blocks than in core1"
[ -z "$(ls tmp)" ] || fail_later "the gunzipped core was left in TMPDIR: $(ls tmp)"
note "gzip core: $(cat gz.ms) ms"

# ---------------------------------------------------------------- errors
# bad RC TAG ERE ARGS...: exit status RC and a message matching ERE.
bad() {
	local rc=$1 tag=$2 ere=$3
	shift 3
	server "$tag" "$@"
	[ "$(cat "$tag.rc")" = "$rc" ] || fail_later "$tag: exit status $(cat "$tag.rc"), want $rc"
	has "$tag.err" "$ere" || { fail_later "$tag: no message matching '$ere'" && show "$tag.err"; }
}
bad 1 e-nocore 'nope\.core: No such file' --core nope.core --exe "$prog" --frames "$id"
bad 1 e-notcore 'not a core file' --core "$prog" --exe "$prog" --frames "$id"
bad 1 e-otherexe 'is not the program this core was taken of' --core core1 --exe "$(victim ticker)" --frames "$id"
bad 1 e-id 'context 999999: no such context' --core core1 --exe "$prog" --frames 999999
bad 1 e-idb 'context 999999: no such context' --core core1 --exe "$prog" --blocks 999999
bad 1 e-nothread "context $id: no thread of this core is allocating in it" --core core2.gz --exe "$prog" --frames "$id"
bad 1 e-type 'No struct type named nosuch' --core core1 --exe "$prog" --inspect "${item1:-0}" --type 'struct nosuch'
bad 1 e-gdb 'apt-get install gdb' --core core1 --exe "$prog" --gdb "$PWD/no/gdb" --frames "$id"
bad 2 u-noexe 'give the program' --core core1 --frames "$id"
bad 2 u-nocmd 'what to show' --core core1 --exe "$prog"
bad 2 u-nocore 'goes with --core' --frames "$id"
bad 2 u-report 'give one' --core core1 --exe "$prog" --report ids.json --frames "$id"
bad 2 u-listen 'is for serving' --core core1 --exe "$prog" --listen :0 --frames "$id"
bad 2 u-bytes 'from 1 to 4096' --core core1 --exe "$prog" --inspect 0x1 --bytes 5000
bad 2 u-type 'goes after the --inspect' --core core1 --exe "$prog" --type int --inspect 0x1
bad 2 u-id 'a context ID' --core core1 --exe "$prog" --frames x
# a core without the agent: gdb's gcore of a plain process
sleep 30 &
plain=$!
timeout -k 5 30 gdb -nx -batch -p "$plain" -ex 'gcore plain.core' >gcore.out 2>&1
kill "$plain" 2>/dev/null
wait "$plain" 2>/dev/null
if [ -s plain.core ]; then
	bad 1 e-noagent "memtrace's agent is not in this core: was it taken by memtrace coredump\?" \
		--core plain.core --exe "$(command -v sleep)" --blocks 1
else
	show gcore.out
	fail_later "gdb's gcore wrote no core of a plain process"
fi
finish
