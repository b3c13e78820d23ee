#!/bin/sh
# npm test: install what the tests need (npm packages and the test bed's Debian packages), build,
# start the real servers (dockerd, etcd, Pebble), run every test, stop what was started.
set -eu
cd "$(dirname "$0")/.."
sh scripts/testbed/install.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund
fi
npm run build
sh scripts/testbed/up.sh
# TESTBED_KEEP=1 leaves the test bed running afterwards (for repeated local runs).
[ -n "${TESTBED_KEEP:-}" ] || trap 'sh scripts/testbed/down.sh >/dev/null 2>&1 || true' EXIT INT TERM
sh scripts/testbed/check.sh
# One file at a time: several tests start real servers and measure timings on a 2-core machine.
# Bounded: a test that leaves a handle open must fail the run, not hang it.
timeout --signal=TERM 2400 node --test --test-concurrency=1 'dist/src/**/*.test.js' 'dist/test/integration/*.test.js' 'dist/test/reliability/*.test.js'
