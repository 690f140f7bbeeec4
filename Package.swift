// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "CollectionHub",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "collection-hub", targets: ["collection-hub"]),
        .library(name: "HubClient", targets: ["HubClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CLibWebSockets",
            pkgConfig: "libwebsockets",
            providers: [.apt(["libwebsockets-dev"])]
        ),
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "HubCore"),
        .target(
            name: "HubStore",
            dependencies: ["HubCore", "CLibPQ", "CLibCrypto", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "HubEngine",
            dependencies: ["HubCore", "HubStore", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "HubLWS",
            dependencies: ["CLibWebSockets", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "HubServer",
            dependencies: ["HubCore", "HubStore", "HubEngine", "HubLWS", "CLibWebSockets", .product(name: "Logging", package: "swift-log")]
        ),
        .target(name: "HubClient", dependencies: ["HubCore", "HubLWS", "CLibWebSockets"]),
        .target(
            name: "HubBench",
            dependencies: [
                "HubCore", "HubStore", "HubEngine", "HubClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "collection-hub",
            dependencies: [
                "HubCore", "HubStore", "HubEngine", "HubServer", "HubBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "HubTestSupport",
            dependencies: ["HubCore", "HubStore"],
            path: "Tests/HubTestSupport"
        ),
        .testTarget(name: "HubCoreTests", dependencies: ["HubCore", "HubTestSupport"]),
        .testTarget(name: "HubStoreTests", dependencies: ["HubStore", "HubTestSupport"]),
        .testTarget(name: "HubEngineTests", dependencies: ["HubEngine", "HubStore", "HubTestSupport"]),
        .testTarget(name: "HubServerTests", dependencies: ["HubServer", "HubClient", "HubEngine", "HubStore", "HubTestSupport", "CLibWebSockets"]),
        .testTarget(name: "CollectionHubCLITests", dependencies: ["collection-hub", "HubEngine", "HubStore", "HubTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
