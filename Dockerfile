# Gavel: one static binary with several roles (api, worker, scheduler, recommender, migrate,
# seed, user, dev). The image runs `gavel api` unless given another command:
#   docker build -t gavel:local .
#   docker run --rm -e DATABASE_URL=... -e REDIS_URL=... gavel:local migrate
#   docker run --rm -p 8080:8080 gavel:local dev      # embedded SQLite + Redis, data in /app/data

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, in their own layer: it is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Pure Go (SQLite is modernc.org/sqlite), so the binary is static and runs on distroless/static.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/gavel ./cmd/gavel \
 && mkdir -p /out/app/data

FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
COPY --from=build /out/gavel /gavel
# The data directory (uploaded images; the SQLite file under `gavel dev`) belongs to the nonroot
# user (65532). Docker copies a directory's contents and owner into an empty named volume mounted
# on it, so a fresh volume at /app/data is writable. A bind mount keeps the host's owner instead.
# (Copying /out/app's contents creates data/ itself with that owner.)
COPY --from=build --chown=65532:65532 /out/app /app
ENV GAVEL_DATA_DIR=/app/data
USER 65532:65532
EXPOSE 8080
# No HEALTHCHECK: distroless has no shell, curl or wget, and gavel has no probe subcommand.
# Health is checked from outside the container: an orchestrator's HTTP probes (GET /healthz for
# liveness, GET /readyz for readiness), or, in docker-compose.yml, nginx's passive checks.
ENTRYPOINT ["/gavel"]
CMD ["api"]
