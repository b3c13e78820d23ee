# lib.sh: shared by up.sh and down.sh (sourced, not run). POSIX sh.
# State layout under $TB (TESTBED_DIR, default <repo>/.testbed):
#   env                 KEY=VALUE lines for tests (regenerated from env.d/* on every up/down)
#   env.d/<component>   that component's lines, present only while it is up
#   docker/             dockerd.pid + dockerd.log when we started dockerd; swarm-by-us when we ran swarm init
#   images/             nothing persistent (rootfs is built in a temp dir)
#   etcd/single/m1.*    single member: data dir m1/, m1.sh (start/restart), m1.pid, m1.log
#   etcd/cluster/m{1,2,3}.*   3-member cluster, same files per member
#   etcd-auth/          the TLS + auth member: certificates, passwords, data/, etcd.sh, etcd.pid, etcd.log
#   pebble-eab/         the second Pebble (External Account Binding required): config.json, *.pid, *.log
#   pebble/             listener CA/cert, config.json, root.pem, intermediate.pem, *.pid, *.log
#   redis/              redis.conf, redis.pid, redis.log, TLS CA/cert for the TLS port

TB_REPO=$(cd "$(dirname "$0")/../.." && pwd)
TB_SCRIPTS="$TB_REPO/scripts/testbed"
TB=${TESTBED_DIR:-$TB_REPO/.testbed}
mkdir -p "$TB"
TB=$(cd "$TB" && pwd)
# The env file must stay valid as plain KEY=VALUE *and* as shell, so paths may not need quoting.
case "$TB" in
  *[!A-Za-z0-9/._+,:@-]*) echo "TESTBED_DIR '$TB' has characters that would need quoting; pick a plainer path" >&2; exit 2 ;;
esac

DOCKER_SOCK=/var/run/docker.sock
DOCKER_PIDFILE=/var/run/docker.pid
DOCKER_EXEC_ROOT=/var/run/docker

ETCD_SINGLE_PORT=${GANTRY_TB_ETCD_PORT:-12379}
# Cluster member i (1..3) listens for clients on BASE+(i-1)*10 and for peers on that +1.
ETCD_CLUSTER_BASE=${GANTRY_TB_ETCD_CLUSTER_BASE:-12389}

# The member that demands TLS client certificates and a user (--client-cert-auth, auth enabled).
ETCD_AUTH_PORT=${GANTRY_TB_ETCD_AUTH_PORT:-13379}
ETCD_AUTH_PEER_PORT=$((ETCD_AUTH_PORT + 1))

PEBBLE_ACME_PORT=${PEBBLE_ACME_PORT:-14000}
PEBBLE_MGMT_PORT=${PEBBLE_MGMT_PORT:-15000}
PEBBLE_HTTP_PORT=${PEBBLE_HTTP_PORT:-18880}
PEBBLE_TLS_PORT=${PEBBLE_TLS_PORT:-18443}
PEBBLE_DNS_PORT=${PEBBLE_DNS_PORT:-18053}
# The second Pebble, which requires External Account Binding; it uses the first one's DNS server.
PEBBLE_EAB_ACME_PORT=${PEBBLE_EAB_ACME_PORT:-14100}
PEBBLE_EAB_MGMT_PORT=${PEBBLE_EAB_MGMT_PORT:-15100}
PEBBLE_EAB_HTTP_PORT=${PEBBLE_EAB_HTTP_PORT:-19880}
PEBBLE_EAB_TLS_PORT=${PEBBLE_EAB_TLS_PORT:-19881}

REDIS_PORT=${GANTRY_TB_REDIS_PORT:-16379}
# The same server also speaks TLS on this port (client certificates optional).
REDIS_TLS_PORT=${GANTRY_TB_REDIS_TLS_PORT:-16380}

IMAGE_BUSYBOX=${GANTRY_TB_IMAGE_BUSYBOX:-gantry-tb-busybox:1}
IMAGE_NODE=${GANTRY_TB_IMAGE_NODE:-gantry-tb-node:1}
# A local stand-in for node:24-slim (Node 24 + npm), the base the image test builds Gantry's Dockerfile FROM.
IMAGE_NODE24=${GANTRY_TB_IMAGE_NODE24:-gantry-tb-node24:1}

log() { echo "testbed: $*" >&2; }
die() { echo "testbed: $*" >&2; exit 1; }

# alive PID: the process exists and is not a zombie. This machine's PID 1 reaps orphans late, so
# `kill -0` stays true for a second or two after a daemon exits; state Z counts as stopped.
alive() {
  [ -n "${1:-}" ] || return 1
  s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [ -n "$s" ] && [ "${s#Z}" = "$s" ]
}

# pid_of FILE: the PID recorded in FILE when that process is still alive, else nothing (status 1).
pid_of() {
  [ -f "$1" ] || return 1
  p=$(cat "$1" 2>/dev/null)
  alive "$p" && echo "$p"
}

# stop_pid PID NAME [SECONDS]: SIGTERM, wait, then SIGKILL after SECONDS (default 10).
stop_pid() {
  alive "$1" || return 0
  kill -TERM "$1" 2>/dev/null || true
  n=0; lim=$(( ${3:-10} * 20 ))
  while alive "$1"; do
    n=$((n+1))
    if [ "$n" -eq "$lim" ]; then log "$2 ($1) still alive, sending KILL"; kill -KILL "$1" 2>/dev/null || true; fi
    [ "$n" -gt $((lim + 100)) ] && { log "$2 ($1) did not exit"; return 1; }
    sleep 0.05
  done
}

# port_busy PORT: something listens on 127.0.0.1:PORT (or any address) over TCP.
port_busy() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

# wait_until SECONDS DESC CMD...: run CMD every 0.1 s until it succeeds; status 1 after SECONDS.
wait_until() {
  secs=$1; desc=$2; shift 2
  n=0
  until "$@" >/dev/null 2>&1; do
    n=$((n+1)); [ "$n" -gt $((secs * 10)) ] && { log "$desc: not ready after ${secs}s"; return 1; }
    sleep 0.1
  done
}

docker_ping() { curl -fsS --max-time 2 --unix-socket "$DOCKER_SOCK" http://d/_ping; }
etcd_healthy() { curl -fsS --max-time 1 "$1/health" 2>/dev/null | grep -q '"health":"true"'; }

# write_env: concatenate env.d/* into env, atomically.
write_env() {
  mkdir -p "$TB/env.d"
  {
    echo "# Written by scripts/testbed/up.sh; KEY=VALUE lines, also valid sh (set -a; . this file)."
    echo "TESTBED_DIR=$TB"
    for f in "$TB"/env.d/*; do [ -f "$f" ] && cat "$f"; done
  } > "$TB/env.tmp"
  mv "$TB/env.tmp" "$TB/env"
}
