#!/bin/bash
# t-attach-container: memtrace -p from the host on processes in namespaces
# of their own (containers), made with unshare (util-linux or busybox).
#  1. attach_basic in a PID namespace (pid 1 there, its own /proc), in a
#     network namespace, in both: attached between ready and go, the report
#     holds exactly its EXPECT lines, "pid" is the host's pid and "ns_pid"
#     the namespace's (none for the network namespace alone), the GOT is
#     hooked while attached and clean after detach, `leaks` judges a copy
#     of the process (its agent's clone numbers it in the namespace; memtrace
#     finds its own number), memtrace exits 0; the victim's output and exit
#     status are those of an untraced run.
#  2. Two PID namespaces on the host's network, both victims pid 1: both
#     attached at the same time (the second agent's first name is taken:
#     it listens on its second name, which memtrace finds).
#  3. coredump -c in a PID namespace: the agent names the held thread by
#     its namespace's tid; memtrace writes the core of the right thread and
#     names it by the host's tid.
#  4. User namespaces (skipped where setpriv has no --reuid, or user
#     namespaces are off): a rootless container of uid 12345 (unshare -r -n
#     -p) attached by root (whose uid has no mapping there: the connection
#     takes the owner's) and by its owner (who enters its user namespace
#     first); a network namespace of root's that uid 12345 may not enter:
#     exit 4 with a message that says so, the process untouched.
#  5. A mount namespace that hides the agent: exit 7, the message says the
#     agent is not visible there, the process untouched.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

[ "$(id -u)" = 0 ] || skip "making PID and network namespaces with unshare needs root"
command -v unshare >/dev/null || skip "no unshare command (util-linux or busybox)"
unshare -p -f true 2>/dev/null || skip "unshare -p -f fails here: no PID namespaces (kernel without CONFIG_PID_NS?)"
unshare -n true 2>/dev/null || skip "unshare -n fails here: no network namespaces (kernel without CONFIG_NET_NS?)"

OWNER=12345 # a uid with no name: the owner of the rootless container

