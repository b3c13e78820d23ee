#!/bin/sh
# down.sh: stop what scripts/testbed/up.sh started, by the PIDs it recorded (never by process name).
#   down.sh [docker|etcd|etcd-auth|pebble|pebble-eab|redis]... [--rm]     no component = all of them
# --rm also deletes that component's state (etcd data, Pebble certificates) for a fresh start.
# A dockerd that up.sh reused (someone else's) keeps running; swarm is left only when up.sh joined it.
set -eu
. "$(dirname "$0")/lib.sh"
RM=0
comps=""
for a in "$@"; do
  case "$a" in
    --rm) RM=1 ;;
    docker|etcd|etcd-auth|pebble|pebble-eab|redis) comps="$comps $a" ;;
    *) die "unknown argument '$a' (docker, etcd, etcd-auth, pebble, pebble-eab, redis, --rm)" ;;
  esac
done
[ -n "$comps" ] || comps="redis pebble-eab pebble etcd-auth etcd docker"

down_docker() {
  d="$TB/docker"
  rm -f "$TB/env.d/docker"
  ours=""
  ours=$(pid_of "$d/dockerd.pid") || true
  if [ -f "$d/swarm-by-us" ] && docker_ping >/dev/null 2>&1; then
    # On a daemon that is not ours, others may have started using the swarm we made: leave it then.
    if [ -n "$ours" ] || [ -z "$(DOCKER_HOST="unix://$DOCKER_SOCK" docker service ls -q 2>/dev/null)" ]; then
      DOCKER_HOST="unix://$DOCKER_SOCK" docker swarm leave --force >/dev/null 2>&1 || log "swarm leave failed"
      log "swarm: left"
    else
      log "swarm: kept (the daemon is not ours and has services)"
    fi
  fi
  rm -f "$d/swarm-by-us"
  if [ -z "$ours" ]; then
    rm -f "$d/dockerd.pid"
    log "dockerd: not started by up.sh, left running"
    return 0
  fi
  # dockerd stops its containers itself on SIGTERM (about 1 s with two running).
  stop_pid "$ours" dockerd 30
  rm -f "$d/dockerd.pid"
  # dockerd leaves mounts under its exec-root (e.g. the nsfs bind mount netns/default).
  xr=$(readlink -f "$DOCKER_EXEC_ROOT" 2>/dev/null || echo "$DOCKER_EXEC_ROOT")
  for m in $(awk -v p="$xr/" 'index($2,p)==1{print $2}' /proc/mounts | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
  done
  log "dockerd: stopped (pid $ours)"
}

down_etcd() {
  rm -f "$TB/env.d/etcd"
  for f in "$TB"/etcd/single/m*.pid "$TB"/etcd/cluster/m*.pid; do
    [ -f "$f" ] || continue
    if p=$(pid_of "$f"); then stop_pid "$p" "etcd $(basename "$f" .pid)" 10; fi
    rm -f "$f"
  done
  [ "$RM" = 1 ] && rm -rf "$TB/etcd"
  log "etcd: stopped"
}

down_pebble() {
  rm -f "$TB/env.d/pebble"
  for f in pebble dns; do
    if p=$(pid_of "$TB/pebble/$f.pid"); then stop_pid "$p" "$f" 10; fi
    rm -f "$TB/pebble/$f.pid"
  done
  [ "$RM" = 1 ] && rm -rf "$TB/pebble"
  log "pebble: stopped"
}

down_etcd_auth() {
  rm -f "$TB/env.d/etcd-auth"
  if p=$(pid_of "$TB/etcd-auth/etcd.pid"); then stop_pid "$p" "etcd auth" 10; fi
  rm -f "$TB/etcd-auth/etcd.pid"
  [ "$RM" = 1 ] && rm -rf "$TB/etcd-auth"
  log "etcd auth: stopped"
}

down_pebble_eab() {
  rm -f "$TB/env.d/pebble-eab"
  if p=$(pid_of "$TB/pebble-eab/pebble.pid"); then stop_pid "$p" pebble-eab 10; fi
  rm -f "$TB/pebble-eab/pebble.pid"
  [ "$RM" = 1 ] && rm -rf "$TB/pebble-eab"
  log "pebble-eab: stopped"
}

down_redis() {
  rm -f "$TB/env.d/redis"
  if p=$(pid_of "$TB/redis/redis.pid"); then stop_pid "$p" redis 10; fi
  rm -f "$TB/redis/redis.pid"
  [ "$RM" = 1 ] && rm -rf "$TB/redis"
  log "redis: stopped"
}

for comp in $comps; do
  "down_$(echo "$comp" | tr - _)"
  write_env
done
