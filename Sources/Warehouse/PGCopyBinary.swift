/// PostgreSQL's binary COPY format (PGCOPY, "COPY … FROM STDIN (FORMAT
/// binary)"): a header, tuples of length-prefixed big-endian fields, a
/// trailer. Written byte by byte into a reused buffer: at Netflix scale the
/// fact load encodes 100M tuples, and text formatting of the numbers cost more
/// than the server's work.
enum PGCopyBinary {
    /// Signature, flags, header extension length.
    static let header: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [0, 0, 0, 0] + [0, 0, 0, 0]
    static let trailer: [UInt8] = [0xFF, 0xFF]

    @inline(__always)
    static func beginTuple(fields: Int16, _ b: inout [UInt8]) {
        b.append(UInt8(UInt16(bitPattern: fields) >> 8)); b.append(UInt8(UInt16(bitPattern: fields) & 0xFF))
    }

    @inline(__always)
    private static func put32(_ u: UInt32, _ b: inout [UInt8]) {
        b.append(UInt8(u >> 24)); b.append(UInt8((u >> 16) & 0xFF)); b.append(UInt8((u >> 8) & 0xFF)); b.append(UInt8(u & 0xFF))
    }

    /// An int2 field.
    @inline(__always)
    static func int2(_ v: Int16, _ b: inout [UInt8]) {
        put32(2, &b)
        b.append(UInt8(UInt16(bitPattern: v) >> 8)); b.append(UInt8(UInt16(bitPattern: v) & 0xFF))
    }

    /// An int4 field.
    @inline(__always)
    static func int4(_ v: Int32, _ b: inout [UInt8]) {
        put32(4, &b)
        put32(UInt32(bitPattern: v), &b)
    }

    /// A float8 field.
    @inline(__always)
    static func float8(_ v: Double, _ b: inout [UInt8]) {
        put32(8, &b)
        put32(UInt32(v.bitPattern >> 32), &b)
        put32(UInt32(v.bitPattern & 0xFFFF_FFFF), &b)
    }

    /// A numeric(2,1) rating field, 0.5 … 5.0 by half stars.
    @inline(__always)
    static func rating(halfStars: UInt8, _ b: inout [UInt8]) {
        b.append(contentsOf: numericBytes[Int(halfStars)])
    }

    /// numeric(2,1) in PostgreSQL's binary form for 0.5 … 5.0, indexed by half
    /// stars, length prefix included: ndigits, weight, sign, dscale, then
    /// base-10000 digits.
    private static let numericBytes: [[UInt8]] = (0...10).map { half -> [UInt8] in
        func i16(_ v: Int) -> [UInt8] { [UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
        let whole = half / 2, fraction = half % 2
        var digits: [Int] = []
        var weight = 0
        if whole > 0 { digits.append(whole) } else { weight = -1 }
        if fraction == 1 { digits.append(5000) }
        let body = i16(digits.count) + i16(weight) + i16(0) + i16(1) + digits.flatMap(i16)
        return [0, 0, 0, UInt8(body.count)] + body
    }
}
