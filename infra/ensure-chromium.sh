#!/usr/bin/env bash
# The web client's end-to-end tests drive Debian's chromium through Playwright (which then
# downloads no browser). Installs it with apt-get when missing, as root or through sudo, and
# says clearly what is missing otherwise.
set -u

if command -v chromium >/dev/null; then
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "ensure-chromium: no chromium on PATH and no apt-get to install it; install Chromium" >&2
    exit 1
fi
if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
echo "ensure-chromium: installing Debian's chromium" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -qq chromium >&2 \
    || { $sudo apt-get update -qq >&2 && $sudo apt-get install -y -qq chromium >&2; }
if ! command -v chromium >/dev/null; then
    echo "ensure-chromium: chromium could not be installed" >&2
    exit 1
fi
