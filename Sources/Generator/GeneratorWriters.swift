import Foundation
import Runtime
#if canImport(Glibc)
import Glibc
#endif

// The per-format writers of `DatasetGenerator`.

/// Sums over written ratings. Each block accumulates its own in a fixed order and
/// blocks are merged in block order, so the floating-point totals do not depend on
/// the thread count either.
struct GenTotals {
    var ratings = 0
    var halfUnits = 0
    var sse = 0.0
    var probeCount = 0
    var probeSSE = 0.0

    mutating func add(_ other: GenTotals) {
        ratings += other.ratings; halfUnits += other.halfUnits; sse += other.sse
        probeCount += other.probeCount; probeSSE += other.probeSSE
    }
}

/// A contiguous range of major entities written as one chunk into one file.
struct GenBlock {
    var file: Int
    var range: Range<Int>
}

final class GenBlockOutput: @unchecked Sendable {
    let data: GenBytes
    let probe: GenBytes
    var totals = GenTotals()

    init(capacity: Int, probe probeCapacity: Int) {
        data = GenBytes(capacity: capacity)
        probe = GenBytes(capacity: probeCapacity)
    }
}

extension DatasetGenerator {
    /// About this many ratings per block: ~4–5 MiB of text per `fwrite`.
    static let ratingsPerBlock = 200_000

    /// Cuts each file's range of majors into blocks of about `ratingsPerBlock` ratings.
    /// Depends only on the plan, never on the thread count.
    static func blocks(_ plan: GenPlan, fileRanges: [Range<Int>]) -> [GenBlock] {
        var result: [GenBlock] = []
        for (file, range) in fileRanges.enumerated() {
            var start = range.lowerBound, load = 0
            for j in range {
                load += Int(plan.degree[j])
                if load >= ratingsPerBlock {
                    result.append(GenBlock(file: file, range: start..<(j + 1)))
                    start = j + 1; load = 0
                }
            }
            if start < range.upperBound { result.append(GenBlock(file: file, range: start..<range.upperBound)) }
        }
        return result
    }

    static func blockRatings(_ plan: GenPlan, _ block: GenBlock) -> Int {
        block.range.reduce(0) { $0 + Int(plan.degree[$1]) }
    }

    /// Netflix's movie split (1–4499, 4500–9210, 9211–13368, 13369–17770) scaled to
    /// `movies`, keeping at least one movie per file when movies ≥ 4.
    static func netflixFileRanges(movies: Int) -> [Range<Int>] {
        let bounds = [4499, 9210, 13368]
        var ends: [Int] = []
        var previous = 0
        for (k, bound) in bounds.enumerated() {
            var end = (movies * bound + 17770 / 2) / 17770
            if movies >= 4 { end = min(max(end, previous + 1), movies - (3 - k)) } else { end = min(max(end, previous), movies) }
            ends.append(end); previous = end
        }
        ends.append(movies)
        var ranges: [Range<Int>] = []
        var start = 0
        for end in ends { ranges.append(start..<end); start = end }
        return ranges
    }

    // MARK: Netflix

    /// Netflix's dates as "YYYY-MM-DD" bytes, indexed by days since 1999-11-11.
    static func netflixDateTable() -> [UInt8] {
        var table: [UInt8] = []
        for day in GenPlan.netflixFirstDay...GenPlan.netflixLastDay {
            let date = CivilDate(daysSinceEpoch: day)
            let (y, m, d) = (date.year, date.month, date.day)
            let digit = { (v: Int) in UInt8(48 + v % 10) }
            table += [digit(y / 1000), digit(y / 100), digit(y / 10), digit(y), 45,
                      digit(m / 10), digit(m), 45, digit(d / 10), digit(d)]
        }
        return table
    }

