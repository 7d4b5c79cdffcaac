//! The broker's send path under load: the send thread pool, its queue, the CommitLog put lock, and
//! `BrokerFastFailure` (4.9.8), so that overload *emerges* from service times.
//!
//! A SEND_MESSAGE request first meets `rejectRequest()` (page cache busy → SYSTEM_BUSY
//! "[REJECTREQUEST]system busy, ..."), then the executor: `sendMessageThreadPoolNums` threads in front of
//! a queue of `sendThreadPoolQueueCapacity` (10 000) tasks; a full queue answers SYSTEM_BUSY
//! "[OVERLOAD]system busy, ...". A thread spends CPU time on the request (decode, checks, encode:
//! `sendMessageCpuMicros` + `sendMessageCpuNanosPerByte` per body byte) and then holds the CommitLog put
//! lock for the append (`putMessageLockMicros` + `putMessageLockNanosPerByte` per byte); appends are
//! serialized, granted in the order threads started their tasks. A slowed disk (the `slow_disk` fault)
//! multiplies the append time: writers into the page cache are throttled when dirty pages cannot be written
//! back fast enough. Sync-flush waits happen after the thread is released (the response leaves when the
//! flush completes), as in 4.9's async processor.
//!
//! "OS page cache busy" is RocketMQ's `isOSPageCacheBusy`: the lock has been held for more than
//! `osPageCacheBusyTimeOutMills` (1 s) by the current append. `BrokerFastFailure` runs every 10 ms from
//! 1 s after start: while the page cache is busy it answers every queued send with
//! "[PCBUSY_CLEAN_QUEUE]broker busy, ..."; then it answers queued sends that have waited at least
//! `waitTimeMillsInSendQueue` (200 ms) with "[TIMEOUT_CLEAN_QUEUE]broker busy, ...", oldest first, stopping
//! at the first younger one. The simulator runs that task only while the queue is non-empty (on the same
//! 10 ms grid); with an empty queue it has nothing to do.
//!
//! Invariants: at most `threads` tasks run; put-lock intervals never overlap; every task is answered
//! exactly once (run, or cleaned from the queue).

use std::collections::{BTreeMap, VecDeque};

use crate::protocol::send::SendMessageRequest;
use crate::sim::node::NodeId;
use crate::time::{Duration, Time};

/// `BrokerFastFailure.start`: first run 1 s after start, then every 10 ms.
pub const FAST_FAILURE_DELAY: Duration = Duration::from_secs(1);
pub const FAST_FAILURE_PERIOD: Duration = Duration::from_millis(10);

/// A send waiting for (or running on) a send thread (`RequestTask`).
#[derive(Clone, Debug)]
pub struct SendTask {
    pub id: u64,
    pub from: NodeId,
    /// None for a oneway send.
    pub opaque: Option<u32>,
    pub request: Box<SendMessageRequest>,
    /// `RequestTask.createTimestamp`: when the request was handed to the executor.
    pub created_at: Time,
}

/// Service times of one send (ours: RocketMQ reads them off real CPUs and disks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceTimes {
    pub cpu_micros: u64,
    pub cpu_nanos_per_byte: u64,
    pub lock_micros: u64,
    pub lock_nanos_per_byte: u64,
}

#[derive(Clone, Debug)]
struct RunningTask {
    task: SendTask,
    lock_start: Time,
    done_at: Time,
}

/// The send executor with its queue and the put lock.
#[derive(Clone, Debug, Default)]
pub struct SendThreadPool {
    queue: VecDeque<SendTask>,
    running: BTreeMap<u64, RunningTask>,
    lock_free_at: Time,
    next_id: u64,
}

/// A task the pool gives back without running it, with the remark of its SYSTEM_BUSY answer.
#[derive(Clone, Debug)]
pub struct Rejected {
    pub task: SendTask,
    pub remark: String,
}

impl SendThreadPool {
    pub fn next_task_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub fn queue_len(&self) -> u32 {
        self.queue.len() as u32
    }

    pub fn running_len(&self) -> u32 {
        self.running.len() as u32
    }