# children_of PID: the pids of PID's children, one a line.
children_of() {
	local t
	for t in /proc/"$1"/task/*/children; do
		tr ' ' '\n' <"$t" 2>/dev/null
	done | grep .
}

# victim_under PID PROG: PID or the first descendant of it that runs PROG
# (unshare -f, setpriv and sh -c stand between).
victim_under() {
	local pid=$1 n
	for n in 1 2 3 4 5; do
		[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$2" ] && { echo "$pid"; return 0; }
		pid=$(children_of "$pid" | head -n 1)
		[ -n "$pid" ] || return 1
	done
	return 1
}

# cstart TAG NSPID WRAP... -- PROG [ARGS...]: the attach victim PROG under
# WRAP (unshare ...), as vstart does; its ready file must say NSPID (its pid
# in its namespace; "-": the host's). $VPID is the victim as the host
# numbers it, $WPID the wrapper, whose status is the victim's.
cstart() {
	local tag=$1 want=$2 wrap=() ready
	shift 2
	while [ "$1" != -- ]; do
		wrap+=("$1")
		shift
	done
	shift
	rm -rf "$tag.d"
	mkdir -p "$tag.d" || broken "mkdir $tag.d"
	chmod 777 "$tag.d"
	"${wrap[@]}" "$1" "$PWD/$tag.d" "${@:2}" </dev/null >"$tag.out" 2>"$tag.err" &
	WPID=$!
	VPIDS+=("$WPID")
	WAIT_SECONDS=20 wait_for ready_or_gone "$tag" "$WPID"
	[ -s "$tag.d/ready" ] || { show "$tag.err"; broken "$tag: the victim under ${wrap[*]} did not get ready within 20 s"; }
	VPID=$(victim_under "$WPID" "$1") || broken "$tag: no process runs $1 under ${wrap[*]} ($WPID)"
	VPIDS+=("$VPID")
	eval "VPID_$tag=$VPID WPID_$tag=$WPID"
	ready=$(cat "$tag.d/ready")
	[ "$want" != - ] || want=$VPID
	[ "$ready" = "$want" ] || broken "$tag: the victim says it is pid $ready in its namespace, expected $want"
	note "$tag: pid $VPID, $ready in its namespace (${wrap[*]})"
}

# cstop TAG: stop, the victim ends; the wrapper's status (the victim's) in TAG.rc.
cstop() {
	local tag=$1 w rc
	w="WPID_$tag"
	: >"$tag.d/stop"
	if ! wait_pid_gone "${!w}" 30; then
		fail_later "$tag: the victim did not end within 30 s of stop"
		kill -KILL "$(vpid_of "$tag")" "${!w}" 2>/dev/null
	fi
	wait "${!w}"
	rc=$?
	echo $rc >"$tag.rc"
}

# ctraced TAG NSPID WRAP... -- PROG [-- MEMTRACE OPTIONS...]: traced_run for
# a victim in namespaces.
ctraced() {
	local tag=$1 nspid=$2 args=() opts=()
	shift 2
	while [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	args+=(-- "$2")
	shift 2
	[ $# -eq 0 ] || { shift; opts=("$@"); }
	cstart "$tag" "$nspid" "${args[@]}"
	if ! attach_console "$tag.mt" "$VPID" "${opts[@]}"; then
		console_end 5
		vgo "$tag"
		cstop "$tag"
		return 1
	fi
	vgo "$tag"
	if vwait_file "$tag" leaked; then
		mt_report "$tag.mt" "$tag.json"
		rm -f "$tag.leaks.json"
		console_send "leaks --json -o $tag.leaks.json"
		WAIT_SECONDS=60 wait_for valid_json "$tag.leaks.json" || fail_later "$tag: leaks: no valid file"
	else
		fail_later "$tag: the victim did not say leaked within 30 s of go under memtrace"
	fi
	mt_end "$tag.mt" detach
	cstop "$tag"
}

# statuses FILE N: FILE holds at least N status outputs.
statuses() {
	[ "$(grep -c '^ *in use: ' "$1" 2>/dev/null)" -ge "$2" ]
}

# check_copy TAG: leaks judged a copy of the victim (forked by its agent,
# numbered in its namespace, seized by memtrace with the host's number).
check_copy() {
	[ "$(jq -r .scan.snapshot "$1.leaks.json" 2>/dev/null)" = true ] ||
		fail_later "$1: leaks did not judge a copy: $(jq -r .scan.snapshot_note "$1.leaks.json" 2>/dev/null)"
}

# check_ns_pid TAG NSPID: the report's ns_pid (absent when "-").
check_ns_pid() {
	local got
	got=$(jq -r '.ns_pid // "-"' "$1.json" 2>/dev/null)
	[ "$got" = "$2" ] || fail_later "$1: the report's ns_pid is $got, expected $2"
}

prog=$(victim attach_basic) || exit 99
plain_run plain "$prog"

# ---------------------------------------------------------------- 1. PID, network, both

# Under emulation (MEMTRACE_TEST_QUICK, the ARM VMs) both namespaces at once only.
if [ "${MEMTRACE_TEST_QUICK:-0}" = 0 ]; then
	note "1. a PID namespace, a network namespace"
	ctraced pid 1 unshare -p -f --mount-proc -- "$prog"
	check_traced plain pid "$prog" exact
	check_ns_pid pid 1
	check_copy pid
	ctraced net - unshare -n -- "$prog"
	check_traced plain net "$prog" exact
	check_ns_pid net -
fi
note "1. a PID and a network namespace"
ctraced both 1 unshare -p -f -n --mount-proc -- "$prog"
check_traced plain both "$prog" exact
check_ns_pid both 1
check_copy both

# ---------------------------------------------------------------- 2. two pid 1 on one network

note "2. two PID namespaces on the host's network, both victims pid 1, attached at once"
cstart c1 1 unshare -p -f -- "$prog"
v1=$VPID
cstart c2 1 unshare -p -f -- "$prog"
v2=$VPID
if attach_console c1.mt "$v1"; then
	run_mt c2.mt -p "$v2" -x status -x 'report -c 1' -x 'report -c 0 --json -o c2.json'
	expect_rc c2.mt 0 || { fail_later "2: memtrace -p $v2 while $v1 (also pid 1) is attached: exit status"; show c2.mt.err; }
	has c2.mt.out '^ *in use: ' || fail_later "2: no status from the second process"
	has c2.mt.out "^== memtrace report: pid $v2 \(1 in its PID namespace\), " ||
		{ fail_later "2: the text report does not give both pids"; show c2.mt.out; }
	jq -e --argjson p "$v2" '.pid == $p and .ns_pid == 1' c2.json >/dev/null 2>&1 ||
		fail_later "2: the second report is not of process $v2 (pid $(jq .pid c2.json 2>/dev/null))"
	console_send status
	wait_for statuses c1.mt.out 2 || fail_later "2: the first session stopped answering"
	mt_end c1.mt detach
fi
for t in c1 c2; do
	vgo "$t"
	vwait_file "$t" leaked || fail_later "2: $t did not say leaked"
	no_tracer "$(vpid_of "$t")" || fail_later "2: $t is still traced"
	cstop "$t"
	same_behaviour plain "$t" || fail_later "2: $t behaves differently after the attach"
done

# ---------------------------------------------------------------- 3. coredump -c

if command -v gdb >/dev/null; then
	note "3. coredump -c in a PID namespace: the held thread by its host tid"
	core=$(victim core_victim) || exit 99
	mkdir -p cv && chmod 777 cv
	(cd cv && exec unshare -p -f --mount-proc "$core" -f stop -s 60 </dev/null >../cv.out 2>../cv.err) &
	cw=$!
	VPIDS+=("$cw")
	wait_for test -e cv/core_victim.started || broken "3: core_victim did not start"
	cv=$(victim_under "$cw" "$core") || broken "3: no core_victim under unshare"
	VPIDS+=("$cv")
	if attach_console cv.mt "$cv"; then
		item=
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			sleep 0.2
			mt_report cv.mt ids.json || break
			item=$(jq -r --arg m "$core" "$JQ_DEFS"'.contexts[] | select(own($m) | fn == "core_leak_item") | .id' ids.json 2>/dev/null)
			[ -z "$item" ] || break
		done
		[ -n "$item" ] || fail_later "3: no context for core_leak_item"
		console_send "coredump -c ${item:-1} -f $PWD/held.core"
		wait_for has cv.mt.out '^core written to ' || true
		mt_end cv.mt detach
		has cv.mt.out "^core written to $PWD/held.core \(5 threads, .* held at 0x[0-9a-f]+ size 40 in thread $cv\)$" ||
			{ fail_later "3: coredump -c: no 'core written ... in thread $cv' (the host's tid of the victim's main thread)"; show cv.mt.out; show cv.mt.err; }
		if [ -s held.core ]; then
			gdb -nx -batch -iex 'set debuginfod enabled off' -ex bt "$core" held.core >held.gdb 2>&1
			grep -qE '^#[0-9]+ .* core_leak_item ' held.gdb ||
				{ fail_later "3: the held thread's bt in the core has no core_leak_item"; show held.gdb; }
		fi
	fi
	touch cv/stop
	wait_pid_gone "$cw" 30 || fail_later "3: core_victim did not end"
	wait "$cw"
	rc=$?
	[ "$rc" = 0 ] || fail_later "3: core_victim exited with $rc (1: a wait saw EINTR)"
else
	note "3. left out: gdb is not installed (the core is checked with it)"
fi

# ---------------------------------------------------------------- 4. user namespaces

as_owner() {
	setpriv --reuid "$OWNER" --regid "$OWNER" --clear-groups "$@"
}
if ! as_owner true 2>/dev/null; then
	note "4. left out: this setpriv has no --reuid (busybox): no rootless container can be made"
elif ! as_owner unshare -U -r true 2>/dev/null; then
	note "4. left out: uid $OWNER cannot make a user namespace here (unprivileged user namespaces off)"
else
	note "4. a rootless container of uid $OWNER, attached by root and by its owner"
	chmod 755 "$PWD"
	as_owner test -x "$MEMTRACE" || skip "uid $OWNER cannot execute $MEMTRACE (a directory on its path is closed)"
	ctraced rootless 1 setpriv --reuid "$OWNER" --regid "$OWNER" --clear-groups unshare -U -r -n -p -f -- "$prog"
	check_traced plain rootless "$prog" exact
	# memtrace as the owner: the console helpers run $MEMTRACE, a wrapper
	# for this run; the report is written as the owner, here.
	printf '#!/bin/sh\nexec setpriv --reuid %s --regid %s --clear-groups "%s" "$@"\n' \
		"$OWNER" "$OWNER" "$MEMTRACE" >owner-memtrace
	chmod 755 owner-memtrace
	chmod 777 "$PWD"
	real=$MEMTRACE
	MEMTRACE=$PWD/owner-memtrace
	ctraced owner 1 setpriv --reuid "$OWNER" --regid "$OWNER" --clear-groups unshare -U -r -n -p -f -- "$prog"
	MEMTRACE=$real
	check_traced plain owner "$prog" exact

	note "4. a network namespace of root's, attached by uid $OWNER: refused before anything is done"
	cstart deny - unshare -n setpriv --reuid "$OWNER" --regid "$OWNER" --clear-groups -- "$prog"
	as_owner "$MEMTRACE" -p "$VPID" -x status </dev/null >deny.mt.out 2>deny.mt.err
	echo $? >deny.mt.rc
	expect_rc deny.mt 4 || fail_later "4: memtrace -p as uid $OWNER into root's network namespace: exit status"
	has deny.mt.err "process $VPID is in another network namespace .*may not enter it.*run memtrace as root" ||
		{ fail_later "4: the message does not say memtrace may not enter the network namespace"; show deny.mt.err; }
	has deny.mt.err 'static|setuid|LD_PRELOAD' && fail_later "4: the old misleading message"
	untouched "$VPID" "4: after the refusal"
	vgo deny
	vwait_file deny leaked || fail_later "4: the refused victim did not go on"
	cstop deny
	expect_rc deny 0 || fail_later "4: the refused victim: exit status"
fi

# ---------------------------------------------------------------- 5. mount namespace

note "5. a mount namespace that hides the agent"
mkdir -p hidden
cp "$BUILD/libmemtrace-agent.so" hidden/agent.so || broken "cannot copy the agent"
cstart mnt - unshare -m sh -c "mount -t tmpfs none '$PWD/hidden' && exec \"\$0\" \"\$@\"" -- "$prog"
run_mt mnt.mt -p "$VPID" -L "$PWD/hidden/agent.so" -x status
expect_rc mnt.mt 7 || fail_later "5: agent hidden by the process's mount namespace: exit status"
has mnt.mt.err "agent $PWD/hidden/agent.so is not visible in the mount namespace of process $VPID" ||
	{ fail_later "5: the message does not say the agent is not visible there"; show mnt.mt.err; }
untouched "$VPID" "5: after the refusal"
vgo mnt
vwait_file mnt leaked || fail_later "5: the victim did not go on"
cstop mnt
expect_rc mnt 0 || fail_later "5: exit status"
finish
