//! Every send path of `DefaultMQProducer` (4.9.8), end to end: sync retries on another broker, the
//! timeout budget, async sends that do not retry broker errors, ordered sends that never retry, the
//! latency-fault table, SendStatus per durability, and the duplicate a lost acknowledgement makes.

mod support;

use rmqsim_core::observation::{BrokerRemovalReason, Observation, SendOutcome};
use rmqsim_core::producer::send_result::SendStatus;
use rmqsim_core::time::Time;
use support::*;

fn with_producer(workload: &str, actions: &str) -> String {
    format!("{TWO_BROKERS}\n[[producers]]\n[producers.workload]\n{workload}\n{actions}")
}

#[test]
fn a_sync_send_to_a_dead_broker_retries_on_another_broker_and_reports_the_attempts() {
    // broker-a is killed at 10 s; the producer's route still lists it until its refresh at 30.010 s. A send
    // that picks broker-a meets a reset (the connect fails within a round trip) and retries on broker-b.
    let body = with_producer(
        "topic = \"TopicTest\"\nrate = [{ at = \"0s\", per_second = 10 }]",
        "[[actions]]\nat = \"10s\"\ndo = \"crash\"\nnode = \"broker-a\"\nkind = \"process_kill\"",
    );
    let sim = run(&body, 1, Time::from_secs(40));
    let tried = attempts(&sim, "producer-0");
    let done = completions(&sim, "producer-0");
    let retried: Vec<_> = done.iter().filter(|c| c.0 > Time::from_secs(10) && c.3 == 2).collect();
    assert!(retried.len() >= 5, "{}", retried.len());
    for (time, send_id, _, _, outcome) in &retried {
        let mine: Vec<_> = tried.iter().filter(|a| a.1 == *send_id).collect();
        assert_eq!(mine.len(), 2);
        assert_eq!(mine[0].3.broker_name.as_ref(), "broker-a");
        assert_eq!(mine[1].3.broker_name.as_ref(), "broker-b");
        // The retry starts one reset later (two link latencies), the whole send well within a millisecond or two.
        assert!(mine[1].0 - mine[0].0 < rmqsim_core::time::Duration::from_millis(1));
        assert!(*time - mine[0].0 < rmqsim_core::time::Duration::from_millis(2));
        assert!(matches!(outcome, SendOutcome::Sent { status: SendStatus::SendOk, .. }), "{outcome:?}");
    }
    assert!(done.iter().all(|c| failure_of(&c.4).is_none()), "no send fails: the retry saves every one");
    // After the refresh, broker-a is not tried any more.
    assert!(tried.iter().filter(|a| a.0 > Time::from_millis(30_020)).all(|a| &*a.3.broker_name == "broker-b"));
}

#[test]
fn a_sync_send_to_a_powered_off_broker_spends_its_whole_timeout() {
    // A powered-off host answers nothing: the attempt waits the remaining budget (3 s), and the loop then
    // finds the budget spent: RemotingTooMuchRequestException "sendDefaultImpl call timeout", no retry.
    let body = with_producer(
        "topic = \"TopicTest\"\nrate = [{ at = \"0s\", per_second = 10 }]",
        "[[actions]]\nat = \"10s\"\ndo = \"crash\"\nnode = \"broker-a\"\nkind = \"power_loss\"",
    );
    let sim = run(&body, 1, Time::from_secs(25));
    let tried = attempts(&sim, "producer-0");
    let done = completions(&sim, "producer-0");
    let failed: Vec<_> = done.iter().filter(|c| failure_of(&c.4).is_some()).collect();
    assert!(!failed.is_empty());
    for (time, send_id, _, attempts_made, outcome) in &failed {
        assert_eq!(
            failure_of(outcome),
            Some(("RemotingTooMuchRequestException", "sendDefaultImpl call timeout", None))
        );
        assert_eq!(*attempts_made, 1);
        let first = tried.iter().find(|a| a.1 == *send_id).unwrap();
        assert_eq!(first.3.broker_name.as_ref(), "broker-a");
        assert_eq!(*time - first.0, rmqsim_core::time::Duration::from_secs(3));
    }
}

