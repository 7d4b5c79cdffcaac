//! Delayed messages (spec §8, §13 item 10): levels, the clamp, the per-level delivery loop and its
//! persisted offsets, seen end to end (producer → SCHEDULE_TOPIC_XXXX → real topic → consumer).

mod support;

use rmqsim_core::broker::delay_level::SCHEDULE_TOPIC;
use rmqsim_core::observation::Observation;
use rmqsim_core::scenario::Scenario;
use rmqsim_core::time::{Duration, Time};
use rmqsim_core::world::AnyNode;
use rmqsim_core::Simulation;
use support::{cluster, producer, rate, scenario};

fn sim(body: &str) -> Simulation {
    Simulation::new(&scenario(body), 1).unwrap()
}

fn body(delay_level: i32, messages: u32, extra: &str) -> String {
    let workload = format!("start_at = \"1s\"\nmax_messages = {messages}\ndelay_level = {delay_level}\n{}", rate(2));
    let consumer = "[[consumer_groups]]\ngroup = \"TimeoutChecker\"\nsubscriptions = [{ topic = \"Orders\" }]\n";
    [cluster(1, &[("broker-a", "")], &[("Orders", 2)]), producer("", "Orders", &workload), consumer.to_string()]
        .concat()
        + extra
}

/// (msgId, store time in wall ms) of each message's first copy: the one the CommitLog rewrote into
/// SCHEDULE_TOPIC_XXXX (the send path observes it under the topic the producer named).
fn scheduled(sim: &Simulation) -> Vec<(String, i64)> {
    let mut first: Vec<(String, i64)> = Vec::new();
    for o in sim.observations() {
        if let Observation::MessageStored { msg_id, store_timestamp, .. } = &o.observation {
            if !first.iter().any(|(id, _)| id == msg_id) {
                first.push((msg_id.clone(), *store_timestamp));
            }
        }
    }
    first
}

/// The units of SCHEDULE_TOPIC_XXXX queue `queue_id`: (tags code = delivery time, CommitLog offset).
fn schedule_units(sim: &Simulation, queue_id: i32) -> Vec<(i64, i64)> {
    let broker = sim.directory().by_name("broker-a").unwrap().id;
    let Some(AnyNode::Broker(b)) = sim.kernel().node(broker) else { panic!("broker-a is up") };
    let Some(queue) = b.store.consume_queue(SCHEDULE_TOPIC, queue_id) else { return Vec::new() };
    (0..queue.max_offset_in_queue())
        .filter_map(|i| queue.entry_at(sim.kernel().disk(broker), i))
        .map(|e| (e.tags_code, e.commit_log_offset.0))
        .collect()
}

/// (virtual time, msgId) of deliveries into the real topic.
fn delivered(sim: &Simulation) -> Vec<(Time, String)> {
    sim.observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::DelayedMessageDelivered { msg_id, .. } => Some((o.time, msg_id.clone())),
            _ => None,
        })
        .collect()
}

fn wall_ms(t: Time) -> i64 {
    rmqsim_core::broker::broker_store_io::wall_clock_ms(t)
}

#[test]
fn a_level_3_message_becomes_visible_10_s_after_storing_within_the_100_ms_loop() {
    let mut sim = sim(&body(3, 6, ""));
    sim.run_until(Time::from_secs(30));
    let scheduled = scheduled(&sim);
    let delivered = delivered(&sim);
    assert_eq!(scheduled.len(), 6);
    assert_eq!(delivered.len(), 6);
    assert_eq!(schedule_units(&sim, 2).len(), 6, "level 3 lives in queue 2");
    for (msg_id, stored_ms) in &scheduled {
        let (at, _) = delivered.iter().find(|(_, id)| id == msg_id).expect("delivered");
        let late = wall_ms(*at) - (stored_ms + 10_000);
        assert!((0..100).contains(&late), "delivered {late} ms after its time: within one 100 ms re-check");
    }
    // Visible means consumable: each is consumed after its delivery, not before.
    for o in sim.observations() {
        if let Observation::ConsumeStarted { msg_id, .. } = &o.observation {
            let (at, _) = delivered.iter().find(|(_, id)| id == msg_id).expect("only delivered messages");
            assert!(o.time >= *at);
        }
    }
}

#[test]
fn delay_20_is_clamped_to_level_18_queue_17_with_the_two_hour_tag() {
    // Spec §13 item 10.
    let mut sim = sim(&body(20, 1, ""));
    sim.run_until(Time::from_secs(5));
    let scheduled = scheduled(&sim);
    assert_eq!(scheduled.len(), 1);
    let (_, stored_ms) = scheduled[0].clone();
    let units = schedule_units(&sim, 17);
    assert_eq!(units.len(), 1, "queue 17: level 18");
    assert_eq!(units[0].0, stored_ms + 7_200_000, "CQ tag = storeTimestamp + 2 h");
    let broker = sim.directory().by_name("broker-a").unwrap().id;
    let Some(AnyNode::Broker(b)) = sim.kernel().node(broker) else { panic!("broker-a is up") };
    let offset = rmqsim_core::broker::store::offsets::CommitLogOffset(units[0].1);
    let record = b.store.look_message_by_offset(sim.kernel().disk(broker), offset).unwrap();
    assert_eq!(record.properties.get("DELAY"), Some("18"), "the stored level is the clamped one");
    assert_eq!(record.properties.get("REAL_TOPIC"), Some("Orders"));
    sim.run_until(Time::from_secs(2 * 3600 + 10));
    let delivered = delivered(&sim);
    assert_eq!(delivered.len(), 1);
    let late = wall_ms(delivered[0].0) - (stored_ms + 7_200_000);
    assert!((0..100).contains(&late), "{late}");
}

