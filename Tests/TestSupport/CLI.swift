import Foundation

/// Runs the built `recsys` binary as a user would.
public enum CLI {
    public struct Result {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// The binary SwiftPM built beside the test bundle; `RECSYS_TEST_BINARY`
    /// names another (to show that a regression test fails on an older build).
    public static var binary: URL {
        if let other = ProcessInfo.processInfo.environment["RECSYS_TEST_BINARY"], !other.isEmpty {
            return URL(fileURLWithPath: other)
        }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("recsys")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/recsys")
    }

    /// Starts the binary; the caller waits (or kills).
    public static func start(_ arguments: [String], home: URL, stdout: FileHandle? = nil, stderr: FileHandle? = nil) throws -> Process {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["RECSYS_HOME"] = home.path
        env.removeValue(forKey: "RECSYS_DATABASE_URL")
        process.environment = env
        process.currentDirectoryURL = home
        process.standardInput = FileHandle.nullDevice
        if let stdout { process.standardOutput = stdout }
        if let stderr { process.standardError = stderr }
        try process.run()
        return process
    }

    /// Runs the binary to the end and collects its output.
    public static func run(_ arguments: [String], home: URL) throws -> Result {
        let out = Pipe(), err = Pipe()
        let process = try start(arguments, home: home, stdout: out.fileHandleForWriting, stderr: err.fileHandleForWriting)
        out.fileHandleForWriting.closeFile()
        err.fileHandleForWriting.closeFile()
        // Read both pipes concurrently so a full pipe never blocks the child.
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errBox.data = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let errData = errBox.data
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// A fresh temporary folder (a RECSYS_HOME, a data folder).
    public static func temporaryFolder(_ name: String = "recsys") -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
