extension RatingMatrix {
    /// This matrix with `changes` applied: a change to a pair it holds replaces
    /// that rating and day, a new pair is added. `customerIDs` and `movieIDs`
    /// must extend the matrix's own (dense keys only grow); nil otherwise.
    ///
    /// One merge per customer of the CSR half and a counting pass for the CSC
    /// half: O(ratings), with no pass over the warehouse — what lets a cache of
    /// 100M ratings follow a delta of thousands.
    public func applying(_ changes: [Entry], customerIDs: [Int64], movieIDs: [Int64]) -> RatingMatrix? {
        guard customerIDs.count >= customerCount, movieIDs.count >= movieCount,
              customerIDs.starts(with: self.customerIDs), movieIDs.starts(with: self.movieIDs),
              changes.allSatisfy({ Int($0.customer) < customerIDs.count && Int($0.movie) < movieIDs.count && $0.customer >= 0 && $0.movie >= 0 })
        else { return nil }
        let sorted = changes.sorted { ($0.customer, $0.movie) < ($1.customer, $1.movie) }
        let customers = customerIDs.count, movies = movieIDs.count
        var start = [Int](repeating: 0, count: customers + 1)
        var movieOut: [Int32] = [], ratingOut: [Float] = [], dayOut: [Int32] = []
        let capacity = count + sorted.count
        movieOut.reserveCapacity(capacity)
        ratingOut.reserveCapacity(capacity)
        dayOut.reserveCapacity(capacity)
        var d = 0
        for c in 0..<customers {
            start[c] = movieOut.count
            var slot = c < customerCount ? customerStart[c] : 0
            let end = c < customerCount ? customerStart[c + 1] : 0
            while slot < end || (d < sorted.count && Int(sorted[d].customer) == c) {
                let changed = d < sorted.count && Int(sorted[d].customer) == c
                if changed && (slot >= end || sorted[d].movie <= customerMovie[slot]) {
                    // A change of a held pair replaces it.
                    if slot < end && sorted[d].movie == customerMovie[slot] { slot += 1 }
                    movieOut.append(sorted[d].movie)
                    ratingOut.append(sorted[d].rating)
                    dayOut.append(sorted[d].day)
                    d += 1
                } else {
                    movieOut.append(customerMovie[slot])
                    ratingOut.append(customerRating[slot])
                    dayOut.append(customerDay[slot])
                    slot += 1
                }
            }
        }
        start[customers] = movieOut.count
        // The CSC half by counting; customers are visited ascending, so each movie's customers ascend.
        var movieStart = [Int](repeating: 0, count: movies + 1)
        for m in movieOut { movieStart[Int(m) + 1] += 1 }
        for m in 0..<movies { movieStart[m + 1] += movieStart[m] }
        var movieCustomer = [Int32](repeating: 0, count: movieOut.count)
        var movieRating = [Float](repeating: 0, count: movieOut.count)
        var next = movieStart
        for c in 0..<customers {
            for slot in start[c]..<start[c + 1] {
                let m = Int(movieOut[slot])
                movieCustomer[next[m]] = Int32(c)
                movieRating[next[m]] = ratingOut[slot]
                next[m] += 1
            }
        }
        return RatingMatrix(customerIDs: customerIDs, movieIDs: movieIDs, customerStart: start, customerMovie: movieOut,
                            customerRating: ratingOut, customerDay: dayOut, movieStart: movieStart,
                            movieCustomer: movieCustomer, movieRating: movieRating)
    }
}
