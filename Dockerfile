# syntax=docker/dockerfile:1
#
# sqlgate: build with dev dependencies, run with production dependencies only, as a non-root user, with
# node itself as PID 1's program (no npm or shell in between, so SIGTERM reaches it and shutdown drains).
#
#   docker build -t sqlgate .
#   deploy/image/build.sh        # the same without a registry: buildah on a base made by build-base.sh
#   docker run -p 8080:8080 -v sqlgate-data:/data \
#     -v "$PWD/sqlgate.yaml:/config/sqlgate.yaml:ro" -e SQLGATE_CONFIG=/config/sqlgate.yaml sqlgate
#
# The server listens on 0.0.0.0 in the container, and sqlgate refuses a non-loopback address unless `auth`
# is configured: mount a config file with auth.apiKeys or auth.jwt (above), or, on a private network
# only, run `docker run ... sqlgate serve --insecure`. See docs/configuration.md, "Docker".

ARG NODE_IMAGE=node:20-bookworm-slim

# --- toolchain: what a native module needs when no prebuilt binary can be fetched ---------------------
# better-sqlite3 (12.x; 13 crashes on Node 20) installs a prebuilt binary when it can download one and
# compiles from source otherwise: python3, make and g++, plus the headers the image already has under
# /usr/local (npm_config_nodedir), so a source build needs no download either.
FROM ${NODE_IMAGE} AS toolchain
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local
WORKDIR /app
COPY package.json package-lock.json ./

# --- build: every dependency, then TypeScript -> dist/ and the bundled CLI (scripts/bundle.mjs), then the
# dev dependencies are pruned so node_modules is what production needs (one install, one native compile).
# A build behind a TLS-intercepting proxy passes that proxy's CA bundle as the build secret `ca`
# (`--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt`, see deploy/image/build.sh): it is mounted for
# the npm ci step only and is in no layer of any stage. Without the secret the file is absent and node's
# own CA list is used.
FROM toolchain AS build
RUN --mount=type=secret,id=ca,required=false \
  NODE_EXTRA_CA_CERTS=/run/secrets/ca npm ci --no-audit --no-fund \
  && npm cache clean --force
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle.mjs ./scripts/
COPY src ./src
COPY routes ./routes
# better-sqlite3's compile leaves its C sources and object files (~25 MB) next to the one .node it loads.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund \
  && cd node_modules/better-sqlite3 \
  && rm -rf deps src build/deps build/Release/obj build/Release/obj.target build/Release/.deps build/Release/test_extension.node

# --- slim: the base without what only builds need (npm, node headers, apt lists), flattened into one layer
# by the FROM scratch below, so removed files really leave the image.
FROM ${NODE_IMAGE} AS slim
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /usr/local/include/node \
    /opt/yarn* /usr/local/bin/yarn /usr/local/bin/yarnpkg /var/lib/apt/lists/* /root/.npm \
  && mkdir -p /data /app && chown node:node /data

# --- runtime: no compiler, no package manager, no dev dependencies, no sources -------------------------
FROM scratch AS runtime
COPY --from=slim / /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_ENV=production \
    SQLGATE_HOST=0.0.0.0 \
    SQLGATE_PORT=8080 \
    DATABASE_URL=sqlite:/data/sqlgate.sqlite
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# /data holds the SQLite file of the zero-config start (DATABASE_URL above); owned by the runtime user.
# Nothing else is written at run time, so `--read-only` (a read-only root filesystem) works with /data as a
# volume; node needs no writable /tmp.
USER node
VOLUME ["/data"]
EXPOSE 8080
# No curl in the image: node itself asks /healthz (public even with auth configured). Image formats keep
# HEALTHCHECK only in the Docker format (buildah/podman: --format docker).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.SQLGATE_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node is PID 1 (no shell, no npm): SIGTERM reaches sqlgate, which drains and exits 0.
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["serve"]
