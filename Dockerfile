# scalelab's binaries in a small image: the one image docker-compose.yml and
# every manifest in deploy/k8s run.
# Build: make image (docker build -t scalelab:dev .)
#
# It runs as the non-root user 10001, given as a number so that Kubernetes
# can check runAsNonRoot, and writes nothing outside /data (its state folder,
# a volume in every manifest) and /tmp: it runs with a read-only root file
# system.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/scalelab ./cmd/scalelab \
 && CGO_ENABLED=0 go build -trimpath -o /out/scalelab-cgi ./stages/cgi/program

FROM debian:bookworm-slim
RUN groupadd --system --gid 10001 scalelab \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data scalelab \
 && mkdir -p /data/images && chown -R 10001:10001 /data
COPY --from=build /out/scalelab /out/scalelab-cgi /usr/local/bin/
# /data/images exists in the image so that an empty Docker volume mounted
# there (docker-compose.yml's images) starts as the user's, not root's.
USER 10001:10001
WORKDIR /data
# The image pool is written under /data/images by "scalelab seed --state /data"
# (or "scalelab images /data/images" alone).
ENTRYPOINT ["scalelab"]
CMD ["--help"]
