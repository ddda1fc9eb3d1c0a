/// The actors' wake-ups behind the loop's one timer: an indexed min-heap of (deadline, tag).
///
/// O(log n) schedule and cancel, flat arrays at 32 bytes per pending entry, and entries with
/// equal deadlines come out in the order they were scheduled. Pure (no libuv), so it is
/// tested without a loop.
public struct TimerQueue: Sendable {
    // 16 bytes: everything a heap comparison needs sits in the heap array itself.
    private struct Entry {
        var deadline: UInt64
        // Tie-breaker for equal deadlines; renumbered (order-preserving) before it would wrap.
        var sequence: UInt32
        var slot: UInt32
    }

    // 16 bytes: what a handle refers to. `position` is the entry's heap index while pending,
    // and the next free slot while the slot is free.
    private struct Slot {
        var tag: UInt64
        var position: UInt32
        // Bumped when the entry leaves the queue, so every handle to it goes stale.
        var generation: UInt32
    }

    private static let noSlot = UInt32.max

    private var heap: [Entry] = []
    private var slots: [Slot] = []
    private var firstFreeSlot = noSlot
    private var nextSequence: UInt32

    /// An empty queue.
    public init() {
        self.init(firstSequence: 0)
    }

    // Lets tests start near the sequence wrap instead of scheduling four billion entries.
    init(firstSequence: UInt32) {
        nextSequence = firstSequence
    }

    /// The number of pending entries.
    public var count: Int { heap.count }

    /// Whether nothing is pending.
    public var isEmpty: Bool { heap.isEmpty }

    /// The earliest pending deadline, if any.
    public var nextDeadline: UInt64? { heap.first?.deadline }

    /// Makes room for `capacity` pending entries so a fleet's start-up does not regrow the arrays.
    public mutating func reserveCapacity(_ capacity: Int) {
        heap.reserveCapacity(capacity)
        slots.reserveCapacity(capacity)
    }

    /// Adds an entry due at `deadline`; `tag` comes back when it is popped.
    public mutating func schedule(at deadline: UInt64, tag: UInt64) -> TimerHandle {
        if nextSequence == .max {
            renumberSequences()
        }
        let slot: UInt32
        if firstFreeSlot != Self.noSlot {
            slot = firstFreeSlot
            firstFreeSlot = slots[Int(slot)].position
            slots[Int(slot)].tag = tag
        } else {
            precondition(slots.count < Int(Self.noSlot), "TimerQueue holds at most \(Self.noSlot - 1) entries")
            slot = UInt32(slots.count)
            slots.append(Slot(tag: tag, position: 0, generation: 0))
        }
        heap.append(Entry(deadline: deadline, sequence: nextSequence, slot: slot))
        nextSequence += 1
        siftUp(from: heap.count - 1)
        return TimerHandle(slot: slot, generation: slots[Int(slot)].generation)
    }

    /// Removes the entry if it is still pending; returns false (and changes nothing) for a
    /// handle whose entry already fired or was cancelled.
    @discardableResult
    public mutating func cancel(_ handle: TimerHandle) -> Bool {
        let slot = Int(handle.slot)
        guard slot < slots.count, slots[slot].generation == handle.generation else {
            return false
        }
        remove(at: Int(slots[slot].position))
        release(slot: handle.slot)
        return true
    }

    /// Removes and returns the earliest entry if its deadline is at or before `now`.
    public mutating func popDue(now: UInt64) -> (deadline: UInt64, tag: UInt64)? {
        guard let first = heap.first, first.deadline <= now else {
            return nil
        }
        let tag = slots[Int(first.slot)].tag
        remove(at: 0)
        release(slot: first.slot)
        return (first.deadline, tag)
    }

    private mutating func release(slot: UInt32) {
        slots[Int(slot)].generation &+= 1
        slots[Int(slot)].position = firstFreeSlot
        firstFreeSlot = slot
    }

    private mutating func remove(at position: Int) {
        let last = heap.removeLast()
        guard position < heap.count else {
            return
        }
        heap[position] = last
        slots[Int(last.slot)].position = UInt32(position)
        if position > 0, Self.precedes(last, heap[(position - 1) / 2]) {
            siftUp(from: position)
        } else {
            siftDown(from: position)
        }
    }

    private static func precedes(_ a: Entry, _ b: Entry) -> Bool {
        a.deadline < b.deadline || (a.deadline == b.deadline && a.sequence < b.sequence)
    }

    // Moves the hole instead of swapping, writing each displaced entry and its slot position once.
    private mutating func siftUp(from start: Int) {
        let moving = heap[start]
        var position = start
        while position > 0 {
            let parent = (position - 1) / 2
            guard Self.precedes(moving, heap[parent]) else {
                break
            }
            heap[position] = heap[parent]
            slots[Int(heap[position].slot)].position = UInt32(position)
            position = parent
        }
        heap[position] = moving
        slots[Int(moving.slot)].position = UInt32(position)
    }

    private mutating func siftDown(from start: Int) {
        let moving = heap[start]
        var position = start
        while true {
            var child = 2 * position + 1
            guard child < heap.count else {
                break
            }
            if child + 1 < heap.count, Self.precedes(heap[child + 1], heap[child]) {
                child += 1
            }
            guard Self.precedes(heap[child], moving) else {
                break
            }
            heap[position] = heap[child]
            slots[Int(heap[position].slot)].position = UInt32(position)
            position = child
        }
        heap[position] = moving
        slots[Int(moving.slot)].position = UInt32(position)
    }

    // Sequences only order entries with equal deadlines, so giving the pending entries 0..<count
    // in their current order changes no comparison and keeps the heap valid. Runs once per
    // four billion schedules.
    private mutating func renumberSequences() {
        let byAge = heap.indices.sorted { heap[$0].sequence < heap[$1].sequence }
        for (sequence, position) in byAge.enumerated() {
            heap[position].sequence = UInt32(sequence)
        }
        nextSequence = UInt32(heap.count)
    }
}
