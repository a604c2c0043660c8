# scalelab's binaries in a small image, for docker-compose.yml.
# Build: docker build -t scalelab .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/scalelab ./cmd/scalelab \
 && CGO_ENABLED=0 go build -trimpath -o /out/scalelab-cgi ./stages/cgi/program

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /data scalelab \
 && mkdir -p /data && chown scalelab /data
COPY --from=build /out/scalelab /out/scalelab-cgi /usr/local/bin/
USER scalelab
WORKDIR /data
# The image pool is written under /data/images by "scalelab seed --state /data".
ENTRYPOINT ["scalelab"]
CMD ["--help"]
