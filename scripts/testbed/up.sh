#!/bin/sh
# up.sh: start Gantry's test bed on 127.0.0.1 and write $TESTBED_DIR/env for the tests.
#   up.sh [docker|etcd|etcd-auth|pebble|pebble-eab|redis]...      no argument = all of them
# Idempotent: what already runs (ours, or a dockerd someone else started) is reused; images are
# rebuilt only when their inputs changed. Each component waits until it answers, within a bound;
# on failure the last log lines are printed and the exit status is non-zero.
# State: $TESTBED_DIR (default <repo>/.testbed). Needs the packages of scripts/testbed/install.sh.
# Env: TESTBED_TIMEOUT (seconds per wait, default 30), PEBBLE_HTTP_PORT (18880), PEBBLE_TLS_PORT (18443),
#      GANTRY_TB_ETCD_PORT (12379), GANTRY_TB_ETCD_CLUSTER_BASE (12389: members on 12389/12399/12409),
#      GANTRY_TB_ETCD_AUTH_PORT (13379, peer 13380: the TLS + auth member),
#      PEBBLE_EAB_ACME_PORT (14100), PEBBLE_EAB_MGMT_PORT (15100), PEBBLE_EAB_HTTP_PORT (19880),
#      PEBBLE_EAB_TLS_PORT (19881): the second Pebble, which requires External Account Binding.
#      GANTRY_TB_REDIS_PORT (16379), GANTRY_TB_REDIS_TLS_PORT (16380).
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
  # The project's Node 24 (the node devDependency), whatever `node` is first on PATH: a test image
  # that ran bin/gantry with the machine's older Node would fail.
  if [ -x "$TB_REPO/node_modules/.bin/node" ]; then NODE=$(readlink -f "$TB_REPO/node_modules/.bin/node"); else NODE=$(readlink -f "$(command -v node)"); fi
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

# ---------------------------------------------------------------- etcd-auth
# One more member, set up as an etcd that holds ACME private keys should be: TLS with client
# certificates (--client-cert-auth) and users (auth enable). Certificates come from a throwaway CA
# made here with openssl. User "gantry" has role "gantry": readwrite on the prefix "gantry" (the
# tests' rootKeys gantry-test-*, their ACME keys <rootKey>.acme/) and read on "/services/"
# (Registrator). "root" exists because etcd needs it to enable auth; the tests use it to add users.
# Pitfalls (etcd 3.4): the JSON gateway presents the server certificate as its own client
# certificate, so the server's Common Name must not be a user name; and with auth on, the gateway
# answers 400 to a client certificate that has a Common Name, so the client certificate has none
# (client-cn.pem has one, for the test of that refusal).
etcd_auth_ctl() {
  ETCDCTL_API=3 etcdctl --endpoints "https://127.0.0.1:$ETCD_AUTH_PORT" --dial-timeout 2s --command-timeout 5s \
    --cacert "$d/ca.pem" --cert "$d/client.pem" --key "$d/client-key.pem" "$@"
}
etcd_auth_healthy() {
  curl -fsS --max-time 1 --cacert "$d/ca.pem" --cert "$d/client.pem" --key "$d/client-key.pem" \
    "https://127.0.0.1:$ETCD_AUTH_PORT/health" 2>/dev/null | grep -q '"health":"true"'
}
# etcd_auth_cert NAME SUBJECT EXTENSIONS: a leaf signed by the test bed's etcd CA.
etcd_auth_cert() {
  printf '%b\n' "$3" > "$d/$1.ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$d/$1-key.pem" -out "$d/$1.csr" -subj "$2" 2>/dev/null
  openssl x509 -req -in "$d/$1.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 3650 \
    -extfile "$d/$1.ext" -out "$d/$1.pem" 2>/dev/null
  rm -f "$d/$1.csr" "$d/$1.ext"
}

