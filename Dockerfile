# smsgw-server image. Builds with the same scripts CI runs (scripts/install-deps.sh,
# scripts/build.sh), then copies the binaries onto a slim runtime stage.
#   docker build -t smsgw .
#   docker run -p 50051:50051 -p 8080:8080 -v smsgw-data:/var/lib/smsgw smsgw
FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/
RUN scripts/install-deps.sh build
COPY . .
RUN SMSGW_BUILD_TESTS=OFF BUILD_TYPE=Release scripts/build.sh

FROM debian:bookworm-slim
COPY --from=build /src/scripts/install-deps.sh /usr/local/lib/smsgw/install-deps.sh
RUN /usr/local/lib/smsgw/install-deps.sh runtime \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/smsgw --create-home smsgw
COPY --from=build /src/build/smsgw-server /src/build/smsgw /usr/local/bin/
USER smsgw
WORKDIR /var/lib/smsgw
VOLUME ["/var/lib/smsgw"]
ENV SMSGW_GRPC_ADDR=0.0.0.0:50051 \
    SMSGW_HTTP_ADDR=0.0.0.0:8080 \
    SMSGW_DB_PATH=/var/lib/smsgw/smsgw.db
EXPOSE 50051 8080
ENTRYPOINT ["/usr/local/bin/smsgw-server"]
