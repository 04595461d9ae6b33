#!/usr/bin/env bash
# Installs the Debian 12 packages Meridian needs to build, test and serve.
# Idempotent: when everything is already present it installs nothing and
# does not touch the network.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config
  libldns-dev libuv1-dev libtomlplusplus-dev doctest-dev libmaxminddb-dev
  libcli11-dev libfmt-dev libmicrohttpd-dev libcurl4-openssl-dev nlohmann-json3-dev
  tor-geoipdb libmaxmind-db-writer-perl mmdb-bin
  dnsutils knot-dnsutils python3 openssl
  # tests/e2e/test_udp_buffers.py reads socket buffers with ss
  iproute2
  # sd_notify; man pages; the .deb (cpack: dpkg-shlibdeps, file); test_packaging.py
  libsystemd-dev scdoc dpkg-dev file python3-yaml
  # tests/run-fuzzers.sh: libFuzzer and its sanitizer runtimes come with clang
  # (GCC has no libFuzzer); the ASan/UBSan build itself uses GCC's libasan.
  clang-14 libclang-rt-14-dev
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
