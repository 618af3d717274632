import Foundation

// embed-sql INPUT OUTPUT: writes `enum SchemaSQL { static let text = … }`
// holding INPUT byte for byte, as a raw multi-line string literal whose
// delimiter has one more `#` than the longest run of `#` in the text, so that
// nothing in it needs escaping (the build plugin EmbedSchema runs this).
let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: embed-sql INPUT OUTPUT\n".utf8))
    exit(2)
}
do {
    let text = try String(contentsOfFile: arguments[1], encoding: .utf8)
    var longest = 0, run = 0
    for character in text {
        run = character == "#" ? run + 1 : 0
        longest = max(longest, run)
    }
    let hashes = String(repeating: "#", count: longest + 1)
    // A multi-line literal drops the line break before its closing delimiter: one more keeps the text's own.
    let source = """
        // Generated at build time from \(URL(fileURLWithPath: arguments[1]).lastPathComponent) by the EmbedSchema plugin.
        enum SchemaSQL {
            static let text = \(hashes)\"\"\"
        \(text)
        \"\"\"\(hashes)
        }

        """
    try source.write(toFile: arguments[2], atomically: true, encoding: .utf8)
} catch {
    FileHandle.standardError.write(Data("embed-sql: \(error)\n".utf8))
    exit(1)
}