up_etcd_auth() {
  command -v etcd >/dev/null || die "etcd not installed: run scripts/testbed/install.sh"
  command -v etcdctl >/dev/null || die "etcdctl not installed: run scripts/testbed/install.sh"
  d="$TB/etcd-auth"; mkdir -p "$d"
  if [ ! -f "$d/client-cn.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -keyout "$d/ca.key" -out "$d/ca.pem" -subj "/CN=gantry testbed etcd CA" 2>/dev/null
    etcd_auth_cert server "/CN=gantry-testbed-etcd-server" \
      'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth'
    etcd_auth_cert client "/O=gantry testbed" 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth'
    etcd_auth_cert client-cn "/CN=gantry" 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth'
    chmod 600 "$d"/*-key.pem "$d/ca.key"
  fi
  for u in root gantry; do
    [ -s "$d/$u.password" ] || od -An -N12 -tx1 /dev/urandom | tr -d ' \n' > "$d/$u.password"
  done
  # --auth-token-ttl 3: an idle client's token expires within seconds, so every test that uses
  # this member also exercises the refresh of an expired token.
  cat > "$d/etcd.sh" <<SH
#!/bin/sh
# Start the TLS + auth etcd member (client https://127.0.0.1:$ETCD_AUTH_PORT, peer $ETCD_AUTH_PEER_PORT); writes etcd.pid. Written by up.sh.
etcd --name auth --data-dir '$d/data' \\
  --listen-client-urls https://127.0.0.1:$ETCD_AUTH_PORT --advertise-client-urls https://127.0.0.1:$ETCD_AUTH_PORT \\
  --listen-peer-urls http://127.0.0.1:$ETCD_AUTH_PEER_PORT --initial-advertise-peer-urls http://127.0.0.1:$ETCD_AUTH_PEER_PORT \\
  --initial-cluster auth=http://127.0.0.1:$ETCD_AUTH_PEER_PORT --initial-cluster-state new --initial-cluster-token gantry-tb-auth \\
  --client-cert-auth --trusted-ca-file '$d/ca.pem' --cert-file '$d/server.pem' --key-file '$d/server-key.pem' \\
  --auth-token-ttl 3 --logger zap --log-outputs stderr --log-level warn \\
  >>'$d/etcd.log' 2>&1 </dev/null &
echo \$! > '$d/etcd.pid'
SH
  chmod +x "$d/etcd.sh"
  # Users are set up once, on a fresh data dir; the marker says it was completed. Without it the
  # data may hold a half-done setup, so it is started afresh.
  if [ ! -f "$d/auth-done" ]; then
    if p=$(pid_of "$d/etcd.pid"); then stop_pid "$p" "etcd auth"; fi
    rm -rf "$d/data" "$d/etcd.pid"
  fi
  if ! pid_of "$d/etcd.pid" >/dev/null; then
    if port_busy "$ETCD_AUTH_PORT" || port_busy "$ETCD_AUTH_PEER_PORT"; then
      die "etcd auth: port $ETCD_AUTH_PORT or $ETCD_AUTH_PEER_PORT is in use by a process that is not ours"
    fi
    "$d/etcd.sh"
  fi
  n=0
  until etcd_auth_healthy; do
    n=$((n+1))
    if ! pid_of "$d/etcd.pid" >/dev/null || [ "$n" -gt $((TIMEOUT * 10)) ]; then
      log "etcd auth did not come up; last log lines:"; tail -10 "$d/etcd.log" >&2; exit 1
    fi
    sleep 0.1
  done
  if [ ! -f "$d/auth-done" ]; then
    rootpw=$(cat "$d/root.password"); gpw=$(cat "$d/gantry.password")
    etcd_auth_ctl user add root --new-user-password="$rootpw" >/dev/null
    etcd_auth_ctl user grant-role root root >/dev/null
    etcd_auth_ctl user add gantry --new-user-password="$gpw" >/dev/null
    etcd_auth_ctl role add gantry >/dev/null
    etcd_auth_ctl role grant-permission gantry --prefix=true readwrite gantry >/dev/null
    etcd_auth_ctl role grant-permission gantry --prefix=true read /services/ >/dev/null
    etcd_auth_ctl user grant-role gantry gantry >/dev/null
    etcd_auth_ctl auth enable >/dev/null
    touch "$d/auth-done"
  fi
  # What the tests rely on: gantry reads and writes its prefix, and nothing works without a user.
  etcd_auth_ctl --user "gantry:$(cat "$d/gantry.password")" put gantry-testbed-probe ok >/dev/null ||
    die "etcd auth: user gantry cannot write under gantry"
  if etcd_auth_ctl get gantry-testbed-probe >/dev/null 2>&1; then die "etcd auth: a read without a user succeeded"; fi
  log "etcd auth: healthy at https://127.0.0.1:$ETCD_AUTH_PORT (TLS client certificates, user gantry)"
  {
    echo "GANTRY_TB_ETCD_AUTH=https://127.0.0.1:$ETCD_AUTH_PORT"
    echo "GANTRY_TB_ETCD_AUTH_DIR=$d"
    echo "GANTRY_TB_ETCD_AUTH_CA=$d/ca.pem"
    echo "GANTRY_TB_ETCD_AUTH_CERT=$d/client.pem"
    echo "GANTRY_TB_ETCD_AUTH_KEY=$d/client-key.pem"
    echo "GANTRY_TB_ETCD_AUTH_USER=gantry"
    echo "GANTRY_TB_ETCD_AUTH_PASSWORD=$(cat "$d/gantry.password")"
    echo "GANTRY_TB_ETCD_AUTH_ROOT_PASSWORD=$(cat "$d/root.password")"
  } > "$TB/env.d/etcd-auth"
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

# ---------------------------------------------------------------- pebble-eab
# A second Pebble that requires External Account Binding (RFC 8555 §7.3.4), as commercial CAs
# and some free ones do: accounts are created only with a key ID and an HMAC key it knows
# (externalAccountMACKeys). It also offers one alternate chain (PEBBLE_ALTERNATE_ROOTS=1), for
# acme.preferredChain. It resolves names with the pebble component's DNS server, so that one must
# be up; its validator connects to 127.0.0.1:$PEBBLE_EAB_HTTP_PORT / :$PEBBLE_EAB_TLS_PORT.
pebble_eab_answers() { curl -fsS --max-time 2 --cacert "$1/listener-ca.pem" "https://127.0.0.1:$PEBBLE_EAB_ACME_PORT/dir"; }

up_pebble_eab() {
  command -v pebble >/dev/null || die "pebble not installed: run scripts/testbed/install.sh"
  pid_of "$TB/pebble/dns.pid" >/dev/null || die "pebble-eab uses the DNS server of the pebble component: run up.sh pebble first"
  d="$TB/pebble-eab"; mkdir -p "$d"
  if [ ! -f "$d/listener-cert.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -keyout "$d/listener-ca.key" -out "$d/listener-ca.pem" -subj "/CN=gantry testbed pebble-eab listener CA" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$d/listener-key.pem" -out "$d/listener.csr" -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' > "$d/listener.ext"
    openssl x509 -req -in "$d/listener.csr" -CA "$d/listener-ca.pem" -CAkey "$d/listener-ca.key" \
      -CAcreateserial -days 3650 -extfile "$d/listener.ext" -out "$d/listener-cert.pem" 2>/dev/null
  fi
  # The MAC key is base64url without padding, as CAs hand them out (Traefik's eab.hmacEncoded).
  [ -s "$d/eab.hmac" ] || openssl rand 32 | base64 | tr '+/' '-_' | tr -d '=\n' > "$d/eab.hmac"
  kid=gantry-tb-kid-1
  cat > "$d/config.json.new" <<JSON
{
  "pebble": {
    "listenAddress": "127.0.0.1:$PEBBLE_EAB_ACME_PORT",
    "managementListenAddress": "127.0.0.1:$PEBBLE_EAB_MGMT_PORT",
    "certificate": "$d/listener-cert.pem",
    "privateKey": "$d/listener-key.pem",
    "httpPort": $PEBBLE_EAB_HTTP_PORT,
    "tlsPort": $PEBBLE_EAB_TLS_PORT,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": true,
    "externalAccountMACKeys": { "$kid": "$(cat "$d/eab.hmac")" }
  }
}
JSON
  if pid_of "$d/pebble.pid" >/dev/null && cmp -s "$d/config.json" "$d/config.json.new" && pebble_eab_answers "$d" >/dev/null 2>&1; then
    rm -f "$d/config.json.new"
    log "pebble-eab: already up"
  else
    if p=$(pid_of "$d/pebble.pid"); then stop_pid "$p" pebble-eab; fi
    rm -f "$d/pebble.pid"
    mv "$d/config.json.new" "$d/config.json"
    for port in "$PEBBLE_EAB_ACME_PORT" "$PEBBLE_EAB_MGMT_PORT"; do
      port_busy "$port" && die "pebble-eab: port $port is in use by a process that is not ours"
    done
    PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_ALTERNATE_ROOTS=1 \
      pebble -config "$d/config.json" -dnsserver "127.0.0.1:$PEBBLE_DNS_PORT" >"$d/pebble.log" 2>&1 </dev/null &
    echo $! > "$d/pebble.pid"
    n=0
    until pebble_eab_answers "$d" >/dev/null 2>&1; do
      n=$((n+1))
      if ! pid_of "$d/pebble.pid" >/dev/null || [ "$n" -gt $((TIMEOUT * 10)) ]; then
        log "pebble-eab did not come up; last log lines:"; tail -10 "$d/pebble.log" >&2; exit 1
      fi
      sleep 0.1
    done
    log "pebble-eab: started on https://127.0.0.1:$PEBBLE_EAB_ACME_PORT/dir"
  fi
  {
    echo "GANTRY_TB_PEBBLE_EAB_DIR=$d"
    echo "GANTRY_TB_PEBBLE_EAB_URL=https://127.0.0.1:$PEBBLE_EAB_ACME_PORT/dir"
    echo "GANTRY_TB_PEBBLE_EAB_MGMT_URL=https://127.0.0.1:$PEBBLE_EAB_MGMT_PORT"
    echo "GANTRY_TB_PEBBLE_EAB_CA=$d/listener-ca.pem"
    echo "GANTRY_TB_PEBBLE_EAB_HTTP_PORT=$PEBBLE_EAB_HTTP_PORT"
    echo "GANTRY_TB_PEBBLE_EAB_TLS_PORT=$PEBBLE_EAB_TLS_PORT"
    echo "GANTRY_TB_PEBBLE_EAB_KID=$kid"
    echo "GANTRY_TB_PEBBLE_EAB_HMAC=$(cat "$d/eab.hmac")"
  } > "$TB/env.d/pebble-eab"
}

# ---------------------------------------------------------------- redis
# One redis-server for the rate limiter shared across replicas: plain TCP on REDIS_PORT (the
# default user, no password, and an ACL user with a password for AUTH tests) and TLS on
# REDIS_TLS_PORT with a throwaway CA. Nothing is saved to disk.
REDIS_USER=gantry
REDIS_PASSWORD=gantry-testbed-secret
redis_answers() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --no-auth-warning ping 2>/dev/null | grep -q PONG; }

up_redis() {
  command -v redis-server >/dev/null || die "redis-server not installed: run scripts/testbed/install.sh"
  d="$TB/redis"; mkdir -p "$d"
  if [ ! -f "$d/redis-cert.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -keyout "$d/ca.key" -out "$d/ca.pem" -subj "/CN=gantry testbed redis CA" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$d/redis-key.pem" -out "$d/redis.csr" -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$d/redis.ext"
    openssl x509 -req -in "$d/redis.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 3650 \
      -extfile "$d/redis.ext" -out "$d/redis-cert.pem" 2>/dev/null
  fi
  cat > "$d/redis.conf.new" <<CONF
bind 127.0.0.1
port $REDIS_PORT
tls-port $REDIS_TLS_PORT
tls-cert-file $d/redis-cert.pem
tls-key-file $d/redis-key.pem
tls-ca-cert-file $d/ca.pem
tls-auth-clients optional
save ""
appendonly no
daemonize no
dir $d
logfile $d/redis.log
user default on nopass ~* &* +@all
user $REDIS_USER on >$REDIS_PASSWORD ~* &* +@all
CONF
  if pid_of "$d/redis.pid" >/dev/null && cmp -s "$d/redis.conf" "$d/redis.conf.new" && redis_answers; then
    rm -f "$d/redis.conf.new"
    log "redis: already up"
  else
    if p=$(pid_of "$d/redis.pid"); then stop_pid "$p" redis; fi
    rm -f "$d/redis.pid"
    mv "$d/redis.conf.new" "$d/redis.conf"
    for port in "$REDIS_PORT" "$REDIS_TLS_PORT"; do
      port_busy "$port" && die "redis: port $port is in use by a process that is not ours"
    done
    redis-server "$d/redis.conf" >/dev/null 2>&1 </dev/null &
    echo $! > "$d/redis.pid"
    n=0
    until redis_answers; do
      n=$((n+1))
      if ! pid_of "$d/redis.pid" >/dev/null || [ "$n" -gt $((TIMEOUT * 20)) ]; then
        log "redis did not come up; last log lines:"; tail -10 "$d/redis.log" >&2
        exit 1
      fi
      sleep 0.05
    done
    log "redis: started on 127.0.0.1:$REDIS_PORT (TLS $REDIS_TLS_PORT)"
  fi
  {
    echo "GANTRY_TB_REDIS=127.0.0.1:$REDIS_PORT"
    echo "GANTRY_TB_REDIS_TLS=127.0.0.1:$REDIS_TLS_PORT"
    echo "GANTRY_TB_REDIS_CA=$d/ca.pem"
    echo "GANTRY_TB_REDIS_USER=$REDIS_USER"
    echo "GANTRY_TB_REDIS_PASSWORD=$REDIS_PASSWORD"
    echo "GANTRY_TB_REDIS_DIR=$d"
  } > "$TB/env.d/redis"
}

# ---------------------------------------------------------------- main
[ $# -gt 0 ] || set -- docker etcd etcd-auth pebble pebble-eab redis
mkdir -p "$TB/env.d"
for comp in "$@"; do
  case "$comp" in docker|etcd|etcd-auth|pebble|pebble-eab|redis) ;; *) die "unknown component '$comp' (docker, etcd, etcd-auth, pebble, pebble-eab, redis)" ;; esac
done
for comp in "$@"; do
  started_at=$(date +%s.%N)
  "up_$(echo "$comp" | tr - _)"
  write_env
  log "$comp: up in $(awk -v a="$started_at" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
done
log "env: $TB/env"
