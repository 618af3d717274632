import Foundation
import Synchronization

/// The few thread primitives recsys's workers share, in one place.

/// Hands out chunk indexes to parallel workers, one at a time, and none once a
/// stop is requested (the caller then checks `Interruption.check()`).
public final class ChunkCounter: @unchecked Sendable {
    private let next = Atomic<Int>(0)

    public init() {}

    /// The next chunk below `limit`, or nil when all are taken or a stop is requested.
    public func take(below limit: Int) -> Int? {
        guard !Interruption.isRequested else { return nil }
        let value = next.wrappingAdd(1, ordering: .relaxed).oldValue
        return value < limit ? value : nil
    }
}

/// The first error any worker met.
public final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?
    public init() {}
    public var error: Error? { lock.lock(); defer { lock.unlock() }; return stored }
    public func record(_ error: Error) { lock.lock(); if stored == nil { stored = error }; lock.unlock() }
}

/// A flag set once, read from another thread.
public final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    public init() {}
    public func set() { lock.lock(); value = true; lock.unlock() }
    public var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}

/// A blocking FIFO with a fixed capacity, for one producer and one consumer.
public final class BoundedQueue<Element>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Element] = []
    private var head = 0
    private let capacity: Int
    private var closed = false

    public init(capacity: Int) { self.capacity = capacity }

    /// Waits for room; false once the queue is closed.
    public func push(_ item: Element) -> Bool {
        condition.lock(); defer { condition.unlock() }
        while items.count - head >= capacity && !closed { condition.wait() }
        if closed { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// Waits for an item; nil once the queue is closed and empty.
    public func pop() -> Element? {
        condition.lock(); defer { condition.unlock() }
        while head == items.count && !closed { condition.wait() }
        guard head < items.count else { return nil }
        let item = items[head]
        head += 1
        if head > 64 { items.removeFirst(head); head = 0 }
        condition.broadcast()
        return item
    }

    /// No more items will come; items already queued can still be popped.
    public func close() {
        condition.lock(); closed = true; condition.broadcast(); condition.unlock()
    }

    /// Drops what is queued and closes, releasing a blocked producer.
    public func drainAndClose() {
        condition.lock(); items.removeAll(); head = 0; closed = true; condition.broadcast(); condition.unlock()
    }
}

/// A value (a result, an error) handed from one thread to another.
public final class LockedValue<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T?
    public init() {}
    public var value: T? {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}
