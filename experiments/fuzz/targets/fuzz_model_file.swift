// Fuzz target: the model-file reader ModelFile(contentsOf:verify:)
// (Sources/Models/ModelFile.swift), on a real file.
//
// Each input is read three ways:
//   1. as is, verify: false (structure checks only);
//   2. as is, verify: true;
//   3. with the file-length field set to the input's size and the checksum
//      recomputed (ModelFile.checksum), verify: true — so that mutations get
//      past the checksum and reach the header, section and value checks.
// Properties: no crash; only ModelFileError is thrown; an opened file's views
// lie inside it and agree with its counts; model() works; lookups of each
// stored id find it; and ModelFile.write of its model reads back bit-identical.
import Features
import Foundation

private func put64(_ value: UInt64, at offset: Int, in bytes: inout [UInt8]) {
    for i in 0..<8 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
}

private func bits<T>(_ buffer: UnsafeBufferPointer<T>) -> [UInt8] { Array(UnsafeRawBufferPointer(buffer)) }

private func same(_ a: ModelFile, _ b: ModelFile) -> Bool {
    a.kind == b.kind && a.parameters == b.parameters && a.dataVersion == b.dataVersion && a.splitID == b.splitID
        && a.scale == b.scale && a.rank == b.rank && a.globalMean.bitPattern == b.globalMean.bitPattern
        && a.customerCount == b.customerCount && a.movieCount == b.movieCount
        && bits(a.customerIDs) == bits(b.customerIDs) && bits(a.movieIDs) == bits(b.movieIDs)
        && bits(a.customerBias) == bits(b.customerBias) && bits(a.movieBias) == bits(b.movieBias)
        && bits(a.customerFactors) == bits(b.customerFactors) && bits(a.movieFactors) == bits(b.movieFactors)
        && bits(a.customerTrainCount) == bits(b.customerTrainCount)
}

private func open(_ url: URL, verify: Bool, how: String) -> ModelFile? {
    do {
        return try ModelFile(contentsOf: url, verify: verify)
    } catch is ModelFileError {
        return nil
    } catch {
        Fuzz.check(false, "model-error-type", "\(how): threw a non-ModelFileError: \(type(of: error)) \(error)")
        return nil
    }
}

private func exercise(_ file: ModelFile, size: Int, how: String) {
    let c = file.customerCount, m = file.movieCount, k = file.rank
    Fuzz.check(file.customerIDs.count == c && file.customerBias.count == c && file.customerTrainCount.count == c
               && file.movieIDs.count == m && file.movieBias.count == m
               && file.customerFactors.count == c * k && file.movieFactors.count == m * k,
               "model-view-shapes", "\(how): views disagree with counts \(c) × \(m), rank \(k)")
    let total = 8 * (c + m) + 4 * (2 * c + m) + 4 * k * (c + m)
    Fuzz.check(total <= size, "model-view-shapes", "\(how): views hold \(total) bytes, the file \(size)")
    Fuzz.check(file.scale.minimum < file.scale.maximum && file.scale.step > 0, "model-scale", "\(how): scale \(file.scale)")
    let model = file.model()
    Fuzz.check(model.customerCount == c && model.movieCount == m, "model-copy", "\(how): model() counts")
    if c > 0, m > 0 { _ = model.score(customer: c - 1, movie: m - 1) }
    // Lookups find every stored id (at its first occurrence when ids repeat).
    for (i, id) in file.customerIDs.enumerated().prefix(64) {
        let found = file.customerIndex(of: id)
        Fuzz.check(found != nil && file.customerIDs[found!] == id, "model-lookup",
                   "\(how): customerIndex(of: \(id)) = \(String(describing: found)), stored at \(i)")
    }
    for (i, id) in file.movieIDs.enumerated().prefix(64) {
        let found = file.movieIndex(of: id)
        Fuzz.check(found != nil && file.movieIDs[found!] == id, "model-lookup",
                   "\(how): movieIndex(of: \(id)) = \(String(describing: found)), stored at \(i)")
    }
    // Write it out and read it back.
    let out = Fuzz.url("roundtrip.bin")
    do {
        try ModelFile.write(model, to: out)
    } catch {
        Fuzz.check(false, "model-roundtrip", "\(how): write failed: \(error)")
        return
    }
    do {
        let back = try ModelFile(contentsOf: out, verify: true)
        Fuzz.check(same(file, back), "model-roundtrip", "\(how): the rewritten file reads back different")
    } catch {
        Fuzz.check(false, "model-roundtrip", "\(how): the rewritten file does not read back: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModelFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    let url = Fuzz.write(raw, to: "model.bin")
    if let file = open(url, verify: false, how: "as is, unverified") { exercise(file, size: size, how: "as is, unverified") }
    if let file = open(url, verify: true, how: "as is") { exercise(file, size: size, how: "as is") }

    let hashedFrom = ModelFile.Layout.hashedFrom
    guard size >= hashedFrom + 8 else { return 0 }
    var fixed = Array(raw)
    put64(UInt64(size), at: ModelFile.Layout.fileLengthOffset, in: &fixed)
    let sum = fixed.withUnsafeBytes { ModelFile.checksum(UnsafeRawBufferPointer(rebasing: $0[hashedFrom...])) }
    put64(sum, at: ModelFile.Layout.checksumOffset, in: &fixed)
    let fixedURL = Fuzz.write(fixed, to: "model-fixed.bin")
    if let file = open(fixedURL, verify: true, how: "checksum fixed") { exercise(file, size: size, how: "checksum fixed") }
    return 0
}
