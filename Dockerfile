# Gantry's image: `docker build -t gantry .`, then see README.md, "Running as a container".
#
# BASE is any image with Node.js 24 and npm on PATH and a POSIX shell: node:24-slim by default (the
# runtime stage inherits it too). Builds without network access use a context that already holds
# node_modules (scripts/image-context.sh) and any such base: the test bed builds this same file
# `--build-arg BASE=gantry-tb-node24:1` (scripts/testbed/up.sh makes it, no registry needed).
# Written for the legacy builder as well as BuildKit: no RUN --mount, no heredocs.
ARG BASE=node:24-slim

# ---- build: dev dependencies, TypeScript and the dashboard bundle, then only production dependencies
FROM ${BASE} AS build
WORKDIR /src
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
# The whole context at once, because node_modules may be part of it (an offline build). With the
# default context (.dockerignore leaves node_modules out), `npm ci` installs from the lock file.
COPY . .
RUN if [ -d node_modules ]; then echo "node_modules came with the build context: not running npm ci"; \
    else npm ci; fi
RUN npm run build && npm prune --omit=dev

# ---- runtime: compiled code, production dependencies, a non-root user
FROM ${BASE}
ENV NODE_ENV=production PATH=/app/bin:$PATH
WORKDIR /app
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/web ./dist/web
COPY --from=build /src/node_modules ./node_modules
# /data is the working directory: gantry.yaml and dynamic.yaml are read from it by default, and
# gantry-rest.json and acme.json are written to it (mount a volume there to keep them).
RUN mkdir -p /data && chown 1000:1000 /data
WORKDIR /data
# uid 1000 is the official node images' `node` user; numeric, so that Kubernetes' runAsNonRoot can
# check it. Ports 80 and 443 still bind: Docker (20.10+) sets net.ipv4.ip_unprivileged_port_start=0
# in a container's own network namespace, and Gantry then defaults to :80/:443 (see README.md for
# --network host). Reading the Docker socket needs its group: --group-add <gid of the socket>.
USER 1000:1000
EXPOSE 80 443 8080
# /ping answers 200 once every enabled provider has loaded its first configuration; the API is on
# 127.0.0.1:8080 unless GANTRY_API_ADDRESS says otherwise (the healthcheck reads it too).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["gantry", "healthcheck"]
ENTRYPOINT ["gantry"]
CMD ["run"]
