#!/bin/bash
# KIWI's post_bootstrap.sh: runs after the bootstrap packages, before the
# image packages (dracut is one of those).
set -e
if [ -e /usr/bin/dracut ]; then moment=after-packages; else moment=before-packages; fi
echo "post_bootstrap:$moment" > /etc/kiwi-hooks
