# One image for all four services (and the migration job): the command picks one.
#
#   docker build -t commerce-graph .
#   docker run -p 4000:4000 --env-file .env commerce-graph                          # the gateway (CMD)
#   docker run --env-file .env commerce-graph node dist/users/index.js              # users; products, orders alike
#   docker run --env-file .env commerce-graph node dist/db/index.js migrate         # the migration job (then `seed`, once, if wanted)
#
# Build stage: every dependency, the generated code (Prisma clients, resolver types) and
# `npm run build`, which bundles each service into dist/<name>/index.js and copies the files they
# read at run time (SDL, supergraph, Prisma schemas, migrations) into dist/. Runtime stage:
# production dependencies only, and dist/. The generated Prisma clients are TypeScript compiled
# into the bundles, so nothing of src/generated is needed at run time; what the bundles leave in
# node_modules (PGlite, Prisma's runtime, pg, pino: scripts/build.ts EXTERNAL) comes from
# `npm ci --omit=dev`. See docs/deploy.md.
ARG NODE_IMAGE=node:20-bookworm-slim

# The workspace manifests: npm ci needs every workspace's package.json, and nothing else, so the
# dependency layers are rebuilt only when a manifest or the lockfile changes.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY gateway/package.json gateway/
COPY packages/harness/package.json packages/harness/
COPY packages/messaging/package.json packages/messaging/
COPY packages/platform/package.json packages/platform/
COPY packages/subgraph-kit/package.json packages/subgraph-kit/
COPY prisma/package.json prisma/
COPY subgraphs/users/package.json subgraphs/users/
COPY subgraphs/products/package.json subgraphs/products/
COPY subgraphs/orders/package.json subgraphs/orders/

FROM manifests AS build
ENV CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1 TURBO_TELEMETRY_DISABLED=1
# Install scripts off: the root postinstall (code generation) needs the sources, which are not
# here yet, and Prisma's would download engines the build never runs. Generation is explicit below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run generate && npm run build

FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: it forwards SIGTERM to node (which drains, see docs/operations.md) and reaps zombies.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production NODE_OPTIONS=--enable-source-maps
COPY --from=manifests /app ./
# Production dependencies only; no install scripts (the postinstall's code generation needs dev
# dependencies, and its output is already in the bundles).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The embedded default (no DATABASE_URL) keeps PGlite data and development keys in DATA_DIR=.data.
RUN mkdir -p .data && chown node:node .data
USER node
# gateway, users, products, orders (each also honours PORT).
EXPOSE 4000 4001 4002 4003
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["node", "dist/healthcheck/index.js"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/gateway/index.js"]