    /// `executor.submit`: queue the task, or give it back when the queue is full.
    pub fn submit(&mut self, task: SendTask, capacity: u32) -> Result<(), Rejected> {
        if self.queue.len() as u64 >= u64::from(capacity) {
            return Err(Rejected { task, remark: "[OVERLOAD]system busy, start flow control for a while".into() });
        }
        self.queue.push_back(task);
        Ok(())
    }

    /// Start queued tasks on free threads; returns (task id, when it finishes) for each started task.
    pub fn start_ready(
        &mut self,
        now: Time,
        threads: u32,
        times: ServiceTimes,
        disk_slowdown: u64,
    ) -> Vec<(u64, Time)> {
        let mut started = Vec::new();
        while (self.running.len() as u32) < threads {
            let Some(task) = self.queue.pop_front() else { break };
            let bytes = task.request.body.len() as u64;
            let cpu = Duration::from_micros(times.cpu_micros + bytes * times.cpu_nanos_per_byte / 1_000);
            let append = Duration::from_micros(times.lock_micros + bytes * times.lock_nanos_per_byte / 1_000)
                .saturating_mul(disk_slowdown.max(1));
            let lock_start = (now + cpu).max(self.lock_free_at);
            let done_at = lock_start + append;
            self.lock_free_at = done_at;
            started.push((task.id, done_at));
            self.running.insert(task.id, RunningTask { task, lock_start, done_at });
        }
        started
    }

    /// The task whose thread just finished its append.
    pub fn finish(&mut self, id: u64) -> Option<SendTask> {
        self.running.remove(&id).map(|r| r.task)
    }

    /// `isOSPageCacheBusy`: an append has held the put lock for more than `timeout_ms` (and less than the
    /// 10 000 000 ms RocketMQ treats as "no lock held").
    pub fn is_os_page_cache_busy(&self, now: Time, timeout_ms: u64) -> bool {
        self.running.values().any(|r| {
            r.lock_start <= now && now < r.done_at && {
                let held_ms = (now - r.lock_start).as_millis();
                held_ms > timeout_ms && held_ms < 10_000_000
            }
        })
    }

    /// `BrokerFastFailure.cleanExpiredRequest` for the send queue.
    pub fn clean_expired(
        &mut self,
        now: Time,
        page_cache_busy: bool,
        wait_time_mills_in_send_queue: u64,
    ) -> Vec<Rejected> {
        let mut rejected = Vec::new();
        if page_cache_busy {
            while let Some(task) = self.queue.pop_front() {
                let remark = format!(
                    "[PCBUSY_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: {}ms, size of queue: {}",
                    (now - task.created_at).as_millis(),
                    self.queue.len()
                );
                rejected.push(Rejected { task, remark });
            }
        }
        while let Some(head) = self.queue.front() {
            let behind = (now - head.created_at).as_millis();
            if behind < wait_time_mills_in_send_queue {
                break;
            }
            let task = self.queue.pop_front().expect("peeked");
            let remark = format!(
                "[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: {behind}ms, size of queue: {}",
                self.queue.len()
            );
            rejected.push(Rejected { task, remark });
        }
        rejected
    }

    /// Forget everything (the process died).
    pub fn clear(&mut self) {
        self.queue.clear();
        self.running.clear();
    }
}

