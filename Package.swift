// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "lwm2m-fleet",
    products: [
        .executable(name: "lwm2m-fleet", targets: ["lwm2m-fleet"]),
        .library(name: "EventLoop", targets: ["EventLoop"]),
        .library(name: "CoAP", targets: ["CoAP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibUV",
            pkgConfig: "libuv",
            providers: [.apt(["libuv1-dev"])]
        ),
        .target(name: "EventLoop", dependencies: ["CLibUV"]),
        .target(name: "CoAP"),
        .executableTarget(
            name: "lwm2m-fleet",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "CoAPTests", dependencies: ["CoAP"]),
        .testTarget(name: "EventLoopTests", dependencies: ["EventLoop"]),
        .testTarget(name: "InteropTests", dependencies: ["CoAP", "EventLoop"]),
    ],
    swiftLanguageModes: [.v6]
)
