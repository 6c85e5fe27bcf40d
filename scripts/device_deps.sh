#!/usr/bin/env bash
# Extracts the -dev packages the GPU machine may lack into .device_deps/ (git-ignored), so
# that `run --carry .device_deps` brings them along. Run here, before a device check.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/.device_deps"
packages=(libcli11-dev libutf8proc-dev libutf8proc2 libpng-dev libjpeg62-turbo-dev libjpeg62-turbo)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
(cd "$tmp" && apt-get download "${packages[@]}" >/dev/null)
for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$out"; done
echo "device_deps: extracted ${packages[*]} into $out"
