//! Child processes: where the repository is, which PATH every tool sees, and running a command while
//! echoing its output (so CI logs show it live) and keeping its stdout (so test counts can be read).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The workspace root: the parent of `xtask/`.
///
/// Read from the environment `cargo run` gives the binary, not only from the path compiled in: two
/// checkouts sharing one `CARGO_TARGET_DIR` share the xtask binary too, and a compiled-in path made
/// `cargo xtask test` in one checkout build and test the other.
pub fn repo_root() -> PathBuf {
    let compiled_in = env!("CARGO_MANIFEST_DIR");
    root_of(std::env::var_os("CARGO_MANIFEST_DIR").as_deref().map(Path::new).unwrap_or(Path::new(compiled_in)))
}

fn root_of(xtask_manifest_dir: &Path) -> PathBuf {
    xtask_manifest_dir.parent().expect("xtask lives in a workspace").to_path_buf()
}

/// `e2e/node_modules/.bin`, where `npm ci` puts wasm-opt (binaryen 123, a Node build).
pub fn npm_bin_dir() -> PathBuf {
    repo_root().join("e2e").join("node_modules").join(".bin")
}

/// Sets the environment every child inherits, once, before any child starts:
/// - PATH starts with `e2e/node_modules/.bin`, so trunk finds wasm-opt `version_123` and never
///   Debian's binaryen 108, which cannot parse wasm-bindgen 0.2.130 output; then cargo's bin
///   directory, where `cargo install` puts trunk and wasm-bindgen.
/// - `TRUNK_SKIP_VERSION_CHECK=true`: trunk must not look for updates (no internet here).
pub fn prepare_environment() {
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .map(|home| home.join("bin"));
    let mut path: Vec<PathBuf> = vec![npm_bin_dir()];
    path.extend(cargo_bin);
    path.extend(std::env::var_os("PATH").iter().flat_map(std::env::split_paths));
    let mut seen = Vec::new();
    path.retain(|dir| {
        let new = !seen.contains(dir);
        seen.push(dir.clone());
        new
    });
    let joined = std::env::join_paths(path).expect("PATH entries contain no ':'");
    // Safe: called first thing in main, before any thread or child exists.
    std::env::set_var("PATH", joined);
    std::env::set_var("TRUNK_SKIP_VERSION_CHECK", "true");
}

/// A command to run from the repository root (or `dir`), with extra environment variables.
pub struct Cmd {
    program: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    dir: PathBuf,
}

/// What a finished command left behind.
pub struct Finished {
    pub success: bool,
    pub status: String,
    pub stdout: String,
}

impl Cmd {
    pub fn new(program: &str, args: &[&str]) -> Cmd {
        Cmd {
            program: program.to_string(),
            args: args.iter().map(|arg| arg.to_string()).collect(),
            env: Vec::new(),
            dir: repo_root(),
        }
    }

    pub fn env(mut self, key: &str, value: &str) -> Cmd {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn dir(mut self, dir: PathBuf) -> Cmd {
        self.dir = dir;
        self
    }

    /// The command line as a user would type it, environment first.
    pub fn display(&self) -> String {
        let env = self.env.iter().map(|(key, value)| format!("{key}={value} "));
        let dir = if self.dir == repo_root() {
            String::new()
        } else {
            let relative = self.dir.strip_prefix(repo_root()).unwrap_or(&self.dir);
            format!("(cd {} && ", relative.display())
        };
        let close = if dir.is_empty() { "" } else { ")" };
        format!("{dir}{}{} {}{close}", env.collect::<String>(), self.program, self.args.join(" "))
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args).current_dir(&self.dir).stdin(Stdio::null());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    /// Runs to completion, echoing stdout line by line and keeping it; stderr goes straight through.
    pub fn run(&self) -> Result<Finished, String> {
        println!("$ {}", self.display());
        let mut child = self
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|error| format!("cannot start `{}`: {error}", self.program))?;
        let mut kept = String::new();
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut out = std::io::stdout();
        for line in BufReader::new(stdout).split(b'\n') {
            let line = line.map_err(|error| format!("reading output of `{}`: {error}", self.program))?;
            let line = String::from_utf8_lossy(&line);
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
            kept.push_str(&line);
            kept.push('\n');
        }
        let status = child.wait().map_err(|error| format!("waiting for `{}`: {error}", self.program))?;
        Ok(Finished { success: status.success(), status: status.to_string(), stdout: kept })
    }

    /// Runs and fails with the command line if it does not succeed.
    pub fn run_ok(&self) -> Result<Finished, String> {
        let finished = self.run()?;
        if finished.success {
            Ok(finished)
        } else {
            Err(format!("`{}` failed ({})", self.display(), finished.status))
        }
    }

    /// Runs quietly and returns its stdout, or `None` if the program is missing or fails.
    pub fn stdout_text(&self) -> Option<String> {
        let output = self.command().stderr(Stdio::null()).output().ok()?;
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Runs quietly and returns the first line of stdout, or `None` if the program is missing or fails.
    pub fn first_line(&self) -> Option<String> {
        self.stdout_text()?.lines().next().map(|line| line.trim().to_string())
    }

    /// Runs quietly and tells whether it succeeded.
    pub fn succeeds(&self) -> bool {
        self.command().stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
    }

    /// Starts without waiting (for `trunk serve`).
    pub fn spawn(&self) -> Result<std::process::Child, String> {
        println!("$ {}", self.display());
        self.command().spawn().map_err(|error| format!("cannot start `{}`: {error}", self.program))
    }
}

/// Whether `program` is an executable file somewhere on PATH.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").iter().flat_map(std::env::split_paths).any(|dir| dir.join(program).is_file())
}

/// `1.2s`, `2m03s`: short enough for a table column.
pub fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        let whole = duration.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

/// A stopwatch for steps; xtask is the one place in the repository allowed to read the wall clock.
pub struct Stopwatch(Instant);

impl Stopwatch {
    pub fn start() -> Stopwatch {
        Stopwatch(Instant::now())
    }

    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_is_the_checkout_cargo_runs_xtask_from() {
        assert_eq!(root_of(Path::new("/tmp/other-checkout/xtask")), PathBuf::from("/tmp/other-checkout"));
        // Under `cargo test` (as under `cargo run`) cargo names this checkout's xtask directory.
        let here = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
        assert_eq!(repo_root(), here.parent().unwrap());
    }
}
