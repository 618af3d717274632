import Foundation
#if canImport(Glibc)
import Glibc
#endif

// Output side of `DatasetGenerator`: byte buffers, ordered parallel pipeline,
// made-up titles and binary files.

// MARK: - Bytes

/// A growable byte buffer written through a raw pointer: one rating line costs a
/// few stores instead of a String allocation and transcoding.
final class GenBytes: @unchecked Sendable {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    @inline(__always)
    func reserve(_ extra: Int) {
        if count + extra > capacity { grow(count + extra) }
    }

    private func grow(_ needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Callers must have reserved room.
    @inline(__always)
    func put(_ byte: UInt8) { base[count] = byte; count += 1 }

    /// Decimal digits of a non-negative integer; callers must have reserved 20 bytes.
    @inline(__always)
    func putInt(_ value: Int) {
        var v = UInt(value)
        var digits = 1
        var probe = v
        while probe >= 10 { probe /= 10; digits += 1 }
        var p = count + digits
        count = p
        repeat {
            p -= 1
            base[p] = UInt8(truncatingIfNeeded: v % 10) &+ 48
            v /= 10
        } while v > 0
    }

    @inline(__always)
    func put(_ bytes: UnsafePointer<UInt8>, _ n: Int) {
        (base + count).update(from: bytes, count: n)
        count += n
    }

    func append(_ bytes: [UInt8]) {
        reserve(bytes.count)
        bytes.withUnsafeBufferPointer { if let b = $0.baseAddress { put(b, $0.count) } }
    }

    func append(_ text: String) { append(Array(text.utf8)) }

    func appendLE<T: FixedWidthInteger>(_ value: T) {
        reserve(MemoryLayout<T>.size)
        var le = value.littleEndian
        withUnsafeBytes(of: &le) { raw in
            for b in raw { put(b) }
        }
    }

    func appendLE(_ value: Float) { appendLE(value.bitPattern) }
    func appendLE(_ value: Double) { appendLE(value.bitPattern) }
}

/// A stdio file opened for writing (truncating); `fwrite` of multi-megabyte
/// buffers goes straight to the kernel.
final class GenFile {
    private var handle: UnsafeMutablePointer<FILE>?
    let url: URL

    init(_ url: URL) throws {
        self.url = url
        guard let h = fopen(url.path, "wb") else {
            throw GeneratorError(description: "cannot create \(url.path): \(String(cString: strerror(errno)))")
        }
        handle = h
    }

    deinit { if let h = handle { fclose(h) } }

    func write(_ bytes: GenBytes) throws {
        guard bytes.count > 0, let h = handle else { return }
        if fwrite(bytes.base, 1, bytes.count, h) != bytes.count {
            throw GeneratorError(description: "cannot write \(url.path): \(String(cString: strerror(errno)))")
        }
    }

    func close() throws {
        guard let h = handle else { return }
        handle = nil
        if fclose(h) != 0 {
            throw GeneratorError(description: "cannot finish \(url.path): \(String(cString: strerror(errno)))")
        }
    }
}

// MARK: - Ordered pipeline

/// Workers compute blocks in any order; the caller consumes them strictly in
/// block order. Workers may run at most `maxAhead` blocks ahead of the consumer,
/// which is what keeps memory bounded however large the dataset.
final class GenPipeline<Output>: @unchecked Sendable {
    private let condition = NSCondition()
    private var nextBlock = 0
    private var consumed = 0
    private var cancelled = false
    private var ready: [Int: Output] = [:]
    let total: Int
    let maxAhead: Int

    init(total: Int, maxAhead: Int) {
        self.total = total
        self.maxAhead = max(maxAhead, 1)
    }

    func claim() -> Int? {
        condition.lock(); defer { condition.unlock() }
        while !cancelled && nextBlock < total && nextBlock - consumed >= maxAhead { condition.wait() }
        guard !cancelled && nextBlock < total else { return nil }
        nextBlock += 1
        return nextBlock - 1
    }

    func deliver(_ block: Int, _ output: Output) {
        condition.lock(); defer { condition.unlock() }
        ready[block] = output
        condition.broadcast()
    }

    func take(_ block: Int) -> Output {
        condition.lock(); defer { condition.unlock() }
        while ready[block] == nil { condition.wait() }
        let output = ready.removeValue(forKey: block)!
        consumed = block + 1
        condition.broadcast()
        return output
    }

    func cancel() {
        condition.lock(); defer { condition.unlock() }
        cancelled = true
        condition.broadcast()
    }

    /// Runs `work` on `threads` workers in the background while `consume` receives
    /// outputs in order on the calling thread. Returns after every worker has stopped.
    func run(threads: Int, work: @escaping (Int, Int) -> Output, consume: (Int, Output) throws -> Void) throws {
        let group = DispatchGroup()
        let workers = max(threads, 1)
        DispatchQueue.global().async(group: group) {
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                while let block = self.claim() { self.deliver(block, work(worker, block)) }
            }
        }
        do {
            for block in 0..<total { try consume(block, take(block)) }
        } catch {
            cancel()
            group.wait()
            throw error
        }
        group.wait()
    }
}

// MARK: - Titles

