import Features
import Foundation

/// Top-k ranking quality on held-out ratings, the way recommend serves a
/// customer: every movie the customer did not rate in training is a candidate,
/// the k best by the model's score are the list.
///
/// A held-out rating at or above `threshold` makes its movie relevant. Over the
/// customers with at least one relevant held-out movie (the others have nothing
/// to find), averaged per customer:
///
///     precision@k = hits / k
///     recall@k    = hits / |relevant|
///     NDCG@k      = Σ_{hit at position i} 1/log₂(i + 1)  ÷  Σ_{i ≤ min(k, |relevant|)} 1/log₂(i + 1)
///     MAP@k       = Σ_{hit at position i} (hits in the first i) / i  ÷  min(k, |relevant|)
///     hit rate@k  = 1 when the list holds at least one relevant movie
///
/// (binary gains, positions from 1). Catalog coverage is the share of the
/// catalog's movies that appear in at least one of those lists; popularity
/// is the mean number of training ratings of the movies shown (lower: more
/// novel lists).
public struct RankingMetrics: Sendable, Codable, Equatable {
    public var k: Int
    public var threshold: Double
    public var precision: Double
    public var recall: Double
    public var ndcg: Double
    public var map: Double
    public var hitRate: Double
    public var coverage: Double
    public var meanPopularity: Double
    /// Customers the averages run over.
    public var customers: Int
}

public enum Ranking {
    /// The list length and relevance threshold train scores every model's validation lists at.
    public static let defaultK = 10
    public static let defaultThreshold = 4.0

    /// Ranking metrics of `model`'s top-`k` lists against the relevant ratings of `heldOut`.
    /// `train` is the matrix the model was trained on: its ratings are the seen filter.
    public static func evaluate(_ model: FactorModel, on heldOut: HeldOutRatings, trainedOn train: RatingMatrix,
                                k: Int = 10, threshold: Double, threads: Int = ProcessInfo.processInfo.activeProcessorCount) -> RankingMetrics {
        precondition(k >= 1, "k must be at least 1")
        precondition(model.customerCount == train.customerCount && model.movieCount == train.movieCount,
                     "the model must have been trained on this matrix")
        // Relevant held-out movies per customer, grouped (CSR over the customers that have any).
        var relevantCount = [Int](repeating: 0, count: train.customerCount)
        for i in 0..<heldOut.count where Double(heldOut.rating[i]) >= threshold { relevantCount[Int(heldOut.customer[i])] += 1 }
        let customers = (0..<train.customerCount).filter { relevantCount[$0] > 0 }
        guard !customers.isEmpty else {
            return RankingMetrics(k: k, threshold: threshold, precision: 0, recall: 0, ndcg: 0, map: 0, hitRate: 0, coverage: 0,
                                  meanPopularity: 0, customers: 0)
        }
        var row = [Int](repeating: -1, count: train.customerCount)
        var relevantStart = [Int](repeating: 0, count: customers.count + 1)
        for (r, c) in customers.enumerated() {
            row[c] = r
            relevantStart[r + 1] = relevantStart[r] + relevantCount[c]
        }
        var relevant = [Int32](repeating: 0, count: relevantStart[customers.count])
        var fill = relevantStart
        for i in 0..<heldOut.count where Double(heldOut.rating[i]) >= threshold {
            let r = row[Int(heldOut.customer[i])]
            relevant[fill[r]] = heldOut.movie[i]
            fill[r] += 1
        }

        // The evaluated customers' factors, biases and seen lists, gathered for one batch top-k.
        let rank = model.rank
        var factors = [Float](repeating: 0, count: customers.count * rank)
        var bias = [Float](repeating: 0, count: customers.count)
        var seenStart = [Int](repeating: 0, count: customers.count + 1)
        for (r, c) in customers.enumerated() {
            for f in 0..<rank { factors[r * rank + f] = model.customerFactors[c * rank + f] }
            bias[r] = model.customerBias[c]
            seenStart[r + 1] = seenStart[r] + (train.customerStart[c + 1] - train.customerStart[c])
        }
        var seen = [Int32](repeating: 0, count: seenStart[customers.count])
        for (r, c) in customers.enumerated() {
            for s in train.customerStart[c]..<train.customerStart[c + 1] { seen[seenStart[r] + s - train.customerStart[c]] = train.customerMovie[s] }
        }
        // An item-based model scores from the training history: the seen lists are that history.
        let lists = model.isItemBased
            ? bias.withUnsafeBufferPointer { bu in
                model.movieBias.withUnsafeBufferPointer { bi in
                    model.itemWeights.withUnsafeBufferPointer { w in
                        seenStart.withUnsafeBufferPointer { ss in
                            seen.withUnsafeBufferPointer { sm in
                                TopN.itemBased(customerBias: bu, globalMean: model.globalMean, movieBias: bi, itemWeights: w,
                                               historyStart: ss, history: sm, seenStart: ss, seenMovie: sm, count: k, threads: threads)
                            }
                        }
                    }
                }
            }
            : factors.withUnsafeBufferPointer { p in
            bias.withUnsafeBufferPointer { bu in
                model.movieBias.withUnsafeBufferPointer { bi in
                    model.movieFactors.withUnsafeBufferPointer { q in
                        seenStart.withUnsafeBufferPointer { ss in
                            seen.withUnsafeBufferPointer { sm in
                                TopN.all(customerFactors: p, customerBias: bu, globalMean: model.globalMean, movieBias: bi,
                                         movieFactors: q, rank: rank, seenStart: ss, seenMovie: sm, count: k, threads: threads)
                            }
                        }
                    }
                }
            }
        }

        var precision = 0.0, recall = 0.0, ndcg = 0.0, averagePrecision = 0.0, hitRate = 0.0
        var popularity = 0.0, listed = 0
        var shown = [Bool](repeating: false, count: train.movieCount)
        for r in 0..<customers.count {
            let wanted = Set(relevant[relevantStart[r]..<relevantStart[r + 1]])
            var hits = 0, dcg = 0.0, precisions = 0.0
            for position in 0..<k {
                let movie = lists.movies[r * k + position]
                guard movie >= 0 else { break }
                shown[Int(movie)] = true
                popularity += Double(train.movieStart[Int(movie) + 1] - train.movieStart[Int(movie)])
                listed += 1
                if wanted.contains(movie) {
                    hits += 1
                    dcg += 1 / log2(Double(position + 2))
                    precisions += Double(hits) / Double(position + 1)
                }
            }
            let ideal = (0..<min(k, wanted.count)).reduce(0.0) { $0 + 1 / log2(Double($1 + 2)) }
            precision += Double(hits) / Double(k)
            recall += Double(hits) / Double(wanted.count)
            ndcg += dcg / ideal
            averagePrecision += precisions / Double(min(k, wanted.count))
            hitRate += hits > 0 ? 1 : 0
        }
        let n = Double(customers.count)
        return RankingMetrics(k: k, threshold: threshold, precision: precision / n, recall: recall / n, ndcg: ndcg / n,
                              map: averagePrecision / n, hitRate: hitRate / n,
                              coverage: Double(shown.lazy.filter { $0 }.count) / Double(max(1, train.movieCount)),
                              meanPopularity: listed > 0 ? popularity / Double(listed) : 0, customers: customers.count)
    }

