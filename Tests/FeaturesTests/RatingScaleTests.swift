import XCTest
@testable import Features

final class RatingScaleTests: XCTestCase {
    func testClipAndMembership() {
        XCTAssertEqual(RatingScale.netflix.clip(6.2), 5)
        XCTAssertEqual(RatingScale.netflix.clip(-1), 1)
        XCTAssertEqual(RatingScale.netflix.clip(3.7), 3.7)
        XCTAssertTrue(RatingScale.netflix.clip(.nan).isNaN)
        XCTAssertTrue(RatingScale.movieLens.contains(0.5))
        XCTAssertTrue(RatingScale.movieLens.contains(4.5))
        XCTAssertFalse(RatingScale.movieLens.contains(4.3))
        XCTAssertFalse(RatingScale.netflix.contains(4.5))
        XCTAssertFalse(RatingScale.netflix.contains(0))
    }
}
