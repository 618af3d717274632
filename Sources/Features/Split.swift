import Runtime
/// How the ratings are divided into train, validation and test.
///
/// Every strategy returns the same thing — one `Split.Part` per rating, in the
/// matrix's customer (CSR) order — and every assignment is a pure function of
/// the definition and the data, so the same definition gives the same split on
/// any machine and thread count (LensKit's splitters share one result type the
/// same way). The validation part is always carved from what is not test: the
/// test part is never seen by training or tuning.
public struct SplitDefinition: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Each rating is test with probability `testFraction` (a seeded hash of the pair).
        case random
        /// Each customer's latest `testFraction` of ratings, by date, are test.
        case temporal
        /// The pairs of the Netflix `probe.txt` are test.
        case probe
        /// The pairs of a `customer_id,movie_id` CSV are test.
        case file
    }

    public var kind: Kind
    /// 0 < f < 1 for random and temporal; unused for probe and file.
    public var testFraction: Double
    /// The share of the non-test ratings held out for tuning, 0 ≤ f < 1.
    public var validationFraction: Double
    public var seed: UInt64
    /// The pairs file (probe, file).
    public var source: String?

    public init(kind: Kind, testFraction: Double = 0.1, validationFraction: Double = 0.05, seed: UInt64 = 42, source: String? = nil) {
        self.kind = kind
        self.testFraction = testFraction
        self.validationFraction = validationFraction
        self.seed = seed
        self.source = source
    }

    public func validate() throws {
        if kind == .random || kind == .temporal {
            guard testFraction > 0, testFraction < 1 else {
                throw SplitError.invalid("the test fraction must be between 0 and 1 (exclusive), got \(testFraction)")
            }
        }
        guard validationFraction >= 0, validationFraction < 1 else {
            throw SplitError.invalid("the validation fraction must be in [0, 1), got \(validationFraction)")
        }
    }
}

public enum SplitError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    /// A split that names test pairs found none of them among the ratings.
    case emptyTest(String)

    public var description: String {
        switch self {
        case .invalid(let text): return "invalid split: \(text)"
        case .emptyTest(let text): return "the split has no test ratings: \(text)"
        }
    }
}

/// The ratings of one part that training does not see (validation or test),
/// ordered by customer, then movie: dense indexes of the full matrix.
public struct HeldOutRatings: Sendable, Equatable {
    public var customer: [Int32] = []
    public var movie: [Int32] = []
    public var rating: [Float] = []

    public init() {}

    public var count: Int { rating.count }

    mutating func append(customer c: Int32, movie m: Int32, rating r: Float) {
        customer.append(c)
        movie.append(m)
        rating.append(r)
    }

    /// A 64-bit digest of the pairs (not the ratings), printed as hex: equal for
    /// equal sets of pairs in this order, so two runs can prove they used one test set.
    public func checksum(customerIDs: [Int64], movieIDs: [Int64]) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for i in 0..<count {
            h = SeededGenerator.mix(h ^ UInt64(bitPattern: customerIDs[Int(customer[i])]))
            h = SeededGenerator.mix(h ^ UInt64(bitPattern: movieIDs[Int(movie[i])]))
        }
        return String(h, radix: 16)
    }
}

/// A matrix divided for training: the train part as a `RatingMatrix` over the
/// same customers and movies (so indexes agree everywhere) and the held-out parts.
public struct Split: Sendable {
    public enum Part: UInt8, Sendable { case train = 0, validation = 1, test = 2 }

    public var train: RatingMatrix
    public var validation: HeldOutRatings
    public var test: HeldOutRatings
}

/// Assigns every rating of a matrix to a part.
public enum Splitter {
    /// One part per rating, in customer (CSR) order.
    /// - Parameter testPairs: for probe and file splits, the test pairs as
    ///   (customer, movie) dense indexes, in any order; ignored otherwise.
    static let testSalt: UInt64 = 0x7E57, validationSalt: UInt64 = 0x7A11D

