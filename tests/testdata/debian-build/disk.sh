#!/bin/bash
# KIWI's disk.sh: after pre_disk_sync.sh, on what goes onto the disk.
set -e
echo "disk" >> /etc/kiwi-hooks
