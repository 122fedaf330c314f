# syntax=docker/dockerfile:1
#
# lathe: one Rust binary (links glibc, libm, libgcc_s, and for LightGBM's C++
# libstdc++ and libgomp) in a small Debian image. Build from the repository root:
#
#   docker build -t lathe:0.1.0 .
#
# The same image runs both planes:
#   docker run -p 5000:5000 lathe:0.1.0 server --host 0.0.0.0 ...
#   docker run -p 8080:8080 lathe:0.1.0 serve models:/NAME@champion --host 0.0.0.0 ...
# See deploy/README.md for Kubernetes.

# ---- builder -----------------------------------------------------------------
FROM rust:1-bookworm AS builder
# lathe-train builds LightGBM's C++: cmake >= 3.28 (bookworm has 3.25) from
# PyPI, and libclang for bindgen.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libclang-dev python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/cmake \
    && /opt/cmake/bin/pip install --quiet --disable-pip-version-check "cmake>=3.28,<4"
ENV CMAKE=/opt/cmake/bin/cmake
WORKDIR /src
# The workspace is Cargo.toml + Cargo.lock + crates/*; everything the build
# includes (migrations, UI assets, the quickstart CSV) lives under crates/.
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
RUN cargo build --release -p lathe-cli --locked \
    && cp target/release/lathe /usr/local/bin/lathe \
    && strip /usr/local/bin/lathe

# ---- runtime -----------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 lathe \
    && useradd --system --uid 10001 --gid lathe --home-dir /var/lib/lathe --create-home lathe
COPY --from=builder /usr/local/bin/lathe /usr/local/bin/lathe
USER 10001:10001
WORKDIR /var/lib/lathe
# 5000: `lathe server` (tracking + registry + UI); 8080: `lathe serve`.
EXPOSE 5000 8080
# No HEALTHCHECK: Kubernetes probes /health and /ready (deploy/k8s/).
ENTRYPOINT ["lathe"]
CMD ["--help"]