/// broker-b has one send thread that spends 300 ms on every request: its queue grows, and the fast-failure
/// task answers requests that waited 200 ms with SYSTEM_BUSY "[TIMEOUT_CLEAN_QUEUE]broker busy, ...".
fn busy_broker_b(mode: &str, producer_config: &str) -> String {
    // Sync sends need several application threads for a queue to build at the broker.
    let threads = if mode == "sync" { 8 } else { 1 };
    let busy = "[topology.broker_groups.config]\nsendMessageThreadPoolNums = 1\nsendMessageCpuMicros = 300000";
    let workload = format!(
        "mode = \"{mode}\"\nthreads = {threads}\nstop_at = \"20s\"\nrate = [{{ at = \"0s\", per_second = 20 }}]"
    );
    cluster(1, &[("broker-a", ""), ("broker-b", busy)], &[("TopicTest", 4)])
        + &producer(producer_config, "TopicTest", &workload)
}

#[test]
fn an_overloaded_broker_answers_system_busy_from_its_send_queue() {
    let sim = run(&busy_broker_b("async", ""), 1, Time::from_secs(25));
    let rejections: Vec<String> = picked(&sim, |o| match o {
        Observation::SendRejected { code: 2, remark, .. } => Some(remark.clone()),
        _ => None,
    });
    assert!(rejections.len() > 10, "{}", rejections.len());
    for remark in &rejections {
        assert!(
            remark.starts_with("[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: "),
            "{remark}"
        );
        let waited: u64 =
            remark.split("period in queue: ").nth(1).unwrap().split("ms").next().unwrap().parse().unwrap();
        // The task runs every 10 ms: a request is cleaned within 10 ms of reaching 200 ms.
        assert!((200..210).contains(&waited), "{remark}");
    }
}

#[test]
fn an_async_send_does_not_retry_on_a_broker_error() {
    let sim = run(&busy_broker_b("async", ""), 1, Time::from_secs(25));
    let done = completions(&sim, "producer-0");
    let busy: Vec<_> = done.iter().filter(|c| failure_of(&c.4).is_some_and(|f| f.2 == Some(2))).collect();
    assert!(busy.len() > 10, "{}", busy.len());
    for c in &busy {
        assert_eq!(c.3, 1, "one attempt only: {c:?}");
        let (class, message, _) = failure_of(&c.4).unwrap();
        assert_eq!(class, "MQBrokerException");
        assert!(message.starts_with("CODE: 2  DESC: [TIMEOUT_CLEAN_QUEUE]broker busy"), "{message}");
        assert!(message.ends_with(" BROKER: 10.0.0.3:10911"), "{message}");
    }
}

#[test]
fn a_sync_send_retries_a_broker_error_only_when_its_code_is_in_retry_response_codes() {
    // 4.9.8's retryResponseCodes lack SYSTEM_BUSY: the error is thrown at once.
    let sim = run(&busy_broker_b("sync", ""), 1, Time::from_secs(25));
    let done = completions(&sim, "producer-0");
    let busy: Vec<_> = done.iter().filter(|c| failure_of(&c.4).is_some_and(|f| f.2 == Some(2))).collect();
    assert!(!busy.is_empty());
    assert!(busy.iter().all(|c| c.3 == 1));
    // 5.x adds SYSTEM_BUSY (2): the same error now sends the message to broker-a.
    let sim =
        run(&busy_broker_b("sync", "retryResponseCodes = [17, 14, 1, 2, 16, 204, 205, 1500]"), 1, Time::from_secs(25));
    let done = completions(&sim, "producer-0");
    assert!(done.iter().all(|c| failure_of(&c.4).is_none()), "every busy answer was retried elsewhere");
    let tried = attempts(&sim, "producer-0");
    let retried: Vec<_> = done.iter().filter(|c| c.3 == 2).collect();
    assert!(!retried.is_empty());
    for c in retried {
        let mine: Vec<_> = tried.iter().filter(|a| a.1 == c.1).map(|a| a.3.broker_name.as_ref()).collect();
        assert_eq!(mine, ["broker-b", "broker-a"]);
    }
}

