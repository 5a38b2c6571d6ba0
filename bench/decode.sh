#!/bin/bash
# bench/decode.sh: memtrace-server's decoder beside addr2line -f -i -C on the
# same addresses (make bench-decode; bench/README.md has figures).
#
# Workloads:
#   big   a program generated and built here once, into $BUILD/bench/decode-big/F-N/:
#         DECODE_FILES (8) files of DECODE_FUNCS (2000) functions each, -O2 -g,
#         every function with an always-inlined helper;
#   libc  libc itself, its DWARF in the separate debug file of libc6-dbg (when
#         installed), which both tools find by build-id.
# Each gets two reports of DECODE_ADDRS (2000) addresses: instructions inside
# its functions, spread over the whole file (bench/decode.c picks and times them).
set -eu

BUILD=${BUILD:-build}
FILES=${DECODE_FILES:-8}
FUNCS=${DECODE_FUNCS:-2000}
NADDR=${DECODE_ADDRS:-2000}
RUNS=${DECODE_RUNS:-5}
TOOL=$BUILD/bench/decode
WORK=$BUILD/bench/decode-big/$FILES-$FUNCS
[ -x "$TOOL" ] || { echo "decode.sh: $TOOL not built (make bench-decode)" >&2; exit 1; }
for t in addr2line objdump nm cc size readelf; do
	command -v $t >/dev/null || { echo "decode.sh: $t missing" >&2; exit 1; }
done

# gen F N: C source of N functions, each calling an always-inlined helper.
gen() {
	awk -v f="$1" -v n="$2" 'BEGIN {
	printf "#include <string.h>\n\nstruct item_%d { long key; char name[24]; struct item_%d *next; };\n\n", f, f
	for (i = 0; i < n; i++) {
		printf "static inline __attribute__((always_inline)) long mix_%d_%d(long x, long y)\n{\n", f, i
		printf "\tif (x > y)\n\t\treturn x * %d - y;\n\treturn (x ^ y) + %d;\n}\n\n", i % 7 + 2, i
		printf "long fn_%d_%d(struct item_%d *it, long v);\n", f, i, f
		printf "long fn_%d_%d(struct item_%d *it, long v)\n{\n\tlong acc = 0;\n\n", f, i, f
		printf "\tfor (; it; it = it->next) {\n\t\tacc += mix_%d_%d(it->key, v);\n", f, i
		printf "\t\tif (acc > %d)\n\t\t\tacc -= (long)strlen(it->name);\n\t}\n", 1000 + i
		if (i > 0)
			printf "\tif (v > 3)\n\t\tacc += fn_%d_%d(it, v - 1);\n", f, i - 1
		printf "\treturn acc;\n}\n\n"
	}
	}'
}

big=$WORK/big
if [ ! -x "$big" ]; then
	echo "decode.sh: building $big ($FILES x $FUNCS functions, -O2 -g; once)" >&2
	mkdir -p "$WORK"
	for f in $(seq 0 $((FILES - 1))); do
		[ -s "$WORK/f$f.c" ] || gen "$f" "$FUNCS" >"$WORK/f$f.c"
	done
	echo 'int main(void) { return 0; }' >"$WORK/main.c"
	# two compilers at a time
	# shellcheck disable=SC2016 # $1 is the inner shell's
	printf '%s\n' "$WORK"/f*.c | xargs -P 2 -I{} sh -c 'cc -O2 -g -c "$1" -o "${1%.c}.o"' _ {}
	cc -O2 -g -o "$big.tmp" "$WORK/main.c" "$WORK"/f*.o
	mv "$big.tmp" "$big"
fi

run() {
	"$TOOL" "$1" "$NADDR" "$RUNS"
}

echo "== decoding beside addr2line ($(addr2line --version | head -n 1))"
printf 'big: %s, %s of DWARF\n' "$(du -h "$big" | cut -f1)" \
	"$(size -A "$big" | awk '$1 ~ /^\.debug/ { s += $2 } END { printf "%.1f MiB", s / 1048576 }')"
run "$big"
libc=$(ldd "$TOOL" | awk '$1 ~ /^libc\.so/ { print $3 }')
id=$(readelf -n "$libc" 2>/dev/null | awk '/Build ID/ { print $3 }')
dbg=/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
if [ -n "$id" ] && [ -r "$dbg" ]; then
	echo
	echo "libc: $libc, its debug symbols in $dbg (both tools find them by build-id)"
	run "$libc"
else
	echo "(libc: no debug file; install libc6-dbg for that workload)"
fi
