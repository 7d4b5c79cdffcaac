//! `cargo xtask test`: every check and suite, in a fixed order, each step labelled and timed, stopping
//! at the first failure with the step named. The last line printed is `N passed, N failed`, which CI reads.
//!
//! N counts test results parsed from the runners' own summaries (libtest, wasm-bindgen-test-runner,
//! `node --test`), not steps. A step that fails without reporting a failed test (fmt, clippy, a build,
//! a missing tool, a crash) adds 1 to the failed count, so `0 failed` always means every step passed.

use crate::shell::{format_duration, repo_root, Cmd, Finished, Stopwatch};
use crate::tally::{self, Tally};
use crate::tools;
use std::time::Duration;

/// The steps, in the order they run. Cheap checks first, so a typo fails in seconds, not minutes.
const STEPS: [Step; 9] = [
    Step { name: "tools", about: "check the pinned tools, install what is missing", browser: false },
    Step { name: "fmt", about: "cargo fmt --all -- --check", browser: false },
    Step { name: "clippy", about: "cargo clippy --workspace --all-targets --locked -- -D warnings", browser: false },
    Step { name: "native", about: "cargo test --workspace --locked (web crate included, natively)", browser: false },
    Step { name: "wasm-node", about: "rmqsim-core tests compiled to wasm32, run under Node", browser: false },
    Step {
        name: "wasm-golden",
        about: "every library scenario's pinned digest and verdict in an optimised wasm32 build, under Node",
        browser: false,
    },
    Step {
        name: "wasm-browser",
        about: "rmqsim-core tests compiled to wasm32, run in headless Chromium",
        browser: true,
    },
    Step { name: "build", about: "trunk build --release (dist/)", browser: false },
    Step { name: "e2e", about: "node --test in e2e/: Playwright + Chromium against dist/", browser: true },
];

struct Step {
    name: &'static str,
    about: &'static str,
    /// Needs chromium + chromedriver; skipped by `--no-browser`.
    browser: bool,
}

/// Command-line options of `cargo xtask test`.
pub struct Options {
    skip_install: bool,
    only: Vec<String>,
    no_browser: bool,
    list: bool,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut options = Options { skip_install: false, only: Vec::new(), no_browser: false, list: false };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--skip-install" => options.skip_install = true,
                "--no-browser" => options.no_browser = true,
                "--list" => options.list = true,
                "--only" => {
                    let value = args.next().ok_or("--only needs a step name, e.g. --only native")?;
                    options.only.extend(value.split(',').map(str::to_string));
                }
                other => match other.strip_prefix("--only=") {
                    Some(value) => options.only.extend(value.split(',').map(str::to_string)),
                    None => return Err(format!("unknown option `{other}` for `test` (see cargo xtask help)")),
                },
            }
        }
        for name in &options.only {
            if !STEPS.iter().any(|step| step.name == name) {
                let names: Vec<&str> = STEPS.iter().map(|step| step.name).collect();
                return Err(format!("unknown step `{name}`; the steps are: {}", names.join(" ")));
            }
        }
        Ok(options)
    }

    fn selects(&self, step: &Step) -> bool {
        let chosen = self.only.is_empty() || self.only.iter().any(|name| name == step.name);
        chosen && !(self.no_browser && step.browser)
    }
}

/// One finished step, for the closing table.
struct Record {
    name: &'static str,
    time: Duration,
    tally: Tally,
    ok: bool,
}

pub fn run(options: &Options) -> Result<(), String> {
    if options.list {
        for step in &STEPS {
            println!("{:<13}{}{}", step.name, step.about, if step.browser { " [browser]" } else { "" });
        }
        return Ok(());
    }
    let selected: Vec<&Step> = STEPS.iter().filter(|step| options.selects(step)).collect();
    let total = Stopwatch::start();
    let mut records = Vec::new();
    let mut failure = None;
    for (index, step) in selected.iter().enumerate() {
        println!("\n::: [{}/{}] {}: {}", index + 1, selected.len(), step.name, step.about);
        let stopwatch = Stopwatch::start();
        let outcome = run_step(step.name, options);
        let time = stopwatch.elapsed();
        let (ok, mut tally, error) = match outcome {
            Ok(finished) => (true, finished, None),
            Err(StepFailure { tally, message }) => (false, tally, Some(message)),
        };
        if !ok && tally.failed == 0 {
            tally.failed = 1; // a failed step always shows in the closing count
        }
        let verdict = if ok { "ok" } else { "FAILED" };
        println!("::: [{}/{}] {} {verdict} in {}", index + 1, selected.len(), step.name, format_duration(time));
        records.push(Record { name: step.name, time, tally, ok });
        if let Some(message) = error {
            failure = Some(format!("step `{}` failed: {message}", step.name));
            break;
        }
    }
    if let Some(message) = &failure {
        eprintln!("\nxtask test: {message}");
    }
    print_summary(&records, total.elapsed());
    match failure {
        None => Ok(()),
        // Already reported above: the summary must stay the last line of the log.
        Some(_) => Err(String::new()),
    }
}

