# syntax=docker/dockerfile:1
#
# One image for every kvstream role (api, worker, websocket, all); the role comes from KVSTREAM_ROLE.
#   docker build -t kvstream .
#   docker run --rm -p 8080:8080 kvstream          # role "all", embedded PostgreSQL and broker (dev mode)

# ---- build: the jar and its dependencies (target/kvstream.jar + target/libs/) ----
FROM maven:3.9-eclipse-temurin-21 AS build
WORKDIR /build
COPY pom.xml .
COPY src/main src/main
# The cache mount keeps ~/.m2 between builds, so only changed sources cost time.
RUN --mount=type=cache,target=/root/.m2 mvn -B package -DskipTests

# ---- runtime: JRE only, non-root, read-only friendly (writes only to /tmp) ----
FROM eclipse-temurin:21-jre-noble
RUN groupadd --system --gid 10001 kvstream \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin kvstream
WORKDIR /app
COPY --from=build /build/target/libs/ /app/libs/
COPY --from=build /build/target/kvstream.jar /app/kvstream.jar
USER 10001:10001
ENV SERVER_PORT=8080 \
    KVSTREAM_DATA_DIR=/tmp/kvstream
EXPOSE 8080
# Container-aware JVM: heap sized from the memory limit, die (and get restarted) on OOM instead of limping on.
# Extra flags: set JAVA_TOOL_OPTIONS or JDK_JAVA_OPTIONS in the pod; the JVM reads them itself.
ENTRYPOINT ["java", \
            "-XX:MaxRAMPercentage=75.0", \
            "-XX:InitialRAMPercentage=25.0", \
            "-XX:+ExitOnOutOfMemoryError", \
            "-Djava.io.tmpdir=/tmp", \
            "-jar", "/app/kvstream.jar"]
