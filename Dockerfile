# Workstream in a container: the one `workstream` binary, with the built-in checker
# components compiled in (crates/workstream-sandbox/build.rs builds them for
# wasm32-wasip2 as part of the host build). docker-compose.yml runs it as API replicas
# and worker replicas on one PostgreSQL and one S3 bucket.
#
#   docker build -t workstream .
#   docker run --rm workstream --help

# --- build -------------------------------------------------------------------------
FROM rust:1.95.0-bookworm AS build
WORKDIR /src
# The checker components' target (rust-toolchain.toml lists it; nothing installs it
# implicitly).
RUN rustup target add wasm32-wasip2
COPY . .
RUN cargo build --release --locked -p workstream-cli \
 && install -m 0755 target/release/workstream /usr/local/bin/workstream

# --- run ---------------------------------------------------------------------------
FROM debian:bookworm-slim
# TLS roots for the identity provider's JWKS and for S3; PostgreSQL's server binaries
# only for `workstream up` (the embedded cluster), which a deployment does not use.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/workstream --create-home workstream
COPY --from=build /usr/local/bin/workstream /usr/local/bin/workstream
USER workstream
WORKDIR /var/lib/workstream
ENV WORKSTREAM_DATA_DIR=/var/lib/workstream \
    WORKSTREAM_BIND=0.0.0.0:8080
EXPOSE 8080 9090
ENTRYPOINT ["workstream"]
CMD ["serve"]
