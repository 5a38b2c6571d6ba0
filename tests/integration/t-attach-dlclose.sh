#!/bin/bash
# t-attach-dlclose: a plugin loaded (and so patched) before the attach is
# dlclosed after it (tests/victims/attach_dlclose.c): it must really be
# unloaded (the agent may not pin it), loaded again (the new copy patched:
# its leak is in the report under plugin_leak_blocks), and the detach must
# put back the live copy's slots without touching the unmapped one's; the
# victim then uses the plugin, dlcloses it and exits cleanly, with the
# output and status of an untraced run.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

plugin=$(victim libplugin_leak.so) || exit 99
EXPECT_IGNORE=load_plugin
for v in "" -norelro; do
	prog=$(victim "attach_dlclose$v") || exit 99
	attach_compare "$v" "$plugin" "$prog" "$plugin"
done
finish
