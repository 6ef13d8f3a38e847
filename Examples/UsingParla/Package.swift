// swift-tools-version: 6.1
// A program of its own that uses Parla, as a user's package would: it depends on the `Parla` library
// product. (Here the dependency is this checkout, by path; a user names the repository's URL instead:
// `.package(url: "https://github.com/<owner>/parla-swift", branch: "main")`.)
import PackageDescription

let package = Package(
    name: "UsingParla",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "parla-swift", path: "../..")
    ],
    targets: [
        .executableTarget(
            name: "UsingParla",
            dependencies: [.product(name: "Parla", package: "parla-swift")]
        )
    ]
)
