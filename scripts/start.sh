#!/bin/sh
# npm start: install, build, run Gantry with its embedded defaults (see README).
set -eu
cd "$(dirname "$0")/.."
[ -d node_modules ] && [ node_modules -nt package-lock.json ] || npm ci --no-audit --no-fund
npm run build
exec node bin/gantry run "$@"