    /// The seeded uniform of one pair: a pair's part never depends on the other ratings.
    static func uniform(seed: UInt64, customerID: Int64, movieID: Int64, salt: UInt64) -> Double {
        let h = SeededGenerator.mix(SeededGenerator.mix(seed ^ salt &+ UInt64(bitPattern: customerID)) ^ UInt64(bitPattern: movieID))
        return Double(h >> 11) / Double(1 << 53)
    }

    /// The part a random, probe or file split puts a pair in, from the pair alone
    /// (`listed`: the pair is one of a probe/file split's test pairs): the same on
    /// any data version, so the split extends to new ratings without re-drawing the old.
    public static func part(customerID: Int64, movieID: Int64, _ definition: SplitDefinition, listed: Bool = false) -> Split.Part {
        precondition(definition.kind != .temporal, "a temporal split's parts depend on each customer's other ratings")
        if definition.kind == .random {
            if uniform(seed: definition.seed, customerID: customerID, movieID: movieID, salt: testSalt) < definition.testFraction { return .test }
        } else if listed {
            return .test
        }
        if uniform(seed: definition.seed, customerID: customerID, movieID: movieID, salt: validationSalt) < definition.validationFraction { return .validation }
        return .train
    }

    public static func assign(_ matrix: RatingMatrix, _ definition: SplitDefinition,
                              testPairs: [(customer: Int32, movie: Int32)] = []) throws -> [Split.Part] {
        try definition.validate()
        var parts = [Split.Part](repeating: .train, count: matrix.count)
        let seed = definition.seed
        // A second, independent uniform per pair decides validation, so the
        // validation part does not move when the test fraction changes.
        func uniform(_ c: Int, _ m: Int, _ salt: UInt64) -> Double {
            Self.uniform(seed: seed, customerID: matrix.customerIDs[c], movieID: matrix.movieIDs[m], salt: salt)
        }
        switch definition.kind {
        case .random:
            for c in 0..<matrix.customerCount {
                for s in matrix.customerStart[c]..<matrix.customerStart[c + 1] {
                    let m = Int(matrix.customerMovie[s])
                    if uniform(c, m, testSalt) < definition.testFraction {
                        parts[s] = .test
                    } else if uniform(c, m, validationSalt) < definition.validationFraction {
                        parts[s] = .validation
                    }
                }
            }
        case .temporal:
            // Latest by (day, movie id): the movie id breaks ties between ratings of one day.
            var order: [Int] = []
            for c in 0..<matrix.customerCount {
                let lo = matrix.customerStart[c], hi = matrix.customerStart[c + 1]
                let n = hi - lo
                guard n > 1 else { continue }   // a customer's only rating stays in train
                order = Array(lo..<hi)
                order.sort {
                    let a = matrix.customerDay[$0], b = matrix.customerDay[$1]
                    return a != b ? a < b : matrix.movieIDs[Int(matrix.customerMovie[$0])] < matrix.movieIDs[Int(matrix.customerMovie[$1])]
                }
                let tests = min(n - 1, Int((definition.testFraction * Double(n)).rounded()))
                let remaining = n - tests
                let validations = min(remaining - 1, Int((definition.validationFraction * Double(remaining)).rounded()))
                for j in (n - tests)..<n { parts[order[j]] = .test }
                for j in (remaining - validations)..<remaining { parts[order[j]] = .validation }
            }
        case .probe, .file:
            var matched = 0
            for (c, m) in testPairs {
                let lo = matrix.customerStart[Int(c)], hi = matrix.customerStart[Int(c) + 1]
                if let s = binarySearch(matrix.customerMovie, m, lo, hi), parts[s] != .test {
                    parts[s] = .test
                    matched += 1
                }
            }
            guard matched > 0 else { throw SplitError.emptyTest("none of the \(testPairs.count) listed pairs is a rating") }
            for c in 0..<matrix.customerCount {
                for s in matrix.customerStart[c]..<matrix.customerStart[c + 1] where parts[s] != .test {
                    if uniform(c, Int(matrix.customerMovie[s]), validationSalt) < definition.validationFraction { parts[s] = .validation }
                }
            }
        }
        return parts
    }

