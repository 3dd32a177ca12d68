#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# mkrootfs.sh DEST: build a busybox-static root filesystem at DEST.
#
# Every applet `busybox --list` names gets a link in /bin, and also at the place
# `busybox --list-full` gives it (/usr/bin/env, /sbin/ip...), so scripts written
# for either layout work. Idempotent: a stamp file records which busybox binary
# the tree was made from; when it matches, nothing is done.
set -eu

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: $0 DEST" >&2
	exit 2
fi
dest=$1

busybox=${BUSYBOX:-}
if [ -z "$busybox" ]; then
	for b in /bin/busybox /usr/bin/busybox; do
		if [ -x "$b" ]; then
			busybox=$b
			break
		fi
	done
fi
if [ -z "$busybox" ] || ! "$busybox" true 2>/dev/null; then
	echo "$0: no working busybox (install busybox-static)" >&2
	exit 1
fi
if ! file_out=$(LC_ALL=C file -L "$busybox" 2>/dev/null) || ! echo "$file_out" | grep -q 'statically linked'; then
	# Without `file` we cannot tell; a dynamic busybox would fail inside the container.
	if command -v file >/dev/null 2>&1; then
		echo "$0: $busybox is not statically linked (install busybox-static)" >&2
		exit 1
	fi
fi

stamp="$dest/.mkrootfs-stamp"
want=$(stat -L -c '%s:%Y' "$busybox")
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$dest/bin/sh" ]; then
	exit 0
fi

mkdir -p "$dest"
cd "$dest"
mkdir -p bin sbin usr/bin usr/sbin etc root home/user tmp var/tmp run proc sys dev
chmod 1777 tmp var/tmp
chmod 0700 root

# Copy through a temp name so a concurrent reader never sees a half-written binary.
cp "$busybox" bin/.busybox.tmp
chmod 0755 bin/.busybox.tmp
mv -f bin/.busybox.tmp bin/busybox

for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] && continue
	ln -sfn busybox "bin/$applet"
done
for path in $("$busybox" --list-full); do
	case $path in
	bin/*) continue ;;
	sbin/*) target=../bin/busybox ;;
	usr/bin/* | usr/sbin/*) target=../../bin/busybox ;;
	*) continue ;;
	esac
	ln -sfn "$target" "$path"
done

cat >etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >etc/group <<'EOF'
root:x:0:
user:x:1000:
nogroup:x:65534:
EOF
chown 1000:1000 home/user
: >etc/hosts
: >etc/resolv.conf
echo rootfs >etc/hostname

echo "$want" >"$stamp"
