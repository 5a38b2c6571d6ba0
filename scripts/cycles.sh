#!/bin/bash
# Print the rings of source files that call each other's functions (issue 16's
# "no cycles between files"), from the objects of a build:
#   scripts/cycles.sh [BUILD]      BUILD defaults to build; run after `make`
# For each object it lists the global symbols defined (nm --defined-only) and
# the ones left undefined (nm -u); file A calls file B when one of A's
# undefined symbols is defined by B within the same program's objects
# (build/agent/, build/inject/, build/server/, build/mi/: a symbol such as
# main() exists once per program, so it is resolved program by program). Each
# object is named by its source file, so common/log.c built into three programs
# is one file. Then it prints every ring (strongly connected set of files) with
# the calls that close it, and exits 1 if there is one, 0 if there is none.
# The sanitizer build (BUILD/asan), the cross builds (BUILD/TRIPLET, which
# may be older) and the tests' objects are left out: they compile the same
# sources.
set -eu

build=${1:-build}
[ -d "$build" ] || { echo "cycles.sh: no $build/: run make first" >&2; exit 2; }
cd "$(dirname "$0")/.."

# One line per symbol: "D|U <group> <source file> <symbol>"
symbols() {
	find "$build" -name '*.o' -not -path "$build/asan/*" -not -path "$build/tests/*" -not -path "$build/bench/*" \
		-not -path "$build/*-linux-*/*" |
	sort | while read -r obj; do
		# The source file: strip leading folders of the object's path until a
		# .c of that name exists (build/inject/inject/ptrace.o is
		# inject/injector/ptrace.c); what was stripped names the program.
		rest=${obj#"$build"/}
		group=$build/
		while [ ! -f "${rest%.o}.c" ] && [ "${rest#*/}" != "$rest" ]; do
			group=$group${rest%%/*}/
			rest=${rest#*/}
		done
		[ -f "${rest%.o}.c" ] || continue
		src=${rest%.o}.c
		nm -g --defined-only "$obj" | awk -v g="$group" -v s="$src" 'NF==3 { print "D", g, s, $3 }'
		nm -u "$obj" | awk -v g="$group" -v s="$src" '{ print "U", g, s, $NF }'
	done
}

symbols | awk '
$1 == "D" { def[$2 SUBSEP $4] = $3; next }
$1 == "U" { use[++nuse] = $2 SUBSEP $3 SUBSEP $4 }
END {
	for (i = 1; i <= nuse; i++) {
		split(use[i], u, SUBSEP)
		k = u[1] SUBSEP u[3]
		if (!(k in def) || def[k] == u[2])
			continue
		a = u[2]; b = def[k]
		if (!((a, b) in edge)) {
			edge[a, b] = u[3]
			out[a] = out[a] " " b
		} else if (index(" " edge[a, b] " ", " " u[3] " ") == 0)
			edge[a, b] = edge[a, b] " " u[3]
		node[a]; node[b]
	}
	# Reachability from each file (the graph has a few dozen files).
	for (n in node) {
		delete seen
		q[1] = n; head = 1; tail = 1
		while (head <= tail) {
			c = q[head++]
			m = split(out[c], nx, " ")
			for (j = 1; j <= m; j++)
				if (!(nx[j] in seen)) {
					seen[nx[j]]; reach[n, nx[j]]; q[++tail] = nx[j]
				}
		}
	}
	# A ring: the files reachable from n that also reach n back.
	rings = 0
	for (n in node) {
		if (n in done || !((n, n) in reach))
			continue
		members = ""
		for (o in node)
			if ((n, o) in reach && (o, n) in reach) {
				members = members " " o; done[o]
			}
		ring[++rings] = members
	}
	for (r = 1; r <= rings; r++) {
		m = split(ring[r], mem, " ")
		# sort the members for a stable listing
		for (i = 2; i <= m; i++)
			for (j = i; j > 1 && mem[j - 1] > mem[j]; j--) {
				t = mem[j]; mem[j] = mem[j - 1]; mem[j - 1] = t
			}
		line = mem[1]
		for (i = 2; i <= m; i++)
			line = line " " mem[i]
		text[r] = sprintf("ring of %d: %s\n", m, line)
		for (i = 1; i <= m; i++)
			for (j = 1; j <= m; j++)
				if ((mem[i], mem[j]) in edge)
					text[r] = text[r] sprintf("  %s -> %s: %s\n", mem[i], mem[j],
								  edge[mem[i], mem[j]])
	}
	# the rings in the order of their files, for listings that compare
	for (i = 2; i <= rings; i++)
		for (j = i; j > 1 && text[j - 1] > text[j]; j--) {
			t = text[j]; text[j] = text[j - 1]; text[j - 1] = t
		}
	for (r = 1; r <= rings; r++)
		printf "%s", text[r]
	if (rings == 0)
		print "no rings"
	exit rings > 0
}'
