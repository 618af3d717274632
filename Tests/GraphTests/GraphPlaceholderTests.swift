import XCTest
@testable import Graph

final class GraphPlaceholderTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
