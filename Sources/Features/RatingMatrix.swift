/// All ratings of one data version, held twice for the two directions the
/// trainers sweep: CSR by customer (each customer's movies, ascending) and CSC
/// by movie (each movie's customers, ascending). Indexes are dense and 0-based;
/// the `customers` and `movies` vocabularies map them to ids and warehouse keys.
///
/// At Netflix scale (100.5M ratings) the two layouts take about 2 GB.
public struct RatingMatrix: Sendable, Equatable {
    public internal(set) var customers: Vocabulary
    public internal(set) var movies: Vocabulary
    public var customerIDs: [Int64] { customers.ids }
    public var movieIDs: [Int64] { movies.ids }

    /// CSR: the ratings of customer `c` are at `customerStart[c] ..< customerStart[c + 1]`.
    public internal(set) var customerStart: [Int]
    public internal(set) var customerMovie: [Int32]
    public internal(set) var customerRating: [Float]
    /// Days since 1970-01-01, for temporal splits.
    public internal(set) var customerDay: [Int32]

    /// CSC: the ratings of movie `m` are at `movieStart[m] ..< movieStart[m + 1]`.
    public internal(set) var movieStart: [Int]
    public internal(set) var movieCustomer: [Int32]
    public internal(set) var movieRating: [Float]

    public var customerCount: Int { customerIDs.count }
    public var movieCount: Int { movieIDs.count }
    public var count: Int { customerMovie.count }

    /// One rating given as dense indexes.
    public struct Entry: Equatable, Sendable {
        public var customer: Int32
        public var movie: Int32
        public var rating: Float
        public var day: Int32

        public init(customer: Int32, movie: Int32, rating: Float, day: Int32) {
            self.customer = customer
            self.movie = movie
            self.rating = rating
            self.day = day
        }
    }

    /// Builds both layouts from ratings in any order, by counting sort (no
    /// comparison sort): O(n + customers + movies).
    /// - Precondition: every index is in range and no (customer, movie) pair repeats.
    public init(customerIDs: [Int64], movieIDs: [Int64], entries: [Entry]) {
        // Two stable counting passes — by customer, then by movie — leave each
        // movie's customers ascending: the CSC half, from which the other follows.
        func countingOrder(_ order: [Int32], buckets: Int, key: (Entry) -> Int32) -> (order: [Int32], start: [Int]) {
            var start = [Int](repeating: 0, count: buckets + 1)
            for i in order { start[Int(key(entries[Int(i)])) + 1] += 1 }
            for b in 0..<buckets { start[b + 1] += start[b] }
            var next = start
            var sorted = [Int32](repeating: 0, count: order.count)
            for i in order {
                let b = Int(key(entries[Int(i)]))
                sorted[next[b]] = i
                next[b] += 1
            }
            return (sorted, start)
        }
        let byCustomer = countingOrder((0..<Int32(entries.count)).map { $0 }, buckets: customerIDs.count) { $0.customer }.order
        let (byMovie, movieStart) = countingOrder(byCustomer, buckets: movieIDs.count) { $0.movie }
        self.init(customerIDs: customerIDs, movieIDs: movieIDs, movieStart: movieStart,
                  movieCustomer: byMovie.map { entries[Int($0)].customer },
                  movieRating: byMovie.map { entries[Int($0)].rating },
                  movieDay: byMovie.map { entries[Int($0)].day })
    }

    /// Builds the matrix from its CSC half (each movie's customers ascending),
    /// deriving the CSR half by counting: no list of entries is ever held, so
    /// the peak is the two layouts plus the days.
    /// - Precondition: `movieStart` has movieIDs.count + 1 bounds; customers ascend within each movie.
    public init(customerIDs: [Int64], movieIDs: [Int64], movieStart: [Int], movieCustomer: [Int32],
                movieRating: [Float], movieDay: [Int32]) {
        let n = movieCustomer.count
        var customerStart = [Int](repeating: 0, count: customerIDs.count + 1)
        for c in movieCustomer { customerStart[Int(c) + 1] += 1 }
        for c in 0..<customerIDs.count { customerStart[c + 1] += customerStart[c] }
        var customerMovie = [Int32](repeating: 0, count: n)
        var customerRating = [Float](repeating: 0, count: n)
        var customerDay = [Int32](repeating: 0, count: n)
        var next = customerStart
        for m in 0..<movieIDs.count {
            for slot in movieStart[m]..<movieStart[m + 1] {
                let c = Int(movieCustomer[slot])
                customerMovie[next[c]] = Int32(m)
                customerRating[next[c]] = movieRating[slot]
                customerDay[next[c]] = movieDay[slot]
                next[c] += 1
            }
        }
        // The shapes hold by construction; the checked initializer stores them.
        self.init(customerIDs: customerIDs, movieIDs: movieIDs, customerStart: customerStart, customerMovie: customerMovie,
                  customerRating: customerRating, customerDay: customerDay, movieStart: movieStart,
                  movieCustomer: movieCustomer, movieRating: movieRating)!
    }

    /// Restores a matrix from its stored arrays (the cache), checking their shapes.
    public init?(customerIDs: [Int64], movieIDs: [Int64], customerStart: [Int], customerMovie: [Int32],
                 customerRating: [Float], customerDay: [Int32], movieStart: [Int], movieCustomer: [Int32],
                 movieRating: [Float]) {
        let n = customerMovie.count
        guard customerStart.count == customerIDs.count + 1, movieStart.count == movieIDs.count + 1,
              customerStart.first == 0, customerStart.last == n, movieStart.first == 0, movieStart.last == n,
              customerRating.count == n, customerDay.count == n, movieCustomer.count == n, movieRating.count == n
        else { return nil }
        self.customers = Vocabulary(ids: customerIDs)
        self.movies = Vocabulary(ids: movieIDs)
        self.customerStart = customerStart
        self.customerMovie = customerMovie
        self.customerRating = customerRating
        self.customerDay = customerDay
        self.movieStart = movieStart
        self.movieCustomer = movieCustomer
        self.movieRating = movieRating
    }

    /// The movies customer `c` rated, ascending, with the ratings.
    public func ratings(ofCustomer c: Int) -> (movies: ArraySlice<Int32>, ratings: ArraySlice<Float>) {
        let range = customerStart[c]..<customerStart[c + 1]
        return (customerMovie[range], customerRating[range])
    }

    /// The customers who rated movie `m`, ascending, with the ratings.
    public func ratings(ofMovie m: Int) -> (customers: ArraySlice<Int32>, ratings: ArraySlice<Float>) {
        let range = movieStart[m]..<movieStart[m + 1]
        return (movieCustomer[range], movieRating[range])
    }
}

extension RatingMatrix {
    /// Ratings per customer: what a model records as each customer's training ratings.
    public var customerSupport: [Int32] { (0..<customerCount).map { Int32(customerStart[$0 + 1] - customerStart[$0]) } }
    /// Ratings per movie: the support a movie's scores rest on.
    public var movieSupport: [Int32] { (0..<movieCount).map { Int32(movieStart[$0 + 1] - movieStart[$0]) } }
}