#[test]
fn delivered_offsets_persist_every_10_s_so_a_restart_after_the_persist_does_not_redeliver() {
    // Level 1 (1 s): delivered about 2 s; the offset reaches delayOffset.json at the 10 s persist.
    let restart = "[[actions]]\nat = \"15s\"\ndo = \"crash\"\nnode = \"broker-a\"\nkind = \"process_kill\"\n\
                   [[actions]]\nat = \"16s\"\ndo = \"restart\"\nnode = \"broker-a\"\n";
    let mut sim = sim(&body(1, 1, restart));
    sim.run_until(Time::from_secs(40));
    assert_eq!(delivered(&sim).len(), 1, "the restarted service starts at the persisted offset");
    let broker = sim.directory().by_name("broker-a").unwrap().id;
    let disk = sim.kernel().disk(broker);
    let file = disk.lookup("config/delayOffset.json").expect("persisted");
    let text = String::from_utf8(disk.read_vec(file, 0, disk.len(file))).unwrap();
    assert!(text.contains("\"1\": 1"), "{text}");
}

#[test]
fn a_crash_before_the_persist_redelivers_what_was_delivered_since() {
    let restart = "[[actions]]\nat = \"5s\"\ndo = \"crash\"\nnode = \"broker-a\"\nkind = \"process_kill\"\n\
                   [[actions]]\nat = \"6s\"\ndo = \"restart\"\nnode = \"broker-a\"\n";
    let mut sim = sim(&body(1, 1, restart));
    sim.run_until(Time::from_secs(40));
    let delivered = delivered(&sim);
    assert_eq!(delivered.len(), 2, "at least once: the level's offset was not persisted yet");
    assert_eq!(delivered[0].1, delivered[1].1);
    assert!(delivered[1].0 >= Time::from_secs(6) + Duration::from_secs(1), "the restarted loop starts 1 s after start");
}

#[test]
fn the_order_timeout_scenario_closes_each_order_30_minutes_after_it_was_stored() {
    let text = rmqsim_core::scenario::library::find("order-timeout-delay").expect("built in");
    let scenario = Scenario::parse("order-timeout-delay", text).unwrap();
    let mut sim = Simulation::new(&scenario, scenario.seed).unwrap();
    sim.run_until(Time::ZERO + scenario.run_for());
    let scheduled = scheduled(&sim);
    let delivered = delivered(&sim);
    assert_eq!(scheduled.len(), 6, "five orders and the mistaken one");
    assert_eq!(delivered.len(), 5, "the level-20 message is clamped to 2 h and still waits");
    for (at, msg_id) in &delivered {
        let (_, stored_ms) = scheduled.iter().find(|(id, _)| id == msg_id).unwrap();
        assert!((0..100).contains(&(wall_ms(*at) - (stored_ms + 1_800_000))));
    }
    assert_eq!(schedule_units(&sim, 17).len(), 1);
    let consumed =
        sim.observations().iter().filter(|o| matches!(o.observation, Observation::ConsumeStarted { .. })).count();
    assert_eq!(consumed, 5);
}

fn timer_body(timer_delay: &str, wheel: bool) -> String {
    let store = format!("[topology.broker_groups.store]\ntimerWheelEnable = {wheel}");
    cluster(1, &[("broker-a", &store)], &[("Orders", 2)])
        + &producer("", "Orders", &format!("start_at = \"1s\"\nmax_messages = 1\ntimer_delay = \"{timer_delay}\""))
}

