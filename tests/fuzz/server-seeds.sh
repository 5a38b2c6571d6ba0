#!/bin/sh
# server-seeds.sh VICTIM DIR: the seeds of the server fuzzers (server/server.mk)
# that are made from the build rather than kept here, added to DIR/link and
# DIR/report (which already hold tests/fuzz/server-link and server-report):
#   DIR/report/victim-*.json  a report whose frames are in every function of
#       VICTIM (tests/victims/server_leak, whose build dir is the report
#       fuzzer's sysroot), by its symbol table, with and without its build-id;
#   DIR/link/raw-*  each line-mode seed of DIR/link (mode byte with 0x08 set)
#       as a raw stream (the same mode without 0x08): each line after its 4-byte big-endian length.
set -eu
victim=$1
dir=$2
name=/$(basename "$victim")
id=$(readelf -n "$victim" 2>/dev/null | awk '/Build ID/ { print $3 }')
frames=$(nm --defined-only "$victim" | awk -v m="$name" '$2 ~ /^[tT]$/ {
	a = 0; for (i = 1; i <= length($1); i++) a = a * 16 + index("0123456789abcdef", substr($1, i, 1)) - 1
	for (d = 1; d <= 9; d += 4)
		printf "%s{\"addr\":\"0x%x\",\"module\":\"%s\",\"offset\":\"0x%x\"BID}", (n++ ? "," : ""), a + d, m, a + d }')
for with in id none; do
	case $with in
	id) bid=${id:+,\"build_id\":\"$id\"} ;;
	none) bid= ;;
	esac
	printf '{"version":1,"contexts":[{"id":1,"frames":[%s]}]}\n' "$(printf '%s' "$frames" | sed "s/BID/$bid/g")" \
		>"$dir/report/victim-$with.json"
done
for f in "$dir"/link/*; do
	[ -f "$f" ] || continue
	case $(basename "$f") in raw-*) continue ;; esac
	# shellcheck disable=SC2094 # reads F, writes raw-F
	perl -e 'local $/; my $s = <STDIN>; my $m = ord(substr($s, 0, 1)); exit 1 unless $m & 8;
		print chr($m & ~8), map { pack("N", length) . $_ } split(/\n/, substr($s, 1));' <"$f" \
		>"$dir/link/raw-$(basename "$f")" || rm -f "$dir/link/raw-$(basename "$f")"
done
