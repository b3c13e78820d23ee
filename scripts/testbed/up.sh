#!/bin/sh
# up.sh: start Gantry's test bed on 127.0.0.1 and write $TESTBED_DIR/env for the tests.
#   up.sh [docker|etcd|pebble]...      no argument = all three
# Idempotent: what already runs (ours, or a dockerd someone else started) is reused; images are
# rebuilt only when their inputs changed. Each component waits until it answers, within a bound;
# on failure the last log lines are printed and the exit status is non-zero.
# State: $TESTBED_DIR (default <repo>/.testbed). Needs the packages of scripts/testbed/install.sh.
# Env: TESTBED_TIMEOUT (seconds per wait, default 30), PEBBLE_HTTP_PORT (18880), PEBBLE_TLS_PORT (18443),
#      GANTRY_TB_ETCD_PORT (12379), GANTRY_TB_ETCD_CLUSTER_BASE (12389: members on 12389/12399/12409).
set -eu
. "$(dirname "$0")/lib.sh"
TIMEOUT=${TESTBED_TIMEOUT:-30}
# Images are rebuilt when this changes, or when busybox, node, its libraries or backend.js change.
IMAGE_RECIPE=2

# ---------------------------------------------------------------- docker
up_docker() {
  d="$TB/docker"; mkdir -p "$d"
  command -v dockerd >/dev/null || die "dockerd not installed: run scripts/testbed/install.sh"
  if docker_ping >/dev/null 2>&1; then
    if p=$(pid_of "$d/dockerd.pid"); then
      log "dockerd: already up (ours, pid $p)"
    else
      rm -f "$d/dockerd.pid"
      log "dockerd: reusing the daemon already answering on $DOCKER_SOCK (not ours: down.sh leaves it running)"
    fi
  else
    rm -f "$d/dockerd.pid"
    # dockerd refuses to start while its pidfile names a live process, and a zombie counts as live.
    if [ -f "$DOCKER_PIDFILE" ] && ! alive "$(cat "$DOCKER_PIDFILE")"; then rm -f "$DOCKER_PIDFILE"; fi
    # --iptables=false/--ip-masq=false: tests use --network host only, so no NAT rules are needed.
    # DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1: swarm tasks use the local image instead of trying a registry.
    DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 nohup dockerd --iptables=false --ip-masq=false \
      --storage-driver=overlay2 --pidfile "$DOCKER_PIDFILE" -H "unix://$DOCKER_SOCK" \
      >"$d/dockerd.log" 2>&1 </dev/null &
    echo $! > "$d/dockerd.pid"
    pid=$!
    n=0
    until docker_ping >/dev/null 2>&1; do
      n=$((n+1))
      if ! alive "$pid" || [ "$n" -gt $((TIMEOUT * 10)) ]; then
        log "dockerd did not come up; last log lines:"; tail -20 "$d/dockerd.log" >&2
        rm -f "$d/dockerd.pid"; exit 1
      fi
      sleep 0.1
    done
    log "dockerd: started (pid $pid)"
  fi
  export DOCKER_HOST="unix://$DOCKER_SOCK"

  state=$(docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}')
  case "$state" in
    "active true") log "swarm: already a manager" ;;
    inactive*)
      docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 >/dev/null || die "docker swarm init failed"
      touch "$d/swarm-by-us"; log "swarm: initialised (single-node manager on 127.0.0.1)" ;;
    *) die "swarm is in state '$state'; the tests need this daemon to be a swarm manager" ;;
  esac

  build_images
  build_node24_base
  {
    echo "DOCKER_HOST=unix://$DOCKER_SOCK"
    echo "GANTRY_TB_DOCKER=unix://$DOCKER_SOCK"
    echo "GANTRY_TB_DOCKER_OURS=$([ -f "$d/dockerd.pid" ] && echo 1 || echo 0)"
    echo "GANTRY_TB_SWARM=1"
    echo "GANTRY_TB_IMAGE_BUSYBOX=$IMAGE_BUSYBOX"
    echo "GANTRY_TB_IMAGE_NODE=$IMAGE_NODE"
    echo "GANTRY_TB_IMAGE_NODE24=$IMAGE_NODE24"
  } > "$TB/env.d/docker"
}

