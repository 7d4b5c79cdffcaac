//! The event queue: a priority queue ordered by (time, insertion sequence).
//!
//! Two events at the same instant run in the order they were scheduled, so the order never
//! depends on heap internals, platform or payload. The sequence number is global to the run.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

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

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest (time, seq) first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

#[derive(Clone)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry>,
    /// The payloads, by slot; `None` for free slots. Slots are reused (`free`), so this holds at
    /// most as many events as were ever queued at once. Which slot an event gets never affects the
    /// order: that is (time, seq) alone.
    slots: Vec<Option<E>>,
    free: Vec<u32>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue { heap: BinaryHeap::new(), slots: Vec::new(), free: Vec::new(), next_seq: 0 }
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
}
