# syntax=docker/dockerfile:1
#
# Herald container image. The steps are the commands CI runs (`npm ci`, `npm run build`) and the start
# command is `npm run start:prod` (`node dist/main.js`); test/image-start.e2e-spec.ts boots exactly this
# CMD and probes it with exactly this HEALTHCHECK, so the image and the test cannot drift apart.
#
#   docker build -t herald .
#   docker run --rm -p 6001:6001 -e HERALD_APPS='[{"id":"…","key":"…","secret":"…","apiKeys":["…"]}]' herald
#
# Node 22 (LTS) by default: some dependencies (nestjs-pino 5, @nats-io/nuid 3) declare node >= 22.
# `--build-arg NODE_VERSION=20` gives the same major as the CI machines (package.json: node >= 20.19).
ARG NODE_VERSION=22

# ---- build: full install from the lock file, compile src/ to dist/ ------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY nest-cli.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies + dist/ only, non-root -----------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=6001
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist

# The official image's unprivileged user (uid 1000); nothing under /app is writable by it.
USER node
EXPOSE 6001
# Slim images have no curl: probe liveness with node's fetch. Readiness (/health/ready) is for load
# balancers and Kubernetes; a draining node must not be restarted by Docker, so only liveness here.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||6001)+'/health/live',{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
# Herald drains on SIGTERM: readiness 503, clients told to reconnect (bus/RPC/topics 1012, Pusher 4200),
# exit 0 within HERALD_SHUTDOWN_GRACE_MS (default 10 s). Give the runtime a stop timeout above that.
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
