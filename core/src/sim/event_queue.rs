//! The event queue: a priority queue ordered by (time, insertion sequence).
//!
//! Two events at the same instant run in the order they were scheduled, so the order never
//! depends on heap internals, platform or payload. The sequence number is global to the run.

use crate::time::Time;

/// What the heap orders: the event's (time, sequence) and where its payload waits. Events are
/// large (a message, a timer); keeping them out of the heap means a push or pop moves these
/// 24 bytes through the heap's levels instead of the whole event.
#[derive(Clone, Copy)]
struct Entry {
    time: Time,
    seq: u64,
    slot: u32,
}

impl Entry {
    /// The order of events; unique (the sequence is), so no two entries tie.
    fn key(&self) -> (Time, u64) {
        (self.time, self.seq)
    }
}

/// How many children a heap node has. Four halve the depth of a binary heap, and a node's
/// children sit side by side (96 bytes): on a queue of thousands of events a pop spends its time
/// waiting for memory at each level, not comparing.
const ARITY: usize = 4;

/// A min-heap of entries by key, stored implicitly: the children of `i` are `ARITY * i + 1 ..`.
#[derive(Clone, Default)]
struct Heap {
    entries: Vec<Entry>,
}

impl Heap {
    fn push(&mut self, entry: Entry) {
        let mut hole = self.entries.len();
        self.entries.push(entry);
        while hole > 0 {
            let parent = (hole - 1) / ARITY;
            if self.entries[parent].key() <= entry.key() {
                break;
            }
            self.entries[hole] = self.entries[parent];
            hole = parent;
        }
        self.entries[hole] = entry;
    }

    fn pop(&mut self) -> Option<Entry> {
        let last = self.entries.pop()?;
        let Some(&top) = self.entries.first() else { return Some(last) };
        // Move the last entry into the root's place and down past every smaller child.
        let len = self.entries.len();
        let mut hole = 0;
        loop {
            let first = ARITY * hole + 1;
            if first >= len {
                break;
            }
            let children = first..(first + ARITY).min(len);
            let smallest = children.min_by_key(|&c| self.entries[c].key()).expect("at least one child");
            if self.entries[smallest].key() >= last.key() {
                break;
            }
            self.entries[hole] = self.entries[smallest];
            hole = smallest;
        }
        self.entries[hole] = last;
        Some(top)
    }

    fn peek(&self) -> Option<&Entry> {
        self.entries.first()
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[derive(Clone)]
pub struct EventQueue<E> {
    heap: Heap,
    /// The payloads, by slot; `None` for free slots. Slots are reused (`free`), so this holds at
    /// most as many events as were ever queued at once. Which slot an event gets never affects the
    /// order: that is (time, seq) alone.
    slots: Vec<Option<E>>,
    free: Vec<u32>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue { heap: Heap::default(), slots: Vec::new(), free: Vec::new(), next_seq: 0 }
    }
}

impl<E> EventQueue<E> {
    pub fn push(&mut self, time: Time, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(event);
                slot
            }
            None => {
                self.slots.push(Some(event));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 events queued at once")
            }
        };
        self.heap.push(Entry { time, seq, slot });
    }

    pub fn pop(&mut self) -> Option<(Time, E)> {
        let entry = self.heap.pop()?;
        let event = self.slots[entry.slot as usize].take().expect("a queued entry's slot holds its event");
        self.free.push(entry.slot);
        Some((entry.time, event))
    }

    pub fn peek_time(&self) -> Option<Time> {
        self.heap.peek().map(|e| e.time)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Every queued event, in no particular order (for counting; never for deciding anything).
    pub fn iter_unordered(&self) -> impl Iterator<Item = &E> {
        self.slots.iter().flatten()
    }
}

impl<E> std::fmt::Debug for EventQueue<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EventQueue({} events, next seq {})", self.heap.len(), self.next_seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_pop_by_time_then_by_insertion_order() {
        let mut q = EventQueue::default();
        q.push(Time::from_micros(5), "late");
        q.push(Time::from_micros(1), "first at 1");
        q.push(Time::from_micros(1), "second at 1");
        q.push(Time::from_micros(3), "middle");
        let order: Vec<&str> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, ["first at 1", "second at 1", "middle", "late"]);
    }

    #[test]
    fn events_queued_into_reused_slots_still_pop_by_time_then_by_insertion_order() {
        let mut q = EventQueue::default();
        q.push(Time::from_micros(2), "a at 2");
        q.push(Time::from_micros(1), "b at 1");
        assert_eq!(q.pop().map(|(_, e)| e), Some("b at 1"));
        // "c" takes the slot "b" freed; it was scheduled after "a", so it runs after "a".
        q.push(Time::from_micros(2), "c at 2");
        q.push(Time::from_micros(0), "d at 0");
        assert_eq!(q.len(), 3);
        assert_eq!(q.iter_unordered().count(), 3);
        let order: Vec<&str> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, ["d at 0", "a at 2", "c at 2"]);
        assert!(q.is_empty());
    }

    #[test]
    fn many_events_pop_in_time_then_insertion_order_whatever_the_interleaving() {
        // A fixed pseudo-random schedule: pushes at scattered (often equal) times, pops in between.
        let mut q = EventQueue::default();
        let mut expected: Vec<(Time, u64)> = Vec::new();
        let mut popped = Vec::new();
        let mut state = 12_345u64;
        let mut next = || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            state >> 33
        };
        let mut now = 0u64;
        for n in 0..5_000u64 {
            let time = Time::from_micros(now + next() % 50);
            q.push(time, n);
            expected.push((time, n));
            if next() % 3 == 0 {
                let (time, n) = q.pop().expect("pushed before");
                now = time.as_micros();
                popped.push((time, n));
            }
        }
        popped.extend(std::iter::from_fn(|| q.pop()));
        // Later pushes never go before the clock, so popping as we went is the sorted order.
        expected.sort();
        assert_eq!(popped, expected);
    }
}
