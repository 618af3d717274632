import Foundation
import Runtime

/// Parameters of `ForceLayout`, declared once.
public struct ForceLayoutConfiguration: Sendable, Equatable {
    /// Force steps; the temperature cools linearly to 0 over them. 0 or less
    /// returns the seeded starting positions.
    public var iterations: Int = 300
    /// Seeds the starting positions: the same seed gives the same bits everywhere.
    public var seed: UInt64 = 42

    public init(iterations: Int = 300, seed: UInt64 = 42) {
        self.iterations = iterations
        self.seed = seed
    }
}

/// A force-directed drawing of a graph (Fruchterman & Reingold, "Graph drawing
/// by force-directed placement", Softw. Pract. Exper. 21, 1991): nodes repel
/// each other with k²/d, edges pull their ends together with d²/k, where
/// k = √(area / n) is the ideal edge length of a unit area; each step moves a
/// node along its net force by at most the temperature, which cools linearly
/// from a tenth of the frame to 0.
///
/// Deviations from the paper:
/// - the attraction of an edge is scaled by its weight over the heaviest
///   weight, so strong ties are short;
/// - the repulsion between u and v is scaled by m_u · m_v, where
///   m_v ∝ 1 + √(size_v / max size) has mean 1, so nodes drawn large get room
///   (ForceAtlas2 scales repulsion by degree the same way); without sizes m = 1;
/// - there is no frame to clamp to; instead a weak pull g · d towards the centre
///   keeps disconnected components from drifting apart without bound, and the
///   result is scaled into the unit square afterwards.
///
/// Only +, −, ×, ÷ and √ are used (all correctly rounded in IEEE 754), so the
/// same inputs give the same bits on every machine.
public struct ForceLayout: Sendable {
    public let configuration: ForceLayoutConfiguration

    public init(_ configuration: ForceLayoutConfiguration = .init()) {
        self.configuration = configuration
    }

    /// The pull towards the centre, per unit of distance; weak beside the
    /// repulsion inside a component, so it only matters between components.
    private static let gravity = 0.1

    /// Positions in [0, 1] × [0, 1], one per node, centred, aspect ratio kept.
    /// Edges naming a node outside 0..<nodeCount, self-loops and weights that
    /// are negative or not finite are ignored; so are `sizes` unless there is
    /// one per node (a size that is negative or not finite counts as 0).
    public func positions(nodeCount: Int, edges: [(from: Int, to: Int, weight: Double)], sizes: [Double]? = nil) -> [(x: Double, y: Double)] {
        let n = max(0, nodeCount)
        if n == 0 { return [] }
        if n == 1 { return [(0.5, 0.5)] }
        let valid = edges.filter { $0.from >= 0 && $0.from < n && $0.to >= 0 && $0.to < n && $0.from != $0.to && $0.weight.isFinite && $0.weight >= 0 }
        let heaviest = valid.map(\.weight).max() ?? 0
        let pull = valid.map { heaviest > 0 ? $0.weight / heaviest : 0 }
        let mass = Self.masses(n, sizes)

        var rng = SeededGenerator(seed: configuration.seed)
        var x = [Double](repeating: 0, count: n), y = x
        for v in 0..<n {
            x[v] = rng.unit()
            y[v] = rng.unit()
        }
        let k = (1 / Double(n)).squareRoot()
        let k2 = k * k
        let steps = max(0, configuration.iterations)
        var dx = [Double](repeating: 0, count: n), dy = dx
        for step in 0..<steps {
            for v in 0..<n { dx[v] = 0; dy[v] = 0 }
            for u in 0..<n {
                for v in (u + 1)..<n {
                    var ex = x[u] - x[v], ey = y[u] - y[v]
                    var d2 = ex * ex + ey * ey
                    // Coincident nodes get pushed apart along a fixed direction, not by a NaN.
                    if d2 < 1e-18 { ex = 1e-9; ey = 0; d2 = 1e-18 }
                    let f = mass[u] * mass[v] * k2 / d2   // (k²/d) / d: the unit vector folded in
                    dx[u] += ex * f; dy[u] += ey * f
                    dx[v] -= ex * f; dy[v] -= ey * f
                }
            }
            for (e, w) in zip(valid, pull) where w > 0 {
                let ex = x[e.from] - x[e.to], ey = y[e.from] - y[e.to]
                let f = w * (ex * ex + ey * ey).squareRoot() / k   // (d²/k) / d
                dx[e.from] -= ex * f; dy[e.from] -= ey * f
                dx[e.to] += ex * f; dy[e.to] += ey * f
            }
            let temperature = 0.1 * Double(steps - step) / Double(steps)
            for v in 0..<n {
                dx[v] -= Self.gravity * (x[v] - 0.5)
                dy[v] -= Self.gravity * (y[v] - 0.5)
                let length = (dx[v] * dx[v] + dy[v] * dy[v]).squareRoot()
                guard length > 0 else { continue }
                let move = min(length, temperature) / length
                x[v] += dx[v] * move
                y[v] += dy[v] * move
            }
        }
        return Self.normalised(x, y)
    }

    /// Repulsion weights with mean 1: equal sizes (or none) give 1 each.
    private static func masses(_ n: Int, _ sizes: [Double]?) -> [Double] {
        let ones = [Double](repeating: 1, count: n)
        guard let sizes, sizes.count == n else { return ones }
        let clean = sizes.map { $0.isFinite && $0 > 0 ? $0 : 0 }
        guard let largest = clean.max(), largest > 0 else { return ones }
        let raw = clean.map { 1 + ($0 / largest).squareRoot() }
        let mean = raw.reduce(0, +) / Double(n)
        return raw.map { $0 / mean }
    }

    /// Centred in the unit square by the longer side; all coincident → the centre.
    private static func normalised(_ x: [Double], _ y: [Double]) -> [(x: Double, y: Double)] {
        let (x0, x1) = (x.min()!, x.max()!)
        let (y0, y1) = (y.min()!, y.max()!)
        let span = max(x1 - x0, y1 - y0)
        guard span > 0, span.isFinite else { return x.map { _ in (0.5, 0.5) } }
        let cx = (x0 + x1) / 2, cy = (y0 + y1) / 2
        // Clamped because (x − centre) / span can round a hair past ±½.
        func unit(_ value: Double) -> Double { min(1, max(0, 0.5 + value / span)) }
        return zip(x, y).map { (unit($0 - cx), unit($1 - cy)) }
    }
}