fn timer_deliveries(sim: &Simulation) -> Vec<(Time, i64)> {
    sim.observations()
        .iter()
        .filter_map(|o| match &o.observation {
            Observation::TimerMessageDelivered { timer_out_ms, .. } => Some((o.time, *timer_out_ms)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_5x_timer_message_is_delivered_at_its_second_on_the_wheels_100_ms_loop() {
    let mut sim = sim(&timer_body("90s", true));
    sim.run_until(Time::from_secs(120));
    let stored = scheduled(&sim);
    assert_eq!(stored.len(), 1, "one msgId (the wheel copy is stored first)");
    let deliveries = timer_deliveries(&sim);
    assert_eq!(deliveries.len(), 1);
    let (at, timer_out) = deliveries[0];
    // Due exactly 90 s after the broker got it: an exact second is stored one precision earlier, and the slot
    // is read once the wheel's clock has passed it, so the delivery is at the due second (100 ms loop).
    assert_eq!(timer_out, stored[0].1 + 90_000 - 1_000);
    let late = wall_ms(at) - (timer_out + 1_000);
    assert!((0..100).contains(&late), "{late}");
}

#[test]
fn a_timer_message_more_than_3_days_ahead_is_refused_and_without_the_wheel_it_is_delivered_at_once() {
    let mut refused = sim(&timer_body("73h", true));
    refused.run_until(Time::from_secs(10));
    let failed = refused.observations().iter().any(|o| {
        matches!(
            &o.observation,
            Observation::SendCompleted {
                outcome: rmqsim_core::observation::SendOutcome::Failed { response_code: Some(13), .. },
                ..
            }
        )
    });
    assert!(failed, "WHEEL_TIMER_MSG_ILLEGAL -> MESSAGE_ILLEGAL");
    let mut plain = sim(&timer_body("90s", false));
    plain.run_until(Time::from_secs(10));
    assert!(plain
        .observations()
        .iter()
        .any(|o| matches!(&o.observation, Observation::MessageStored { topic, .. } if topic == "Orders")));
    assert!(timer_deliveries(&plain).is_empty(), "a 4.9 broker has no wheel: TIMER_* are plain properties");
}

#[test]
fn a_timer_message_beyond_the_2_day_window_is_rolled_once_and_delivered_on_time() {
    let mut sim = sim(&timer_body("60h", true));
    sim.run_until(Time::from_secs(60 * 3600 + 60));
    let rolled: Vec<Time> = sim
        .observations()
        .iter()
        .filter_map(|o| matches!(o.observation, Observation::TimerMessageRolled { .. }).then_some(o.time))
        .collect();
    // 60 h is 12 h past the 48 h window, less than a third of it: parked at +24 h, then enqueued for real.
    assert_eq!(rolled.len(), 1);
    assert!(rolled[0] >= Time::from_secs(24 * 3600) && rolled[0] < Time::from_secs(24 * 3600 + 10));
    let deliveries = timer_deliveries(&sim);
    assert_eq!(deliveries.len(), 1);
    assert!(deliveries[0].0 >= Time::from_secs(60 * 3600) && deliveries[0].0 < Time::from_secs(60 * 3600 + 10));
}

/// Two 90 s timer messages a second apart, and `actions` (crashes and restarts of broker-a).
fn timer_restart_body(actions: &str) -> String {
    let body = timer_body("90s", true).replace("max_messages = 1", "max_messages = 2");
    format!("{body}rate = [{{ at = \"0s\", per_second = 1 }}]\n{actions}")
}

fn crash_and_restart(kind: &str, crash_at: &str, restart_at: &str) -> String {
    format!(
        "[[actions]]\nat = \"{crash_at}\"\ndo = \"crash\"\nnode = \"broker-a\"\nkind = \"{kind}\"\n\
         [[actions]]\nat = \"{restart_at}\"\ndo = \"restart\"\nnode = \"broker-a\"\n"
    )
}

#[test]
fn timer_messages_still_fire_on_time_after_the_broker_restarts_while_they_wait() {
    for kind in ["process_kill", "power_loss"] {
        let mut sim = sim(&timer_restart_body(&crash_and_restart(kind, "30s", "40s")));
        sim.run_until(Time::from_secs(150));
        let stored = scheduled(&sim);
        assert_eq!(stored.len(), 2, "{kind}: both timer messages were stored before the crash");
        let deliveries = timer_deliveries(&sim);
        assert_eq!(deliveries.len(), 2, "{kind}: each fires exactly once: {deliveries:?}");
        for ((at, timer_out), (_, stored_ms)) in deliveries.iter().zip(&stored) {
            assert_eq!(*timer_out, stored_ms + 90_000 - 1_000, "{kind}: the rebuilt wheel keeps the due time");
            let late = wall_ms(*at) - (timer_out + 1_000);
            assert!((0..100).contains(&late), "{kind}: delivered {late} ms after its second");
        }
    }
}

#[test]
fn a_timer_due_while_the_broker_is_down_fires_once_it_is_back_and_one_fired_before_the_crash_does_not_fire_again() {
    // Due at about 91 s and 92 s; the broker dies between the two deliveries and comes back at 100 s.
    let mut sim = sim(&timer_restart_body(&crash_and_restart("process_kill", "91500ms", "100s")));
    sim.run_until(Time::from_secs(150));
    let deliveries = timer_deliveries(&sim);
    assert_eq!(deliveries.len(), 2, "one before the crash, one after the restart, none twice: {deliveries:?}");
    assert!(deliveries[0].0 < Time::from_millis(91_500), "{deliveries:?}");
    assert!(deliveries[1].0 >= Time::from_secs(100), "the overdue one fires after the restart: {deliveries:?}");
    assert_ne!(deliveries[0].1, deliveries[1].1);
}
