# syntax=docker/dockerfile:1.7
# The operator image: controllers, Marathon API and admin server in one static binary.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin marathon-operator \
 && cp target/release/marathon-operator /marathon-operator

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /marathon-operator /usr/local/bin/marathon-operator
USER nonroot:nonroot
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/marathon-operator"]
CMD ["run", "--testbed=never"]
