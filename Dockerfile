# syntax=docker/dockerfile:1
#
# mcapflow container image. Build from the repository root:
#
#   docker build --platform linux/amd64 -t mcapflow:0.1.0 .
#   docker run --rm mcapflow:0.1.0 serve --role worker      # needs REDIS_URL and S3_ENDPOINT
#
# Pinned to linux/amd64, the platform the image is tested on (the lockfile holds every
# platform's optional binaries; native addons such as zstd-napi are compiled in the build stage).
#
# Base images are pinned to exact versions; Node 20.20.2 is the version the test suite runs on.
# To pin by digest as well, append @sha256:… (`docker buildx imagetools inspect node:20.20.2-bookworm-slim`).

# ---- build: production dependencies, native addons compiled against this exact Node ----------
FROM --platform=linux/amd64 node:20.20.2-bookworm AS build

# Node 20 bundles npm 10, which runs every package's install scripts; npm 11 runs them only for
# the packages listed under "allowScripts" in package.json, which is how this project installs.
RUN npm install --global npm@11.19.1 && npm --version

# node-gyp (hnswlib-node, and msgpackr-extract when no prebuilt binary fits) needs python3, make
# and g++, which this full Debian image has; fail early and clearly if that ever changes. Headers
# come from this Node installation, never from the network.
RUN python3 --version && make --version && g++ --version
ENV npm_config_nodedir=/usr/local \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false

WORKDIR /app
COPY package.json package-lock.json ./
# `npm ci`: exactly the lockfile, which holds every platform's optional binaries.
# --omit=dev leaves out tests and type-checking.
RUN npm ci --omit=dev --no-audit --no-fund

# Prove the image can run before it is shipped: load every native or wasm dependency and run a
# query through DuckDB, then let the CLI itself start (tsx transpiles src/ at run time).
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
RUN node --input-type=module -e " \
      const pkg = JSON.parse(await (await import('node:fs/promises')).readFile('package.json', 'utf8')); \
      const { DuckDBInstance } = await import('@duckdb/node-api'); \
      const connection = await (await DuckDBInstance.create(':memory:')).connect(); \
      await connection.run('SELECT 42'); \
      await import('parquet-wasm'); \
      await import('msgpackr-extract'); \
      if (pkg.dependencies['hnswlib-node']) await import('hnswlib-node'); \
      console.log('native dependencies load'); \
    " \
 && node bin/mcapflow.js --help >/dev/null \
 && node bin/mcapflow.js config --markdown >/dev/null

# ---- runtime: slim Debian (glibc, as the DuckDB bindings need), non-root, no build tools -------
FROM --platform=linux/amd64 node:20.20.2-bookworm-slim AS runtime

LABEL org.opencontainers.image.title="mcapflow" \
      org.opencontainers.image.description="Distributed pipeline that turns MCAP robot recordings in S3 into queryable Parquet tables" \
      org.opencontainers.image.licenses="Apache-2.0"

# A fixed numeric uid/gid, so Kubernetes can verify runAsNonRoot without a runAsUser override.
RUN groupadd --system --gid 10001 mcapflow \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/mcapflow --no-create-home \
      --shell /usr/sbin/nologin mcapflow \
 && mkdir -p /var/lib/mcapflow \
 && chown 10001:10001 /var/lib/mcapflow

# Container defaults (every one can be overridden; docs/configuration.md lists them all):
# listen on all interfaces, keep state (query cache, tsx cache via HOME) in one writable
# directory, never try to start a redis-server (there is none in the image).
ENV NODE_ENV=production \
    HOME=/var/lib/mcapflow \
    TSX_TSCONFIG_PATH=/app/tsconfig.json \
    MCAPFLOW_HOME=/var/lib/mcapflow \
    MCAPFLOW_HTTP_HOST=0.0.0.0 \
    MCAPFLOW_HTTP_PORT=8080 \
    MCAPFLOW_SPAWN_REDIS=false

# Application files stay owned by root: the service user can read them, not change them.
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/package.json /app/tsconfig.json ./
COPY --from=build /app/bin ./bin
COPY --from=build /app/src ./src

USER 10001:10001
EXPOSE 8080

ENTRYPOINT ["node", "/app/bin/mcapflow.js"]
CMD ["--help"]
