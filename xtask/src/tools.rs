//! The pinned tool versions and their idempotent install: each tool is checked for its exact version
//! first and installed only if missing or different, saying what is installed and how long it may take.
//!
//! Why these versions (measured on Debian 12, 2 cores, rustc 1.95; see /work/shared/toolchain.md):
//! - trunk 0.21.14 is the newest trunk whose rust-version is <= 1.95 (0.22.x needs 1.96.1).
//! - wasm-bindgen-cli must equal the `wasm-bindgen` crate in Cargo.lock, or trunk/wasm-bindgen refuse
//!   the module. It is installed without `--locked`: its lockfile wants webpki-roots 1.0.11, which the
//!   reachable registry does not serve.
//! - wasm-opt comes from npm `binaryen@123.0.0` (pinned in e2e/package-lock.json): Debian's binaryen 108
//!   and the crates registry's 116 cannot parse wasm-bindgen 0.2.130 output (`table.fill`).
//! - Chromium and ChromeDriver come from Debian (playwright's own browser download cannot work here).

use crate::shell::{format_duration, npm_bin_dir, on_path, repo_root, Cmd, Stopwatch};

pub const TRUNK_VERSION: &str = "0.21.14";
/// Keep equal to Cargo.lock's `wasm-bindgen`, `web/Cargo.toml`'s `=0.2.130` and Trunk.toml's `[tools]`.
pub const WASM_BINDGEN_VERSION: &str = "0.2.130";
/// What `wasm-opt --version` of npm binaryen 123.0.0 prints; Trunk.toml's `[tools] wasm_opt` says the same.
pub const WASM_OPT_VERSION: &str = "version_123";
pub const PLAYWRIGHT_CORE_VERSION: &str = "1.65.1";
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Install what is missing, or only report it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Install,
    CheckOnly,
}

/// Which optional tools the caller needs.
pub struct Needs {
    /// chromium + chromedriver, for the browser suites.
    pub browser: bool,
}

/// One tool: how to tell it is present at the pinned version, and how to install it.
struct Tool<'a> {
    name: &'static str,
    present: &'a dyn Fn() -> bool,
    install: fn() -> Result<(), String>,
}

/// Makes sure every pinned tool is present at its exact version, installing the missing ones in
/// `Mode::Install`. In `Mode::CheckOnly`, fails listing everything that is missing.
pub fn ensure(mode: Mode, needs: Needs) -> Result<(), String> {
    check_cargo_lock()?;
    let mut missing = Vec::new();
    let browser_ok = || !needs.browser || has_chromium();
    // Quick installs first, so a problem shows before the 10-minute trunk build.
    let tools = [
        Tool { name: "rust target wasm32-unknown-unknown", present: &has_wasm_target, install: install_wasm_target },
        Tool {
            name: "e2e/node_modules (binaryen 123.0.0, playwright-core 1.65.1)",
            present: &has_npm_packages,
            install: npm_ci,
        },
        Tool { name: "chromium + chromium-driver", present: &browser_ok, install: install_chromium },
        Tool { name: "wasm-bindgen-cli 0.2.130", present: &has_wasm_bindgen, install: install_wasm_bindgen },
        Tool { name: "trunk 0.21.14", present: &has_trunk, install: install_trunk },
    ];
    for Tool { name, present, install } in tools {
        if present() {
            continue;
        }
        match mode {
            Mode::CheckOnly => missing.push(name),
            Mode::Install => {
                let stopwatch = Stopwatch::start();
                install()?;
                println!("tools: installed {name} in {}", format_duration(stopwatch.elapsed()));
                if !present() {
                    return Err(format!("installed {name}, but it is still not found at the pinned version"));
                }
            }
        }
    }
    if !missing.is_empty() {
        return Err(format!(
            "missing or at the wrong version: {}; run without --skip-install to install them",
            missing.join(", ")
        ));
    }
    println!("tools: {}", versions(needs.browser));
    Ok(())
}

/// The versions found, on one line, for the log.
fn versions(browser: bool) -> String {
    let version = |program: &str| Cmd::new(program, &["--version"]).first_line().unwrap_or_else(|| "?".into());
    let wasm_opt = npm_bin_dir().join("wasm-opt");
    let mut found = vec![
        version("trunk"),
        version("wasm-bindgen"),
        version(&wasm_opt.to_string_lossy()),
        format!("playwright-core {}", installed_npm_version("playwright-core").unwrap_or_else(|| "?".into())),
    ];
    if browser {
        found.push(version(&chromium_binary()));
        found.push(version("chromedriver").split(" (").next().unwrap_or("?").to_string());
    }
    found.join(", ")
}

