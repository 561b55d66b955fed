#!/usr/bin/env bash
# Make sure the local stack's toolchain is present: Java 17+ (JDK, for javac), Maven, openssl; with
# `--tests`, also chromium, the browser the page's end-to-end tests drive (`make test` only).
# Installs the missing ones with apt-get when running as root on Debian/Ubuntu; otherwise says what to install.
set -euo pipefail

missing=()
command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ "${1:-}" = "--tests" ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

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
