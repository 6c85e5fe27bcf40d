#!/usr/bin/env bash
# Installs everything balcap needs on a fresh Debian/Ubuntu machine. Idempotent:
# a second run checks and returns in a second.
#   - Debian packages (compiler, CMake, C++ libraries)
#   - .venv with torch==2.11.0 (LibTorch comes from this wheel) and the python
#     reference packages used by the parity tests.
# Environment: BALCAP_VENV (default .venv), BALCAP_SKIP_APT=1 to skip apt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

apt_packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libyaml-cpp-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev
  libsentencepiece-dev libutf8proc-dev libpng-dev libjpeg-dev zlib1g-dev
  libcairo2-dev fonts-dejavu-core
  libcpp-httplib-dev libcurl4-openssl-dev libssl-dev openssl
  libgtest-dev libgmock-dev python3-venv python3-pip
)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ] && [ "${BALCAP_SKIP_APT:-0}" != 1 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

venv=${BALCAP_VENV:-$root/.venv}
stamp="$venv/.balcap-requirements"
if [ ! -f "$stamp" ] || ! cmp -s "$stamp" scripts/requirements.txt; then
  python=${PYTHON:-python3}
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  echo "bootstrap: installing python packages into $venv (torch is large; pip caches it)"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -r scripts/requirements.txt
  cp scripts/requirements.txt "$stamp"
fi
echo "bootstrap: ready (venv $venv, torch $("$venv/bin/python" -c 'import torch; print(torch.__version__)'))"
