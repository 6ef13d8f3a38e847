import Parla

extension Lessons {
    /// Lesson 0: one task that prints. The run waits for it before returning.
    ///
    /// Parla (Python): `with Parla(): @spawn() def hello(): print("Hello, World!")`.
    static func lesson0(devices: DeviceSelection, emit: @escaping Emit) async throws {
        try await Parla.run(devices: devices) {
            // A task runs asynchronously to the code that spawns it; Parla.run waits for it.
            spawn(placement: cpu) {
                emit("Hello, World!")
            }
        }
    }
}
