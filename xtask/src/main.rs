//! `cargo xtask`: the project's two entry points for humans and CI, in plain Rust with no dependencies.
//!
//! - `cargo xtask serve [--port N] [--skip-install]` builds the web app and serves it on 127.0.0.1.
//! - `cargo xtask test [--skip-install] [--only STEP[,STEP]] [--no-browser] [--list]` runs every suite.
//!
//! Both first make sure the pinned tools are present (see `tools.rs`), installing only what is missing.
//! The versions, and why they are what they are, are in `/work/shared/toolchain.md` (copied into `tools.rs`).

mod serve;
mod shell;
mod tally;
mod test;
mod tools;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  serve   build the web app (trunk, release) and serve it on http://127.0.0.1:PORT/
            --port N          port to listen on (default 8080)
            --skip-install    only check the tools, never install them
  test    run every check and suite, in order, each step timed:
            tools fmt clippy native wasm-node wasm-golden wasm-browser build e2e
            --skip-install    only check the tools, never install them
            --only STEP[,..]  run only these steps (repeatable), e.g. --only native,wasm-node
            --no-browser      skip the steps that need Chromium (wasm-browser, e2e)
            --list            print the steps and what they run, then exit
  tools   check the pinned tools and install whatever is missing (the first step of serve/test)
            --browser         also check/install chromium and chromium-driver
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, options)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    shell::prepare_environment();
    let result = match command.as_str() {
        "serve" => serve::Options::parse(options).and_then(|o| serve::run(&o)),
        "test" => test::Options::parse(options).and_then(|o| test::run(&o)),
        "tools" => tools_command(options),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("xtask: error: {message}");
            }
            ExitCode::FAILURE
        }
    }
}

fn tools_command(options: &[String]) -> Result<(), String> {
    let mut browser = false;
    for option in options {
        match option.as_str() {
            "--browser" => browser = true,
            other => return Err(format!("unknown option `{other}` for `tools`\n\n{USAGE}")),
        }
    }
    tools::ensure(tools::Mode::Install, tools::Needs { browser })
}
