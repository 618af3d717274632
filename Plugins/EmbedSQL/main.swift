import Foundation

// embed-sql INPUT OUTPUT: writes `enum SchemaSQL { static let text = "…" }`
// holding INPUT byte for byte (the build plugin EmbedSchema runs it).
let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: embed-sql INPUT OUTPUT\n".utf8))
    exit(2)
}
do {
    let text = try String(contentsOfFile: arguments[1], encoding: .utf8)
    var literal = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": literal += "\\\\"
        case "\"": literal += "\\\""
        case "\n": literal += "\\n"
        case "\t": literal += "\\t"
        case "\r": literal += "\\r"
        default: literal.unicodeScalars.append(scalar)
        }
    }
    let source = "// Generated at build time from \(URL(fileURLWithPath: arguments[1]).lastPathComponent) by the EmbedSchema plugin.\nenum SchemaSQL {\n    static let text: String = \"\(literal)\"\n}\n"
    try source.write(toFile: arguments[2], atomically: true, encoding: .utf8)
} catch {
    FileHandle.standardError.write(Data("embed-sql: \(error)\n".utf8))
    exit(1)
}
