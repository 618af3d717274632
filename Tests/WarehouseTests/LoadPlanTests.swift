import XCTest
@testable import Warehouse

/// The pre-flight decision, from bookkeeping values alone.
final class LoadPlanTests: XCTestCase {
    let files = [FileFingerprint(name: "movie_titles.csv", size: 10, modified: 1, sample: "a"),
                 FileFingerprint(name: "combined_data_1.txt", size: 100, modified: 1, sample: "b")]

    func run(finished: Bool = false) -> RunRecord {
        RunRecord(format: .netflix, sourceDirectory: "/d", fingerprints: files, dataVersion: "v", finished: finished)
    }

    func checkpoint(_ stage: LoadStage, file: String = "", rows: Int, done: Bool) -> CheckpointRow {
        CheckpointRow(stage: stage, file: file, byteOffset: 0, line: 0, context: nil, rows: rows, expected: rows, done: done, seconds: 0)
    }

    let emptyCounts = ["dim_date": 0, "dim_movie": 0, "dim_customer": 0, "fact_ratings": 0]

    func testEmptyWarehouseStarts() throws {
        XCTAssertEqual(try LoadPlan.decide(.init(run: nil, checkpoints: [], counts: emptyCounts), source: files, format: .netflix), .start)
    }

    func testUnexplainedRowsAreRefused() {
        var counts = emptyCounts
        counts["fact_ratings"] = 5
        XCTAssertThrowsError(try LoadPlan.decide(.init(run: nil, checkpoints: [], counts: counts), source: files, format: .netflix)) { error in
            let refusal = error as! SafetyRefusal
            XCTAssertTrue(refusal.reason.contains("fact_ratings: 5 rows"))
            XCTAssertTrue(refusal.action.contains("--fresh"))
        }
    }

    func testInterruptedLoadResumesAfterFinishedStages() throws {
        let checkpoints = [checkpoint(.dimDate, rows: 3, done: true), checkpoint(.dimMovie, rows: 2, done: true),
                           checkpoint(.dimCustomer, rows: 4, done: true),
                           checkpoint(.factRatings, file: "combined_data_1.txt", rows: 6, done: false),
                           checkpoint(.postProcessing, rows: 0, done: false)]
        let counts = ["dim_date": 3, "dim_movie": 2, "dim_customer": 4, "fact_ratings": 6]
        XCTAssertEqual(try LoadPlan.decide(.init(run: run(), checkpoints: checkpoints, counts: counts), source: files, format: .netflix),
                       .resume(done: [.dimDate, .dimMovie, .dimCustomer]))
    }

    func testRowsBeyondTheCheckpointAreRefused() {
        let checkpoints = [checkpoint(.dimDate, rows: 3, done: true), checkpoint(.factRatings, file: "combined_data_1.txt", rows: 6, done: false)]
        let counts = ["dim_date": 3, "dim_movie": 0, "dim_customer": 0, "fact_ratings": 7]
        XCTAssertThrowsError(try LoadPlan.decide(.init(run: run(), checkpoints: checkpoints, counts: counts), source: files, format: .netflix)) { error in
            XCTAssertTrue((error as! SafetyRefusal).reason.contains("fact_ratings holds 7 rows, the checkpoint accounts for 6"))
        }
    }

    func testChangedSourceIsRefusedWithTheChangeNamed() {
        var changed = files
        changed[1].size = 120
        XCTAssertThrowsError(try LoadPlan.decide(.init(run: run(), checkpoints: [], counts: emptyCounts), source: changed, format: .netflix)) { error in
            let refusal = error as! SafetyRefusal
            XCTAssertTrue(refusal.reason.contains("combined_data_1.txt changed size 100 → 120 bytes"))
            XCTAssertTrue(refusal.action.contains("restore"))
        }
        XCTAssertThrowsError(try LoadPlan.decide(.init(run: run(finished: true), checkpoints: [], counts: emptyCounts), source: changed, format: .netflix)) { error in
            XCTAssertTrue((error as! SafetyRefusal).action.contains("--fresh"))
        }
    }

    func testCompleteLoadIsRecognised() throws {
        let checkpoints = LoadStage.allCases.map { checkpoint($0, rows: 0, done: true) }
        XCTAssertEqual(try LoadPlan.decide(.init(run: run(finished: true), checkpoints: checkpoints, counts: emptyCounts), source: files, format: .netflix), .complete)
    }
}
