#!/usr/bin/env bash
# Make sure the local stack's toolchain is present: Java 17+ (JDK, for javac), Maven, openssl; with
# `--tests`, also chromium, the browser the page's end-to-end tests drive, and axe-core (npm), the
# accessibility checker they inject into the page, kept in .cache/axe-core (`make test` only).
# Installs the missing ones with apt-get when running as root on Debian/Ubuntu; otherwise says what to install.
set -euo pipefail

missing=()
command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ "${1:-}" = "--tests" ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi
install_axe() {
  # the version the accessibility test was written against; `npm ci`-like: nothing else is installed
  local version=4.14.1 folder=.cache/axe-core
  [ -f "$folder/node_modules/axe-core/axe.min.js" ] && grep -q "\"version\": \"$version\"" \
    "$folder/node_modules/axe-core/package.json" && return 0
  mkdir -p "$folder"
  npm install --prefix "$folder" --no-save --no-audit --no-fund --silent "axe-core@$version" >/dev/null
}

if [ ${#missing[@]} -eq 0 ]; then
  [ "${1:-}" = "--tests" ] && install_axe
  exit 0
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "missing: ${missing[*]} (install them; the local stack needs Java, Maven and openssl, or point" \
       "SPOOLBRIDGE_KAFKA__BOOTSTRAP_SERVERS and SPOOLBRIDGE_OPENSEARCH__URL at running services;" \
       "the page's browser tests need chromium)" >&2
  exit 1
fi
[ "${1:-}" = "--tests" ] && install_axe
exit 0
