# The fastway gateway in a container: docs/operating.md, "Running in a container".
#   docker build -t fastway .
#   docker run --rm -p 7000:7000 -e FASTWAY_SERVER_AUTH_KEY="$KEY" fastway
# test/dockerfile.test.ts checks every path copied here and runs these steps as a script.

# Build: every dependency, then the compiled library, CLI and browser bundle in dist/.
FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --no-audit --no-fund
COPY src ./src
COPY scripts ./scripts
RUN npm run build

# Production dependencies only.
FROM node:22-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# The image: dist/, production dependencies, the health check; run as the unprivileged node user.
FROM node:22-slim
WORKDIR /app
ENV NODE_ENV=production \
    FASTWAY_CLIENT_ADDR=0.0.0.0:7000 \
    FASTWAY_SERVER_ADDR=0.0.0.0:7001 \
    FASTWAY_METRICS_ADDR=0.0.0.0:9464
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs
USER node
EXPOSE 7000 7001 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["node", "scripts/healthcheck.mjs"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli/main.js"]
