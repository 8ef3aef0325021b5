#!/bin/bash
# KIWI's editbootconfig script: on the host, in the root tree, with the
# root filesystem and the boot partition number.
set -e
echo "edit_boot_config:$1:$2" >> "$PWD/etc/kiwi-hooks"