/// Made-up film titles from word lists. Titles are built as Unicode strings;
/// the Netflix writer encodes them as ISO-8859-1 (every accented letter used for
/// Netflix is in Latin-1), the MovieLens writer as UTF-8.
enum GenTitles {
    static let adjectives = [
        "Silent", "Last", "Dark", "Golden", "Broken", "Hidden", "Lost", "Wild", "Crimson", "Final",
        "Secret", "Frozen", "Burning", "Lonely", "Distant", "Endless", "Midnight", "Quiet", "Savage",
        "Eternal", "Hollow", "Bright", "Restless", "Sudden", "Forgotten", "Little", "Big", "Perfect",
        "Dangerous", "Sweet", "Bitter", "Electric", "Northern", "Iron", "Velvet", "Scarlet", "Lucky",
        "Wicked", "Gentle", "Fatal", "Blue", "Red", "Black", "White", "Deep", "High", "Long", "Cold",
    ]
    static let nouns = [
        "River", "Night", "Road", "Heart", "City", "Storm", "Garden", "Mountain", "Shadow", "Summer",
        "Winter", "Empire", "Island", "Harbor", "Promise", "Kingdom", "Stranger", "Dream", "Highway",
        "Mirror", "Ocean", "Valley", "Fire", "Moon", "Star", "Game", "Door", "House", "Machine",
        "Letter", "Witness", "Season", "Horizon", "Voyage", "Legacy", "Memory", "Signal", "Planet",
        "Dinosaur", "Detective", "Soldier", "Angel", "Wolf", "Train", "Bridge", "Circus", "Affair",
    ]
    static let leads = [
        "Return", "Rise", "Fall", "Curse", "Legend", "Song", "Ghost", "Revenge", "Attack", "Journey",
        "Children", "Daughter", "Son", "Lord", "Edge", "Dawn", "Night", "Island", "Secret", "Last Days",
    ]
    static let objects = [
        "Night", "Dead", "Sea", "Lost", "Wolves", "King", "Dragon", "Past", "Sun", "Ancients",
        "Forest", "North", "Damned", "Jedi", "Pharaoh", "Storm", "Machines", "Rings", "Desert",
    ]
    /// Every letter here is in ISO-8859-1 (é E9, ü FC, ñ F1, ç E7, ã E3, ö F6, å E5, û FB, ï EF, ë EB, à E0).
    static let latin1Words = [
        "Café", "Amélie", "Señor", "Niño", "Über", "Müller", "Noël", "Déjà Vu", "Fiancée", "Naïve",
        "Résumé", "São Paulo", "Crème Brûlée", "Garçon", "Mañana", "Zoë", "Éclair", "Jalapeño",
        "Smörgåsbord", "Château", "Fräulein", "Göteborg", "Señorita", "Piñata", "Voilà",
    ]
    /// UTF-8 only (outside Latin-1), used for MovieLens.
    static let unicodeWords = ["Łódź", "Žižkov", "Dvořák", "Ōsaka", "Kraków", "Şeker", "Ærø", "Ångström"]
    static let commaForms = ["Love, Again", "Goodbye, %N", "%N, Again", "Yes, %A %N", "%N, %N and %N",
                             "Oh, %N", "%A, %A %N", "Run, %N, Run"]

    enum Style { case plain, comma, accented, quoted }

    /// One title. `style` is drawn by the caller so that the shares (≈5% comma,
    /// ≈2% accented, ≈1% quoted) are explicit at the call site.
    static func make(_ rng: inout GenRNG, style: Style, unicode: Bool) -> String {
        func pick(_ list: [String]) -> String { list[rng.below(list.count)] }
        switch style {
        case .comma:
            var text = pick(commaForms)
            while let r = text.range(of: "%N") { text.replaceSubrange(r, with: pick(nouns)) }
            while let r = text.range(of: "%A") { text.replaceSubrange(r, with: pick(adjectives)) }
            return text
        case .accented:
            let word = unicode && rng.below(3) == 0 ? pick(unicodeWords) : pick(latin1Words)
            switch rng.below(4) {
            case 0: return "The \(word)"
            case 1: return "\(word) \(pick(nouns))"
            case 2: return "\(pick(adjectives)) \(word)"
            default: return word
            }
        case .quoted:
            return "The \"\(pick(adjectives))\" \(pick(nouns))"
        case .plain:
            var title: String
            switch rng.below(6) {
            case 0, 1: title = "The \(pick(adjectives)) \(pick(nouns))"
            case 2: title = "\(pick(leads)) of the \(pick(objects))"
            case 3: title = "\(pick(adjectives)) \(pick(nouns))"
            case 4: title = "\(pick(nouns)) \(pick(nouns))"
            default: title = "The \(pick(nouns))"
            }
            switch rng.below(25) {
            case 0: title += " 2"
            case 1: title += ": Part III"
            case 2: title += " \(1990 + rng.below(16)) Review"
            default: break
            }
            return title
        }
    }

    /// ISO-8859-1 bytes: every scalar below U+0100 is its own single byte.
    static func latin1(_ text: String) -> [UInt8] {
        text.unicodeScalars.map { $0.value < 256 ? UInt8($0.value) : UInt8(ascii: "?") }
    }

    /// RFC 4180 field: quoted (inner quotes doubled) when it holds a comma, quote or line break.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static let genres = ["Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary",
                         "Drama", "Fantasy", "Film-Noir", "Horror", "IMAX", "Musical", "Mystery",
                         "Romance", "Sci-Fi", "Thriller", "War", "Western"]
}
