#!/bin/sh
# install.sh: install the Debian packages Gantry's tests and benchmarks need. Idempotent: when every
# package is already installed it only runs `dpkg-query` and exits (no apt-get update).
#   install.sh            install what is missing (needs root)
#   install.sh --check    exit 1 and list what is missing, install nothing
# apt starts no service here (/usr/sbin/policy-rc.d exits 101); scripts/testbed/up.sh starts them.
set -eu
# package[:command]: when the command is already on PATH (e.g. a CI image's own Docker, whose
# packages conflict with docker.io), the package counts as present. Without one, dpkg decides.
PKGS="docker.io:dockerd docker-compose:docker-compose busybox-static pebble:pebble etcd-server:etcd etcd-client:etcdctl redis-server:redis-server curl:curl
  openssl:openssl ca-certificates nginx:nginx haproxy:haproxy wrk:wrk chromium:chromium
  slowhttptest:slowhttptest python3:python3 nghttp2-client:h2load"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
present() {
  pkg=${1%%:*}; cmd=${1#*:}
  installed "$pkg" || { [ "$cmd" != "$1" ] && command -v "$cmd" >/dev/null 2>&1; }
}

missing=""
for p in $PKGS; do present "$p" || missing="$missing ${p%%:*}"; done
# caddy is optional (a bench baseline): install it only when apt has a candidate for it.
# apt-cache policy only reads local lists, so this costs about 0.1 s and no network.
caddy_candidate() {
  c=$(apt-cache policy caddy 2>/dev/null | awk '/Candidate:/{print $2}')
  [ -n "$c" ] && [ "$c" != "(none)" ]
}
if ! installed caddy && caddy_candidate; then missing="$missing caddy"; fi

if [ -z "$missing" ]; then
  echo "testbed packages: all installed" >&2
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  echo "testbed packages missing:$missing" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "install.sh: need root to install:$missing" >&2
  exit 1
fi
echo "testbed packages: installing$missing" >&2
apt-get update -qq -o DPkg::Lock::Timeout=300
# The lists may have been empty before the update: look for caddy again.
if ! installed caddy && caddy_candidate; then
  case "$missing" in *caddy*) ;; *) missing="$missing caddy" ;; esac
fi
# shellcheck disable=SC2086  # word splitting of the package list is intended
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends $missing
for p in $missing; do installed "$p" || { echo "install.sh: $p did not install" >&2; exit 1; }; done
echo "testbed packages: installed$missing" >&2
