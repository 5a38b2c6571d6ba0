#!/bin/bash
# t-attach-plugin: a plugin dlopen'ed after the attach
# (tests/victims/attach_dlopen.c, libplugin_leak.so) calls malloc through a
# GOT that did not exist when the agent patched: its dlopen hook must patch
# it.  The report holds the plugin's leak under plugin_leak_blocks in the
# plugin (symbols right for it too) and the program's own; output and
# status are those of an untraced run, in the PIE and the -now builds.
# Blocks the loader itself makes for the plugin, if memtrace sees them, are
# charged to load_plugin and not counted here.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

plugin=$(victim libplugin_leak.so) || exit 99
EXPECT_IGNORE=load_plugin
for v in "" -now; do
	prog=$(victim "attach_dlopen$v") || exit 99
	attach_compare "$v" "$plugin" "$prog" "$plugin"
	if valid_json "t$v.json" >/dev/null; then
		check_symbols "t$v.json" "$plugin" || fail_later "t$v: the plugin's frames"
		jq -e --arg p "$plugin" 'any(.modules[]?; .path == $p) or any(.contexts[].frames[]; .module == $p)' \
			"t$v.json" >/dev/null || fail_later "t$v: the report does not name the plugin $plugin"
	fi
done
finish
