#!/usr/bin/env bash
# Installs promtool (Debian's prometheus package) so the metrics tests can run `promtool check metrics`.
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then exit 0; fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
echo "installing Debian prometheus (for promtool) for the metrics tests..."
$SUDO apt-get update -qq
# the package's own server is not wanted: keep its service from starting where a service manager runs
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
