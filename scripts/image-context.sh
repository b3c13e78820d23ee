#!/bin/sh
# image-context.sh DIR: write a `docker build` context for Gantry's Dockerfile that needs no network:
# the files `docker build .` would send (the tree minus .dockerignore), plus the node_modules that
# `npm ci` installed here. The Dockerfile sees node_modules in the context and skips its `npm ci`.
#   npm ci && sh scripts/image-context.sh /tmp/gantry-ctx && docker build -t gantry /tmp/gantry-ctx
# node_modules must be a Linux x64 install (esbuild and TypeScript 7 bring native binaries), and the
# base image's Node must be 24. node_modules/node (the Node binary of the `node` devDependency,
# 190 MB) stays out: the base image has its own Node. DIR must not exist or be empty.
set -eu
[ $# -eq 1 ] || { echo "usage: image-context.sh DIR" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$1
[ -d "$repo/node_modules" ] || { echo "image-context.sh: no node_modules in $repo: run npm ci first" >&2; exit 1; }
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then echo "image-context.sh: $out is not empty" >&2; exit 1; fi
mkdir -p "$out"
# The .dockerignore'd files stay out, and .dockerignore itself too: it would hide node_modules.
tar -C "$repo" --exclude-from="$repo/.dockerignore" --exclude=./.dockerignore -cf - . | tar -C "$out" -xf -
tar -C "$repo" --exclude=node_modules/node --exclude=node_modules/.bin/node -cf - node_modules | tar -C "$out" -xf -
echo "image-context.sh: wrote $out ($(du -sh "$out" | cut -f1))" >&2
