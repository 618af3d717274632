/// All ratings of one data version, held twice for the two directions the
/// trainers sweep: CSR by customer (each customer's movies, ascending) and CSC
/// by movie (each movie's customers, ascending). Indexes are dense and 0-based;
/// `customerIDs` and `movieIDs` map them back to the source's ids.
///
/// At Netflix scale (100.5M ratings) the two layouts take about 2 GB.
public struct RatingMatrix: Sendable, Equatable {
    public let customerIDs: [Int64]
    public let movieIDs: [Int64]

    /// CSR: the ratings of customer `c` are at `customerStart[c] ..< customerStart[c + 1]`.
    public let customerStart: [Int]
    public let customerMovie: [Int32]
    public let customerRating: [Float]
    /// Days since 1970-01-01, for temporal splits.
    public let customerDay: [Int32]

    /// CSC: the ratings of movie `m` are at `movieStart[m] ..< movieStart[m + 1]`.
    public let movieStart: [Int]
    public let movieCustomer: [Int32]
    public let movieRating: [Float]

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

    /// Builds both layouts from ratings in any order, by counting sort (two
    /// passes, no comparison sort): O(n + customers + movies).
    /// - Precondition: every index is in range and no (customer, movie) pair repeats.
    public init(customerIDs: [Int64], movieIDs: [Int64], entries: [Entry]) {
        self.customerIDs = customerIDs
        self.movieIDs = movieIDs
        let n = entries.count

        // Rows by movie first, so that the stable pass by customer leaves each
        // customer's movies ascending (and the CSC pass, fed in customer order,
        // leaves each movie's customers ascending).
        var movieStart = [Int](repeating: 0, count: movieIDs.count + 1)
        for e in entries { movieStart[Int(e.movie) + 1] += 1 }
        for m in 0..<movieIDs.count { movieStart[m + 1] += movieStart[m] }
        var byMovie = [Int32](repeating: 0, count: n)
        var fill = movieStart
        for (i, e) in entries.enumerated() {
            byMovie[fill[Int(e.movie)]] = Int32(i)
            fill[Int(e.movie)] += 1
        }

        var customerStart = [Int](repeating: 0, count: customerIDs.count + 1)
        for e in entries { customerStart[Int(e.customer) + 1] += 1 }
        for c in 0..<customerIDs.count { customerStart[c + 1] += customerStart[c] }
        var customerMovie = [Int32](repeating: 0, count: n)
        var customerRating = [Float](repeating: 0, count: n)
        var customerDay = [Int32](repeating: 0, count: n)
        var next = customerStart
        for i in byMovie {
            let e = entries[Int(i)]
            let slot = next[Int(e.customer)]
            customerMovie[slot] = e.movie
            customerRating[slot] = e.rating
            customerDay[slot] = e.day
            next[Int(e.customer)] += 1
        }

        var movieCustomer = [Int32](repeating: 0, count: n)
        var movieRating = [Float](repeating: 0, count: n)
        fill = movieStart
        for c in 0..<customerIDs.count {
            for slot in customerStart[c]..<customerStart[c + 1] {
                let m = Int(customerMovie[slot])
                movieCustomer[fill[m]] = Int32(c)
                movieRating[fill[m]] = customerRating[slot]
                fill[m] += 1
            }
        }

        self.customerStart = customerStart
        self.customerMovie = customerMovie
        self.customerRating = customerRating
        self.customerDay = customerDay
        self.movieStart = movieStart
        self.movieCustomer = movieCustomer
        self.movieRating = movieRating
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
        self.customerIDs = customerIDs
        self.movieIDs = movieIDs
        self.customerStart = customerStart
        self.customerMovie = customerMovie
        self.customerRating = customerRating
        self.customerDay = customerDay
        self.movieStart = movieStart
        self.movieCustomer = movieCustomer
        self.movieRating = movieRating
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
        self.customerIDs = customerIDs
        self.movieIDs = movieIDs
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
