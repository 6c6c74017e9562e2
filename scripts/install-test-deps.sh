#!/usr/bin/env bash
# Installs what the test suite needs from Debian when it is missing: PostgreSQL 15 + PostGIS, Mosquitto,
# Chromium. As root it installs; otherwise it says in one line what to install and stops.
set -euo pipefail

missing=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql postgresql-contrib)
[ -d /usr/share/postgresql/15/extension ] && ls /usr/share/postgresql/15/extension/postgis.control >/dev/null 2>&1 \
  || missing+=(postgresql-15-postgis-3)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto mosquitto-clients)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "The tests need: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "Installing test dependencies from Debian: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian may start the system PostgreSQL; the suite runs its own on a free port, so leave it.
