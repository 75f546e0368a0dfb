# One image for gw-gateway and gw-agent (docs/deploy.md). The install step is the
# flow test/integration/package.test.ts runs: `npm pack`, then `npm install <tgz>`
# into an empty app.
#   docker build -t gw:0.1.0 .
#   docker run --rm -p 8000:8000 gw:0.1.0                      # gw-gateway (default)
#   docker run --rm gw:0.1.0 gw-agent run --help               # the sidecar

FROM node:24-slim AS pack
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --no-audit --no-fund
COPY gateway ./gateway
COPY contract ./contract
COPY sdk ./sdk
COPY agent ./agent
COPY test ./test
COPY bench ./bench
COPY examples ./examples
# prepack builds dist/
RUN npm pack --pack-destination /pkg

FROM node:24-slim
# tini is PID 1: SIGTERM from ECS reaches node, zombies are reaped
# (alternatively set "initProcessEnabled": true in the ECS task definition)
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=pack /pkg/*.tgz /tmp/
RUN echo '{"name":"gw-app","private":true}' > package.json \
 && npm install --omit=dev --no-audit --no-fund /tmp/gw-agent-*.tgz \
 && rm /tmp/gw-agent-*.tgz \
 && mkdir -p /data && chown node:node /data
ENV PATH=/app/node_modules/.bin:$PATH \
    NODE_ENV=production \
    GW_DATA_DIR=/data \
    GW_STATUS_LISTEN=0.0.0.0:8100
USER node
EXPOSE 8000 8001 8100
# the status listener answers /status without admin rights (the admin token stays private)
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8100/status').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["gw-gateway"]