    /// "Most popular": every customer's list is the movies with the most
    /// training ratings they have not rated, as a rank-0 factor model whose
    /// movie bias is the count (the ranking kernel serves it like any model).
    public static func popularityModel(train: RatingMatrix, scale: RatingScale) -> FactorModel {
        FactorModel(kind: "popularity", parameters: "{}", dataVersion: "", splitID: 0, scale: scale,
                    customerIDs: train.customerIDs, movieIDs: train.movieIDs, globalMean: 0,
                    customerBias: [Float](repeating: 0, count: train.customerCount),
                    movieBias: (0..<train.movieCount).map { Float(train.movieStart[$0 + 1] - train.movieStart[$0]) },
                    rank: 0, customerFactors: [], movieFactors: [],
                    customerTrainCount: train.customerSupport)
    }

    /// The bias baseline as a rank-0 factor model (μ + b_u + b_i): what a
    /// popularity-style list scores, in the same ranking kernel.
    public static func baselineModel(_ biases: BiasModel, train: RatingMatrix, scale: RatingScale) -> FactorModel {
        FactorModel(kind: "bias", parameters: "{}", dataVersion: "", splitID: 0, scale: scale,
                    customerIDs: train.customerIDs, movieIDs: train.movieIDs, globalMean: biases.globalMean,
                    customerBias: biases.customerBias.map { Float($0) }, movieBias: biases.movieBias.map { Float($0) },
                    rank: 0, customerFactors: [], movieFactors: [],
                    customerTrainCount: train.customerSupport)
    }
}

