#!/bin/bash
set -ex
systemctl enable serial-getty@ttyS0.service