#[test]
fn an_ordered_send_with_a_selector_does_not_retry() {
    // Orders are hashed to a queue by order id. broker-a is killed at 10 s: an order whose queue is on
    // broker-a fails after its one attempt (the connect is refused); nothing is sent to broker-b instead.
    let body = with_producer(
        "topic = \"TopicTest\"\norder_by_key = true\nkeys = { distribution = \"uniform\", space = 50 }\n\
         rate = [{ at = \"0s\", per_second = 10 }]",
        "[[actions]]\nat = \"10s\"\ndo = \"crash\"\nnode = \"broker-a\"\nkind = \"process_kill\"",
    );
    let sim = run(&body, 1, Time::from_secs(25));
    let tried = attempts(&sim, "producer-0");
    let done = completions(&sim, "producer-0");
    let failed: Vec<_> = done.iter().filter(|c| failure_of(&c.4).is_some()).collect();
    assert!(failed.len() > 5, "{}", failed.len());
    for c in &failed {
        assert_eq!(c.3, 1);
        assert_eq!(failure_of(&c.4).unwrap().0, "RemotingConnectException");
        let mine: Vec<_> = tried.iter().filter(|a| a.1 == c.1).collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].3.broker_name.as_ref(), "broker-a");
    }
    // Every send is one attempt, whatever happened.
    assert!(done.iter().all(|c| c.3 <= 1));
}

#[test]
fn ordered_sends_keep_each_order_on_one_queue() {
    let body = with_producer(
        "topic = \"TopicTest\"\norder_by_key = true\nkeys = { distribution = \"uniform\", space = 5 }\n\
         rate = [{ at = \"0s\", per_second = 20 }]",
        "",
    );
    let mut sim = rmqsim_core::Simulation::new(&scenario(&body), 3).unwrap();
    sim.run_until(Time::from_secs(10));
    let requested: std::collections::BTreeMap<u64, String> = picked(&sim, |o| match o {
        Observation::SendRequested { send_id, business_keys, .. } => Some((*send_id, business_keys[0].clone())),
        _ => None,
    })
    .into_iter()
    .collect();
    let mut queue_of_key = std::collections::BTreeMap::new();
    for (_, send_id, _, queue) in attempts(&sim, "producer-0") {
        let key = &requested[&send_id];
        let previous = queue_of_key.insert(key.clone(), queue.clone());
        assert!(previous.is_none_or(|p| p == queue), "{key} moved queues");
    }
    // "order-1".hashCode() % 8: the spec's selector arithmetic, on the publish list a/0..a/3, b/0..b/3.
    let index = rmqsim_core::producer::selector::hash_selection(rmqsim_core::java::string_hash_code("order-1"), 8)
        .unwrap()
        .index;
    let expected = if index < 4 { format!("broker-a/{index}") } else { format!("broker-b/{}", index - 4) };
    let queue = &queue_of_key["order-1"];
    assert_eq!(format!("{}/{}", queue.broker_name, queue.queue_id), expected);
}

fn slow_broker_b(version: &str) -> String {
    // Every request to broker-b takes 600 ms more on the way (a clogged link): latency ≥ 550 ms.
    let config = format!("sendLatencyFaultEnable = true\nfaultStrategyVersion = \"{version}\"");
    let workload = "mode = \"async\"\nrate = [{ at = \"0s\", per_second = 10 }]";
    let clog = action("5s", "do = \"clog\"\nfrom = \"producer-0\"\nto = \"broker-b\"\nextra = \"600ms\"");
    [TWO_BROKERS.to_string(), producer(&config, "TopicTest", workload), clog].concat()
}

