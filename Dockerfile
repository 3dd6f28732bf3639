# syntax=docker/dockerfile:1.7
# The operator image: controllers, Marathon API and admin server in one binary, on a distroless
# runtime as a non-root user.
#
#   docker build -t marathon-operator:0.1.0 \
#     --build-arg SOURCE_URL=https://<where this repository lives> .
#
# Dependencies build in their own layer from cargo-chef's recipe (Cargo.toml and Cargo.lock
# only), so a source change rebuilds only this crate. tests/helm_image.rs runs hadolint on this
# file, and the `cargo build` command below (as `cargo check`, without --release) on exactly the
# files .dockerignore admits.
ARG RUST_IMAGE=rust:1.95-bookworm

FROM ${RUST_IMAGE} AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --bin marathon-operator --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin marathon-operator \
 && cp target/release/marathon-operator /marathon-operator

# glibc and CA certificates, no shell; uid 65532 is distroless's "nonroot".
FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
ARG SOURCE_URL=unknown
LABEL org.opencontainers.image.title="marathon-operator" \
      org.opencontainers.image.description="Run Marathon apps on Kubernetes: MarathonApp CRDs, controllers and a Marathon /v2 REST facade" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /marathon-operator /usr/local/bin/marathon-operator
# Numeric, so Kubernetes can check runAsNonRoot.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/marathon-operator"]
CMD ["run", "--testbed=never"]
