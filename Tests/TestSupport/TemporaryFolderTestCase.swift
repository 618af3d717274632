import Foundation
import XCTest

/// A test with a fresh, empty temporary folder of its own (`folderPrefix`
/// and a random suffix), removed after each test.
open class TemporaryFolderTestCase: XCTestCase {
    public var folder: URL!

    /// The start of the folder's name, to tell the tests' folders apart.
    open var folderPrefix: String { "test" }

    open override func setUpWithError() throws {
        try super.setUpWithError()
        folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("\(folderPrefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    open override func tearDown() {
        try? FileManager.default.removeItem(at: folder)
        super.tearDown()
    }
}
