#!/bin/bash
# rawreport.sh: run in an ARM VM after the suite (tests/arm/vm.sh's init).
# The stripped victim /t/dev/server_leak (tests/victims/server_leak.c) runs
# under memtrace --json; its raw report and its output go to the console as
# MEMTRACE-VM-RAW-* lines, for the host to decode with memtrace-server and
# the unstripped build (tests/arm/decode.sh), as a developer would with a
# report saved on a device.
[ -x /t/dev/server_leak ] || exit 0
cd /tmp || exit 1
/t/build/memtrace --json -o raw.json /t/dev/server_leak >raw.out 2>raw.err
echo "MEMTRACE-VM-RAW-RC $?"
while IFS= read -r l; do echo "MEMTRACE-VM-RAW-OUT $l"; done <raw.out
while IFS= read -r l; do echo "MEMTRACE-VM-RAW-ERR $l"; done <raw.err
echo "MEMTRACE-VM-RAW-JSON $(jq -c . raw.json 2>&1)"
