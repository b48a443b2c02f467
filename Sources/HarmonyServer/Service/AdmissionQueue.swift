// A connection's requests are admitted (logged, applied, answered) in the order they were read. A MAP_EXPRESSION
// is admitted only once its cells are projected, which may happen on the pool; the frames read after it wait in
// this queue behind it, so that they cannot overtake it. Several projections of one connection may run at once:
// each holds a place in the queue and the queue runs its head as soon as that head is ready. Loop thread only.

/// The requests of one connection waiting to be admitted behind a projection.
final class AdmissionQueue {
    /// A place in the queue; its action is known now (`admit`) or once a projection finished (`fill`).
    final class Place {
        fileprivate var action: (() -> Void)?
    }

    private var places: [Place] = []

    /// True when nothing waits: a request can be admitted at once.
    var isEmpty: Bool { places.isEmpty }

    /// Runs `action` now when nothing waits, else after everything queued before it.
    func admit(_ action: @escaping () -> Void) {
        if places.isEmpty { return action() }
        let place = Place()
        place.action = action
        places.append(place)
    }

    /// Holds a place for a request whose action is not known yet.
    func reserve() -> Place {
        let place = Place()
        places.append(place)
        return place
    }

    /// Gives `place` its action, then runs every ready action at the head of the queue, in order.
    func fill(_ place: Place, with action: @escaping () -> Void) {
        place.action = action
        while let head = places.first, let ready = head.action {
            places.removeFirst()
            ready()
        }
    }
}
