// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "recsys",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "recsys", targets: ["recsys"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // C shims: each is used by exactly one Swift module.
        .systemLibrary(
            name: "CLibPQ",
            path: "Sources/CLibPQ",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "COpenBLAS",
            path: "Sources/COpenBLAS",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        // The trainers' and the top-N's innermost loops, AVX2 where the processor has it (chosen at run time).
        .target(name: "CKernels"),
        // Process plumbing every module shares: interruption, throwing output, secrets.
        .target(name: "Runtime"),
        .target(name: "Features", dependencies: ["Runtime"]),
        // Charts (SVG), page documents (HTML, Markdown) and text tables: rendering only.
        .target(name: "Reports", dependencies: ["Runtime"]),
        .target(
            name: "Warehouse",
            dependencies: [
                "CLibPQ", "Features", "Runtime",
                .product(name: "Logging", package: "swift-log"),
            ],
            plugins: ["EmbedSchema"]
        ),
        // Build-time embedding of schema.sql into Warehouse (one copy of the schema in the tree).
        .executableTarget(name: "embed-sql", path: "Plugins/EmbedSQL"),
        .plugin(name: "EmbedSchema", capability: .buildTool(), dependencies: ["embed-sql"], path: "Plugins/EmbedSchema"),
        // The seeded planted-model data generator: writes source files, uses nothing of the warehouse.
        .target(name: "Generator", dependencies: ["Runtime"]),
        .target(name: "Models", dependencies: ["Features", "Runtime", "COpenBLAS", "CKernels"]),
        .target(name: "Graph", dependencies: ["Features", "Runtime"]),
        // The use cases every front end shares: each returns a typed Codable document.
        .target(
            name: "Workflows",
            dependencies: [
                "Warehouse", "Features", "Models", "Graph", "Runtime", "Reports",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The HTTP front end (`recsys serve`): routes over the same use cases as the CLI.
        .target(
            name: "Serving",
            dependencies: [
                "Workflows", "Warehouse", "Features", "Models", "Runtime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "recsys",
            dependencies: [
                "Serving", "Workflows", "Warehouse", "Features", "Models", "Graph", "Runtime", "Generator", "Reports",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Benchmarks live apart from the product (experiments/RESULTS.md).
        .target(name: "BenchSupport", dependencies: ["Warehouse", "Features"], path: "experiments/BenchSupport"),
        .executableTarget(
            name: "recsys-bench",
            dependencies: ["BenchSupport", "Warehouse", "Features", "Models", "Runtime"],
            path: "experiments/bench"
        ),
        .executableTarget(
            name: "graph-bench",
            dependencies: ["BenchSupport", "Warehouse", "Features", "Graph"],
            path: "experiments/graph-bench"
        ),
        // Shared by the test targets: the throwaway server, the CLI runner, and
        // an independent reading of source files to check loads against.
        .target(name: "TestSupport", dependencies: ["Warehouse", "Generator"], path: "Tests/TestSupport"),
        .testTarget(name: "WarehouseTests", dependencies: ["Warehouse", "Features", "Runtime", "Generator", "TestSupport"]),
        .testTarget(name: "FeaturesTests", dependencies: ["Features", "Runtime"]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime"]),
        .testTarget(name: "GeneratorTests", dependencies: ["Generator", "Runtime"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports"]),
        .testTarget(name: "WorkflowsTests", dependencies: ["Workflows", "Models", "Features", "Graph", "Reports", "Runtime"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Features", "Runtime"]),
        .testTarget(name: "GraphTests", dependencies: ["Graph", "Features", "Runtime"]),
        .testTarget(
            name: "ServingTests",
            dependencies: [
                "Serving", "Warehouse", "Workflows", "Models", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .testTarget(name: "RecsysCLITests", dependencies: ["Warehouse", "Models", "Runtime", "Generator", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
