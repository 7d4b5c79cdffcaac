//! Tidy rules for `core/src`: the deterministic simulation must not reach for anything that differs
//! between runs or platforms (wall clock, OS randomness, hash-map iteration order, platform float math,
//! threads, mutable statics), must not ship `todo!`, and every file opens with a `//!` paragraph.
//!
//! The scan is textual but skips comments and string/char literals, so prose may name the forbidden
//! things. Clippy's `disallowed-types`/`disallowed-methods` in `core/clippy.toml` catch what text cannot
//! (a `use` alias, a method reached through a trait); this test catches what clippy's paths cannot name
//! (`static mut`, macros) and runs even when clippy is skipped. std only, on purpose.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One forbidden spelling and why.
struct Rule {
    needle: &'static str,
    why: &'static str,
}

const WALL_CLOCK: &[Rule] = &[
    Rule { needle: "std::time", why: "time is passed in as virtual time, never read" },
    Rule { needle: "Instant", why: "a wall clock; use the simulation's virtual time" },
    Rule { needle: "SystemTime", why: "a wall clock; use the simulation's virtual time" },
];

const OS_RANDOMNESS: &[Rule] = &[
    Rule { needle: "thread_rng", why: "OS-seeded; draw from a named ChaCha8 stream of the run's seed" },
    Rule { needle: "OsRng", why: "OS randomness; draw from a named ChaCha8 stream of the run's seed" },
    Rule { needle: "getrandom", why: "OS randomness; draw from a named ChaCha8 stream of the run's seed" },
    Rule { needle: "from_entropy", why: "OS-seeded; use seed_from_u64 with a stream of the run's seed" },
    Rule { needle: "rand::random", why: "OS-seeded; draw from a named ChaCha8 stream of the run's seed" },
];

const HASH_COLLECTIONS: &[Rule] = &[
    Rule { needle: "HashMap", why: "iteration order is random per process; use BTreeMap" },
    Rule { needle: "HashSet", why: "iteration order is random per process; use BTreeSet" },
];

const PLATFORM_FLOAT_MATH: &[Rule] = &[
    Rule { needle: ".sin(", why: "native calls the platform libm, wasm32 musl's port; use libm::sin" },
    Rule { needle: ".cos(", why: "differs between native and wasm32; use libm::cos" },
    Rule { needle: ".tan(", why: "differs between native and wasm32; use libm::tan" },
    Rule { needle: ".exp(", why: "differs between native and wasm32 (measured); use libm::exp" },
    Rule { needle: ".ln(", why: "differs between native and wasm32 (measured); use libm::log" },
    Rule { needle: ".log10(", why: "differs between native and wasm32; use libm::log10" },
    Rule { needle: ".log2(", why: "differs between native and wasm32; use libm::log2" },
    Rule { needle: ".powf(", why: "differs between native and wasm32; use libm::pow" },
    Rule { needle: ".powi(", why: "its rounding is unspecified across platforms; multiply, or use libm::pow" },
    Rule { needle: ".sqrt(", why: "kept out of core by house rule; use libm::sqrt" },
];

const THREADS_AND_STATICS: &[Rule] = &[
    Rule { needle: "std::thread", why: "core is single-threaded; only the Simulation steps the world" },
    Rule { needle: "static mut", why: "global mutable state survives between runs; keep state in the Simulation" },
    Rule { needle: "thread_local", why: "global mutable state survives between runs; keep state in the Simulation" },
];

const UNFINISHED: &[Rule] = &[
    Rule { needle: "todo!", why: "unfinished code; model it, or reject the input at the scenario boundary" },
    Rule { needle: "unimplemented!", why: "unfinished code; model it, or reject the input at the scenario boundary" },
];

#[test]
fn core_never_reads_a_wall_clock() {
    assert_core_avoids("a wall clock", WALL_CLOCK);
}

#[test]
fn core_never_uses_os_randomness() {
    assert_core_avoids("OS randomness", OS_RANDOMNESS);
}

#[test]
fn core_never_uses_hash_maps_or_hash_sets() {
    assert_core_avoids("HashMap/HashSet", HASH_COLLECTIONS);
}

#[test]
fn core_never_calls_platform_float_math() {
    assert_core_avoids("platform float math", PLATFORM_FLOAT_MATH);
}

#[test]
fn core_never_spawns_threads_or_keeps_mutable_statics() {
    assert_core_avoids("threads or mutable statics", THREADS_AND_STATICS);
}

#[test]
fn core_never_ships_todo_or_unimplemented() {
    assert_core_avoids("todo!/unimplemented!", UNFINISHED);
}

#[test]
fn every_core_file_opens_with_a_doc_comment() {
    let mut report = String::new();
    for file in core_sources() {
        let text = read(&file);
        let first = text.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or("");
        if !first.starts_with("//!") {
            let _ = writeln!(report, "  {}:1: opens with `{first}`", relative(&file));
        }
    }
    assert!(
        report.is_empty(),
        "every file under core/src must open with a `//!` paragraph (what it models, which RocketMQ \
         behaviour, its invariants):\n{report}"
    );
}

