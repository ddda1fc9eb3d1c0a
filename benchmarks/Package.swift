// swift-tools-version: 6.1
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder, which is whatever the checkout is called.
let fleetPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "lwm2m-fleet-benchmarks",
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(
            name: "BenchmarkDevices",
            dependencies: [
                .product(name: "LwM2M", package: fleetPackage),
                .product(name: "LwM2MClient", package: fleetPackage),
            ],
            path: "Sources/BenchmarkDevices"
        ),
        .executableTarget(
            name: "CoAPCodec",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CoAP", package: fleetPackage),
            ],
            path: "Benchmarks/CoAPCodec",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "DTLSRecords",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CoAP", package: fleetPackage),
                .product(name: "DTLS", package: fleetPackage),
            ],
            path: "Benchmarks/DTLSRecords",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "FleetHotPaths",
            dependencies: [
                "BenchmarkDevices",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CoAP", package: fleetPackage),
                .product(name: "LwM2M", package: fleetPackage),
                .product(name: "LwM2MClient", package: fleetPackage),
                .product(name: "LwM2MServer", package: fleetPackage),
            ],
            path: "Benchmarks/FleetHotPaths",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "LwM2MFormats",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "LwM2M", package: fleetPackage),
            ],
            path: "Benchmarks/LwM2MFormats",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "client-memory",
            dependencies: [
                "BenchmarkDevices",
                .product(name: "CoAP", package: fleetPackage),
                .product(name: "LwM2M", package: fleetPackage),
                .product(name: "LwM2MClient", package: fleetPackage),
            ],
            path: "Sources/client-memory"
        ),
        .executableTarget(
            name: "fleet-memory",
            dependencies: [
                .product(name: "CoAP", package: fleetPackage),
                .product(name: "DTLS", package: fleetPackage),
                .product(name: "EventLoop", package: fleetPackage),
                .product(name: "Fleet", package: fleetPackage),
                .product(name: "LwM2M", package: fleetPackage),
                .product(name: "LwM2MClient", package: fleetPackage),
            ],
            path: "Sources/fleet-memory"
        ),
        .executableTarget(
            name: "register-flood",
            dependencies: [
                .product(name: "CoAP", package: fleetPackage),
                .product(name: "EventLoop", package: fleetPackage),
                .product(name: "Fleet", package: fleetPackage),
            ],
            path: "Sources/register-flood"
        ),
        .executableTarget(
            name: "udp-ceiling",
            dependencies: [
                .product(name: "CoAP", package: fleetPackage),
                .product(name: "EventLoop", package: fleetPackage),
                .product(name: "Fleet", package: fleetPackage),
                .product(name: "LwM2M", package: fleetPackage),
                .product(name: "LwM2MClient", package: fleetPackage),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/udp-ceiling"
        ),
    ],
    swiftLanguageModes: [.v6]
)