/// The next run of the fast-failure task strictly after `now`, on the grid `start + 1 s + k × 10 ms`.
pub fn next_fast_failure_run(started_at: Time, now: Time) -> Time {
    let first = started_at + FAST_FAILURE_DELAY;
    if now < first {
        return first;
    }
    let period = FAST_FAILURE_PERIOD.as_micros();
    first + Duration::from_micros(((now - first).as_micros() / period + 1) * period)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::send::{SendMessageRequestHeader, SendRequestCode};

    fn task(pool: &mut SendThreadPool, at: Time, body: usize) -> SendTask {
        SendTask {
            id: pool.next_task_id(),
            from: NodeId(9),
            opaque: Some(1),
            request: Box::new(SendMessageRequest {
                code: SendRequestCode::SendMessageV2,
                header: SendMessageRequestHeader {
                    producer_group: "G".into(),
                    topic: "T".into(),
                    default_topic: "TBW102".into(),
                    default_topic_queue_nums: 4,
                    queue_id: 0,
                    sys_flag: 0,
                    born_timestamp: 0,
                    flag: 0,
                    properties: String::new(),
                    reconsume_times: 0,
                    unit_mode: false,
                    batch: false,
                    max_reconsume_times: None,
                },
                body: vec![0; body],
            }),
            created_at: at,
        }
    }

    const TIMES: ServiceTimes =
        ServiceTimes { cpu_micros: 40, cpu_nanos_per_byte: 0, lock_micros: 10, lock_nanos_per_byte: 0 };

    #[test]
    fn appends_are_serialized_behind_the_put_lock() {
        let mut pool = SendThreadPool::default();
        for _ in 0..3 {
            let t = task(&mut pool, Time::ZERO, 10);
            pool.submit(t, 10).unwrap();
        }
        let started = pool.start_ready(Time::ZERO, 2, TIMES, 1);
        // Two threads: both finish CPU at 40 µs; the second waits for the lock.
        assert_eq!(started.iter().map(|s| s.1).collect::<Vec<_>>(), [Time::from_micros(50), Time::from_micros(60)]);
        assert_eq!(pool.queue_len(), 1);
        pool.finish(started[0].0).unwrap();
        let next = pool.start_ready(Time::from_micros(50), 2, TIMES, 1);
        assert_eq!(next[0].1, Time::from_micros(100));
    }

    #[test]
    fn a_full_queue_overloads() {
        let mut pool = SendThreadPool::default();
        let t = task(&mut pool, Time::ZERO, 1);
        pool.submit(t, 1).unwrap();
        let t = task(&mut pool, Time::ZERO, 1);
        let rejected = pool.submit(t, 1).unwrap_err();
        assert_eq!(rejected.remark, "[OVERLOAD]system busy, start flow control for a while");
    }

    #[test]
    fn requests_waiting_200_ms_are_cleaned_oldest_first() {
        let mut pool = SendThreadPool::default();
        for at in [0, 50, 150] {
            let t = task(&mut pool, Time::from_millis(at), 1);
            pool.submit(t, 100).unwrap();
        }
        let cleaned = pool.clean_expired(Time::from_millis(250), false, 200);
        assert_eq!(cleaned.len(), 2);
        assert_eq!(
            cleaned[0].remark,
            "[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: 250ms, size of queue: 2"
        );
        assert_eq!(pool.queue_len(), 1);
    }

    #[test]
    fn a_lock_held_over_a_second_makes_the_page_cache_busy_and_drains_the_queue() {
        let mut pool = SendThreadPool::default();
        let t = task(&mut pool, Time::ZERO, 1);
        pool.submit(t, 100).unwrap();
        // A disk slowed 200 000×: the 10 µs append holds the lock for 2 s.
        pool.start_ready(Time::ZERO, 1, TIMES, 200_000);
        assert!(!pool.is_os_page_cache_busy(Time::from_millis(1_000), 1_000));
        assert!(pool.is_os_page_cache_busy(Time::from_millis(1_100), 1_000));
        let t = task(&mut pool, Time::from_millis(1_050), 1);
        pool.submit(t, 100).unwrap();
        let cleaned = pool.clean_expired(Time::from_millis(1_100), true, 200);
        assert!(cleaned[0].remark.starts_with("[PCBUSY_CLEAN_QUEUE]broker busy"), "{}", cleaned[0].remark);
    }

    #[test]
    fn the_fast_failure_grid_starts_one_second_after_start() {
        assert_eq!(next_fast_failure_run(Time::ZERO, Time::from_millis(3)), Time::from_secs(1));
        assert_eq!(next_fast_failure_run(Time::ZERO, Time::from_millis(1_000)), Time::from_millis(1_010));
        assert_eq!(next_fast_failure_run(Time::ZERO, Time::from_micros(1_015_500)), Time::from_millis(1_020));
    }
}
