import Runtime

extension RatingMatrix {
    /// This matrix with `changes` applied: a change to a pair it holds replaces
    /// that rating and day, a new pair is added. `customerIDs` and `movieIDs`
    /// must extend the matrix's own (dense keys only grow); nil otherwise.
    ///
    /// Both halves are merges — each customer's row with its changes (sorted by
    /// movie), each movie's column with its changes (sorted by customer) — at
    /// offsets known beforehand, so the rows and columns go to every core and every
    /// pass reads and writes in order: O(ratings) of sequential memory traffic and
    /// no pass over the warehouse, which is what lets a cache of 100M ratings
    /// follow a delta of a million in seconds.
    public func applying(_ changes: [Entry], customerIDs: [Int64], movieIDs: [Int64], threads: Int = Parallel.defaultThreads) -> RatingMatrix? {
        guard customerIDs.count >= customerCount, movieIDs.count >= movieCount,
              customerIDs.starts(with: self.customerIDs), movieIDs.starts(with: self.movieIDs),
              changes.allSatisfy({ Int($0.customer) < customerIDs.count && Int($0.movie) < movieIDs.count && $0.customer >= 0 && $0.movie >= 0 })
        else { return nil }
        let customers = customerIDs.count, movies = movieIDs.count
        let byCustomer = changes.sorted { ($0.customer, $0.movie) < ($1.customer, $1.movie) }
        // Whether each change replaces a held pair: a binary search in its customer's row.
        let replaces = byCustomer.map { e -> Bool in
            let c = Int(e.customer)
            guard c < customerCount else { return false }
            var lo = customerStart[c], hi = customerStart[c + 1]
            while lo < hi {
                let mid = (lo + hi) / 2
                if customerMovie[mid] < e.movie { lo = mid + 1 } else { hi = mid }
            }
            return lo < customerStart[c + 1] && customerMovie[lo] == e.movie
        }
        // Where each row and column starts, and where each one's changes start.
        var start = [Int](repeating: 0, count: customers + 1)
        var changeStart = [Int](repeating: 0, count: customers + 1)
        var movieStart = [Int](repeating: 0, count: movies + 1)
        for c in 0..<customerCount { start[c + 1] = customerStart[c + 1] - customerStart[c] }
        for m in 0..<movieCount { movieStart[m + 1] = self.movieStart[m + 1] - self.movieStart[m] }
        for (i, e) in byCustomer.enumerated() {
            changeStart[Int(e.customer) + 1] += 1
            if !replaces[i] { start[Int(e.customer) + 1] += 1; movieStart[Int(e.movie) + 1] += 1 }
        }
        for c in 0..<customers { start[c + 1] += start[c]; changeStart[c + 1] += changeStart[c] }
        for m in 0..<movies { movieStart[m + 1] += movieStart[m] }
        let total = start[customers]

        // The three row arrays filled together, each index exactly once (the offsets above cover them).
        var ratingOutArray: [Float] = [], dayOutArray: [Int32] = []
        let movieOutArray = LargeArrays.filled(total) { (movieOut: UnsafeMutableBufferPointer<Int32>) in
            ratingOutArray = LargeArrays.filled(total) { (ratingOut: UnsafeMutableBufferPointer<Float>) in
                dayOutArray = LargeArrays.filled(total) { (dayOut: UnsafeMutableBufferPointer<Int32>) in
                    Parallel.forEachChunk(count: customers, chunkSize: 4096, threads: threads) { range in
                        for c in range {
                            var slot = c < customerCount ? customerStart[c] : 0
                            let end = c < customerCount ? customerStart[c + 1] : 0
                            var d = changeStart[c]
                            var out = start[c]
                            while slot < end || d < changeStart[c + 1] {
                                if d < changeStart[c + 1] && (slot >= end || byCustomer[d].movie <= customerMovie[slot]) {
                                    if slot < end && byCustomer[d].movie == customerMovie[slot] { slot += 1 }
                                    (movieOut[out], ratingOut[out], dayOut[out]) = (byCustomer[d].movie, byCustomer[d].rating, byCustomer[d].day)
                                    d += 1
                                } else {
                                    (movieOut[out], ratingOut[out], dayOut[out]) = (customerMovie[slot], customerRating[slot], customerDay[slot])
                                    slot += 1
                                }
                                out += 1
                            }
                        }
                    }
                }
            }
        }
        let byMovie = changes.sorted { ($0.movie, $0.customer) < ($1.movie, $1.customer) }
        var movieChangeStart = [Int](repeating: 0, count: movies + 1)
        for e in byMovie { movieChangeStart[Int(e.movie) + 1] += 1 }
        for m in 0..<movies { movieChangeStart[m + 1] += movieChangeStart[m] }
        var columnRatingArray: [Float] = []
        let customerOutArray = LargeArrays.filled(total) { (customerOut: UnsafeMutableBufferPointer<Int32>) in
            columnRatingArray = LargeArrays.filled(total) { (ratingOut: UnsafeMutableBufferPointer<Float>) in
                Parallel.forEachChunk(count: movies, chunkSize: 64, threads: threads) { range in
                    for m in range {
                        var slot = m < movieCount ? self.movieStart[m] : 0
                        let end = m < movieCount ? self.movieStart[m + 1] : 0
                        var d = movieChangeStart[m]
                        var out = movieStart[m]
                        while slot < end || d < movieChangeStart[m + 1] {
                            if d < movieChangeStart[m + 1] && (slot >= end || byMovie[d].customer <= movieCustomer[slot]) {
                                if slot < end && byMovie[d].customer == movieCustomer[slot] { slot += 1 }
                                (customerOut[out], ratingOut[out]) = (byMovie[d].customer, byMovie[d].rating)
                                d += 1
                            } else {
                                (customerOut[out], ratingOut[out]) = (movieCustomer[slot], movieRating[slot])
                                slot += 1
                            }
                            out += 1
                        }
                    }
                }
            }
        }
        return RatingMatrix(customerIDs: customerIDs, movieIDs: movieIDs, customerStart: start, customerMovie: movieOutArray,
                            customerRating: ratingOutArray, customerDay: dayOutArray, movieStart: movieStart,
                            movieCustomer: customerOutArray, movieRating: columnRatingArray)
    }
}
