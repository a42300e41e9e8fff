#!/bin/sh
# Installs everything lsws needs to build and test, from Debian 12 packages.
# Run as root (or with sudo). Safe to run again.
set -eu
# build: compiler, CMake, jansson (JSON), libserialport (serial transport),
# libcsv (manifests, history export; it has no pkg-config file), SQLite (the provisioning ledger),
# libpq (the PostgreSQL ledger for several stations; postgresql: the server its tests and
# benchmark start in a temporary directory, as an unprivileged user),
# libssl-dev (libcrypto: SHA-256 of firmware images), zlib1g-dev (CRC-32),
# libnfc (NFC transport; libnfc-bin: nfc-list, which the NFC test runs),
# libsystemd (sd-bus: the BLE transport and lsws-sim --ble), libbluetooth
# (Bluetooth address parsing)
# tests: cmocka, clang + its sanitizer/fuzzer runtimes, python3 (test
# helpers), groff/zsh/fish (the docs test renders the man page and checks
# every completion file with its own shell), dbus (the BLE tests run a
# private dbus-daemon; they never use the machine's system bus or bluetoothd)
packages="
  build-essential cmake pkg-config
  libjansson-dev libserialport-dev libcsv-dev libsqlite3-dev libpq-dev postgresql libssl-dev zlib1g-dev libnfc-dev libnfc-bin
  libsystemd-dev libbluetooth-dev
  libcmocka-dev clang libclang-rt-14-dev python3
  groff-base man-db zsh fish dbus
"
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: run as root (sudo $0)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $packages >/dev/null