#[test]
fn the_latency_fault_table_isolates_a_slow_broker_for_the_listed_duration() {
    // 4.9: a 600 ms send isolates for 30 s; 5.x: for 2 s (spec §13 item 8).
    for (version, isolation_ms) in [("4.9", 30_000u64), ("5.x", 2_000)] {
        let sim = run(&slow_broker_b(version), 1, Time::from_secs(80));
        let done = completions(&sim, "producer-0");
        let tried = attempts(&sim, "producer-0");
        // Sends to broker-b after the clog take over 600 ms; each completion (re)isolates broker-b. After the
        // last one, broker-b is not tried until its isolation ends, and then at the next send or so.
        let slow_ends: Vec<Time> = done
            .iter()
            .filter(|c| c.0 > Time::from_secs(5))
            .filter(|c| matches!(&c.4, SendOutcome::Sent { queue, .. } if &*queue.broker_name == "broker-b"))
            .map(|c| c.0)
            .collect();
        let first_slow = slow_ends[0];
        let tried_b_after =
            |t: Time| tried.iter().filter(|a| &*a.3.broker_name == "broker-b").map(|a| a.0).find(|a| *a > t);
        let last_slow = slow_ends.iter().copied().filter(|e| *e < tried_b_after(first_slow).unwrap()).max().unwrap();
        let next = tried_b_after(last_slow).expect("broker-b is chosen again once available");
        let until = last_slow + rmqsim_core::time::Duration::from_millis(isolation_ms);
        // Available again when now >= start + duration (ms resolution). The publish list is a/0..a/3 then
        // b/0..b/3, so round robin reaches a broker-b queue within 4 sends (400 ms at 10 messages/s).
        assert!(next >= Time::from_millis(until.as_millis()), "{version}: next at {next:?}, isolated until {until:?}");
        assert!(
            next <= until + rmqsim_core::time::Duration::from_millis(500),
            "{version}: next at {next:?}, until {until:?}"
        );
        assert!(last_slow - first_slow < rmqsim_core::time::Duration::from_millis(700), "{version}");
    }
}

#[test]
fn a_lost_ack_produces_exactly_one_duplicate() {
    // The broker stores the message, its answer is lost (broker-a → producer is cut from 1.5 s to 4 s), the
    // sync send times out at 3 s and the application keeps the message and resends it 5 s later: the same
    // Message, so the same UNIQ_KEY, stored a second time under a new offsetMsgId.
    let one_way = "from = [\"broker-a\"]\nto = [\"producer-0\"]\nboth_ways = false";
    let body = [
        cluster(1, &[("broker-a", "")], &[("TopicTest", 4)]),
        producer("", "TopicTest", "start_at = \"2s\"\nmax_messages = 1\nresend_failed = { after = \"5s\" }"),
        action("1500ms", &format!("do = \"partition\"\n{one_way}")),
        action("4s", &format!("do = \"heal\"\n{one_way}")),
    ]
    .concat();
    let sim = run(&body, 1, Time::from_secs(20));
    let done = completions(&sim, "producer-0");
    assert_eq!(done.len(), 2, "{done:?}");
    assert_eq!(done[0].0, Time::from_secs(5));
    assert_eq!(failure_of(&done[0].4), Some(("RemotingTooMuchRequestException", "sendDefaultImpl call timeout", None)));
    let SendOutcome::Sent { status: SendStatus::SendOk, offset_msg_id, .. } = &done[1].4 else {
        panic!("{:?}", done[1])
    };
    assert_eq!(done[0].2, done[1].2, "the same UNIQ_KEY");
    let copies: Vec<_> = stored(&sim).into_iter().filter(|s| s.2 == done[0].2[0]).collect();
    assert_eq!(copies.len(), 2, "exactly one duplicate: {copies:?}");
    assert_ne!(copies[0].3, copies[1].3, "each copy has its own offsetMsgId");
    assert_eq!(&copies[1].3, offset_msg_id);
    assert!(copies[1].0 >= Time::from_secs(10));
}

