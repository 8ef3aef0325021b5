#!/bin/bash
set -e
useradd -m -d /srv/app app
mkdir -p /var/lib/app
