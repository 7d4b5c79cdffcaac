//! `AllocateMessageQueueAveragely` ("AVG") and `AllocateMessageQueueAveragelyByCircle` ("AVG_BY_CIRCLE").
//!
//! Both split `M` queues over `N` consumers so that shares differ by at most one; AVG hands out contiguous
//! blocks (the first `M % N` consumers take `M / N + 1`), AVG_BY_CIRCLE deals one queue at a time. The caller has
//! already checked the arguments, so `index < consumer_count` and `mq_all` is not empty.

use crate::message_queue::MessageQueue;

/// AVG for the consumer at `index` of the sorted `cidAll`.
pub(super) fn allocate_averagely(index: usize, mq_all: &[MessageQueue], consumer_count: usize) -> Vec<MessageQueue> {
    let queue_count = mq_all.len();
    let remainder = queue_count % consumer_count;
    // Consumers before `remainder` carry one extra queue; with at most one queue each the size is simply 1
    // and consumers past the last queue get an empty range below.
    let takes_extra = remainder > 0 && index < remainder;
    let average_size = if queue_count <= consumer_count {
        1
    } else if takes_extra {
        queue_count / consumer_count + 1
    } else {
        queue_count / consumer_count
    };
    let start_index = if takes_extra { index * average_size } else { index * average_size + remainder };
    // Java computes `min(averageSize, M - startIndex)` and loops zero times when it is negative.
    let range = average_size.min(queue_count.saturating_sub(start_index));
    if range == 0 {
        return Vec::new();
    }
    // 4.9 indexes `(startIndex + i) % M`; since startIndex + i < M whenever the range is positive, the modulo
    // never wraps (5.x dropped it), so plain slicing is the same.
    mq_all[start_index..start_index + range].to_vec()
}

/// AVG_BY_CIRCLE: the queues `j >= index` with `j % N == index`.
pub(super) fn allocate_averagely_by_circle(
    index: usize,
    mq_all: &[MessageQueue],
    consumer_count: usize,
) -> Vec<MessageQueue> {
    // Starting at index (< N) and stepping by N visits exactly the j with j % N == index.
    mq_all.iter().skip(index).step_by(consumer_count).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::queues;
    use super::*;

    fn ids(queues: &[MessageQueue]) -> Vec<i32> {
        queues.iter().map(|q| q.queue_id).collect()
    }

    #[test]
    fn averagely_with_as_many_queues_as_consumers_gives_one_each() {
        let mq_all = queues("T", "b", 4);
        let got: Vec<Vec<i32>> = (0..4).map(|i| ids(&allocate_averagely(i, &mq_all, 4))).collect();
        assert_eq!(got, vec![vec![0], vec![1], vec![2], vec![3]]);
    }

    #[test]
    fn averagely_with_one_consumer_takes_everything() {
        let mq_all = queues("T", "b", 5);
        assert_eq!(ids(&allocate_averagely(0, &mq_all, 1)), vec![0, 1, 2, 3, 4]);
        assert_eq!(ids(&allocate_averagely_by_circle(0, &mq_all, 1)), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn averagely_by_circle_leaves_consumers_past_the_last_queue_empty() {
        let mq_all = queues("T", "b", 2);
        assert_eq!(ids(&allocate_averagely_by_circle(1, &mq_all, 3)), vec![1]);
        assert!(allocate_averagely_by_circle(2, &mq_all, 3).is_empty());
    }
}
