#!/usr/bin/env bash
# Make sure the Debian packages PsychoPy needs under Xvfb are installed.
# As root: installs the missing ones with apt-get. Otherwise: names them and exits 1.
set -euo pipefail
PACKAGES=(xvfb xauth xdotool libgl1-mesa-dri libglu1-mesa libegl1 libjack-jackd2-0
          libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0 fontconfig fonts-dejavu-core
          chromium)  # chromium: the session report is checked in a real headless browser
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "installing Debian packages for PsychoPy under Xvfb: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "missing Debian packages (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
