import CKernels

/// The per-row conjugate-gradient solve shared by explicit ALS (`--solver cg`)
/// and implicit ALS: a few CG steps on
///
///     (Σ_j w_j g_j g_jᵀ + ridge·E + D) x = Σ_j t_j g_j
///
/// from the x given, where g_j are the partners' fixed rows gathered into a
/// contiguous block, w_j their weights (1 when absent), and D an optional dense
/// symmetric matrix (implicit ALS's YᵀY + λI). Explicit ALS has w = 1, the
/// residual targets and ridge λ·n; implicit ALS has w = c − 1, t = c and D.
///
/// Each step is one pass over the block that forms Σ_j w_j (g_j·v) g_j row by
/// row — a dot product and an axpy while the row is in L1, the sums of up to 64
/// unknowns held in registers (`recsys_cg_product`, C: Swift is compiled for
/// the x86-64 baseline, the kernel runs on AVX2 where the processor has it) —
/// so no rank × rank matrix is formed per row and a step costs O(n·rank).
/// Rows are padded to a multiple of eight floats (zeros), every vector op runs
/// in eight lanes in a fixed order: the same bits on every run and thread count.
enum ConjugateGradient {
    /// `steps` CG steps from `scratch.x` (`width` floats, padding zero); the
    /// result is left in `scratch.x`.
    /// - Parameters:
    ///   - block: n × width, row-major, padding columns zero.
    ///   - dense: width × width, row-major, padding rows and columns zero.
    static func solve(block: UnsafePointer<Float>, n: Int, width: Int, targets: UnsafePointer<Float>,
                      weights: UnsafePointer<Float>?, ridge: Float, dense: UnsafePointer<Float>?,
                      steps: Int, scratch: Scratch) {
        let lanes = width / 8
        let x = UnsafeMutableRawPointer(scratch.x), r = UnsafeMutableRawPointer(scratch.r)
        let p = UnsafeMutableRawPointer(scratch.p), ap = UnsafeMutableRawPointer(scratch.ap)
        @inline(__always) func load(_ base: UnsafeRawPointer, _ lane: Int) -> SIMD8<Float> {
            base.load(fromByteOffset: lane * 32, as: SIMD8<Float>.self)
        }
        @inline(__always) func store(_ value: SIMD8<Float>, _ base: UnsafeMutableRawPointer, _ lane: Int) {
            base.storeBytes(of: value, toByteOffset: lane * 32, as: SIMD8<Float>.self)
        }
        @inline(__always) func dot(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer) -> Float {
            var sum = SIMD8<Float>(repeating: 0)
            for l in 0..<lanes { sum += load(a, l) * load(b, l) }
            return sum.sum()
        }
        // out = ridge·v + D·v + Σ_j (w_j·(g_j·v) − τ·t_j)·g_j, one pass over the block (C, AVX2 where there is).
        @inline(__always) func product(_ v: UnsafeMutableRawPointer, into out: UnsafeMutableRawPointer, tau: Float) {
            recsys_cg_product(block, n, width, v.assumingMemoryBound(to: Float.self), weights, targets, tau, ridge, dense,
                              out.assumingMemoryBound(to: Float.self))
        }
        // r = b − A x = Σ_j (t_j − w_j g_j·x) g_j − (ridge + D) x: the product with the signs folded in.
        product(x, into: r, tau: 1)
        for l in 0..<lanes { store(-load(r, l), r, l) }
        for l in 0..<lanes { store(load(r, l), p, l) }
        var rsOld = dot(r, r)
        for _ in 0..<steps {
            guard rsOld > 1e-30 else { break }
            product(p, into: ap, tau: 0)
            let pAp = dot(p, ap)
            guard pAp > 0 else { break }
            let alpha = SIMD8<Float>(repeating: rsOld / pAp)
            for l in 0..<lanes {
                store(load(x, l) + alpha * load(p, l), x, l)
                store(load(r, l) - alpha * load(ap, l), r, l)
            }
            let rsNew = dot(r, r)
            let beta = SIMD8<Float>(repeating: rsNew / rsOld)
            for l in 0..<lanes { store(load(r, l) + beta * load(p, l), p, l) }
            rsOld = rsNew
        }
    }

    /// Padded width: the unknowns rounded up to a multiple of eight.
    static func width(unknowns: Int) -> Int { (unknowns + 7) / 8 * 8 }

    /// One worker's buffers: the gathered block, a target and a weight per
    /// partner (grown to the longest row met), and the four CG vectors,
    /// 64-byte aligned for the 8-lane loads.
    final class Scratch {
        private(set) var block: UnsafeMutablePointer<Float>
        private(set) var targets: UnsafeMutablePointer<Float>
        private(set) var weights: UnsafeMutablePointer<Float>
        private var capacity = 0
        let width: Int
        let x: UnsafeMutablePointer<Float>, r: UnsafeMutablePointer<Float>, p: UnsafeMutablePointer<Float>, ap: UnsafeMutablePointer<Float>

        init(width: Int) {
            self.width = width
            block = Self.allocate(width)
            targets = Self.allocate(1)
            weights = Self.allocate(1)
            x = Self.allocate(width); r = Self.allocate(width); p = Self.allocate(width); ap = Self.allocate(width)
        }

        private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
            UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * 4, alignment: 64).bindMemory(to: Float.self, capacity: max(1, count))
        }

        func reserve(_ rows: Int) {
            guard rows > capacity else { return }
            capacity = max(rows, capacity * 2)
            block.deallocate(); targets.deallocate(); weights.deallocate()
            block = Self.allocate(capacity * width)
            targets = Self.allocate(capacity)
            weights = Self.allocate(capacity)
        }

        /// Copies the first `floats` values of each partner's row (`stride` apart in
        /// `source`) into the block, zero-padded to the width, and returns the block.
        /// The partners' rows are random reads into a table larger than the cache:
        /// each is requested eight rows ahead of its copy.
        func gather(_ partners: UnsafeBufferPointer<Int32>, from source: UnsafePointer<Float>, stride: Int, floats: Int) -> UnsafeMutablePointer<Float> {
            let n = partners.count, ahead = 8
            reserve(n)
            for j in 0..<Swift.min(n, ahead) { HalfSweep.prefetchRow(source + Int(partners[j]) * stride, floats: floats) }
            for j in 0..<n {
                if j + ahead < n { HalfSweep.prefetchRow(source + Int(partners[j + ahead]) * stride, floats: floats) }
                let destination = block + j * width
                destination.update(from: source + Int(partners[j]) * stride, count: floats)
                for f in floats..<width { destination[f] = 0 }
            }
            return block
        }

        deinit {
            block.deallocate(); targets.deallocate(); weights.deallocate()
            x.deallocate(); r.deallocate(); p.deallocate(); ap.deallocate()
        }
    }
}
