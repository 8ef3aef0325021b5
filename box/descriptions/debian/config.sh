#!/bin/bash
# Runs inside the box root: in VM mode the box runs the build at boot.
set -ex
systemctl enable kiwi-boxbuild.service
# The box is a build machine, not a server: nothing else needs to start.
systemctl mask getty@tty1.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer 2>/dev/null || true
