// swift-tools-version: 6.1
import PackageDescription

/// The package's internal invariant checks (see `InternalChecks.swift`): on in debug builds, so that
/// `swift test` and CI run with them; compiled out of release builds.
let internalChecks: [SwiftSetting] = [.define("PARLA_INTERNAL_CHECKS", .when(configuration: .debug))]

let package = Package(
    name: "parla-swift",
    products: [
        .library(name: "Parla", targets: ["Parla"]),
        .executable(name: "parla", targets: ["ParlaCommand"]),
        // Preloaded by `parla bench overhead` to count heap allocations per task.
        .library(name: "ParlaAllocationCounter", type: .dynamic, targets: ["CAllocationCounter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // Hand-written C kernels that need explicit SIMD code paths (the GEMM micro-kernel).
        .target(name: "CParlaKernels"),
        // The processor's cycle counter, which traced runs stamp their events with.
        .target(name: "CParlaClock"),
        // A malloc interposer for benchmarks (a dynamic library, preloaded; never linked).
        .target(name: "CAllocationCounter"),
        // The CUDA driver API and NVRTC, declared by hand; loaded with dlopen at run time.
        .target(name: "CCUDADriver"),
        // Layer 1: devices and their memories.
        .target(name: "ParlaDevices", dependencies: ["CCUDADriver"], swiftSettings: internalChecks),
        // Layer 2: NDArray, the strided N-dimensional array.
        .target(
            name: "ParlaArrays",
            dependencies: [
                "ParlaDevices",
                "CParlaKernels",
                .product(name: "RealModule", package: "swift-numerics"),
            ],
            swiftSettings: internalChecks
        ),
        // Layer 3: the runtime; re-exports the layers below so users write only `import Parla`.
        .target(
            name: "Parla",
            dependencies: [
                "ParlaArrays",
                "ParlaDevices",
                "CParlaClock",
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: internalChecks
        ),
        // Checks of the runtime against sequential models, shared by the tests and `parla check-programs`.
        .target(name: "ParlaChecks", dependencies: ["Parla"]),
        // Layer 4: the `parla` command-line tool.
        .executableTarget(
            name: "ParlaCommand",
            dependencies: [
                "Parla",
                "ParlaChecks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "ParlaRuntimeTests",
            dependencies: ["Parla", "ParlaChecks"],
            swiftSettings: internalChecks
        ),
        .testTarget(
            name: "ParlaCommandTests",
            dependencies: ["ParlaCommand", "Parla"]
        ),
        // The device layer, driven through raw allocations and copies, and through NDArray where a
        // backend's kernels are what is tested.
        .testTarget(
            name: "ParlaDevicesTests",
            dependencies: ["ParlaDevices", "ParlaArrays"]
        ),
        .testTarget(
            name: "ParlaArraysTests",
            dependencies: [
                "ParlaArrays",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
