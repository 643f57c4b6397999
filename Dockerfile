# The webhook's image: `docker build -t pod-identity-webhook:dev .` from the repository root.
# Both stages run Node 24, the line `npm start` and the tests use (package.json devDependencies:
# node). The final image holds what `npm pack` and `npm ci --omit=dev` give: package.json, the
# production dependencies, dist/src and manifests/ (test/e2e/image.e2e.ts assembles that same
# layout and runs the webhook from it).
FROM node:24-trixie-slim AS build
WORKDIR /src
# Dependencies first, so that a change to the sources does not reinstall them. --ignore-scripts:
# `prepare` would build without the sources, and the node package's preinstall would download a
# second Node 24; this stage's own Node runs the compiler.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
# The image has no .git: `version` reads the commit from dist/src/build-info.json, written here
# from the build argument (docker build --build-arg GIT_COMMIT=$(git rev-parse HEAD) .).
ARG GIT_COMMIT=unknown
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json && GIT_COMMIT="${GIT_COMMIT}" node scripts/build-info.mjs && npm prune --omit=dev --ignore-scripts

FROM gcr.io/distroless/nodejs24-debian13:nonroot
ARG VERSION=0.1.0
ARG GIT_COMMIT=unknown
LABEL org.opencontainers.image.title="pod-identity-webhook" \
      org.opencontainers.image.revision="${GIT_COMMIT}" \
      org.opencontainers.image.description="IAM roles for service accounts (IRSA) mutating admission webhook for Kubernetes" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="gcr.io/distroless/nodejs24-debian13:nonroot"
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY manifests ./manifests
USER 65532:65532
EXPOSE 8443 9999
ENTRYPOINT ["/nodejs/bin/node", "dist/src/cli.js"]
CMD ["serve"]
