//! Transactional messages (spec §9, §13 item 20): half messages, END_TRANSACTION, the check service, and a
//! producer that dies between its local commit and END_TRANSACTION.

mod support;

use rmqsim_core::observation::Observation;
use rmqsim_core::protocol::transaction::LocalTransactionState;
use rmqsim_core::scenario::Scenario;
use rmqsim_core::time::Time;
use rmqsim_core::Simulation;
use support::{cluster, run, seen};

fn consumed(sim: &Simulation) -> Vec<(Time, String)> {
    seen(sim, |o| match o {
        Observation::ConsumeStarted { msg_id, .. } => Some(msg_id.clone()),
        _ => None,
    })
}

fn topology(broker_config: &str) -> String {
    cluster(1, &[("broker-a", &format!("[topology.broker_groups.config]\n{broker_config}"))], &[("Payment", 2)])
}

const CONSUMER: &str = r#"
[[consumer_groups]]
group = "RedPacket"
subscriptions = [{ topic = "Payment" }]
"#;

fn producer(name: &str, transaction: &str, max_messages: u32) -> String {
    format!(
        r#"
[[producers]]
name = "{name}"
[producers.config]
producerGroup = "PayGroup"
[producers.workload]
topic = "Payment"
start_at = "1s"
max_messages = {max_messages}
[producers.workload.transaction]
{transaction}
"#
    )
}

#[test]
fn an_unresolved_half_message_is_checked_every_30_s_after_6_s_and_moved_after_the_15th_check() {
    // Spec §13 item 20, with RocketMQ 5.x's 30 s check interval.
    let body = format!(
        "{}{}{CONSUMER}",
        topology("transactionCheckInterval = 30000"),
        producer("producer-0", "commit_percent = 0\nunknown_percent = 100\nunknown_resolves_to = \"unknown\"", 1)
    );
    let sim = run(&body, 1, Time::from_secs(600));
    let checks = seen(&sim, |o| match o {
        Observation::TransactionCheckSent { check_times, to_client, .. } => Some((*check_times, to_client.is_some())),
        _ => None,
    });
    let times: Vec<u64> = checks.iter().map(|(t, _)| t.as_millis()).collect();
    assert_eq!(times, (1..=15).map(|k| k * 30_000).collect::<Vec<_>>(), "one check per pass, from the first pass");
    assert!(checks.iter().enumerate().all(|(i, (_, (n, asked)))| *n == i as i32 + 1 && *asked));
    let answers = seen(&sim, |o| match o {
        Observation::TransactionCheckAnswered { state, .. } => Some(*state),
        _ => None,
    });
    assert_eq!(answers.len(), 15);
    assert!(answers.iter().all(|(_, s)| *s == LocalTransactionState::Unknow));
    let discarded = seen(&sim, |o| match o {
        Observation::TransactionDiscarded { check_times, .. } => Some(*check_times),
        _ => None,
    });
    assert_eq!(discarded, vec![(Time::from_secs(16 * 30), 15)], "the pass after the 15th check discards");
    let broker = sim.directory().by_name("broker-a").unwrap().id;
    let Some(rmqsim_core::world::AnyNode::Broker(b)) = sim.kernel().node(broker) else { panic!("broker-a is up") };
    assert!(b.topic_config_table().contains_key("TRANS_CHECK_MAX_TIME_TOPIC"), "created on demand, one queue");
    assert_eq!(b.store.get_max_offset_in_queue("TRANS_CHECK_MAX_TIME_TOPIC", 0).0, 1);
    assert_eq!(b.transaction.stats.check_passes, 16, "no pass once nothing is pending");
    assert!(consumed(&sim).is_empty(), "never delivered");
}

#[test]
fn with_the_4_9_default_interval_the_checks_come_every_60_s() {
    let body = format!(
        "{}{}",
        topology(""),
        producer("producer-0", "commit_percent = 0\nunknown_percent = 100\nunknown_resolves_to = \"unknown\"", 1)
    );
    let sim = run(&body, 1, Time::from_secs(1_200));
    let checks = seen(&sim, |o| matches!(o, Observation::TransactionCheckSent { .. }).then_some(()));
    assert_eq!(
        checks.iter().map(|(t, _)| t.as_millis()).collect::<Vec<_>>(),
        (1..=15).map(|k| k * 60_000).collect::<Vec<_>>()
    );
    let discarded = seen(&sim, |o| matches!(o, Observation::TransactionDiscarded { .. }).then_some(()));
    assert_eq!(discarded.len(), 1);
    assert_eq!(discarded[0].0, Time::from_secs(960));
}

