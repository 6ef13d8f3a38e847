import Parla

/// What `parla app cholesky` prints beside its own figures, from the same run: NVIDIA's single-GPU
/// cuSOLVER potrf on the whole matrix, and cuSOLVERMg's multi-GPU potrf on the same GPUs.
extension BlockedCholesky {
    /// cuSOLVER's `cusolverDnDpotrf` of the whole matrix on `gpu(0)` (through NDArray's
    /// `choleskyFactorize`): the seconds of the best of `repetitions`, or why it cannot run.
    func singleGPUPotrf(host: [[NDArray<Double>]], repetitions: Int) -> Result<Double, any Error> {
        let registry = DeviceRegistry.current
        guard registry.usesCUDA else { return .failure(BaselineUnavailable("the GPUs are not CUDA GPUs")) }
        let b = self.block
        var whole = NDArray<Double>.zeros([self.n, self.n])
        for i in host.indices {
            for j in host[i].indices { whole[(i * b)..<((i + 1) * b), (j * b)..<((j + 1) * b)] = host[i][j] }
        }
        let original = whole.to(gpu(0))
        whole = NDArray<Double>.zeros([1])
        let clock = ContinuousClock()
        var best = Double.infinity
        for _ in 0..<repetitions {
            var matrix = original + 0.0  // a copy of its own, made on the GPU
            _ = matrix[0..<1, 0..<1].item()  // (waits for the copy)
            let start = clock.now
            do {
                try matrix.choleskyFactorize()
            } catch {
                return .failure(error)
            }
            best = Swift.min(best, seconds(start.duration(to: clock.now)))
        }
        return .success(best)
    }

    /// cuSOLVERMg's `cusolverMgPotrf` on this run's GPUs, the matrix in `blockColumns`-column blocks:
    /// the seconds of the best of `repetitions`, or why it cannot run.
    func multiGPUPotrf(blockColumns: Int, repetitions: Int) -> Result<Double, any Error> {
        let gpus = DeviceRegistry.current.gpus.compactMap { $0 as? CUDAGPU }
        guard gpus.count == self.gpus.count else { return .failure(BaselineUnavailable("the GPUs are not CUDA GPUs")) }
        let n = self.n
        do throws(DeviceError) {
            return .success(
                try CUSOLVERMgBaseline.potrf(n: n, blockColumns: blockColumns, gpus: gpus, repetitions: repetitions) {
                    Self.element($0, $1, order: n)
                }
            )
        } catch {
            return .failure(error)
        }
    }
}

/// Why a baseline was not measured.
struct BaselineUnavailable: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
