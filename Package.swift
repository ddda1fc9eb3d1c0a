// swift-tools-version: 6.1
import PackageDescription

// Release builds make our modules' generic code and small functions available to the modules
// that use them, so they are specialized and inlined there: the embedded server's state
// machines are generic over the peer type, and unspecialized they spent about 10% of the
// server's CPU looking up generic metadata (issue 8, benchmarks/RESULTS.md).
let optimizedAcrossModules: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]

let package = Package(
    name: "lwm2m-fleet",
    products: [
        .executable(name: "lwm2m-fleet", targets: ["lwm2m-fleet"]),
        .library(name: "EventLoop", targets: ["EventLoop"]),
        .library(name: "CoAP", targets: ["CoAP"]),
        .library(name: "LwM2M", targets: ["LwM2M"]),
        .library(name: "LwM2MClient", targets: ["LwM2MClient"]),
        .library(name: "LwM2MServer", targets: ["LwM2MServer"]),
        .library(name: "DTLS", targets: ["DTLS"]),
        .library(name: "Fleet", targets: ["Fleet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibUV",
            pkgConfig: "libuv",
            providers: [.apt(["libuv1-dev"])]
        ),
        .target(name: "EventLoop", dependencies: ["CLibUV"], swiftSettings: optimizedAcrossModules),
        // Debian's libmbedtls-dev ships no pkg-config file: the module map links the libraries.
        .systemLibrary(
            name: "CMbedTLS",
            providers: [.apt(["libmbedtls-dev"])]
        ),
        // CoAP only for Timestamp and SeededRandom: DTLS takes the same clock and seed.
        .target(name: "DTLS", dependencies: ["CMbedTLS", "CoAP"], swiftSettings: optimizedAcrossModules),
        .target(name: "CoAP", swiftSettings: optimizedAcrossModules),
        .target(name: "LwM2M", resources: [.copy("CoreObjects")], swiftSettings: optimizedAcrossModules),
        .target(name: "LwM2MClient", dependencies: ["CoAP", "LwM2M"], swiftSettings: optimizedAcrossModules),
        .target(
            name: "LwM2MServer",
            dependencies: [
                "CoAP", "LwM2M",
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            swiftSettings: optimizedAcrossModules
        ),
        .target(
            name: "Fleet",
            dependencies: [
                "EventLoop", "CoAP", "DTLS", "LwM2M", "LwM2MClient", "LwM2MServer",
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: optimizedAcrossModules
        ),
        .executableTarget(
            name: "lwm2m-fleet",
            dependencies: [
                "CoAP",
                "EventLoop",
                "Fleet",
                "LwM2M",
                "LwM2MServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "SharedTestData", path: "Tests/SharedTestData"),
        .testTarget(name: "CoAPTests", dependencies: ["CoAP", "SharedTestData"]),
        .testTarget(name: "EventLoopTests", dependencies: ["EventLoop", "SharedTestData"]),
        .testTarget(name: "LwM2MTests", dependencies: ["LwM2M", "CoAP", "SharedTestData"]),
        .testTarget(name: "LwM2MClientTests", dependencies: ["LwM2MClient", "LwM2M", "CoAP", "SharedTestData"]),
        .testTarget(
            name: "LwM2MServerTests",
            dependencies: [
                "LwM2MServer", "LwM2MClient", "LwM2M", "CoAP", "SharedTestData",
                .product(name: "HeapModule", package: "swift-collections"),
            ]),
        .testTarget(name: "LwM2MFleetCLITests", dependencies: ["lwm2m-fleet"]),
        .testTarget(
            name: "FleetTests",
            dependencies: [
                "Fleet", "EventLoop", "CoAP", "DTLS", "LwM2M", "LwM2MClient", "LwM2MServer", "SharedTestData", "lwm2m-fleet", "CZlib",
                .product(name: "Yams", package: "Yams"),
            ]),
        // zlib, to decode the PNG screenshots the report tests take with Chromium.
        .systemLibrary(name: "CZlib", path: "Tests/CZlib"),
        .testTarget(name: "InteropTests", dependencies: ["CoAP", "EventLoop", "DTLS"]),
        // Exposes glibc's mallinfo2 to the tests that measure a session's heap.
        .systemLibrary(name: "CMallocInfo", path: "Tests/CMallocInfo"),
        .testTarget(name: "DTLSTests", dependencies: ["DTLS", "CoAP", "CMallocInfo"]),
    ],
    swiftLanguageModes: [.v6]
)
