# One image for the API, the worker and the one-shot jobs (migrate, temporal-setup); the command differs.
#   docker build -t xueji .
# The build stage runs `npm run build` — the build `npm run test:production` runs and tests — and the image keeps
# only its output (dist/) with production dependencies: `node …`, no TypeScript toolchain. Node 22 is the LTS that
# test:production runs (infra/node-runtime.ts; a test keeps the two majors equal).

FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Production dependencies only, from the production lock file the build wrote into dist/.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY --from=build /src/dist/package.json /src/dist/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim
ENV NODE_ENV=production
# glibc's malloc keeps one arena per thread (64 MB reserved each) and the Temporal core runs a dozen threads: two
# arenas save 20–65 MB of RSS per process, as under `npm start` (scripts/start.sh; README "Performance").
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./
# Attachments and data belong to the unprivileged user: a new named volume mounted here takes this ownership.
RUN mkdir -p /attachments /app/data && chown node:node /attachments /app/data
USER node
# 3000: the API (and its /metrics); 9464: a worker's metrics (WORKER_METRICS_PORT).
EXPOSE 3000 9464
CMD ["node", "api/server.js"]
