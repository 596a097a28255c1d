#!/usr/bin/env bash
# Sets up Backplate: the Debian libraries Qt needs for a real window (when run as root with apt),
# then .venv beside this script with the pinned Python stack. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")"

QT_WINDOW_LIBS="libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxkbcommon-x11-0"
missing=""
if command -v dpkg-query >/dev/null 2>&1; then
    for package in $QT_WINDOW_LIBS; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
    done
fi
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing Qt window libraries:$missing"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    else
        echo "Note: a real window needs these Debian packages:$missing (sudo apt-get install$missing)." >&2
    fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt
# The last mediapipe release that bundles its models; --no-deps keeps OpenCV headless.
.venv/bin/python -m pip install -q --no-deps mediapipe==0.10.21
.venv/bin/python -c "import torch, cv2, PyQt5, mediapipe; print('Backplate environment ready: torch', torch.__version__)"
