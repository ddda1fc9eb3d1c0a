# The lwm2m-fleet image: the release binary on a slim Debian, for deploy/kubernetes/.
#
#   docker build -t REGISTRY/lwm2m-fleet:TAG .
#   docker run --rm REGISTRY/lwm2m-fleet:TAG run /results/fleet.yaml    (mount a fleet file there)
#
# Two stages: Swift's official Debian 12 image builds, a bookworm-slim image runs. The Swift
# runtime (standard library, Foundation, Dispatch) is linked into the binary
# (--static-swift-stdlib); what it still loads is Debian's: libuv, mbedTLS, libxml2 (FoundationXML,
# which reads the object definitions) and the C++ runtime. KubernetesManifestTests checks that
# every library the binary loads comes from a package the runtime stage installs.
ARG SWIFT_VERSION=6.3
ARG DEBIAN_RELEASE=bookworm

FROM swift:${SWIFT_VERSION}-${DEBIAN_RELEASE} AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libuv1-dev libmbedtls-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The package's dependencies first, so that a change to the sources does not fetch them again.
COPY Package.swift ./
RUN swift package resolve
# Tests/ too: the package declares its test targets, and a package whose target folders are
# missing does not load.
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product lwm2m-fleet \
    && bin="$(swift build -c release --show-bin-path)" \
    && mkdir -p /out \
    && cp "$bin/lwm2m-fleet" /out/ \
    && cp -R "$bin/lwm2m-fleet_LwM2M.resources" /out/

FROM debian:${DEBIAN_RELEASE}-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libuv1 libmbedtls14 libmbedx509-1 libmbedcrypto7 libxml2 libstdc++6 libgcc-s1 \
    && rm -rf /var/lib/apt/lists/*
# Not root: the Jobs run as this user (runAsUser 10001), and /results is theirs.
RUN groupadd --gid 10001 lwm2m \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin lwm2m \
    && mkdir /results && chown 10001:10001 /results
# The object definitions (Security, Server, Device, ...) are a resource bundle that the binary
# looks for beside itself.
COPY --from=build /out/lwm2m-fleet /usr/local/bin/lwm2m-fleet
COPY --from=build /out/lwm2m-fleet_LwM2M.resources /usr/local/bin/lwm2m-fleet_LwM2M.resources
COPY deploy/kubernetes/shard.sh deploy/kubernetes/merge.sh /usr/local/bin/
USER 10001:10001
WORKDIR /results
ENTRYPOINT ["lwm2m-fleet"]
CMD ["--help"]