#[test]
fn a_committed_transaction_is_delivered_once_and_a_rolled_back_one_never() {
    let body = format!(
        "{}{}{CONSUMER}",
        topology(""),
        producer("producer-0", "commit_percent = 50\nrollback_percent = 50\nlocal_duration = \"20ms\"", 40)
    );
    let sim = run(&body, 1, Time::from_secs(150));
    let committed: Vec<String> = seen(&sim, |o| match o {
        Observation::TransactionCommitted { msg_id, .. } => Some(msg_id.clone()),
        _ => None,
    })
    .into_iter()
    .map(|(_, id)| id)
    .collect();
    let rolled_back: Vec<String> = seen(&sim, |o| match o {
        Observation::TransactionRolledBack { msg_id, .. } => Some(msg_id.clone()),
        _ => None,
    })
    .into_iter()
    .map(|(_, id)| id)
    .collect();
    assert_eq!(committed.len() + rolled_back.len(), 40);
    assert!(!committed.is_empty() && !rolled_back.is_empty());
    let ops = seen(&sim, |o| matches!(o, Observation::TransactionOpWritten { .. }).then_some(()));
    assert_eq!(ops.len(), 40, "every resolved half gets its op message");
    let mut delivered: Vec<String> = consumed(&sim).into_iter().map(|(_, id)| id).collect();
    delivered.sort();
    let mut expected = committed.clone();
    expected.sort();
    assert_eq!(delivered, expected, "exactly the committed ones, once each");
    let checks = seen(&sim, |o| matches!(o, Observation::TransactionCheckSent { .. }).then_some(()));
    assert!(checks.is_empty(), "nothing left to check");
}

#[test]
fn a_producer_that_dies_before_end_transaction_is_resolved_by_another_producer_of_the_group() {
    let body = format!(
        "{}{}{}{CONSUMER}",
        topology(""),
        producer("producer-0", "commit_percent = 0\ncrash_percent = 100", 1),
        producer("producer-1", "", 0)
    );
    let sim = run(&body, 1, Time::from_secs(90));
    assert!(!sim.is_up("producer-0"), "the process died after its local commit");
    let crashed = seen(&sim, |o| match o {
        Observation::LocalTransactionExecuted { crashed: true, msg_id, .. } => Some(msg_id.clone()),
        _ => None,
    });
    assert_eq!(crashed.len(), 1);
    let msg_id = crashed[0].1.clone();
    let answered = seen(&sim, |o| match o {
        Observation::TransactionCheckAnswered { state, .. } => Some(*state),
        _ => None,
    });
    assert_eq!(answered.len(), 1);
    assert_eq!(answered[0].1, LocalTransactionState::CommitMessage);
    assert_eq!(
        sim.directory()
            .entry(
                sim.observations()
                    .iter()
                    .find(|o| matches!(o.observation, Observation::TransactionCheckAnswered { .. }))
                    .unwrap()
                    .node
            )
            .name,
        "producer-1"
    );
    let delivered = consumed(&sim);
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].1, msg_id);
    assert!(delivered[0].0 >= Time::from_secs(60), "only after the first check pass");
}

#[test]
fn a_producer_restarted_after_its_crash_answers_the_check_itself() {
    let body = format!(
        "{}{}{CONSUMER}",
        topology(""),
        producer("producer-0", "commit_percent = 0\ncrash_percent = 100\nrestart_after = \"5s\"", 1)
            .replace("start_at = \"1s\"", "start_at = \"1s\"\nstop_at = \"3s\"")
    );
    let sim = run(&body, 1, Time::from_secs(90));
    assert!(sim.is_up("producer-0"));
    let answered = seen(&sim, |o| match o {
        Observation::TransactionCheckAnswered { state, .. } => Some(*state),
        _ => None,
    });
    assert_eq!(answered.len(), 1, "{answered:?}");
    assert_eq!(consumed(&sim).len(), 1);
}

#[test]
fn the_payment_scenario_grants_exactly_the_committed_payments_and_settles_the_rest_by_check_back() {
    let text = rmqsim_core::scenario::library::find("transaction-payment-check").expect("built in");
    let scenario = Scenario::parse("transaction-payment-check", text).unwrap();
    let mut sim = Simulation::new(&scenario, scenario.seed).unwrap();
    sim.run_until(Time::ZERO + scenario.run_for());
    let halves: Vec<String> = seen(&sim, |o| match o {
        Observation::TransactionHalfStored { msg_id, .. } => Some(msg_id.clone()),
        _ => None,
    })
    .into_iter()
    .map(|(_, id)| id)
    .collect();
    let mut committed: Vec<String> = seen(&sim, |o| match o {
        Observation::TransactionCommitted { msg_id, .. } => Some(msg_id.clone()),
        _ => None,
    })
    .into_iter()
    .map(|(_, id)| id)
    .collect();
    let rolled_back = seen(&sim, |o| matches!(o, Observation::TransactionRolledBack { .. }).then_some(()));
    let crashed =
        seen(&sim, |o| matches!(o, Observation::LocalTransactionExecuted { crashed: true, .. }).then_some(()));
    let answered = seen(&sim, |o| matches!(o, Observation::TransactionCheckAnswered { .. }).then_some(()));
    assert!(!crashed.is_empty(), "payment-0 dies at least once with this seed");
    assert!(!answered.is_empty(), "check-back settles the open ones");
    assert_eq!(committed.len() + rolled_back.len(), halves.len(), "every half message is settled");
    let mut delivered: Vec<String> = consumed(&sim).into_iter().map(|(_, id)| id).collect();
    delivered.sort();
    delivered.dedup();
    committed.sort();
    assert_eq!(delivered, committed, "red packets for exactly the committed payments");
}
