# syntax=docker/dockerfile:1
# orb-mock: build the release binary, then ship it alone in a small non-root image.

FROM rust:1-bookworm AS build
WORKDIR /src
# Dependencies first, so that editing orb-mock's own code does not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked --bin orb-mock \
    && rm -rf src
COPY src src
COPY migrations migrations
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin orb-mock \
    && mkdir /data

# glibc and libgcc only; no shell, no package manager. Runs as uid 65532 (nonroot).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/orb-mock /usr/local/bin/orb-mock
# A writable home for file-backed SQLite stores (DATABASE_URL=sqlite:///data/orb-mock.db).
COPY --from=build --chown=65532:65532 /data /data
WORKDIR /data
USER 65532:65532
ENV ORB_MOCK_LISTEN=0.0.0.0:4010
EXPOSE 4010
# The image has no curl: the binary checks its own health route.
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=5 \
    CMD ["/usr/local/bin/orb-mock", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/orb-mock"]
