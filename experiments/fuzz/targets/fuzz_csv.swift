// Fuzz target: the RFC 4180 reader CSV.parse (Sources/Warehouse/SourceReaders.swift).
//
// Properties: no crash; only InputError is thrown; record lines ascend and
// stay within the text's lines; writing the records back in canonical RFC 4180
// (quoting fields that hold , " CR or LF) and parsing that gives the same fields.
import Foundation

private func canonical(_ records: [CSV.Record]) -> String {
    var out = ""
    for r in records {
        out += r.fields.map { f -> String in
            guard f.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }) else { return f }
            // Doubled scalar by scalar: String.replacingOccurrences works on Characters and
            // would miss a quote that a combining mark joins into one Character.
            var quoted = String.UnicodeScalarView()
            for c in f.unicodeScalars {
                if c == "\"" { quoted.append(c) }
                quoted.append(c)
            }
            return "\"" + String(quoted) + "\""
        }.joined(separator: ",")
        out += "\n"
    }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
    let records: [CSV.Record]
    do {
        records = try CSV.parse(text, file: "fuzz.csv")
    } catch let error as InputError {
        let lines = text.unicodeScalars.filter { $0 == "\n" }.count + 1
        Fuzz.check((1...lines).contains(error.line), "csv-error-line", "error on line \(error.line) of \(lines)")
        return 0
    } catch {
        Fuzz.check(false, "csv-error-type", "threw a non-InputError: \(type(of: error)) \(error)")
        return 0
    }
    let lines = text.unicodeScalars.filter { $0 == "\n" }.count + 1
    for (a, b) in zip(records, records.dropFirst()) {
        Fuzz.check(a.line < b.line, "csv-line-order", "record lines \(a.line) then \(b.line)")
    }
    for r in records {
        Fuzz.check((1...lines).contains(r.line), "csv-line-range", "record on line \(r.line) of \(lines)")
        Fuzz.check(!r.fields.isEmpty, "csv-empty-record", "record with no fields on line \(r.line)")
    }
    let written = canonical(records)
    do {
        let again = try CSV.parse(written, file: "canonical.csv")
        Fuzz.check(again.map(\.fields) == records.map(\.fields), "csv-roundtrip",
                   "\(records.map(\.fields)) written as \(written.debugDescription) reads back as \(again.map(\.fields))")
    } catch {
        Fuzz.check(false, "csv-roundtrip", "\(records.map(\.fields)) written as \(written.debugDescription) fails to parse: \(error)")
    }
    return 0
}