fn sync_flush_broker(slow_disk: &str) -> String {
    let store = "[topology.broker_groups.store]\nflushDiskType = \"SYNC_FLUSH\"\nsyncFlushTimeout = 1000";
    let workload =
        format!("start_at = \"2s\"\nmax_messages = 5\nrate = [{{ at = \"0s\", per_second = 1 }}]\n{slow_disk}");
    cluster(1, &[("broker-a", store)], &[("TopicTest", 4)]) + &producer("", "TopicTest", &workload)
}

#[test]
fn a_sync_flush_broker_answers_after_the_flush_and_reports_flush_disk_timeout_when_it_is_late() {
    let sim = run(&sync_flush_broker(""), 1, Time::from_secs(10));
    let done = completions(&sim, "producer-0");
    assert_eq!(done.len(), 5);
    assert!(done.iter().all(|c| matches!(c.4, SendOutcome::Sent { status: SendStatus::SendOk, .. })), "{done:?}");
    // Each answer waited for its flush: the send took longer than the broker's CPU and lock time.
    let tried = attempts(&sim, "producer-0");
    for c in &done {
        let sent = tried.iter().find(|a| a.1 == c.1).unwrap().0;
        assert!(c.0 - sent > rmqsim_core::time::Duration::from_micros(600), "{:?}", c.0 - sent);
    }
    // A disk slowed 100 000x cannot flush within syncFlushTimeout (1 s): FLUSH_DISK_TIMEOUT, still stored.
    let slow = "[[actions]]\nat = \"0s\"\ndo = \"slow_disk\"\nnode = \"broker-a\"\nfactor = 100000";
    let sim = run(&sync_flush_broker(slow), 1, Time::from_secs(20));
    let done = completions(&sim, "producer-0");
    let timeouts: Vec<_> =
        done.iter().filter(|c| matches!(c.4, SendOutcome::Sent { status: SendStatus::FlushDiskTimeout, .. })).collect();
    assert!(!timeouts.is_empty(), "{done:?}");
    for c in &timeouts {
        assert_eq!(c.3, 1, "FLUSH_DISK_TIMEOUT is not retried (retryAnotherBrokerWhenNotStoreOK is false)");
        assert!(stored(&sim).iter().any(|s| s.2 == c.2[0]), "the message is stored");
    }
}

#[test]
fn a_batch_is_one_request_stored_at_consecutive_queue_offsets() {
    let body = with_producer(
        "topic = \"TopicTest\"\nbatch_size = 4\nmax_messages = 8\nrate = [{ at = \"0s\", per_second = 100 }]",
        "",
    );
    let sim = run(&body, 1, Time::from_secs(5));
    let done = completions(&sim, "producer-0");
    assert_eq!(done.len(), 2);
    let copies = stored(&sim);
    for c in &done {
        assert_eq!(c.2.len(), 4, "four UNIQ_KEYs");
        let SendOutcome::Sent { status: SendStatus::SendOk, offset_msg_id, queue, queue_offset } = &c.4 else {
            panic!()
        };
        assert_eq!(offset_msg_id.split(',').count(), 4, "comma-joined offset ids");
        let mine: Vec<_> = copies.iter().filter(|s| c.2.contains(&s.2)).collect();
        assert_eq!(mine.len(), 4);
        let offsets: Vec<i64> = mine.iter().map(|s| s.5).collect();
        assert_eq!(offsets, (*queue_offset..queue_offset + 4).collect::<Vec<_>>());
        assert!(mine.iter().all(|s| s.4 == queue.queue_id));
    }
}

#[test]
fn a_oneway_send_has_no_result_and_is_stored() {
    let body = with_producer(
        "topic = \"TopicTest\"\nmode = \"oneway\"\nmax_messages = 20\nrate = [{ at = \"0s\", per_second = 100 }]",
        "",
    );
    let sim = run(&body, 1, Time::from_secs(5));
    let done = completions(&sim, "producer-0");
    assert_eq!(done.len(), 20);
    assert!(done.iter().all(|c| c.4 == SendOutcome::Oneway && c.3 == 1));
    assert_eq!(stored(&sim).len(), 20);
}

