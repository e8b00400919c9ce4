# syntax=docker/dockerfile:1
#
# sqlgate: build with dev dependencies, run with production dependencies only, as a non-root user, with
# node itself as PID 1's program (no npm or shell in between, so SIGTERM reaches it and shutdown drains).
#
#   docker build -t sqlgate .
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

# --- build: every dependency, then TypeScript -> dist/ and the bundled CLI (scripts/bundle.mjs) ---------
FROM toolchain AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle.mjs ./scripts/
COPY src ./src
COPY routes ./routes
RUN npm run build

# --- prod-deps: production dependencies only, native modules built for this image ---------------------
FROM toolchain AS prod-deps
RUN npm ci --omit=dev --no-audit --no-fund \
  && npm cache clean --force

# --- runtime: no compiler, no dev dependencies, no sources ---------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    SQLGATE_HOST=0.0.0.0 \
    SQLGATE_PORT=8080 \
    DATABASE_URL=sqlite:/data/sqlgate.sqlite
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# /data holds the SQLite file of the zero-config start (DATABASE_URL above); owned by the runtime user.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
# No curl in slim images: node itself asks /healthz (public even with auth configured).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.SQLGATE_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["serve"]