/// Cargo.lock's `wasm-bindgen` must equal the CLI we install: trunk would otherwise try to download
/// the matching CLI (and fail offline), and a mismatched CLI rejects the module's schema.
fn check_cargo_lock() -> Result<(), String> {
    let path = repo_root().join("Cargo.lock");
    let lock = std::fs::read_to_string(&path).map_err(|error| format!("reading {}: {error}", path.display()))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\"" {
            let version = lines.next().unwrap_or("").trim_start_matches("version = ").trim_matches('"');
            if version == WASM_BINDGEN_VERSION {
                return Ok(());
            }
            return Err(format!(
                "Cargo.lock has wasm-bindgen {version} but xtask pins wasm-bindgen-cli {WASM_BINDGEN_VERSION}: \
                 bump xtask/src/tools.rs, Trunk.toml [tools] and web/Cargo.toml together"
            ));
        }
    }
    // No web crate in the lock yet (or no wasm-bindgen): nothing to disagree with.
    Ok(())
}

fn has_wasm_target() -> bool {
    let installed = Cmd::new("rustup", &["target", "list", "--installed"]).stdout_text().unwrap_or_default();
    installed.lines().any(|line| line.trim() == WASM_TARGET)
}

fn install_wasm_target() -> Result<(), String> {
    announce("rustup target add wasm32-unknown-unknown", "a few seconds");
    Cmd::new("rustup", &["target", "add", WASM_TARGET]).run_ok().map(drop)
}

fn has_trunk() -> bool {
    Cmd::new("trunk", &["--version"]).first_line().as_deref() == Some(&format!("trunk {TRUNK_VERSION}"))
}

fn install_trunk() -> Result<(), String> {
    announce("trunk 0.21.14 (cargo install --locked)", "about 10 minutes on 2 cores");
    cargo_install(&["install", "--locked", "--force", "trunk", "--version", TRUNK_VERSION])
}

fn has_wasm_bindgen() -> bool {
    let expected = Some(format!("wasm-bindgen {WASM_BINDGEN_VERSION}"));
    Cmd::new("wasm-bindgen", &["--version"]).first_line() == expected
        && Cmd::new("wasm-bindgen-test-runner", &["--version"])
            .first_line()
            .is_some_and(|line| line.ends_with(WASM_BINDGEN_VERSION))
}

fn install_wasm_bindgen() -> Result<(), String> {
    announce("wasm-bindgen-cli 0.2.130 (cargo install, not --locked)", "3 to 6 minutes on 2 cores");
    cargo_install(&["install", "--force", "wasm-bindgen-cli", "--version", WASM_BINDGEN_VERSION])
}

fn cargo_install(args: &[&str]) -> Result<(), String> {
    // Never pick a dependency whose rust-version is newer than our rustc.
    Cmd::new("cargo", args).env("CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS", "fallback").run_ok().map(drop)
}

fn has_npm_packages() -> bool {
    let wasm_opt = npm_bin_dir().join("wasm-opt");
    let wasm_opt_ok = Cmd::new(&wasm_opt.to_string_lossy(), &["--version"])
        .first_line()
        .is_some_and(|line| line.contains(&format!("({WASM_OPT_VERSION})")));
    wasm_opt_ok
        && installed_npm_version("playwright-core").as_deref() == Some(PLAYWRIGHT_CORE_VERSION)
        // `npm ls` fails when node_modules disagrees with package-lock.json.
        && Cmd::new("npm", &["ls", "--silent"]).dir(repo_root().join("e2e")).succeeds()
}

fn installed_npm_version(package: &str) -> Option<String> {
    let manifest = repo_root().join("e2e/node_modules").join(package).join("package.json");
    let text = std::fs::read_to_string(manifest).ok()?;
    let after = &text[text.find("\"version\"")? + "\"version\"".len()..];
    let value = after.trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    Some(value[..value.find('"')?].to_string())
}

fn npm_ci() -> Result<(), String> {
    announce(
        "npm ci in e2e/ (binaryen 123.0.0 = wasm-opt version_123, playwright-core 1.65.1, axe-core 4.14.1)",
        "about 5 seconds",
    );
    Cmd::new("npm", &["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .dir(repo_root().join("e2e"))
        .run_ok()
        .map(drop)
}

/// `CHROME_BIN` if set, else Debian's `/usr/bin/chromium`.
pub fn chromium_binary() -> String {
    std::env::var("CHROME_BIN").unwrap_or_else(|_| CHROMIUM.to_string())
}

fn has_chromium() -> bool {
    std::path::Path::new(&chromium_binary()).is_file() && on_path("chromedriver")
}

fn install_chromium() -> Result<(), String> {
    let root = Cmd::new("id", &["-u"]).first_line().as_deref() == Some("0");
    if !root {
        return Err("chromium and chromedriver are missing and xtask is not running as root: install them with \
             `sudo apt-get install -y chromium chromium-driver` (or set CHROME_BIN), or pass --no-browser"
            .to_string());
    }
    announce("apt-get install chromium chromium-driver", "about 40 seconds");
    Cmd::new("apt-get", &["update", "-qq"]).env("DEBIAN_FRONTEND", "noninteractive").run_ok()?;
    // The CJK font only makes the Chinese screenshots readable; chromium draws boxes without one.
    Cmd::new("apt-get", &["install", "-y", "-qq", "chromium", "chromium-driver", "fonts-wqy-microhei"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run_ok()
        .map(drop)
}

fn announce(what: &str, how_long: &str) {
    println!("tools: installing {what}; this takes {how_long}");
}
