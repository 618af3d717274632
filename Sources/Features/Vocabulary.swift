/// The three names a customer or a movie goes by, and the one place that maps
/// between them:
///
/// - its **id**, as the source files and the people using recsys know it
///   (Netflix customer 1488844, MovieLens movie 318);
/// - its **index**, dense from 0, the row of a `RatingMatrix`, of a model's
///   factor arrays and of a model file;
/// - its **key**, the warehouse's surrogate key (`dim_customer.customer_key`,
///   `dim_movie.movie_key`), dense from 1.
///
/// The warehouse hands out keys densely, and a matrix exported from it lists
/// the dimension in key order, so key = index + 1 for every matrix that holds
/// the whole dimension (`RatingExport` refuses a warehouse where that fails).
/// That arithmetic lives here and nowhere else.
public struct Vocabulary: Sendable, Equatable {
    /// The ids, by index.
    public let ids: [Int64]
    /// True when the ids strictly ascend (a first load gives keys in id order),
    /// so that a lookup is a binary search; otherwise a hash map is built.
    public let ascending: Bool
    private let lookup: [Int64: Int32]

    public init(ids: [Int64]) {
        self.ids = ids
        ascending = Self.strictlyAscending(ids)
        if ascending {
            lookup = [:]
        } else {
            var map = [Int64: Int32](minimumCapacity: ids.count)
            // The first index wins should an id repeat (a foreign file; the
            // warehouse's unique constraints rule it out).
            for (index, id) in ids.enumerated() where map[id] == nil { map[id] = Int32(index) }
            lookup = map
        }
    }

    public static func == (a: Vocabulary, b: Vocabulary) -> Bool { a.ids == b.ids }

    public var count: Int { ids.count }

    /// The id at a dense index.
    public subscript(index: Int) -> Int64 { ids[index] }

    /// The dense index of an id, or nil when the vocabulary lacks it.
    public func index(of id: Int64) -> Int? {
        ascending ? Self.search(id, in: ids) : lookup[id].map(Int.init)
    }

    /// The warehouse key of an id, or nil when the vocabulary lacks it.
    public func key(of id: Int64) -> Int32? { index(of: id).map(Self.key(ofIndex:)) }

    // MARK: Keys and indexes

    /// The warehouse key of the row at a dense index.
    @inline(__always)
    public static func key(ofIndex index: Int) -> Int32 { Int32(index + 1) }

    /// The dense index of a warehouse key (of a dimension exported whole).
    @inline(__always)
    public static func index<Key: BinaryInteger>(ofKey key: Key) -> Int { Int(key) - 1 }

    /// The dense index of a warehouse key, or nil when the key is outside a
    /// dimension of `count` rows.
    public static func index<Key: BinaryInteger>(ofKey key: Key, count: Int) -> Int? {
        let index = Int(key) - 1
        return index >= 0 && index < count ? index : nil
    }

    // MARK: Over any id storage

    /// `index(of:)` over ids that are not held in a `Vocabulary`, such as the
    /// memory-mapped section of a model file: a binary search when they ascend,
    /// else a linear scan.
    public static func index<IDs: RandomAccessCollection>(of id: Int64, in ids: IDs, ascending: Bool) -> Int?
    where IDs.Element == Int64, IDs.Index == Int {
        ascending ? search(id, in: ids) : ids.firstIndex(of: id)
    }

    public static func strictlyAscending<IDs: RandomAccessCollection>(_ ids: IDs) -> Bool
    where IDs.Element == Int64, IDs.Index == Int {
        firstOutOfOrder(ids) == nil
    }

    /// The first position whose id is not above the one before it, if any.
    public static func firstOutOfOrder<IDs: RandomAccessCollection>(_ ids: IDs) -> Int?
    where IDs.Element == Int64, IDs.Index == Int {
        var i = ids.startIndex + 1
        while i < ids.endIndex {
            if ids[i - 1] >= ids[i] { return i }
            i += 1
        }
        return nil
    }

    private static func search<IDs: RandomAccessCollection>(_ id: Int64, in ids: IDs) -> Int?
    where IDs.Element == Int64, IDs.Index == Int {
        var low = ids.startIndex, high = ids.endIndex
        while low < high {
            let middle = (low + high) / 2
            if ids[middle] < id { low = middle + 1 } else { high = middle }
        }
        return low < ids.endIndex && ids[low] == id ? low : nil
    }
}
