#!/bin/sh
# run.sh: `npm run bench [-- --quick] [-- --only get-50,reload]` — issue 8's benchmark suite.
# Installs the reference servers when missing (scripts/testbed/install.sh: nginx, haproxy, wrk, and
# caddy when apt has it), raises the open-files limit for the 10,000-connection scenario, then hands
# over to the Node driver bench/run.mjs, pinned to the load-generator CPU. See docs/bench.md.
set -eu
cd "$(dirname "$0")/.."

if ! sh scripts/testbed/install.sh --check 2>/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    sh scripts/testbed/install.sh
  else
    echo "bench: some testbed packages are missing and installing needs root: sudo sh scripts/testbed/install.sh" >&2
    echo "bench: carrying on with what is installed (the driver says what it cannot run)" >&2
  fi
fi

# 10,000 client sockets plus 10,000 proxy-side sockets: every process started from here inherits this.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 12000 ]; then
  echo "bench: open-files limit is $(ulimit -n); idle-10k needs about 12000 (raise the hard limit: ulimit -Hn)" >&2
fi

# Node 24 from the node devDependency, as npm scripts have it, also when run.sh is started by hand.
PATH="$(pwd)/node_modules/.bin:$PATH"
exec taskset -c "${BENCH_CPU_LOAD:-0}" node bench/run.mjs "$@"