    static func writeNetflixRatings(_ plan: GenPlan, threads: Int, directory: URL,
                                    progress: (@Sendable (Int) -> Void)?) throws -> GenTotals {
        let ranges = netflixFileRanges(movies: plan.majorCount)
        let blockList = blocks(plan, fileRanges: ranges)
        let outputs = try (1...4).map { try GenFile(directory.appendingPathComponent("combined_data_\($0).txt")) }
        let probeFile = try GenFile(directory.appendingPathComponent("probe.txt"))
        let dates = netflixDateTable()
        let lastDay = Int64(GenPlan.netflixLastDay - GenPlan.netflixFirstDay)
        let workers = max(1, threads)
        let scratch = (0..<workers).map { _ in GenScratch(minorCount: plan.minorCount) }

        let work: (Int, Int) -> GenBlockOutput = { worker, index in
            let block = blockList[index]
            let expected = blockRatings(plan, block)
            let out = GenBlockOutput(capacity: expected * 24 + block.range.count * 8 + 64,
                                     probe: Int(Double(expected) * plan.probeFraction * 12) + 4096)
            let data = out.data, probe = out.probe
            let s = scratch[worker]
            var t = GenTotals()
            dates.withUnsafeBufferPointer { dateBytes in
                let datePtr = dateBytes.baseAddress!
                for j in block.range where plan.degree[j] > 0 {
                    var rng = GenRNG(seed: plan.seed, stream: .ratings, index: j)
                    plan.choose(major: j, rng: &rng, scratch: s)
                    // Ascending customer index turns the random reads of customer parameters
                    // (tens of MB at Netflix scale) into a forward sweep, and a separate tight
                    // gather loop lets many of those cache misses be in flight at once.
                    s.chosen.sort()
                    var lines = s.lines
                    s.lines = []
                    lines.removeAll(keepingCapacity: true)
                    for k32 in s.chosen {
                        let k = Int(k32)
                        lines.append(GenLine(customerID: plan.minorIDs[k], truth: plan.truth(major: j, minor: k),
                                             start: Int32(plan.customerStart[k]), span: Int32(plan.customerSpan[k])))
                    }
                    for i in lines.indices {
                        let truth = lines[i].truth
                        let predicted = min(max(truth, 1), 5)
                        let observed = min(max(truth + plan.noise * rng.normal(), 1), 5)
                        let stars = Int(observed.rounded())
                        let day = min(Int64(lines[i].start) + Int64(Double(lines[i].span + 1) * rng.uniform()), lastDay)
                        let error = Double(stars) - predicted
                        let probe = rng.uniform() < plan.probeFraction
                        t.ratings += 1; t.halfUnits += 2 * stars; t.sse += error * error
                        if probe { t.probeCount += 1; t.probeSSE += error * error }
                        lines[i].stars = UInt8(stars)
                        lines[i].day = Int32(day)
                        lines[i].probe = probe
                    }
                    // Netflix lists a movie's ratings in no particular order.
                    let n = lines.count
                    if n > 1 { for a in stride(from: n - 1, to: 0, by: -1) { lines.swapAt(a, rng.below(a + 1)) } }
                    data.reserve(24); data.putInt(j + 1); data.put(58); data.put(10)
                    var probeHeader = false
                    for line in lines {
                        data.reserve(40)
                        data.putInt(Int(line.customerID))
                        data.put(44); data.put(48 + line.stars); data.put(44)
                        data.put(datePtr + Int(line.day) * 10, 10)
                        data.put(10)
                        if line.probe {
                            probe.reserve(48)
                            if !probeHeader { probe.putInt(j + 1); probe.put(58); probe.put(10); probeHeader = true }
                            probe.putInt(Int(line.customerID)); probe.put(10)
                        }
                    }
                    s.lines = lines
                }
            }
            out.totals = t
            return out
        }

        var totals = GenTotals()
        let pipeline = GenPipeline<GenBlockOutput>(total: blockList.count, maxAhead: 2 * workers + 1)
        try pipeline.run(threads: workers, work: work) { index, out in
            try outputs[blockList[index].file].write(out.data)
            try probeFile.write(out.probe)
            totals.add(out.totals)
            progress?(totals.ratings)
        }
        for file in outputs { try file.close() }
        try probeFile.close()
        return totals
    }

    /// `MovieID,YearOfRelease,Title` in ISO-8859-1; ≈0.5% NULL years, ≈5% titles with
    /// a comma, ≈2% with a Latin-1 accented letter.
    static func writeNetflixTitles(_ plan: GenPlan, movies: Int, to url: URL) throws {
        let file = try GenFile(url)
        let buffer = GenBytes(capacity: 1 << 20)
        for m in 0..<movies {
            let movie = netflixTitle(plan, movie: m)
            buffer.append("\(m + 1),\(movie.year.map(String.init) ?? "NULL"),")
            buffer.append(GenTitles.latin1(movie.title))
            buffer.append([10])
            if buffer.count >= 1 << 20 { try file.write(buffer); buffer.count = 0 }
        }
        try file.write(buffer)
        try file.close()
    }

    /// Movie m's release year (nil for NULL) and title, from its own stream.
    static func netflixTitle(_ plan: GenPlan, movie m: Int) -> (year: Int?, title: String) {
        var rng = GenRNG(seed: plan.seed, stream: .titles, index: m)
        let yearDraw = rng.uniform()
        // Release years skew recent: 2005 − ⌊Exp(mean 12)⌋, floored at 1915.
        let year = max(1915, 2005 - Int(rng.exponential() * 12))
        let styleDraw = rng.uniform()
        let style: GenTitles.Style = styleDraw < 0.05 ? .comma : styleDraw < 0.07 ? .accented : .plain
        return (yearDraw < 0.005 ? nil : year, GenTitles.make(&rng, style: style, unicode: false))
    }

