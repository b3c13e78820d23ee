#!/bin/sh
# check.sh: say whether each test bed component in $TESTBED_DIR/env answers; exit 1 if one does not.
#   check.sh [docker|etcd|etcd-auth|pebble|pebble-eab|redis]...     no argument = every component the env file lists
set -eu
. "$(dirname "$0")/lib.sh"
[ -f "$TB/env" ] || die "no $TB/env: run scripts/testbed/up.sh"
set -a; . "$TB/env"; set +a
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
ARGS="$*"
if [ -z "$ARGS" ]; then
  ARGS="${GANTRY_TB_DOCKER:+docker} ${GANTRY_TB_ETCD:+etcd} ${GANTRY_TB_ETCD_AUTH:+etcd-auth} ${GANTRY_TB_PEBBLE_URL:+pebble} ${GANTRY_TB_PEBBLE_EAB_URL:+pebble-eab} ${GANTRY_TB_REDIS:+redis}"
fi
for c in $ARGS; do
  case "$c" in
    docker)
      [ -n "${GANTRY_TB_DOCKER:-}" ] || { bad "docker: not in env"; continue; }
      sock=${GANTRY_TB_DOCKER#unix://}
      if curl -fsS --max-time 2 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; then ok "docker $GANTRY_TB_DOCKER"; else bad "docker $GANTRY_TB_DOCKER"; fi
      for img in "$GANTRY_TB_IMAGE_BUSYBOX" "$GANTRY_TB_IMAGE_NODE" "${GANTRY_TB_IMAGE_NODE24:-gantry-tb-node24:1}"; do
        if curl -fsS --max-time 2 --unix-socket "$sock" "http://d/images/$img/json" >/dev/null 2>&1; then ok "image $img"; else bad "image $img"; fi
      done ;;
    etcd)
      [ -n "${GANTRY_TB_ETCD:-}" ] || { bad "etcd: not in env"; continue; }
      for ep in "$GANTRY_TB_ETCD" $(echo "$GANTRY_TB_ETCD_CLUSTER" | tr , ' '); do
        if etcd_healthy "$ep"; then ok "etcd $ep"; else bad "etcd $ep"; fi
      done ;;
    etcd-auth)
      [ -n "${GANTRY_TB_ETCD_AUTH:-}" ] || { bad "etcd-auth: not in env"; continue; }
      if curl -fsS --max-time 2 --cacert "$GANTRY_TB_ETCD_AUTH_CA" --cert "$GANTRY_TB_ETCD_AUTH_CERT" --key "$GANTRY_TB_ETCD_AUTH_KEY" \
        "$GANTRY_TB_ETCD_AUTH/health" 2>/dev/null | grep -q '"health":"true"'; then ok "etcd-auth $GANTRY_TB_ETCD_AUTH"; else bad "etcd-auth $GANTRY_TB_ETCD_AUTH"; fi ;;
    pebble-eab)
      [ -n "${GANTRY_TB_PEBBLE_EAB_URL:-}" ] || { bad "pebble-eab: not in env"; continue; }
      if curl -fsS --max-time 2 --cacert "$GANTRY_TB_PEBBLE_EAB_CA" "$GANTRY_TB_PEBBLE_EAB_URL" >/dev/null 2>&1; then ok "pebble-eab $GANTRY_TB_PEBBLE_EAB_URL"; else bad "pebble-eab $GANTRY_TB_PEBBLE_EAB_URL"; fi ;;
    pebble)
      [ -n "${GANTRY_TB_PEBBLE_URL:-}" ] || { bad "pebble: not in env"; continue; }
      if curl -fsS --max-time 2 --cacert "$GANTRY_TB_PEBBLE_CA" "$GANTRY_TB_PEBBLE_URL" >/dev/null 2>&1; then ok "pebble $GANTRY_TB_PEBBLE_URL"; else bad "pebble $GANTRY_TB_PEBBLE_URL"; fi ;;
    redis)
      [ -n "${GANTRY_TB_REDIS:-}" ] || { bad "redis: not in env"; continue; }
      if redis-cli -h "${GANTRY_TB_REDIS%:*}" -p "${GANTRY_TB_REDIS##*:}" ping 2>/dev/null | grep -q PONG; then ok "redis $GANTRY_TB_REDIS"; else bad "redis $GANTRY_TB_REDIS"; fi ;;
    *) bad "unknown component $c" ;;
  esac
done
exit "$fail"
