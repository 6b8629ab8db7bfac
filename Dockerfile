# syntax=docker/dockerfile:1
# netagent: a multi-stage image. The build stage compiles TypeScript with the dev dependencies; the
# runtime stage holds only dist/, the production node_modules and a non-root user. No iproute2 or
# net-tools: the agent reads /proc itself.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the package's `prepare` would build before the sources are copied.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
# bin/: the build's warm-up run (scripts/code-cache.mjs) starts the CLI as users do.
COPY bin ./bin
COPY src ./src
COPY plugins ./plugins
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    NETAGENT_HEALTH_FILE=/var/lib/netagent/health.ndjson \
    NETAGENT_HEALTH_MAX_AGE_S=90
RUN groupadd --system --gid 10001 netagent \
 && useradd --system --uid 10001 --gid netagent --home-dir /var/lib/netagent --no-create-home \
      --shell /usr/sbin/nologin netagent \
 && install -d -o netagent -g netagent -m 0750 /var/lib/netagent \
 && install -d -m 0755 /etc/netagent
WORKDIR /opt/netagent
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY bin ./bin
COPY config/default.yaml ./config/default.yaml
COPY deploy/docker/healthcheck.mjs ./deploy/docker/healthcheck.mjs
COPY config/docker.yaml /etc/netagent/netagent.yaml
RUN ln -s /opt/netagent/bin/netagent /usr/local/bin/netagent

USER netagent:netagent
VOLUME ["/var/lib/netagent"]
# Liveness = agent.stats keeps arriving in the health file (see deploy/docker/healthcheck.mjs).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "/opt/netagent/deploy/docker/healthcheck.mjs"]
ENTRYPOINT ["netagent"]
CMD ["run", "-c", "/etc/netagent/netagent.yaml"]