/// The bytes each stored message took in the CommitLog.
fn wrote_bytes(sim: &rmqsim_core::Simulation) -> Vec<i32> {
    picked(sim, |o| match o {
        Observation::MessageStored { wrote_bytes, .. } => Some(*wrote_bytes),
        _ => None,
    })
}

#[test]
fn a_body_of_4096_bytes_or_more_is_compressed() {
    let body = with_producer("topic = \"TopicTest\"\nbody_bytes = 8192\nmax_messages = 1", "");
    let sim = run(&body, 1, Time::from_secs(3));
    let wrote = wrote_bytes(&sim);
    assert_eq!(wrote.len(), 1);
    assert!(wrote[0] < 1_000, "the 8 KiB repetitive body is stored zlib-compressed: {} bytes", wrote[0]);
    let body = with_producer("topic = \"TopicTest\"\nbody_bytes = 4095\nmax_messages = 1", "");
    let sim = run(&body, 1, Time::from_secs(3));
    let wrote = wrote_bytes(&sim);
    assert!(wrote[0] > 4_095, "below the threshold the body is stored as is");
}

#[test]
fn a_broker_killed_between_storing_and_answering_makes_the_retry_a_duplicate() {
    // broker-a flushes synchronously on a slow disk (~1 s per flush): a send to it is stored at once and
    // answered a second later. Killed at 10 s, it drops the connection; the waiting send fails fast
    // (RemotingSendRequestException) and is retried on broker-b. broker-a's page cache (a killed process
    // keeps it) still holds the first copy: the same UNIQ_KEY is stored twice.
    let body = [
        cluster(
            1,
            &[("broker-a", "[topology.broker_groups.store]\nflushDiskType = \"SYNC_FLUSH\""), ("broker-b", "")],
            &[("TopicTest", 4)],
        ),
        producer("", "TopicTest", "rate = [{ at = \"0s\", per_second = 10 }]"),
        action("0s", "do = \"slow_disk\"\nnode = \"broker-a\"\nfactor = 2000"),
        crash("10s", "broker-a", "process_kill"),
    ]
    .concat();
    let sim = run(&body, 1, Time::from_secs(12));
    let copies = stored(&sim);
    let mut on_both: Vec<&String> = copies
        .iter()
        .filter(|s| s.1 == "broker-a")
        .map(|s| &s.2)
        .filter(|id| copies.iter().any(|t| t.1 == "broker-b" && &t.2 == *id))
        .collect();
    on_both.dedup();
    assert_eq!(on_both.len(), 1, "exactly one message stored on both brokers");
    let done = completions(&sim, "producer-0");
    let dup = done.iter().find(|c| &c.2[0] == on_both[0]).unwrap();
    assert_eq!(dup.3, 2);
    assert!(matches!(&dup.4, SendOutcome::Sent { queue, .. } if &*queue.broker_name == "broker-b"));
    assert!(dup.0 > Time::from_secs(10) && dup.0 < Time::from_millis(10_002));
}

#[test]
fn a_sync_master_without_a_slave_answers_slave_not_available_and_the_message_is_stored() {
    let body = cluster(
        1,
        &[("broker-a", "[topology.broker_groups.store]\nbrokerRole = \"SYNC_MASTER\"")],
        &[("TopicTest", 4)],
    ) + &producer("", "TopicTest", "max_messages = 3");
    let sim = run(&body, 1, Time::from_secs(5));
    let done = completions(&sim, "producer-0");
    assert_eq!(done.len(), 3);
    assert!(
        done.iter().all(|c| matches!(c.4, SendOutcome::Sent { status: SendStatus::SlaveNotAvailable, .. })),
        "{done:?}"
    );
    assert_eq!(stored(&sim).len(), 3);
}

