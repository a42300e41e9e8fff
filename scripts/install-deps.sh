#!/bin/sh
# Installs everything lsws needs to build and test, from Debian 12 packages.
# Run as root (or with sudo). Safe to run again.
set -eu
packages="
  build-essential cmake pkg-config
  libjansson-dev
  libcmocka-dev
  clang libclang-rt-14-dev
  python3 xxd
"
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: run as root (sudo $0)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $packages >/dev/null