    /// A fold number 0..<count per rating (customer order), by a seeded hash of
    /// the pair: K-fold cross-validation inside a train part.
    public static func folds(_ matrix: RatingMatrix, count: Int, seed: UInt64) -> [UInt8] {
        precondition((2...255).contains(count), "2…255 folds")
        var folds = [UInt8](repeating: 0, count: matrix.count)
        for c in 0..<matrix.customerCount {
            for s in matrix.customerStart[c]..<matrix.customerStart[c + 1] {
                let h = SeededGenerator.mix(SeededGenerator.mix(seed ^ 0xF01D &+ UInt64(bitPattern: matrix.customerIDs[c])) ^ UInt64(bitPattern: matrix.movieIDs[Int(matrix.customerMovie[s])]))
                folds[s] = UInt8(h % UInt64(count))
            }
        }
        return folds
    }

    /// The slot of `target` in the ascending `values[lo..<end]`, if there.
    private static func binarySearch(_ values: [Int32], _ target: Int32, _ lo: Int, _ end: Int) -> Int? {
        var lo = lo, hi = end
        while lo < hi {
            let mid = (lo + hi) / 2
            if values[mid] < target { lo = mid + 1 } else { hi = mid }
        }
        return lo < end && values[lo] == target ? lo : nil
    }
}

extension RatingMatrix {
    /// Divides the matrix by `parts` (one per rating, customer order). Consumes
    /// the matrix so that its arrays are released as the train part is built:
    /// at Netflix scale this keeps the peak near 1.6× one matrix, not 2×.
    public consuming func partitioned(by parts: [Split.Part]) -> Split {
        precondition(parts.count == count, "one part per rating")
        var validation = HeldOutRatings(), test = HeldOutRatings()
        // Train CSR, filtered from the CSR half.
        var trainCount = 0
        for p in parts where p == .train { trainCount += 1 }
        var start = [Int](repeating: 0, count: customerCount + 1)
        var trainMovie = [Int32](), trainRating = [Float](), trainDay = [Int32]()
        trainMovie.reserveCapacity(trainCount)
        trainRating.reserveCapacity(trainCount)
        trainDay.reserveCapacity(trainCount)
        for c in 0..<customerCount {
            for s in customerStart[c]..<customerStart[c + 1] {
                switch parts[s] {
                case .train:
                    trainMovie.append(customerMovie[s])
                    trainRating.append(customerRating[s])
                    trainDay.append(customerDay[s])
                case .validation: validation.append(customer: Int32(c), movie: customerMovie[s], rating: customerRating[s])
                case .test: test.append(customer: Int32(c), movie: customerMovie[s], rating: customerRating[s])
                }
            }
            start[c + 1] = trainMovie.count
        }
        // The CSR slot of (c, m) is found by walking movies in order with one
        // cursor per customer (each customer's movies ascend), so the CSC half
        // is filtered without a search.
        var cursor = Array(customerStart.dropLast())
        customerMovie = []; customerRating = []; customerDay = []
        var movieStartTrain = [Int](repeating: 0, count: movieCount + 1)
        var trainCustomer = [Int32](), trainMovieRating = [Float]()
        trainCustomer.reserveCapacity(trainCount)
        trainMovieRating.reserveCapacity(trainCount)
        for m in 0..<movieCount {
            for s in movieStart[m]..<movieStart[m + 1] {
                let c = Int(movieCustomer[s])
                if parts[cursor[c]] == .train {
                    trainCustomer.append(movieCustomer[s])
                    trainMovieRating.append(movieRating[s])
                }
                cursor[c] += 1
            }
            movieStartTrain[m + 1] = trainCustomer.count
        }
        movieCustomer = []; movieRating = []
        let train = RatingMatrix(customerIDs: customerIDs, movieIDs: movieIDs, customerStart: start, customerMovie: trainMovie,
                                 customerRating: trainRating, customerDay: trainDay, movieStart: movieStartTrain,
                                 movieCustomer: trainCustomer, movieRating: trainMovieRating)!
        return Split(train: train, validation: validation, test: test)
    }
}
