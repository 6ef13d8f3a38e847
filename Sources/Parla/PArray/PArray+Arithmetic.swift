import ParlaArrays

// Element-wise arithmetic on PArrays inside tasks, forwarding to `.array`: the operands are the
// current device's copies of the regions (declared by the task), and the results are `NDArray`s on
// that device (an `NDArray` operand on another device is copied there first). The compound assignments
// write the result back into the left operand's region there (declared `inOut`). Parla (Python)
// equivalent: `A + B`, `A * 2`, `A += B`.

extension PArray {
    /// Element-wise sum of the two regions on the current device, broadcasting. Parla: `A + B`.
    public static func + (lhs: PArray, rhs: PArray) -> NDArray<Element> { lhs.array + rhs.array }
    /// Element-wise difference. Parla: `A - B`.
    public static func - (lhs: PArray, rhs: PArray) -> NDArray<Element> { lhs.array - rhs.array }
    /// Element-wise product. Parla: `A * B`.
    public static func * (lhs: PArray, rhs: PArray) -> NDArray<Element> { lhs.array * rhs.array }
    /// Element-wise quotient. Parla: `A / B`.
    public static func / (lhs: PArray, rhs: PArray) -> NDArray<Element> { lhs.array / rhs.array }

    /// The region plus an array (on the same device), broadcasting. Parla: `A + x`.
    public static func + (lhs: PArray, rhs: NDArray<Element>) -> NDArray<Element> {
        let left = lhs.array
        return left + rhs.to(left.device)
    }
    /// The region minus an array. Parla: `A - x`.
    public static func - (lhs: PArray, rhs: NDArray<Element>) -> NDArray<Element> {
        let left = lhs.array
        return left - rhs.to(left.device)
    }
    /// The region times an array. Parla: `A * x`.
    public static func * (lhs: PArray, rhs: NDArray<Element>) -> NDArray<Element> {
        let left = lhs.array
        return left * rhs.to(left.device)
    }
    /// The region divided by an array. Parla: `A / x`.
    public static func / (lhs: PArray, rhs: NDArray<Element>) -> NDArray<Element> {
        let left = lhs.array
        return left / rhs.to(left.device)
    }

    /// The region plus a scalar. Parla: `A + 1`.
    public static func + (lhs: PArray, rhs: Element) -> NDArray<Element> { lhs.array + rhs }
    /// The region minus a scalar. Parla: `A - 1`.
    public static func - (lhs: PArray, rhs: Element) -> NDArray<Element> { lhs.array - rhs }
    /// The region times a scalar. Parla: `A * 2`.
    public static func * (lhs: PArray, rhs: Element) -> NDArray<Element> { lhs.array * rhs }
    /// The region divided by a scalar. Parla: `A / 2`.
    public static func / (lhs: PArray, rhs: Element) -> NDArray<Element> { lhs.array / rhs }

    /// Adds `rhs` to the region in place on the current device. Parla: `A += B`.
    public static func += (lhs: PArray, rhs: PArray) { lhs.updateInPlace("+=") { $0 + rhs.array } }
    /// Subtracts `rhs` from the region in place. Parla: `A -= B`.
    public static func -= (lhs: PArray, rhs: PArray) { lhs.updateInPlace("-=") { $0 - rhs.array } }
    /// Multiplies the region by `rhs` in place. Parla: `A *= B`.
    public static func *= (lhs: PArray, rhs: PArray) { lhs.updateInPlace("*=") { $0 * rhs.array } }
    /// Divides the region by `rhs` in place. Parla: `A /= B`.
    public static func /= (lhs: PArray, rhs: PArray) { lhs.updateInPlace("/=") { $0 / rhs.array } }

    /// Adds an array (broadcast) to the region in place. Parla: `A += x`.
    public static func += (lhs: PArray, rhs: NDArray<Element>) {
        lhs.updateInPlace("+=") { $0 + rhs.to($0.device) }
    }
    /// Subtracts an array from the region in place. Parla: `A -= x`.
    public static func -= (lhs: PArray, rhs: NDArray<Element>) {
        lhs.updateInPlace("-=") { $0 - rhs.to($0.device) }
    }
    /// Multiplies the region by an array in place. Parla: `A *= x`.
    public static func *= (lhs: PArray, rhs: NDArray<Element>) {
        lhs.updateInPlace("*=") { $0 * rhs.to($0.device) }
    }
    /// Divides the region by an array in place. Parla: `A /= x`.
    public static func /= (lhs: PArray, rhs: NDArray<Element>) {
        lhs.updateInPlace("/=") { $0 / rhs.to($0.device) }
    }

    /// Adds a scalar to every element of the region in place. Parla: `A += 1`.
    public static func += (lhs: PArray, rhs: Element) { lhs.updateInPlace("+=") { $0 + rhs } }
    /// Subtracts a scalar in place. Parla: `A -= 1`.
    public static func -= (lhs: PArray, rhs: Element) { lhs.updateInPlace("-=") { $0 - rhs } }
    /// Multiplies by a scalar in place. Parla: `A *= 2`.
    public static func *= (lhs: PArray, rhs: Element) { lhs.updateInPlace("*=") { $0 * rhs } }
    /// Divides by a scalar in place. Parla: `A /= 2`.
    public static func /= (lhs: PArray, rhs: Element) { lhs.updateInPlace("/=") { $0 / rhs } }

    /// The region negated. Parla: `-A`.
    public static prefix func - (operand: PArray) -> NDArray<Element> { -operand.array }

    /// Writes `compute(region)` into the region: a compound assignment, which reads and writes it, so a
    /// task must have declared it `inOut` (an `output` region's old values were never moved in).
    private func updateInPlace(_ operation: String, _ compute: (NDArray<Element>) -> NDArray<Element>) {
        self.checkDeclared(writing: true, reading: true, operation: "updates", manner: "in place (\(operation))")
        self.write(compute(self.array))
    }
}