/// Why a step failed, with whatever test counts it printed before failing.
struct StepFailure {
    tally: Tally,
    message: String,
}

impl From<String> for StepFailure {
    fn from(message: String) -> StepFailure {
        StepFailure { tally: Tally::default(), message }
    }
}

fn run_step(name: &str, options: &Options) -> Result<Tally, StepFailure> {
    let webdriver_json = repo_root().join("webdriver.json");
    let webdriver_json = webdriver_json.to_string_lossy();
    let core_on_wasm = ["test", "--locked", "-p", "rmqsim-core", "--target", tools::WASM_TARGET];
    match name {
        "tools" => {
            let mode = if options.skip_install { tools::Mode::CheckOnly } else { tools::Mode::Install };
            tools::ensure(mode, tools::Needs { browser: !options.no_browser })?;
            Ok(Tally::default())
        }
        "fmt" => counted(Cmd::new("cargo", &["fmt", "--all", "--", "--check"])),
        "clippy" => {
            counted(Cmd::new("cargo", &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"]))
        }
        "native" => counted(Cmd::new("cargo", &["test", "--workspace", "--locked"])),
        // Never `-q`: cargo forwards `--quiet` to wasm-bindgen-test-runner 0.2.130, which rejects it.
        "wasm-node" => wasm_counted(
            Cmd::new("cargo", &core_on_wasm)
                .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", "wasm-bindgen-test-runner"),
        ),
        // The whole library is too slow for an unoptimised wasm build (the million-message backlog alone is
        // ~5 M events), so this step builds the golden-scenario tests with optimisations.
        "wasm-golden" => wasm_counted(
            Cmd::new("cargo", &[&core_on_wasm[..], &["--release", "--test", "golden_scenarios"]].concat())
                .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", "wasm-bindgen-test-runner"),
        ),
        "wasm-browser" => wasm_counted(
            Cmd::new("cargo", &core_on_wasm)
                .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", "wasm-bindgen-test-runner")
                .env("WASM_BINDGEN_USE_BROWSER", "1")
                .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", &webdriver_json),
        ),
        "build" => counted(Cmd::new("trunk", &["build", "--release"])),
        "e2e" => {
            if !repo_root().join("dist/index.html").is_file() {
                return Err("dist/index.html is missing: run the build step first (cargo xtask test --only build)"
                    .to_string()
                    .into());
            }
            counted(
                Cmd::new("node", &["--test", "--test-reporter=spec"])
                    .dir(repo_root().join("e2e"))
                    .env("CHROME_BIN", &tools::chromium_binary()),
            )
        }
        other => unreachable!("step `{other}` is listed in STEPS but not run"),
    }
}

/// Like `counted`, and warns when nothing ran: wasm-bindgen-test-runner only runs tests marked
/// `#[wasm_bindgen_test]` and prints `no tests to run!` for plain `#[test]`s.
fn wasm_counted(cmd: Cmd) -> Result<Tally, StepFailure> {
    let tally = counted(cmd)?;
    if tally.passed == 0 {
        println!(
            "warning: no rmqsim-core test ran in wasm: mark tests with `#[wasm_bindgen_test]`, e.g. \
             `#[cfg(target_arch = \"wasm32\")] use wasm_bindgen_test::wasm_bindgen_test as test;` in the test module"
        );
    }
    Ok(tally)
}

/// Runs a command; its test counts are kept whether it passes or fails.
fn counted(cmd: Cmd) -> Result<Tally, StepFailure> {
    let Finished { success, status, stdout } = cmd.run()?;
    let tally = tally::count(&stdout);
    if success {
        Ok(tally)
    } else {
        Err(StepFailure { tally, message: format!("`{}` failed ({status})", cmd.display()) })
    }
}

fn print_summary(records: &[Record], total: Duration) {
    let mut sum = Tally::default();
    println!("\n::: summary");
    println!("{:<14}{:>9}  {:>7}  {:>7}  result", "step", "time", "passed", "failed");
    for record in records {
        sum.add(record.tally);
        let result = if record.ok { "ok" } else { "FAILED" };
        println!(
            "{:<14}{:>9}  {:>7}  {:>7}  {result}",
            record.name,
            format_duration(record.time),
            record.tally.passed,
            record.tally.failed
        );
    }
    println!("{:<14}{:>9}", "total", format_duration(total));
    // CI reads this closing line: test results counted (see the module comment), alone on its line.
    println!("{} passed, {} failed", sum.passed, sum.failed);
}
