#!/bin/bash
# Runs inside the image root after packages, overlay files and users,
# with KIWI's function library (/.kconfig) and .profile variables.
set -euxo pipefail
test -f /.kconfig && . /.kconfig
echo "built-by-config-sh-${kiwi_iname}" > /etc/kiwi-marker
# kiwi_install_volid is set for oem types only (the docker type builds too).
echo "config:${kiwi_type}:${kiwi_bootloader}:${kiwi_iversion}:${kiwi_install_volid:-}" >> /etc/kiwi-hooks
baseInsertService kiwi-check
baseSetRunlevel 3
