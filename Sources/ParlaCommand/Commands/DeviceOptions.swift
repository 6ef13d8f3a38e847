import ArgumentParser
import Parla

/// `--devices`: which devices a command uses (overrides `PARLA_DEVICES`).
struct DeviceOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "Devices to use: auto, cuda, virtual:N or virtual:N:BYTES (default: PARLA_DEVICES, else auto)."
    )
    var devices: String?

    /// Makes the selected devices current and returns their registry.
    func installRegistry() throws -> DeviceRegistry {
        guard let devices else { return DeviceRegistry.current }
        let registry = try DeviceRegistry.make(try DeviceSelection(parsing: devices))
        DeviceRegistry.install(registry)
        return registry
    }
}

/// `--trace FILE`: the trace of a command's runs (each run overwrites the file: the last one's stays).
struct TraceOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "Write the trace of the command's last run to this file (Chrome/Perfetto JSON; see parla trace)."
    )
    var trace: String?

    /// Runs `body` with its runs traced to the file, if one was given.
    func tracing(_ body: () async throws -> Void) async throws {
        try await Parla.tracing(to: self.trace, body)
    }
}

/// `parla devices`: what the current selection finds.
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the devices: kind, memory, and for CUDA GPUs the name and compute capability."
    )

    @OptionGroup var options: DeviceOptions

    func run() throws {
        let registry = try options.installRegistry()
        print("selection: \(registry.selection)\(registry.usesCUDA ? " (CUDA)" : "")")
        if let reason = registry.fallbackReason {
            print("virtual GPUs, because \(reason)")
        }
        for device in registry.devices {
            let backend = try registry.backend(for: device)
            print("  \(describe(backend))")
        }
        print(
            "host linear algebra: GEMM \(HostGEMM.backend.rawValue); TRSM, SYRK, POTRF \(HostGEMM.linearAlgebraBackend)"
        )
    }
}

/// One line about a device.
func describe(_ backend: any DeviceBackend) -> String {
    let memory = backend.memoryCapacity.map { formatBytes($0) } ?? "host memory"
    let details = backend.diagnostics.details.map { ", \($0)" } ?? ""
    return "\(backend.device): \(backend.name), \(memory)\(details)"
}

/// `1.5 GiB`, `256 MiB`, `12 KiB`, `100 B`.
func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : "\(format(value)) \(units[unit])"
}
