#!/bin/bash
# KIWI's editbootinstall script: on the host, in the root tree, when the
# raw disk is complete, with the disk file and (where KIWI passes the
# boot partition's loop device) a file holding the partition grub boots
# from. It appends to the disk's /etc/kiwi-hooks, not the root tree's.
set -euo pipefail
test -f "$1"
fs=$(blkid -o value -s TYPE "$2")
hooks=$(mktemp)
trap 'rm -f "$hooks"' EXIT
debugfs -R "cat /etc/kiwi-hooks" "$2" > "$hooks"
echo "edit_boot_install:${kiwi_iname}:${fs}" >> "$hooks"
debugfs -w -f - "$2" <<EOF
rm /etc/kiwi-hooks
write $hooks /etc/kiwi-hooks
sif /etc/kiwi-hooks mode 0100644
EOF
