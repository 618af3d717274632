/// The one hash recsys keeps of content: model files, the ratings cache, the
/// samples that fingerprint source files, data versions. 64 bits, not
/// cryptographic; fast enough to run at memory speed over gigabytes.
///
/// Word w_j (8 bytes, little-endian; the tail zero-padded) goes to lane
/// j mod 8, whose state h becomes
///
///     x = (h ⊕ w_j) · K  (mod 2⁶⁴),   h ← x ⊕ (x ≫ 32)
///
/// Each step is a bijection of h for a fixed word and of the word for a
/// fixed h, so changing any single word always changes its lane's final
/// state; the lanes and the length are then folded together through the
/// splitmix64 finalizer. Eight lanes keep eight independent multiply chains
/// in flight, so the loop is bound by memory, not by the multiplier's latency.
///
/// Bytes may be added in pieces of any size: the value depends only on the
/// concatenation (a model file hashes its mapping in one piece, the ratings
/// cache its arrays as they stream to disk).
public struct ContentHash: Sendable {
    private static let k: UInt64 = 0x9E37_79B9_7F4A_7C15
    private var lanes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0x243F_6A88_85A3_08D3, 0x1319_8A2E_0370_7344, 0xA409_3822_299F_31D0, 0x082E_FA98_EC4E_6C89,
         0x4528_21E6_38D0_1377, 0xBE54_66CF_34E9_0C6C, 0xC0AC_29B7_C97C_50DD, 0x3F84_D5B5_B547_0917)
    /// The lane the next whole word goes to.
    private var lane = 0
    private var count = 0
    /// Bytes of an unfinished word, little-endian, and how many.
    private var pending: UInt64 = 0
    private var pendingBytes = 0

    public init() {}

    /// The hash of `bytes` in one piece.
    public static func of(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash = ContentHash()
        hash.add(bytes)
        return hash.value
    }

    /// The hash of a byte sequence as lowercase hex, for names and versions.
    public static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var hash = ContentHash()
        hash.add(bytes)
        return String(hash.value, radix: 16)
    }

    @inline(__always)
    private static func step(_ h: UInt64, _ w: UInt64) -> UInt64 {
        let x = (h ^ w) &* k
        return x ^ (x >> 32)
    }

    private mutating func word(_ w: UInt64) {
        withUnsafeMutableBytes(of: &lanes) { raw in
            let lane = raw.bindMemory(to: UInt64.self)
            lane[self.lane] = Self.step(lane[self.lane], w)
        }
        lane = (lane + 1) & 7
    }

    public mutating func add<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        for byte in bytes { addByte(byte) }
    }

    private mutating func addByte(_ byte: UInt8) {
        pending |= UInt64(byte) << (8 * pendingBytes)
        pendingBytes += 1
        count += 1
        if pendingBytes == 8 {
            word(pending)
            pending = 0
            pendingBytes = 0
        }
    }

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        let total = bytes.count
        var offset = 0
        while pendingBytes != 0 && offset < total {
            addByte(bytes[offset])
            offset += 1
        }
        @inline(__always) func load(_ at: Int) -> UInt64 { base.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian }
        while lane != 0 && offset + 8 <= total {
            word(load(offset))
            offset += 8
            count += 8
        }
        if lane == 0 && offset + 64 <= total {
            var l = lanes
            while offset + 64 <= total {
                l.0 = Self.step(l.0, load(offset))
                l.1 = Self.step(l.1, load(offset + 8))
                l.2 = Self.step(l.2, load(offset + 16))
                l.3 = Self.step(l.3, load(offset + 24))
                l.4 = Self.step(l.4, load(offset + 32))
                l.5 = Self.step(l.5, load(offset + 40))
                l.6 = Self.step(l.6, load(offset + 48))
                l.7 = Self.step(l.7, load(offset + 56))
                offset += 64
                count += 64
            }
            lanes = l
        }
        while offset + 8 <= total {
            word(load(offset))
            offset += 8
            count += 8
        }
        while offset < total {
            addByte(bytes[offset])
            offset += 1
        }
    }

    /// The hash of everything added so far.
    public var value: UInt64 {
        var copy = self
        if copy.pendingBytes > 0 { copy.word(copy.pending) }
        var h = SeededGenerator.mix(UInt64(count))
        for lane in [copy.lanes.0, copy.lanes.1, copy.lanes.2, copy.lanes.3, copy.lanes.4, copy.lanes.5, copy.lanes.6, copy.lanes.7] {
            h = SeededGenerator.mix(h ^ lane)
        }
        return h
    }
}
