#!/bin/bash
# Runs inside the image root after packages, overlay files and users.
set -ex
echo "built-by-config-sh-${kiwi_iname}" > /etc/kiwi-marker
systemctl enable kiwi-check.service