#[test]
fn the_scanner_ignores_comments_strings_and_chars_but_not_code() {
    let source = "let a = \"HashMap in a string\"; // HashMap in a comment\n\
                  /* block HashMap\n still HashMap */ let b = r#\"raw \" HashMap\"#;\n\
                  let c = '\"'; let d: HashMap<u8, u8>; let e = b'x';\n\
                  //! doc HashMap\n\
                  fn f<'a>(x: &'a str) { x.sin(); } // lifetimes are not char literals\n";
    let hits: Vec<usize> = find(source, HASH_COLLECTIONS).iter().map(|hit| hit.line).collect();
    assert_eq!(hits, vec![4]);
    let float: Vec<usize> = find(source, PLATFORM_FLOAT_MATH).iter().map(|hit| hit.line).collect();
    assert_eq!(float, vec![6]);
    // Identifiers must match whole: `Instantly` and `MyHashMapLike` are other names.
    assert!(find("let Instantly = MyHashMapLike;", WALL_CLOCK).is_empty());
    assert!(find("let x = libm::sin(1.0);", PLATFORM_FLOAT_MATH).is_empty());
}

/// A forbidden spelling found in code.
struct Hit {
    line: usize,
    rule: &'static Rule,
}

fn assert_core_avoids(what: &str, rules: &'static [Rule]) {
    let mut report = String::new();
    for file in core_sources() {
        let text = read(&file);
        let lines: Vec<&str> = text.lines().collect();
        for Hit { line, rule } in find(&text, rules) {
            let source = lines.get(line - 1).map_or("", |source| source.trim());
            let _ = writeln!(report, "  {}:{line}: `{}`: {}\n      {source}", relative(&file), rule.needle, rule.why);
        }
    }
    assert!(report.is_empty(), "core/src must not use {what} (house rules, see STYLE.md):\n{report}");
}

/// Every rule match in the code of `source` (comments and literals blanked), with 1-based lines.
fn find(source: &str, rules: &'static [Rule]) -> Vec<Hit> {
    let code = code_only(source);
    let mut hits = Vec::new();
    for (index, line) in code.lines().enumerate() {
        for rule in rules {
            if contains_token(line, rule.needle) {
                hits.push(Hit { line: index + 1, rule });
            }
        }
    }
    hits
}

/// Whether `needle` occurs in `line` as a whole token: an identifier-like end of the needle must not
/// continue into a longer identifier (`Instant` is found in `Instant::now`, not in `Instantly`).
fn contains_token(line: &str, needle: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    line.match_indices(needle).any(|(at, _)| {
        let glued_before = needle.starts_with(is_ident) && line[..at].chars().next_back().is_some_and(is_ident);
        let glued_after = needle.ends_with(is_ident) && line[at + needle.len()..].chars().next().is_some_and(is_ident);
        !(glued_before || glued_after)
    })
}

/// `source` with every comment and string/char literal replaced by spaces, newlines kept, so line
/// numbers still match. Knows `//`, nested `/* */`, `"..."` with escapes, raw strings `r#"..."#`,
/// char literals (`'"'`, `'\''`) versus lifetimes (`'a`).
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if c == 'r' && raw_string_hashes(&chars, i).is_some() && !ident_before(&chars, i) {
            let hashes = raw_string_hashes(&chars, i).unwrap_or(0);
            let open = 1 + hashes + 1; // r, #..., "
            (0..open).for_each(|_| out.push(' '));
            i += open;
            while i < chars.len() {
                if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
                    (0..=hashes).for_each(|_| out.push(' '));
                    i += hashes + 1;
                    break;
                }
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                let skip = if chars[i] == '\\' { 2 } else { 1 };
                for k in 0..skip {
                    if let Some(&ch) = chars.get(i + k) {
                        blank(&mut out, ch);
                    }
                }
                i += skip;
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && next == Some('\\') {
            // '\n', '\'', '\u{..}': up to the closing quote
            out.push(' ');
            i += 2;
            out.push(' ');
            while i < chars.len() && chars[i] != '\'' {
                blank(&mut out, chars[i]);
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            out.push_str("   "); // 'x'
            i += 3;
        } else {
            out.push(c); // code, including a lifetime's quote
            i += 1;
        }
    }
    out
}

/// At `r` starting a raw string (`r"`, `r#"`, `r##"`...), the number of `#`s.
fn raw_string_hashes(chars: &[char], at: usize) -> Option<usize> {
    let hashes = chars[at + 1..].iter().take_while(|&&c| c == '#').count();
    (chars.get(at + 1 + hashes) == Some(&'"')).then_some(hashes)
}

/// Whether the char before `at` continues an identifier (`br"..."` is a raw byte string, `bar"` is not Rust).
fn ident_before(chars: &[char], at: usize) -> bool {
    at > 0 && {
        let c = chars[at - 1];
        (c.is_alphanumeric() || c == '_') && c != 'b'
    }
}

fn core_sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("core").join("src");
    let mut files = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(!files.is_empty(), "no .rs files under {}", root.display());
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
}

fn relative(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}
