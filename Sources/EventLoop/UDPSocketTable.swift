import CLibUV

/// The loop's sockets in one flat array, indexed by the slot number each handle keeps in `data`.
struct UDPSocketTable {
    private struct Slot {
        // Owned from `insert` until the handle's close callback, i.e. also while closing.
        var handle: UnsafeMutablePointer<uv_udp_t>?
        var tag: UInt64
        // Bumped when closing starts, so IDs handed out before are stale from then on.
        var generation: UInt32
    }

    private var slots: [Slot] = []
    private var freeSlots: [UInt32] = []

    /// Makes room for `capacity` sockets, so that opening them does not regrow (and, at the
    /// end, leave up to half unused) the table.
    mutating func reserveCapacity(_ capacity: Int) {
        slots.reserveCapacity(capacity)
    }

    /// Handles not yet released by their close callback, including those being closed.
    private(set) var count = 0

    mutating func insert(_ handle: UnsafeMutablePointer<uv_udp_t>, tag: UInt64) -> UDPSocketID {
        let slot: UInt32
        if let reused = freeSlots.popLast() {
            slot = reused
            slots[Int(slot)].handle = handle
            slots[Int(slot)].tag = tag
        } else {
            // UInt32.max is `UDPSocketID.notOpen`'s slot.
            precondition(slots.count < Int(UInt32.max), "too many UDP sockets")
            slot = UInt32(slots.count)
            slots.append(Slot(handle: handle, tag: tag, generation: 0))
        }
        count += 1
        return UDPSocketID(slot: slot, generation: slots[Int(slot)].generation)
    }

    /// The handle of an open socket; nil once closing has started or for an ID from another table.
    func handle(for socket: UDPSocketID) -> UnsafeMutablePointer<uv_udp_t>? {
        let slot = Int(socket.slot)
        guard slot < slots.count, slots[slot].generation == socket.generation else {
            return nil
        }
        return slots[slot].handle
    }

    /// The ID and tag of the socket in `slot`, for callbacks that only know the slot.
    func socket(inSlot slot: Int) -> (id: UDPSocketID, tag: UInt64) {
        (UDPSocketID(slot: UInt32(slot), generation: slots[slot].generation), slots[slot].tag)
    }

    /// Makes every ID of the socket stale and returns its handle to close; nil if it was not open.
    mutating func beginClosing(_ socket: UDPSocketID) -> UnsafeMutablePointer<uv_udp_t>? {
        guard let handle = handle(for: socket) else {
            return nil
        }
        slots[Int(socket.slot)].generation &+= 1
        return handle
    }

    /// Frees the slot for reuse; called from the close callback, once libuv is done with the handle.
    mutating func release(slot: Int) {
        slots[slot].handle = nil
        freeSlots.append(UInt32(slot))
        count -= 1
    }
}
