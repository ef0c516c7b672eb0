# Image of ckstored (and the ckstore CLI) for conf/docker-stack.yml.
# Build it from the repository root, on the storage node or for a registry
# every node can pull from:
#
#   docker build -f conf/ckstored.Dockerfile -t ckstore/ckstored:0.1 .
#
# The repository lives in the volume mounted at /var/lib/ckstore; the
# entrypoint creates it on first start (ckstore init) and then runs
# ckstored in the foreground with the arguments given (the stack passes
# --config and --listen).
FROM debian:12 AS build
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends \
      build-essential cmake pkg-config librocksdb-dev libxxhash-dev \
      libzstd-dev libjansson-dev libinih-dev libmicrohttpd-dev \
      libcurl4-openssl-dev libarchive-dev libfuse3-dev >/dev/null
COPY . /src
RUN rm -rf /src/build* && cmake -S /src -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null \
 && cmake --build /build -j"$(nproc)" --target ckstored ckstore

FROM debian:12-slim
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends \
      librocksdb7.8 libxxhash0 libzstd1 libjansson4 libinih1 \
      libmicrohttpd12 libcurl4 libarchive13 ca-certificates curl >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 8431 --home /var/lib/ckstore ckstore \
 && install -d -o ckstore -g ckstore -m 0700 /var/lib/ckstore
COPY --from=build /build/ckstored /build/ckstore /usr/local/bin/
COPY conf/ckstored.conf /etc/ckstore/ckstored.conf
USER ckstore
VOLUME /var/lib/ckstore
EXPOSE 8431
HEALTHCHECK --interval=30s --timeout=5s \
  CMD curl -fsS http://127.0.0.1:8431/v1/health >/dev/null || exit 1
ENTRYPOINT ["/bin/sh", "-c", "test -d /var/lib/ckstore/db || ckstore --repo /var/lib/ckstore init || exit 1; exec ckstored \"$@\"", "ckstored"]
CMD ["--config", "/etc/ckstore/ckstored.conf", "--repo", "/var/lib/ckstore", "--listen", "0.0.0.0"]
