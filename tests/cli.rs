//! The `rmqsim` binary end to end: exit codes and messages a person sees.

use std::process::Command;

fn rmqsim(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_rmqsim")).args(args).output().expect("the CLI runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_malformed_scenario_exits_3_listing_every_problem_with_its_place() {
    let dir = std::env::temp_dir().join(format!("rmqsim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    let text = rmqsim_core::scenario::library::find("duplicate-lost-ack-retry")
        .unwrap()
        .replacen("name_servers = 1", "name_servers = 1\nname_serverz = 2", 1)
        .replacen("queues = 4", "queues = \"4\"", 1)
        .replacen("idempotent = true", "idempotent = \"yes\"", 1);
    std::fs::write(&path, &text).unwrap();
    let path = path.to_str().unwrap();
    for command in ["check", "run", "digest", "plot"] {
        let mut args = vec![command, path];
        if command == "plot" {
            args.extend(["--out", "/dev/null"]);
        }
        let (code, _, stderr) = rmqsim(&args);
        assert_eq!(code, 3, "{command}: {stderr}");
        assert!(stderr.contains("unknown key `name_serverz`; did you mean `name_servers`?"), "{stderr}");
        assert!(stderr.contains("expected u32, found string \"4\""), "{stderr}");
        assert!(stderr.contains("expected a boolean, found string \"yes\""), "{stderr}");
        assert!(stderr.contains(&format!("{path}:")), "each problem names the file and line: {stderr}");
    }
}

#[test]
fn check_passes_a_scenario_and_fails_a_broken_expectation_with_exit_1() {
    let (code, stdout, stderr) = rmqsim(&["check", "duplicate-lost-ack-retry"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("PASS") && stdout.contains("expectations: 9 of 9 met"), "{stdout}");

    let dir = std::env::temp_dir().join(format!("rmqsim-cli-exp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("strict.toml");
    let text = rmqsim_core::scenario::library::find("duplicate-lost-ack-retry").unwrap().replacen(
        "consumed = 1\nduplicates = 1",
        "consumed = 1\nduplicates = 0",
        1,
    );
    std::fs::write(&path, text).unwrap();
    let (code, stdout, stderr) = rmqsim(&["check", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("FAILED expected groups.Shipping.duplicates = 0, got 1"), "{stdout}");
    assert!(stdout.contains("processed it again — caused at"), "the violation names its cause: {stdout}");
}

#[test]
fn bad_arguments_exit_2_and_every_subcommand_has_help() {
    let (code, _, _) = rmqsim(&["sweep", "zero-loss-chain", "--seeds", "5..5"]);
    assert_eq!(code, 2);
    let (code, _, _) = rmqsim(&["check", "zero-loss-chain", "--faults", "meteor"]);
    assert_eq!(code, 2);
    for command in ["run", "check", "sweep", "plot", "digest", "list"] {
        let (code, stdout, _) = rmqsim(&[command, "--help"]);
        assert_eq!(code, 0, "{command} --help");
        assert!(stdout.contains("Usage"), "{command}: {stdout}");
    }
    let (_, stdout, _) = rmqsim(&["--help"]);
    assert!(stdout.contains("Exit codes"), "{stdout}");
}

#[test]
fn sweep_runs_seeds_in_parallel_and_reports_no_failure_for_the_zero_loss_chain() {
    // 50 random single faults (kills, power and disk losses, partitions, clogs, slow disks): the chain
    // survives each. The full acceptance run is 1 000 seeds (`--seeds 1..=1000`, about a minute optimised).
    let (code, stdout, stderr) =
        rmqsim(&["sweep", "zero-loss-chain", "--seeds", "0..50", "--faults", "random-single", "--quiet"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("50 seeds (0..=49), faults random-single, 0 failed"), "{stdout}");
}

#[test]
fn expect_replaces_the_scenarios_expectations_and_a_sweep_reproduce_command_carries_it() {
    // The async-flush power loss loses acknowledged messages on every seed: that is its lesson, and its
    // own expectations say so. Judged by `lost_acknowledged = 0` instead, every seed fails.
    let (code, stdout, stderr) = rmqsim(&[
        "sweep",
        "loss-async-flush-power-loss",
        "--seeds",
        "0..2",
        "--expect",
        "lost_acknowledged = 0",
        "--quiet",
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("seed 0 FAILED: expected lost_acknowledged = 0, got"), "{stdout}");
    let reproduce = "rmqsim check loss-async-flush-power-loss --seed 0 --expect 'lost_acknowledged = 0'";
    assert!(stdout.contains(reproduce), "{stdout}");
    let (code, stdout, _) =
        rmqsim(&["check", "loss-async-flush-power-loss", "--seed", "0", "--expect", "lost_acknowledged = 0"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("expectations: 0 of 1 met"), "only --expect is judged: {stdout}");
    let (code, stdout, _) = rmqsim(&[
        "check",
        "duplicate-lost-ack-retry",
        "--expect",
        "groups.Shipping.duplicates >= 1",
        "--expect",
        "consumed 1..=2",
    ]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("expectations: 2 of 2 met"), "{stdout}");
    let (code, _, stderr) = rmqsim(&["sweep", "duplicate-lost-ack-retry", "--expect", "groups.Shiping.duplicates = 0"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains(
            "--expect `groups.Shiping.duplicates = 0`: no consumer group is named `Shiping`; did you mean `Shipping`?"
        ),
        "{stderr}"
    );
}

#[test]
fn plot_writes_an_svg() {
    let path = std::env::temp_dir().join(format!("rmqsim-plot-{}.svg", std::process::id()));
    let (code, stdout, stderr) = rmqsim(&["plot", "duplicate-lost-ack-retry", "--out", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("at risk"), "{}", &svg[..svg.len().min(200)]);
}

#[test]
fn check_says_why_a_group_with_inconsistent_subscriptions_skipped_messages() {
    let (code, stdout, stderr) = rmqsim(&["check", "tag-filter-consistency"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("why (causes of the examples kept):"), "{stdout}");
    assert!(
        stdout.contains("skipped (OrderEvents)") && stdout.contains("subscription conflict in OrderEvents"),
        "{stdout}"
    );
    assert!(stdout.contains("stored subscription `Paid` while ship-0 subscribes `Shipped`"), "{stdout}");
}

#[test]
fn a_sandbox_run_string_reproduces_its_run_with_the_user_actions() {
    use rmqsim_core::action_log::{encode, RunLink, ScenarioRef, UserAction};
    use rmqsim_core::scenario::model::CrashKindSpec;
    use rmqsim_core::scenario::{ActionSpec, Scenario};
    use rmqsim_core::time::Time;
    let id = "consumer-database-outage";
    let actions = vec![
        UserAction {
            at: Time::from_secs(5),
            action: ActionSpec::Crash { node: "broker-a".into(), kind: CrashKindSpec::ProcessKill },
        },
        UserAction { at: Time::from_secs(8), action: ActionSpec::Restart { node: "broker-a".into() } },
        UserAction { at: Time::from_secs(8), action: ActionSpec::DependencyUp { group: "PaymentGroup".into() } },
    ];
    let link = RunLink { scenario: ScenarioRef::builtin(id).unwrap(), seed: 4, at: Time::from_secs(40), actions };
    let scenario = Scenario::parse(id, rmqsim_core::scenario::library::find(id).unwrap()).unwrap();
    let expected = rmqsim_core::timeline::replay(&scenario, 4, &link.actions, Time::from_secs(40)).unwrap().digest();
    let (code, stdout, stderr) = rmqsim(&["digest", &encode(&link)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), rmqsim_core::sim::trace::format_digest(expected), "the sandbox's digest");
    let plain = rmqsim_core::timeline::replay(&scenario, 4, &[], Time::from_secs(40)).unwrap().digest();
    assert_ne!(expected, plain, "the actions changed the run");

    let (code, _, stderr) = rmqsim(&["run", "v1.broker-heartbeats~00000000.1.0s"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("another version of scenario `broker-heartbeats`"), "{stderr}");
}
