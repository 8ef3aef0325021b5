#!/bin/bash
# KIWI's pre_disk_sync.sh: in the root, before the disk is filled.
set -e
echo "pre_disk_sync:${kiwi_iname}" >> /etc/kiwi-hooks