#[test]
fn a_gracefully_shut_down_broker_is_unregistered_at_once_and_sends_move_to_the_other_broker() {
    let body = with_producer(
        "topic = \"TopicTest\"\nrate = [{ at = \"0s\", per_second = 20 }]",
        "[[actions]]\nat = \"20s\"\ndo = \"shutdown\"\nnode = \"broker-b\"",
    );
    let sim = run(&body, 1, Time::from_secs(40));
    let removed = seen(&sim, |o| match o {
        Observation::BrokerRemoved { broker_name, reason, .. } if broker_name == "broker-b" => Some(*reason),
        _ => None,
    });
    assert_eq!(removed.len(), 2, "{removed:?}");
    for (time, reason) in &removed {
        assert_eq!(*reason, BrokerRemovalReason::Unregistered);
        assert!(*time > Time::from_secs(20) && *time < Time::from_millis(20_001), "{time:?}");
    }
    let done = completions(&sim, "producer-0");
    assert!(done.iter().all(|c| failure_of(&c.4).is_none()), "refused connections are retried on broker-a");
    assert!(attempts(&sim, "producer-0")
        .iter()
        .filter(|a| a.0 > Time::from_millis(30_020))
        .all(|a| &*a.3.broker_name == "broker-a"));
}

#[test]
fn an_async_send_retries_a_network_failure_on_another_broker() {
    // retryTimesWhenSendAsyncFailed covers network failures: a reset from the killed broker-a sends the same
    // request (same queue id) to broker-b from the callback.
    let body = with_producer(
        "topic = \"TopicTest\"\nmode = \"async\"\nrate = [{ at = \"0s\", per_second = 10 }]",
        "[[actions]]\nat = \"10s\"\ndo = \"crash\"\nnode = \"broker-a\"\nkind = \"process_kill\"",
    );
    let sim = run(&body, 1, Time::from_secs(25));
    let tried = attempts(&sim, "producer-0");
    let done = completions(&sim, "producer-0");
    assert!(done.iter().all(|c| failure_of(&c.4).is_none()));
    let retried: Vec<_> = done.iter().filter(|c| c.3 == 2).collect();
    assert!(retried.len() >= 5);
    for c in retried {
        let mine: Vec<_> = tried.iter().filter(|a| a.1 == c.1).collect();
        assert_eq!((mine[0].3.broker_name.as_ref(), mine[1].3.broker_name.as_ref()), ("broker-a", "broker-b"));
        assert_eq!(mine[0].3.queue_id, mine[1].3.queue_id, "the async retry reuses the request and its queue id");
    }
}

#[test]
fn a_sync_send_that_fails_on_every_attempt_reports_the_brokers_it_tried() {
    // Both brokers are killed: every attempt is refused within a round trip, three attempts in all.
    let body = with_producer(
        "topic = \"TopicTest\"\nrate = [{ at = \"0s\", per_second = 10 }]",
        "[[actions]]\nat = \"10s\"\ndo = \"crash\"\nnode = \"broker-a\"\nkind = \"process_kill\"\n\
         [[actions]]\nat = \"10s\"\ndo = \"crash\"\nnode = \"broker-b\"\nkind = \"process_kill\"",
    );
    let sim = run(&body, 1, Time::from_secs(15));
    let done = completions(&sim, "producer-0");
    let failed: Vec<_> = done.iter().filter(|c| c.0 > Time::from_millis(10_001)).collect();
    assert!(failed.len() > 10);
    for c in failed {
        assert_eq!(c.3, 3);
        let (class, message, code) = failure_of(&c.4).unwrap();
        assert_eq!((class, code), ("MQClientException", Some(10_001)), "CONNECT_BROKER_EXCEPTION");
        assert!(message.starts_with("Send [3] times, still failed, cost ["), "{message}");
        let brokers = message.split("BrokersSent: ").nth(1).unwrap();
        assert!(
            brokers == "[broker-a, broker-b, broker-a]" || brokers == "[broker-b, broker-a, broker-b]",
            "each retry avoids the broker of the attempt before: {message}"
        );
        assert!(message.contains("ms, Topic: TopicTest, BrokersSent: "), "{message}");
    }
}
