#!/bin/sh
# npm test: install what the tests need, build, run every test. Filled in as the test bed grows.
set -eu
cd "$(dirname "$0")/.."
[ -d node_modules ] && [ node_modules -nt package-lock.json ] || npm ci --no-audit --no-fund
npm run build
node --test --test-concurrency=1 dist/src dist/test
