import Features
import Runtime

/// Who-rated-what with two tastes, for the ranking models' tests: customers
/// of taste 0 rate among the first `perTaste` movies, of taste 1 among the
/// next `perTaste`, each `seen` of their own taste (3–5 stars); everybody
/// rates each of the `blockbusters` last movies with chance 0.8, more often
/// than any single taste movie. The held-out ratings are `heldOut` more
/// movies of the customer's own taste, rated 5 — so "most popular" (the
/// blockbusters, then guesses) finds little, and a model that learns the
/// tastes finds much.
func tasteRatings(customers: Int, perTaste: Int, blockbusters: Int, seen: Int, heldOut: Int,
                  seed: UInt64) -> (train: RatingMatrix, heldOut: HeldOutRatings) {
    var rng = SeededGenerator(seed: seed)
    var entries: [RatingMatrix.Entry] = []
    var held = HeldOutRatings()
    let movies = 2 * perTaste + blockbusters
    for c in 0..<customers {
        let first = c % 2 * perTaste
        var own = Array(first..<(first + perTaste))
        own.shuffle(using: &rng)
        for m in own.prefix(seen) { entries.append(.init(customer: Int32(c), movie: Int32(m), rating: Float(3 + rng.next() % 3), day: 0)) }
        for m in (2 * perTaste)..<movies where rng.unit() < 0.8 { entries.append(.init(customer: Int32(c), movie: Int32(m), rating: 4, day: 0)) }
        for m in own.dropFirst(seen).prefix(heldOut) {
            held.customer.append(Int32(c)); held.movie.append(Int32(m)); held.rating.append(5)
        }
    }
    let ids = { (n: Int) in (0..<n).map { Int64($0 + 1) } }
    return (RatingMatrix(customerIDs: ids(customers), movieIDs: ids(movies), entries: entries), held)
}