    // MARK: MovieLens

    static func writeMovieLensRatings(_ plan: GenPlan, threads: Int, to url: URL,
                                      progress: (@Sendable (Int) -> Void)?) throws -> GenTotals {
        let blockList = blocks(plan, fileRanges: [0..<plan.majorCount])
        let file = try GenFile(url)
        let header = GenBytes(capacity: 64)
        header.append("userId,movieId,rating,timestamp\n")
        try file.write(header)
        let workers = max(1, threads)
        let scratch = (0..<workers).map { _ in GenScratch(minorCount: plan.minorCount) }
        let last = GenPlan.movielensLastSecond

        let work: (Int, Int) -> GenBlockOutput = { worker, index in
            let block = blockList[index]
            let out = GenBlockOutput(capacity: blockRatings(plan, block) * 30 + 64, probe: 0)
            let data = out.data
            let s = scratch[worker]
            var t = GenTotals()
            for j in block.range where plan.degree[j] > 0 {
                var rng = GenRNG(seed: plan.seed, stream: .ratings, index: j)
                plan.choose(major: j, rng: &rng, scratch: s)
                // MovieLens files are sorted by movieId within a user; index order is id order.
                s.chosen.sort()
                let user = j + 1
                let start = plan.customerStart[j], span = plan.customerSpan[j]
                for k32 in s.chosen {
                    let k = Int(k32)
                    let truth = plan.truth(major: j, minor: k)
                    let predicted = min(max(truth, 0.5), 5)
                    let observed = min(max(truth + plan.noise * rng.normal(), 0.5), 5)
                    let halves = Int((observed * 2).rounded())
                    let second = min(start + Int64(Double(span + 1) * rng.uniform()), last)
                    data.reserve(64)
                    data.putInt(user); data.put(44)
                    data.putInt(Int(plan.minorIDs[k])); data.put(44)
                    data.putInt(halves / 2); data.put(46); data.put(halves & 1 == 1 ? 53 : 48); data.put(44)
                    data.putInt(Int(second)); data.put(10)
                    let error = Double(halves) / 2 - predicted
                    t.ratings += 1; t.halfUnits += halves; t.sse += error * error
                }
            }
            out.totals = t
            return out
        }

        var totals = GenTotals()
        let pipeline = GenPipeline<GenBlockOutput>(total: blockList.count, maxAhead: 2 * workers + 1)
        try pipeline.run(threads: workers, work: work) { _, out in
            try file.write(out.data)
            totals.add(out.totals)
            progress?(totals.ratings)
        }
        try file.close()
        return totals
    }

    /// `movieId,title,genres` in UTF-8 with RFC 4180 quoting; titles end in " (YEAR)";
    /// ≈5% contain a comma, ≈1% a double quote, ≈2% a non-ASCII letter.
    static func writeMovieLensMovies(_ plan: GenPlan, to url: URL) throws {
        let file = try GenFile(url)
        let buffer = GenBytes(capacity: 1 << 20)
        buffer.append("movieId,title,genres\n")
        for m in 0..<plan.minorCount {
            let movie = movieLensMovie(plan, movie: m)
            buffer.append("\(plan.minorIDs[m]),\(GenTitles.csvField(movie.title + " (\(movie.year))")),\(movie.genres)\n")
            if buffer.count >= 1 << 20 { try file.write(buffer); buffer.count = 0 }
        }
        try file.write(buffer)
        try file.close()
    }

    /// Movie m's title (without the year), release year and genres, from its own stream.
    static func movieLensMovie(_ plan: GenPlan, movie m: Int) -> (title: String, year: Int, genres: String) {
        var rng = GenRNG(seed: plan.seed, stream: .titles, index: m)
        let year = max(1902, 2023 - Int(rng.exponential() * 15))
        let styleDraw = rng.uniform()
        let style: GenTitles.Style = styleDraw < 0.05 ? .comma : styleDraw < 0.07 ? .accented
            : styleDraw < 0.08 ? .quoted : .plain
        let title = GenTitles.make(&rng, style: style, unicode: true)
        if rng.uniform() < 0.01 { return (title, year, "(no genres listed)") }
        var picked = Set<Int>()
        let count = 1 + rng.below(3)
        while picked.count < count { picked.insert(rng.below(GenTitles.genres.count)) }
        return (title, year, picked.sorted().map { GenTitles.genres[$0] }.joined(separator: "|"))
    }
}
