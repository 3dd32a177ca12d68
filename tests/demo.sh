#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# demo.sh CONMON_PATH WRAPPER_PATH: run one busybox container with our monitor.
#
# Uses `ctr-wrap run` when the wrapper's --help lists a run command, else podman with --conmon
# pointed at our monitor and a private, throwaway store.
set -eu

if [ $# -ne 2 ]; then
	echo "usage: $0 CONMON_PATH WRAPPER_PATH" >&2
	exit 2
fi
conmon=$1
wrapper=$2
top=$(cd "$(dirname "$0")/.." && pwd)
rootfs=$top/build/demo-rootfs
message="Hello from a container run by ctr-wrap and our conmon"

sh "$top/tests/lib/mkrootfs.sh" "$rootfs"

if [ -x "$wrapper" ] && "$wrapper" --help 2>&1 | grep -Eq '^[[:space:]]+run([[:space:]]|$)'; then
	# --conmon: without it ctr-wrap could fall back to /usr/bin/conmon.
	echo "demo: $wrapper --conmon $conmon run --rm $rootfs /bin/echo ..."
	exec "$wrapper" --conmon "$conmon" run --rm "$rootfs" /bin/echo "$message"
fi

if [ ! -x "$conmon" ]; then
	echo "$0: $conmon is not an executable (run make first)" >&2
	exit 1
fi
# podman's own check of --conmon: when it fails, podman warns and quietly runs
# whatever conmon it finds in PATH, and the demo would not be showing ours.
if ! "$conmon" --version 2>/dev/null | awk -F'[ .]' 'NR == 1 {
	ok = $1 == "conmon" && $2 == "version" && ($3 > 2 || ($3 == 2 && ($4 > 0 || $5 >= 1)))
} END { exit !ok }'; then
	echo "$0: '$conmon --version' does not say \"conmon version 2.0.1\" or later: podman would not use it" >&2
	exit 1
fi

# podman's exit command rejects a --runroot longer than 50 characters: keep it short.
# The mktemp name has no spaces, so $store_flags may be split unquoted.
store=$(mktemp -d /tmp/ctrwrap-demo.XXXXXX)
store_flags="--root $store/root --runroot $store/run --tmpdir $store/tmp"

cleanup() {
	# shellcheck disable=SC2086
	podman $store_flags rm -af >/dev/null 2>&1 || true
	# Deepest mount points first.
	awk -v p="$store/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do
			umount -l "$m" 2>/dev/null || true
		done
	rm -rf "$store"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$store/containers.conf" <<'EOF'
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_CONF="$store/containers.conf"

echo "demo: podman --conmon $conmon run --rm --rootfs $rootfs /bin/echo ..."
echo "demo: (runtime runc, network none, private store in $store, removed afterwards)"
# PID 1 here does not reap orphans; catatonit is the subreaper podman's exit path needs.
# shellcheck disable=SC2086
/usr/libexec/podman/catatonit -- podman $store_flags --conmon "$conmon" run --rm --network none --runtime runc \
	--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --rootfs "$rootfs" /bin/echo "$message"