# make_busybox_root DIR: busybox-static and its applet links, /etc/passwd, /www/index.html.
make_busybox_root() {
  r=$1
  mkdir -p "$r/bin" "$r/etc" "$r/www" "$r/tmp" "$r/proc" "$r/sys" "$r/dev"
  chmod 1777 "$r/tmp"
  cp "$BUSYBOX" "$r/bin/busybox"
  for a in $("$BUSYBOX" --list); do [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"; done
  printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$r/etc/passwd"
  echo 'root:x:0:' > "$r/etc/group"
  echo 'hello from busybox' > "$r/www/index.html"
}

# import_image NAME HASH ROOTFS CHANGE...: docker import ROOTFS as NAME labelled with HASH, then drop
# the image NAME pointed to before (a re-import leaves it dangling otherwise).
import_image() {
  name=$1; hash=$2; root=$3; shift 3
  old=$(docker image inspect -f '{{.Id}}' "$name" 2>/dev/null || true)
  tar -C "$root" -c . | docker import -c "LABEL gantry.testbed.hash=$hash" "$@" - "$name" >/dev/null
  [ -z "$old" ] || docker rmi "$old" >/dev/null 2>&1 || true
}

image_hash() { docker image inspect -f '{{index .Config.Labels "gantry.testbed.hash"}}' "$1" 2>/dev/null || true; }

build_images() {
  BUSYBOX=$(command -v busybox) || die "busybox not installed: run scripts/testbed/install.sh"
  NODE=$(readlink -f "$(command -v node)")
  # Every library ldd resolves (absolute paths) plus the loader, kept at the same paths.
  LIBS=$(ldd "$NODE" | awk '/=> \//{print $3} /^\t\/[^ ]+ \(/{print $1}')
  bb_hash=$({ echo "recipe $IMAGE_RECIPE"; sha256sum "$BUSYBOX"; } | sha256sum | cut -c1-16)
  # shellcheck disable=SC2086
  node_hash=$({ echo "recipe $IMAGE_RECIPE"; sha256sum "$BUSYBOX" "$NODE" $LIBS "$TB_SCRIPTS/backend.js"; } | sha256sum | cut -c1-16)
  if [ "$(image_hash "$IMAGE_BUSYBOX")" = "$bb_hash" ] && [ "$(image_hash "$IMAGE_NODE")" = "$node_hash" ]; then
    log "images: $IMAGE_BUSYBOX and $IMAGE_NODE up to date"; return 0
  fi
  work=$(mktemp -d /tmp/gantry-tb-rootfs.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  if [ "$(image_hash "$IMAGE_BUSYBOX")" != "$bb_hash" ]; then
    make_busybox_root "$work/bb"
    import_image "$IMAGE_BUSYBOX" "$bb_hash" "$work/bb" \
      -c 'CMD ["/bin/httpd","-f","-p","127.0.0.1:8080","-h","/www"]'
    log "images: built $IMAGE_BUSYBOX"
  fi
  if [ "$(image_hash "$IMAGE_NODE")" != "$node_hash" ]; then
    r="$work/node"
    make_busybox_root "$r"
    mkdir -p "$r/usr/bin" "$r/app"
    cp "$NODE" "$r/usr/bin/node"
    for lib in $LIBS; do mkdir -p "$r$(dirname "$lib")"; cp -L "$lib" "$r$lib"; done
    cp "$TB_SCRIPTS/backend.js" "$r/app/backend.js"
    echo '{"type":"module"}' > "$r/app/package.json"
    import_image "$IMAGE_NODE" "$node_hash" "$r" \
      -c 'CMD ["/usr/bin/node","/app/backend.js"]' -c 'ENV PORT=3000'
    log "images: built $IMAGE_NODE"
  fi
  rm -rf "$work"; trap - EXIT
}

# build_node24_base: a stand-in for node:24-slim, which no registry here can give, to build Gantry's
# Dockerfile FROM (`--build-arg BASE=$IMAGE_NODE24`). It has what that Dockerfile asks of a base, in
# the official image's layout: Node 24 (the `node` devDependency's binary and every library ldd
# names) at /usr/local/bin/node, npm at /usr/local/lib/node_modules/npm (the npm that ran `npm ci`;
# the `node` package ships none), a shell (busybox) and the user node (1000:1000).
build_node24_base() {
  NODE24="$TB_REPO/node_modules/node/bin/node"
  [ -x "$NODE24" ] || die "no $NODE24: run npm ci first (it brings Node 24)"
  NODE24=$(readlink -f "$NODE24")
  # Under `npm test`, npm_execpath names npm-cli.js; else follow the npm on PATH, else ask npm.
  NPM_CLI=${npm_execpath:-$(readlink -f "$(command -v npm)" || true)}
  NPM_DIR=$(dirname "$(dirname "$NPM_CLI")")
  [ -f "$NPM_DIR/package.json" ] || NPM_DIR="$(npm root -g 2>/dev/null)/npm"
  [ -f "$NPM_DIR/package.json" ] || die "npm's package directory not found (from ${NPM_CLI:-PATH})"
  NPM_CLI="$NPM_DIR/bin/npm-cli.js"
  LIBS24=$(ldd "$NODE24" | awk '/=> \//{print $3} /^\t\/[^ ]+ \(/{print $1}')
  # shellcheck disable=SC2086
  # Contents only, not paths: checkouts in other directories share the image instead of rebuilding it.
  h=$({ echo "node24 recipe 1"; for f in "$BUSYBOX" "$NODE24" $LIBS24 "$NPM_DIR/package.json"; do sha256sum < "$f"; done; } | sha256sum | cut -c1-16)
  if [ "$(image_hash "$IMAGE_NODE24")" = "$h" ]; then log "images: $IMAGE_NODE24 up to date"; return 0; fi
  work=$(mktemp -d /tmp/gantry-tb-node24.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  r="$work/root"
  make_busybox_root "$r"
  printf 'node:x:1000:1000::/home/node:/bin/sh\n' >> "$r/etc/passwd"
  printf 'node:x:1000:\n' >> "$r/etc/group"
  mkdir -p "$r/usr/bin" "$r/usr/local/bin" "$r/usr/local/lib/node_modules" "$r/home/node"
  chown 1000:1000 "$r/home/node"
  # `#!/usr/bin/env node` scripts (npm, bin/gantry) need env where Debian has it.
  ln -s /bin/busybox "$r/usr/bin/env"
  cp "$NODE24" "$r/usr/local/bin/node"
  for lib in $LIBS24; do mkdir -p "$r$(dirname "$lib")"; cp -L "$lib" "$r$lib"; done
  cp -a "$NPM_DIR" "$r/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$r/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$r/usr/local/bin/npx"
  import_image "$IMAGE_NODE24" "$h" "$r" \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["node"]'
  rm -rf "$work"; trap - EXIT
  log "images: built $IMAGE_NODE24 ($("$NODE24" --version), npm $("$NODE24" "$NPM_CLI" --version 2>/dev/null || echo '?'))"
}

# ---------------------------------------------------------------- etcd
# etcd_group DIR N BASE: members m1..mN, client port BASE+(i-1)*10, peer port client+1.
etcd_group() {
  dir=$1; n=$2; base=$3
  mkdir -p "$dir"
  cluster=""; endpoints=""; i=1
  while [ "$i" -le "$n" ]; do
    c=$((base + (i-1)*10))
    cluster="${cluster:+$cluster,}m$i=http://127.0.0.1:$((c+1))"
    endpoints="${endpoints:+$endpoints,}http://127.0.0.1:$c"
    i=$((i+1))
  done
  # A cluster is bootstrapped once; restarts reuse the data dirs. Bootstrap from scratch when any
  # member's data is missing (a half-made cluster cannot be repaired by re-running `new`).
  running=0; missing=0; i=1
  while [ "$i" -le "$n" ]; do
    pid_of "$dir/m$i.pid" >/dev/null && running=$((running+1))
    [ -d "$dir/m$i/member" ] || missing=$((missing+1))
    i=$((i+1))
  done
  if [ "$missing" -gt 0 ] && [ "$missing" -lt "$n" ]; then
    [ "$running" -eq 0 ] || die "etcd in $dir is half bootstrapped and running; run down.sh etcd --rm"
    log "etcd: $dir is half bootstrapped, starting it afresh"
    i=1; while [ "$i" -le "$n" ]; do rm -rf "$dir/m$i"; i=$((i+1)); done
    rm -f "$dir/token"
  fi
  [ -f "$dir/token" ] || echo "gantry-tb-$(date +%s)-$$" > "$dir/token"
  token=$(cat "$dir/token")
  i=1
  while [ "$i" -le "$n" ]; do
    c=$((base + (i-1)*10)); p=$((c+1))
    # m$i.sh starts (or restarts after a kill) this member on its data; the tests run it.
    # Short heartbeat/election (50/500 ms): a dead leader is replaced in about a second.
    # --pre-vote: a restarted member does not force a needless election.
    cat > "$dir/m$i.sh" <<SH
#!/bin/sh
# Start etcd member m$i (client 127.0.0.1:$c, peer $p) on its data dir; writes m$i.pid. Written by up.sh.
etcd --name m$i --data-dir '$dir/m$i' \\
  --listen-client-urls http://127.0.0.1:$c --advertise-client-urls http://127.0.0.1:$c \\
  --listen-peer-urls http://127.0.0.1:$p --initial-advertise-peer-urls http://127.0.0.1:$p \\
  --initial-cluster '$cluster' --initial-cluster-state new --initial-cluster-token '$token' \\
  --heartbeat-interval 50 --election-timeout 500 --pre-vote \\
  --logger zap --log-outputs stderr --log-level warn \\
  >>'$dir/m$i.log' 2>&1 </dev/null &
echo \$! > '$dir/m$i.pid'
SH
    chmod +x "$dir/m$i.sh"
    if pid_of "$dir/m$i.pid" >/dev/null; then
      :
    elif port_busy "$c" || port_busy "$p"; then
      die "etcd m$i: port $c or $p is in use by a process that is not ours"
    else
      "$dir/m$i.sh"
    fi
    i=$((i+1))
  done
  t0=$(date +%s)
  for ep in $(echo "$endpoints" | tr , ' '); do
    until etcd_healthy "$ep"; do
      dead=""; i=1
      while [ "$i" -le "$n" ]; do pid_of "$dir/m$i.pid" >/dev/null || dead="$dead m$i"; i=$((i+1)); done
      if [ -n "$dead" ] || [ $(( $(date +%s) - t0 )) -ge "$TIMEOUT" ]; then
        if [ -n "$dead" ]; then log "etcd member(s)$dead exited; last log lines:"; else log "etcd at $ep not healthy after ${TIMEOUT}s; last log lines:"; fi
        for f in "$dir"/m*.log; do echo "== $f" >&2; tail -5 "$f" >&2; done
        exit 1
      fi
      sleep 0.1
    done
  done
  echo "$endpoints" > "$dir/endpoints"
  log "etcd: $n member(s) healthy at $endpoints"
}

up_etcd() {
  command -v etcd >/dev/null || die "etcd not installed: run scripts/testbed/install.sh"
  etcd_group "$TB/etcd/single" 1 "$ETCD_SINGLE_PORT"
  etcd_group "$TB/etcd/cluster" 3 "$ETCD_CLUSTER_BASE"
  {
    echo "GANTRY_TB_ETCD=http://127.0.0.1:$ETCD_SINGLE_PORT"
    echo "GANTRY_TB_ETCD_CLUSTER=$(cat "$TB/etcd/cluster/endpoints")"
    echo "GANTRY_TB_ETCD_DIR=$TB/etcd"
  } > "$TB/env.d/etcd"
}

# ---------------------------------------------------------------- pebble
pebble_answers() { curl -fsS --max-time 2 --cacert "$1/listener-ca.pem" "https://127.0.0.1:$PEBBLE_ACME_PORT/dir"; }

up_pebble() {
  command -v pebble >/dev/null || die "pebble not installed: run scripts/testbed/install.sh"
  d="$TB/pebble"; mkdir -p "$d"
  # Pebble's own HTTPS listeners need a certificate (Debian ships none): a throwaway CA and a leaf.
  if [ ! -f "$d/listener-cert.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -keyout "$d/listener-ca.key" -out "$d/listener-ca.pem" -subj "/CN=gantry testbed pebble listener CA" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$d/listener-key.pem" -out "$d/listener.csr" -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' > "$d/listener.ext"
    openssl x509 -req -in "$d/listener.csr" -CA "$d/listener-ca.pem" -CAkey "$d/listener-ca.key" \
      -CAcreateserial -days 3650 -extfile "$d/listener.ext" -out "$d/listener-cert.pem" 2>/dev/null
  fi
  # httpPort/tlsPort are where Pebble's validator connects: where the server under test listens.
  cat > "$d/config.json.new" <<JSON
{
  "pebble": {
    "listenAddress": "127.0.0.1:$PEBBLE_ACME_PORT",
    "managementListenAddress": "127.0.0.1:$PEBBLE_MGMT_PORT",
    "certificate": "$d/listener-cert.pem",
    "privateKey": "$d/listener-key.pem",
    "httpPort": $PEBBLE_HTTP_PORT,
    "tlsPort": $PEBBLE_TLS_PORT,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }
}
JSON
  if pid_of "$d/pebble.pid" >/dev/null && pid_of "$d/dns.pid" >/dev/null &&
     cmp -s "$d/config.json" "$d/config.json.new" && pebble_answers "$d" >/dev/null 2>&1; then
    rm -f "$d/config.json.new"
    log "pebble: already up"
  else
    # Anything half up, or a config change (other validation ports): restart both.
    for f in pebble dns; do p=$(pid_of "$d/$f.pid") && stop_pid "$p" "$f"; rm -f "$d/$f.pid"; done
    mv "$d/config.json.new" "$d/config.json"
    for port in "$PEBBLE_ACME_PORT" "$PEBBLE_MGMT_PORT" "$PEBBLE_DNS_PORT" $((PEBBLE_DNS_PORT+1)); do
      port_busy "$port" && die "pebble: port $port is in use by a process that is not ours"
    done
    # DNS: A 127.0.0.1 for every name and no AAAA (else the validator may dial ::1). Its HTTP/TLS
    # challenge servers are off: the server under test answers the challenges.
    pebble-challtestsrv -dns01 "127.0.0.1:$PEBBLE_DNS_PORT" -http01 "" -https01 "" -tlsalpn01 "" \
      -management "127.0.0.1:$((PEBBLE_DNS_PORT+1))" -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
      >"$d/dns.log" 2>&1 </dev/null &
    echo $! > "$d/dns.pid"
    # NOSLEEP: no random 0-15 s wait before validating; NONCEREJECT=0: no spurious badNonce.
    PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
      pebble -config "$d/config.json" -dnsserver "127.0.0.1:$PEBBLE_DNS_PORT" >"$d/pebble.log" 2>&1 </dev/null &
    echo $! > "$d/pebble.pid"
    n=0
    until pebble_answers "$d" >/dev/null 2>&1; do
      n=$((n+1))
      if ! pid_of "$d/pebble.pid" >/dev/null || ! pid_of "$d/dns.pid" >/dev/null || [ "$n" -gt $((TIMEOUT * 10)) ]; then
        log "pebble did not come up; last log lines:"
        for f in dns pebble; do echo "== $f.log" >&2; tail -10 "$d/$f.log" >&2; done
        exit 1
      fi
      sleep 0.1
    done
    log "pebble: started on https://127.0.0.1:$PEBBLE_ACME_PORT/dir"
  fi
  # Pebble makes a new issuing root and intermediate on every start.
  curl -fsS --max-time 5 --cacert "$d/listener-ca.pem" "https://127.0.0.1:$PEBBLE_MGMT_PORT/roots/0" > "$d/root.pem"
  curl -fsS --max-time 5 --cacert "$d/listener-ca.pem" "https://127.0.0.1:$PEBBLE_MGMT_PORT/intermediates/0" > "$d/intermediate.pem"
  {
    echo "GANTRY_TB_PEBBLE_DIR=$d"
    echo "GANTRY_TB_PEBBLE_URL=https://127.0.0.1:$PEBBLE_ACME_PORT/dir"
    echo "GANTRY_TB_PEBBLE_MGMT_URL=https://127.0.0.1:$PEBBLE_MGMT_PORT"
    echo "GANTRY_TB_PEBBLE_CA=$d/listener-ca.pem"
    echo "GANTRY_TB_PEBBLE_ROOT=$d/root.pem"
    echo "GANTRY_TB_PEBBLE_INTERMEDIATE=$d/intermediate.pem"
    echo "GANTRY_TB_PEBBLE_HTTP_PORT=$PEBBLE_HTTP_PORT"
    echo "GANTRY_TB_PEBBLE_TLS_PORT=$PEBBLE_TLS_PORT"
    echo "GANTRY_TB_PEBBLE_DNS=127.0.0.1:$PEBBLE_DNS_PORT"
  } > "$TB/env.d/pebble"
}

# ---------------------------------------------------------------- main
[ $# -gt 0 ] || set -- docker etcd pebble
mkdir -p "$TB/env.d"
for comp in "$@"; do
  case "$comp" in docker|etcd|pebble) ;; *) die "unknown component '$comp' (docker, etcd, pebble)" ;; esac
done
for comp in "$@"; do
  started_at=$(date +%s.%N)
  "up_$comp"
  write_env
  log "$comp: up in $(awk -v a="$started_at" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
done
log "env: $TB/env"
