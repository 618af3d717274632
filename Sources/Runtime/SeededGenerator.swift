#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// SplitMix64 (Steele, Lea & Flood 2014): a small, fast, seedable generator,
/// the same sequence for a seed on every platform and thread count. Every
/// seeded stream of recsys (splits, initial factors, layouts, the data
/// generator's state expansion) and `ContentHash` mix with it.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    /// The golden-ratio increment γ = 2⁶⁴/φ.
    public static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15

    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for one of many independent streams (a row, a fold…).
    public init(seed: UInt64, stream: UInt64) {
        var mixer = SeededGenerator(seed: seed ^ (stream &* Self.increment))
        state = mixer.next()
    }

    /// z + γ, then the three xor-shift-multiply rounds: a good 64-bit mix for
    /// hashing ids on its own.
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ increment
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let z = Self.mix(state)
        state &+= Self.increment
        return z
    }

    /// Uniform in [0, 1): the top 53 bits.
    public mutating func unit() -> Double { Double(next() >> 11) / 9_007_199_254_740_992 }

    /// A standard normal draw (Box–Muller).
    public mutating func nextGaussian() -> Double {
        let u1 = Double(next() >> 11 | 1) / Double(1 << 53)
        let u2 = Double(next() >> 11) / Double(1 << 53)
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