/// Where a model's errors fall: by how active the customer, or how popular
/// the movie, was in training.
public struct DecileError: Sendable, Codable, Equatable {
    /// 1…10, least active (or popular) first.
    public var decile: Int
    /// Training ratings of the customers (movies) in this decile: lowest and highest.
    public var lowTrainRatings: Int
    public var highTrainRatings: Int
    /// Customers (movies) in the decile.
    public var members: Int
    /// Held-out ratings of those members, and the RMSE of the clipped predictions on them.
    public var n: Int
    public var rmse: Double
}

/// Counts of held-out ratings by value, against the model's clipped
/// predictions rounded to the nearest value of the scale.
public struct RatingDistribution: Sendable, Codable, Equatable {
    public var values: [Double]
    public var actual: [Int]
    public var predicted: [Int]
}

extension Evaluation {
    public enum Grouping: String, Sendable { case customerActivity = "customer_activity", moviePopularity = "movie_popularity" }

    /// RMSE by decile of customer activity or movie popularity. The customers
    /// (movies) that have held-out ratings are ordered by their number of
    /// training ratings (ties by index) and cut into ten groups of (nearly)
    /// equal size, as SQL's `ntile(10)` cuts them; fewer groups when there are
    /// fewer than ten members.
    public static func errorByDecile(_ predictor: some RatingPredictor, on heldOut: HeldOutRatings, trainedOn train: RatingMatrix,
                                     by grouping: Grouping) -> [DecileError] {
        let byCustomer = grouping == .customerActivity
        let entities = byCustomer ? train.customerCount : train.movieCount
        func trainCount(_ e: Int) -> Int {
            byCustomer ? train.customerStart[e + 1] - train.customerStart[e] : train.movieStart[e + 1] - train.movieStart[e]
        }
        var present = [Bool](repeating: false, count: entities)
        for i in 0..<heldOut.count { present[Int(byCustomer ? heldOut.customer[i] : heldOut.movie[i])] = true }
        let members = (0..<entities).filter { present[$0] }.sorted { trainCount($0) != trainCount($1) ? trainCount($0) < trainCount($1) : $0 < $1 }
        guard !members.isEmpty else { return [] }
        let groups = min(10, members.count)
        // As SQL's ntile: the first (members mod groups) groups hold one member more.
        var decile = [Int](repeating: -1, count: entities)
        let base = members.count / groups, extra = members.count % groups
        var g = 0, left = base + (extra > 0 ? 1 : 0)
        for e in members {
            if left == 0 {
                g += 1
                left = base + (g < extra ? 1 : 0)
            }
            decile[e] = g
            left -= 1
        }
        var squared = [Double](repeating: 0, count: groups), counts = [Int](repeating: 0, count: groups)
        for i in 0..<heldOut.count {
            let c = Int(heldOut.customer[i]), m = Int(heldOut.movie[i])
            let g = decile[byCustomer ? c : m]
            let error = Double(heldOut.rating[i]) - predictor.scale.clip(predictor.score(customer: c, movie: m))
            squared[g] += error * error
            counts[g] += 1
        }
        var out: [DecileError] = []
        var first = 0
        for g in 0..<groups {
            var end = first
            while end < members.count && decile[members[end]] == g { end += 1 }
            out.append(DecileError(decile: g + 1, lowTrainRatings: trainCount(members[first]), highTrainRatings: trainCount(members[end - 1]),
                                   members: end - first, n: counts[g], rmse: (squared[g] / Double(max(1, counts[g]))).squareRoot()))
            first = end
        }
        return out
    }

    /// Held-out ratings per value of the scale, and the predictions rounded to the nearest value.
    public static func distribution(_ predictor: some RatingPredictor, on heldOut: HeldOutRatings) -> RatingDistribution {
        let scale = predictor.scale
        let slots = Int(((scale.maximum - scale.minimum) / scale.step).rounded()) + 1
        var actual = [Int](repeating: 0, count: slots), predicted = [Int](repeating: 0, count: slots)
        func slot(_ value: Double) -> Int { min(slots - 1, max(0, Int(((value - scale.minimum) / scale.step).rounded()))) }
        for i in 0..<heldOut.count {
            actual[slot(Double(heldOut.rating[i]))] += 1
            predicted[slot(scale.clip(predictor.score(customer: Int(heldOut.customer[i]), movie: Int(heldOut.movie[i]))))] += 1
        }
        return RatingDistribution(values: (0..<slots).map { scale.minimum + Double($0) * scale.step }, actual: actual, predicted: predicted)
    }
}
