# shellcheck shell=sh
# scripts/lib.sh: what scripts/deps.sh and scripts/sysroot.sh both need,
# sourced by them (POSIX sh, like them).

# need_root MESSAGE: set SUDO to what runs a command as root, "" when this
# is root already, else "sudo"; without sudo print MESSAGE on stderr and
# exit 1 (nothing can be installed then).
need_root() {
	# shellcheck disable=SC2034 # read by the scripts that source this
	SUDO=""
	[ "$(id -u)" != 0 ] || return 0
	command -v sudo >/dev/null 2>&1 || { echo "$1" >&2; exit 1; }
	# shellcheck disable=SC2034 # read by the scripts that source this
	SUDO="sudo"
}
