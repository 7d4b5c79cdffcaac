//! The shareable run: (scenario, seed, instant, user actions) as a compact, URL-safe, versioned string.
//!
//! A run is a pure function of its scenario, its seed and the actions a person added by hand, so
//! this string is enough to reproduce what someone saw in the sandbox, byte for byte. It travels in
//! a link (`https://…/#run=<string>`), in bug reports and in `rmqsim` commands.
//!
//! # Format, version 1
//!
//! The string uses only URL-unreserved characters (`A-Z a-z 0-9 - . _ ~`), so no tool ever
//! percent-encodes it. Tokens are separated by `.`, fields inside a token by `~`:
//!
//! ```text
//! v1.<scenario>.<seed>.<at>[.<action>]*
//!
//! scenario  <id>~<fingerprint>     a built-in scenario: its id and the first 8 hex digits of the
//!                                  XXH3-64 of its TOML text, so that a link made with another version
//!                                  of the scenario is refused instead of silently giving another run
//!         | T~<base64url>          an inline scenario: its TOML text, raw DEFLATE (level 9), base64url
//!                                  without padding (at most 64 KiB of TOML)
//! seed      decimal u64            e.g. 7
//! at        time                   the instant the sender was looking at
//! action    <time>~<verb>[~<field>]*
//! time      <n><unit>              unit = h, m, s, ms or us; always the largest unit that divides the
//!                                  value exactly, and `0s` for zero (e.g. 90s is written 90s, 120s 2m)
//! ```
//!
//! Verbs and their fields (`<node>` is a node name; names are written verbatim when they consist
//! of `A-Z a-z 0-9 -`, and otherwise each other byte of their UTF-8 is written `_` + two upper-case
//! hex digits; the empty name is `_`):
//!
//! | verb | fields | ActionSpec |
//! |---|---|---|
//! | `kill`, `power`, `diskloss` | `<node>` | `Crash` with `process_kill`, `power_loss`, `disk_loss` |
//! | `restart`, `shutdown` | `<node>` | `Restart`, `Shutdown` |
//! | `partition`, `heal` | `both`\|`oneway`, `<count of from>`, `<from>`…, `<to>`… | `Partition`, `Heal` |
//! | `healall` | | `HealAll` |
//! | `hold`, `release` | `<from>`, `<to>` | `Hold`, `Release` |
//! | `clog` | `<from>`, `<to>`, `<extra>` (the duration text, escaped like a name) | `Clog` |
//! | `slowdisk` | `<node>`, `<factor>` (decimal) | `SlowDisk` |
//! | `json` | base64url of the action's JSON | any action without a verb above (added later) |
//!
//! Example: `v1.broker-heartbeats~1f0c9a2e.1.2m.30s~power~broker-a.1m30s~restart~broker-a`.
//!
//! # Rules
//!
//! - Decoding is strict: a bad token is an error that names it (and, for an action, its 1-based
//!   position); nothing is dropped or repaired.
//! - Every accepted string is canonical: `encode(decode(s)) == s`. Non-canonical spellings (leading
//!   zeros, `60s` for `1m`, an escaped letter, a `json` action that has a verb) are errors.
//! - Actions are in time order (equal times keep their order), at most [`MAX_ACTIONS`]; the string is
//!   at most [`MAX_LINK_LENGTH`] characters.
//! - A later format extends this one under a new version prefix; version 1 strings keep decoding.
//!
//! Decoding checks the syntax only; [`RunLink::scenario`] and [`RunLink::check_actions`] resolve the
//! scenario and the node names.

use std::fmt;

use crate::scenario::library;
use crate::scenario::model::{ActionSpec, CrashKindSpec};
use crate::scenario::{Scenario, ScenarioErrors};
use crate::time::Time;

/// The version prefix this build writes (and the only one it reads).
pub const VERSION_PREFIX: &str = "v1";
/// The longest string accepted, in bytes (every character of a valid string is one byte).
pub const MAX_LINK_LENGTH: usize = 64 * 1024;
/// The most user actions one run may carry.
pub const MAX_ACTIONS: usize = 1_000;
/// The largest inline scenario, in bytes of TOML.
pub const MAX_INLINE_SCENARIO: usize = 64 * 1024;
/// DEFLATE level of inline scenarios. Part of the format: a different level writes other bytes.
const DEFLATE_LEVEL: u8 = 9;

/// One action a person added, at the virtual instant it applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserAction {
    pub at: Time,
    pub action: ActionSpec,
}

/// Which scenario a run uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScenarioRef {
    /// A scenario of the built-in library, pinned to the version of its text by a fingerprint.
    Builtin { id: String, fingerprint: u32 },
    /// A scenario carried in the link itself (imported or edited by the person who shared it).
    Inline { toml: String },
}

impl ScenarioRef {
    /// The reference to a built-in scenario as this build has it, or None for an unknown id.
    pub fn builtin(id: &str) -> Option<ScenarioRef> {
        library::find(id).map(|text| ScenarioRef::Builtin { id: id.to_string(), fingerprint: fingerprint(text) })
    }

    /// The scenario id for built-ins, or None for an inline scenario.
    pub fn builtin_id(&self) -> Option<&str> {
        match self {
            ScenarioRef::Builtin { id, .. } => Some(id),
            ScenarioRef::Inline { .. } => None,
        }
    }

    /// The scenario's TOML text (from the library for a built-in that this build has).
    pub fn toml(&self) -> Option<&str> {
        match self {
            ScenarioRef::Builtin { id, .. } => library::find(id),
            ScenarioRef::Inline { toml } => Some(toml),
        }
    }
}

/// The fingerprint of a scenario text: the top 32 bits of its XXH3-64.
pub fn fingerprint(toml: &str) -> u32 {
    (xxhash_rust::xxh3::xxh3_64(toml.as_bytes()) >> 32) as u32
}

/// Everything needed to reproduce a run and show the instant someone was looking at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunLink {
    pub scenario: ScenarioRef,
    pub seed: u64,
    /// The instant to show when the link is opened.
    pub at: Time,
    /// User actions, in time order.
    pub actions: Vec<UserAction>,
}

/// Why a string is not a valid run, in words a student understands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkError {
    Empty,
    TooLong {
        length: usize,
        max: usize,
    },
    /// Not `v1.…`: `found` is what stood where the version should be.
    UnsupportedVersion {
        found: String,
    },
    MissingField {
        field: &'static str,
    },
    /// A character outside `A-Z a-z 0-9 - . _ ~` at this byte offset.
    BadCharacter {
        offset: usize,
    },
    BadScenario {
        text: String,
        reason: String,
    },
    BadSeed {
        text: String,
    },
    BadTime {
        field: &'static str,
        text: String,
        reason: String,
    },
    /// Action `index` (1-based) could not be read.
    BadAction {
        index: usize,
        text: String,
        reason: String,
    },
    /// Action `index` (1-based) is earlier than the one before it.
    OutOfOrder {
        index: usize,
        text: String,
    },
    TooManyActions {
        count: usize,
        max: usize,
    },
    /// The built-in scenario is not in this build's library.
    UnknownScenario {
        id: String,
    },
    /// The built-in scenario exists but its text differs from the one the link was made with.
    ScenarioChanged {
        id: String,
        link: u32,
        here: u32,
    },
    /// The scenario text (inline) does not parse or validate.
    InvalidScenario {
        errors: String,
    },
    /// Action `index` (1-based) names something the scenario does not have.
    ActionRejected {
        index: usize,
        reason: String,
    },
    /// Every part reads, but the whole is not written the way this version writes it.
    NotCanonical,
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Empty => write!(f, "the link carries no run (nothing after `#run=`)"),
            LinkError::TooLong { length, max } => {
                write!(f, "the run is {length} characters long; at most {max} are accepted")
            }
            LinkError::UnsupportedVersion { found } => write!(
                f,
                "the run starts with `{found}`, but this version of rmqsim reads `{VERSION_PREFIX}.` runs; \
                 the link may come from a newer rmqsim, or be cut short"
            ),
            LinkError::MissingField { field } => write!(f, "the run has no {field}; the link may be cut short"),
            LinkError::BadCharacter { offset } => write!(
                f,
                "character {} is not allowed in a run (only letters, digits and - . _ ~); \
                 was the link changed by hand or by a chat program?",
                offset + 1
            ),
            LinkError::BadScenario { text, reason } => {
                write!(f, "the scenario `{}` is not valid: {reason}", short(text))
            }
            LinkError::BadSeed { text } => {
                write!(f, "the seed `{}` is not a whole number from 0 to 18446744073709551615", short(text))
            }
            LinkError::BadTime { field, text, reason } => {
                write!(f, "the {field} `{}` is not valid: {reason}", short(text))
            }
            LinkError::BadAction { index, text, reason } => {
                write!(f, "action {index} (`{}`) is not valid: {reason}", short(text))
            }
            LinkError::OutOfOrder { index, text } => {
                write!(f, "action {index} (`{}`) happens before the action listed before it", short(text))
            }
            LinkError::TooManyActions { count, max } => {
                write!(f, "the run has {count} actions; at most {max} are accepted")
            }
            LinkError::UnknownScenario { id } => write!(f, "this version of rmqsim has no built-in scenario `{id}`"),
            LinkError::ScenarioChanged { id, link, here } => write!(
                f,
                "the link was made with another version of scenario `{id}` (fingerprint {link:08x}, this build has \
                 {here:08x}); its run would not be the same here"
            ),
            LinkError::InvalidScenario { errors } => write!(f, "the scenario in the link is not valid:\n{errors}"),
            LinkError::ActionRejected { index, reason } => write!(f, "action {index} cannot be applied: {reason}"),
            LinkError::NotCanonical => write!(f, "the run is not written the way rmqsim writes it (edited by hand?)"),
        }
    }
}

impl std::error::Error for LinkError {}

/// At most 80 characters of a token, for error messages.
fn short(text: &str) -> String {
    if text.chars().count() <= 80 {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(77).collect();
        cut.push_str("...");
        cut
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/// The canonical string of a run.
pub fn encode(link: &RunLink) -> String {
    let mut out = String::from(VERSION_PREFIX);
    out.push('.');
    match &link.scenario {
        ScenarioRef::Builtin { id, fingerprint } => {
            out.push_str(&escape_name(id));
            out.push('~');
            out.push_str(&format!("{fingerprint:08x}"));
        }
        ScenarioRef::Inline { toml } => {
            out.push_str("T~");
            out.push_str(&base64url_encode(&miniz_oxide::deflate::compress_to_vec(toml.as_bytes(), DEFLATE_LEVEL)));
        }
    }
    out.push('.');
    out.push_str(&link.seed.to_string());
    out.push('.');
    out.push_str(&encode_time(link.at));
    for action in &link.actions {
        out.push('.');
        out.push_str(&encode_action(action));
    }
    out
}

/// `<n><unit>` with the largest unit that divides the value exactly.
pub fn encode_time(time: Time) -> String {
    const UNITS: [(u64, &str); 5] =
        [(3_600_000_000, "h"), (60_000_000, "m"), (1_000_000, "s"), (1_000, "ms"), (1, "us")];
    let us = time.as_micros();
    if us == 0 {
        return "0s".to_string();
    }
    let (size, unit) = UNITS.iter().find(|(size, _)| us % size == 0).copied().unwrap_or((1, "us"));
    format!("{}{unit}", us / size)
}

fn encode_action(action: &UserAction) -> String {
    let mut fields = vec![encode_time(action.at)];
    fields.extend(action_fields(&action.action));
    fields.join("~")
}

/// The verb and fields of an action (without its time).
fn action_fields(action: &ActionSpec) -> Vec<String> {
    let name = |n: &String| escape_name(n);
    let ways = |both: bool| if both { "both" } else { "oneway" }.to_string();
    let groups = |verb: &str, from: &[String], to: &[String], both: bool| {
        let mut fields = vec![verb.to_string(), ways(both), from.len().to_string()];
        fields.extend(from.iter().chain(to).map(name));
        fields
    };
    #[allow(unreachable_patterns)] // actions added later travel as JSON until they get a verb
    match action {
        ActionSpec::Crash { node, kind } => {
            let verb = match kind {
                CrashKindSpec::ProcessKill => "kill",
                CrashKindSpec::PowerLoss => "power",
                CrashKindSpec::DiskLoss => "diskloss",
            };
            vec![verb.to_string(), name(node)]
        }
        ActionSpec::Restart { node } => vec!["restart".into(), name(node)],
        ActionSpec::Shutdown { node } => vec!["shutdown".into(), name(node)],
        ActionSpec::Partition { from, to, both_ways } => groups("partition", from, to, *both_ways),
        ActionSpec::Heal { from, to, both_ways } => groups("heal", from, to, *both_ways),
        ActionSpec::HealAll => vec!["healall".into()],
        ActionSpec::Hold { from, to } => vec!["hold".into(), name(from), name(to)],
        ActionSpec::Release { from, to } => vec!["release".into(), name(from), name(to)],
        ActionSpec::Clog { from, to, extra } => vec!["clog".into(), name(from), name(to), name(extra)],
        ActionSpec::SlowDisk { node, factor } => vec!["slowdisk".into(), name(node), factor.to_string()],
        other => json_fields(other),
    }
}

/// The `json` form of an action: its serde JSON, base64url.
fn json_fields(action: &ActionSpec) -> Vec<String> {
    let json = serde_json::to_vec(action).expect("an ActionSpec always serializes");
    vec!["json".into(), base64url_encode(&json)]
}

/// A name verbatim if it is `A-Z a-z 0-9 -` only; other bytes as `_XX`; the empty name as `_`.
fn escape_name(name: &str) -> String {
    if name.is_empty() {
        return "_".to_string();
    }
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("_{byte:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// Read a run string strictly (see the module documentation).
pub fn decode(text: &str) -> Result<RunLink, LinkError> {
    if text.is_empty() {
        return Err(LinkError::Empty);
    }
    if text.len() > MAX_LINK_LENGTH {
        return Err(LinkError::TooLong { length: text.len(), max: MAX_LINK_LENGTH });
    }
    let mut tokens = text.split('.');
    let version = tokens.next().unwrap_or_default();
    if version != VERSION_PREFIX {
        return Err(LinkError::UnsupportedVersion { found: short(version) });
    }
    if let Some(offset) = text.bytes().position(|b| !(b.is_ascii_alphanumeric() || b"-._~".contains(&b))) {
        return Err(LinkError::BadCharacter { offset });
    }
    let scenario_token = tokens.next().ok_or(LinkError::MissingField { field: "scenario" })?;
    let scenario = decode_scenario(scenario_token)
        .map_err(|reason| LinkError::BadScenario { text: scenario_token.to_string(), reason })?;
    let seed_token = tokens.next().ok_or(LinkError::MissingField { field: "seed" })?;
    let seed = decode_decimal(seed_token).ok_or_else(|| LinkError::BadSeed { text: seed_token.to_string() })?;
    let at_token = tokens.next().ok_or(LinkError::MissingField { field: "instant to show" })?;
    let at = decode_time(at_token).map_err(|reason| LinkError::BadTime {
        field: "instant to show",
        text: at_token.to_string(),
        reason,
    })?;
    let mut actions: Vec<UserAction> = Vec::new();
    for (i, token) in tokens.enumerate() {
        let index = i + 1;
        if index > MAX_ACTIONS {
            return Err(LinkError::TooManyActions { count: text.split('.').count() - 4, max: MAX_ACTIONS });
        }
        let action =
            decode_action(token).map_err(|reason| LinkError::BadAction { index, text: token.to_string(), reason })?;
        if actions.last().is_some_and(|previous| previous.at > action.at) {
            return Err(LinkError::OutOfOrder { index, text: token.to_string() });
        }
        actions.push(action);
    }
    let link = RunLink { scenario, seed, at, actions };
    // Each token was checked to be canonical; this whole-string check is the guarantee behind the round trip.
    if encode(&link) != text {
        return Err(LinkError::NotCanonical);
    }
    Ok(link)
}

fn decode_scenario(token: &str) -> Result<ScenarioRef, String> {
    let fields: Vec<&str> = token.split('~').collect();
    match fields.as_slice() {
        ["T", payload] => {
            let bytes = base64url_decode(payload)?;
            let toml = miniz_oxide::inflate::decompress_to_vec_with_limit(&bytes, MAX_INLINE_SCENARIO)
                .map_err(|_| format!("its text is damaged or longer than {MAX_INLINE_SCENARIO} bytes"))?;
            let toml = String::from_utf8(toml).map_err(|_| "its text is not UTF-8".to_string())?;
            if miniz_oxide::deflate::compress_to_vec(toml.as_bytes(), DEFLATE_LEVEL) != bytes {
                return Err("its compressed text is not in the canonical form this version writes".into());
            }
            Ok(ScenarioRef::Inline { toml })
        }
        [id, hex] => {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
                return Err("a scenario id is lower-case letters, digits and '-'".into());
            }
            if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                return Err("the fingerprint after the id must be 8 lower-case hex digits".into());
            }
            let fingerprint = u32::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
            Ok(ScenarioRef::Builtin { id: id.to_string(), fingerprint })
        }
        _ => Err("expected `<id>~<fingerprint>` or `T~<inline scenario>`".into()),
    }
}

/// A canonical decimal u64: digits only, no leading zero (but `0` itself).
fn decode_decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'))
        && text.len() <= 20;
    if canonical {
        text.parse().ok()
    } else {
        None
    }
}

/// A canonical time (see [`encode_time`]).
pub fn decode_time(text: &str) -> Result<Time, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let value = decode_decimal(digits).ok_or("a time is a whole number followed by h, m, s, ms or us")?;
    let size: u64 = match unit {
        "h" => 3_600_000_000,
        "m" => 60_000_000,
        "s" => 1_000_000,
        "ms" => 1_000,
        "us" => 1,
        _ => return Err(format!("unknown unit `{unit}`; use h, m, s, ms or us")),
    };
    let us = value.checked_mul(size).ok_or("too far in the future")?;
    let time = Time::from_micros(us);
    let canonical = encode_time(time);
    if canonical != text {
        return Err(format!("write it as `{canonical}`"));
    }
    Ok(time)
}

fn decode_action(token: &str) -> Result<UserAction, String> {
    let mut fields = token.split('~');
    let at = decode_time(fields.next().unwrap_or_default())?;
    let verb = fields.next().ok_or("a time must be followed by `~` and what to do (kill, restart, ...)")?;
    let rest: Vec<&str> = fields.collect();
    let action = decode_verb(verb, &rest)?;
    let canonical = action_fields(&action);
    let written: Vec<&str> = std::iter::once(verb).chain(rest.iter().copied()).collect();
    if canonical != written {
        return Err(format!("write it as `{}`", canonical.join("~")));
    }
    Ok(UserAction { at, action })
}

fn decode_verb(verb: &str, fields: &[&str]) -> Result<ActionSpec, String> {
    let expect = |n: usize, shape: &str| {
        if fields.len() == n {
            Ok(())
        } else {
            Err(format!("`{verb}` takes {shape}, found {} field(s)", fields.len()))
        }
    };
    let name = |i: usize| unescape_name(fields[i]);
    let crash = |kind: CrashKindSpec| -> Result<ActionSpec, String> {
        expect(1, "one node")?;
        Ok(ActionSpec::Crash { node: name(0)?, kind })
    };
    Ok(match verb {
        "kill" => crash(CrashKindSpec::ProcessKill)?,
        "power" => crash(CrashKindSpec::PowerLoss)?,
        "diskloss" => crash(CrashKindSpec::DiskLoss)?,
        "restart" => {
            expect(1, "one node")?;
            ActionSpec::Restart { node: name(0)? }
        }
        "shutdown" => {
            expect(1, "one node")?;
            ActionSpec::Shutdown { node: name(0)? }
        }
        "partition" | "heal" => {
            let shape = "`both` or `oneway`, the number of `from` nodes, then the `from` and `to` nodes";
            if fields.len() < 4 {
                return Err(format!("`{verb}` takes {shape}"));
            }
            let both_ways = match fields[0] {
                "both" => true,
                "oneway" => false,
                other => return Err(format!("`{other}` should be `both` or `oneway`")),
            };
            let count = decode_decimal(fields[1]).ok_or(format!("`{}` is not a count of nodes", fields[1]))?;
            let names = fields[2..].iter().map(|f| unescape_name(f)).collect::<Result<Vec<String>, String>>()?;
            if count == 0 || count >= names.len() as u64 {
                return Err(format!("`{verb}` needs at least one `from` and one `to` node; {shape}"));
            }
            let (from, to) = names.split_at(count as usize);
            let (from, to) = (from.to_vec(), to.to_vec());
            if verb == "partition" {
                ActionSpec::Partition { from, to, both_ways }
            } else {
                ActionSpec::Heal { from, to, both_ways }
            }
        }
        "healall" => {
            expect(0, "no fields")?;
            ActionSpec::HealAll
        }
        "hold" => {
            expect(2, "two nodes (from, to)")?;
            ActionSpec::Hold { from: name(0)?, to: name(1)? }
        }
        "release" => {
            expect(2, "two nodes (from, to)")?;
            ActionSpec::Release { from: name(0)?, to: name(1)? }
        }
        "clog" => {
            expect(3, "two nodes (from, to) and the extra latency")?;
            ActionSpec::Clog { from: name(0)?, to: name(1)?, extra: name(2)? }
        }
        "slowdisk" => {
            expect(2, "one node and a factor")?;
            let factor = decode_decimal(fields[1]).ok_or(format!("`{}` is not a whole factor", fields[1]))?;
            ActionSpec::SlowDisk { node: name(0)?, factor }
        }
        "json" => {
            expect(1, "one base64url payload")?;
            let bytes = base64url_decode(fields[0])?;
            crate::scenario::validate::action_from_json(&bytes)
                .map_err(|e| format!("its JSON is not an action: {e}"))?
        }
        other => return Err(format!("unknown action `{other}`")),
    })
}

fn unescape_name(field: &str) -> Result<String, String> {
    if field == "_" {
        return Ok(String::new());
    }
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'_' {
            let hex =
                field.get(i + 1..i + 3).filter(|h| h.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
            let value = hex.and_then(|h| u8::from_str_radix(h, 16).ok()).ok_or_else(|| {
                format!("`_` at character {} of `{field}` must be followed by two upper-case hex digits", i + 1)
            })?;
            if value.is_ascii_alphanumeric() || value == b'-' {
                return Err(format!("`_{value:02X}` in `{field}` should be written `{}`", char::from(value)));
            }
            out.push(value);
            i += 3;
        } else if byte.is_ascii_alphanumeric() || byte == b'-' {
            out.push(byte);
            i += 1;
        } else {
            return Err(format!("`{}` is not allowed in a name; escape it as `_{byte:02X}`", char::from(byte)));
        }
    }
    String::from_utf8(out).map_err(|_| format!("`{field}` is not UTF-8 once unescaped"))
}

// ---------------------------------------------------------------------------------------------
// base64url without padding (RFC 4648 §5), canonical: unused trailing bits must be zero.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn base64url_decode(text: &str) -> Result<Vec<u8>, String> {
    if text.len() % 4 == 1 {
        return Err("its base64url text has a length no encoder writes".into());
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.as_bytes().chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            let value = ALPHABET.iter().position(|a| a == c).ok_or("it is not base64url")? as u32;
            n |= value << (18 - 6 * i);
        }
        let len = chunk.len() - 1;
        for i in 0..len {
            out.push((n >> (16 - 8 * i)) as u8);
        }
        if len < 3 && n & ((1 << (24 - 8 * len)) - 1) != 0 {
            return Err("its base64url text is not canonical (non-zero trailing bits)".into());
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Resolution against this build

impl RunLink {
    /// The scenario the link names, parsed and validated; a built-in must match its fingerprint.
    pub fn scenario(&self) -> Result<Scenario, LinkError> {
        let (source, text) = match &self.scenario {
            ScenarioRef::Builtin { id, fingerprint: link } => {
                let text = library::find(id).ok_or_else(|| LinkError::UnknownScenario { id: id.clone() })?;
                let here = fingerprint(text);
                if here != *link {
                    return Err(LinkError::ScenarioChanged { id: id.clone(), link: *link, here });
                }
                (id.as_str(), text)
            }
            ScenarioRef::Inline { toml } => ("scenario in the link", toml.as_str()),
        };
        Scenario::parse(source, text).map_err(|ScenarioErrors(errors)| LinkError::InvalidScenario {
            errors: errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
        })
    }

    /// Check that every action names nodes of `scenario` (and a valid clog duration).
    pub fn check_actions(&self, scenario: &Scenario) -> Result<(), LinkError> {
        let names = scenario.node_names();
        for (i, user) in self.actions.iter().enumerate() {
            check_action(&names, &user.action).map_err(|reason| LinkError::ActionRejected { index: i + 1, reason })?;
        }
        Ok(())
    }
}

/// Whether `action` can apply to a topology with these node names.
pub fn check_action(names: &[String], action: &ActionSpec) -> Result<(), String> {
    for node in action.node_names() {
        if !names.iter().any(|n| n == node) {
            return Err(format!("there is no node `{node}`; the nodes are {}", names.join(", ")));
        }
    }
    match action {
        ActionSpec::Clog { extra, .. } => {
            crate::scenario::duration::parse_duration(extra).map(|_| ()).map_err(|e| format!("clog: {e}"))
        }
        ActionSpec::Partition { from, to, .. } | ActionSpec::Heal { from, to, .. }
            if from.is_empty() || to.is_empty() =>
        {
            Err("a partition needs nodes on both sides".into())
        }
        ActionSpec::DependencyDown { timeout, .. } => {
            crate::consumer::live::parse_dependency_timeout(timeout).map(|_| ()).map_err(|e| e.to_string())
        }
        ActionSpec::UpdateConsumerConfig { key, value, .. } => {
            crate::consumer::live::LiveConsumerKnob::parse(key, value).map(|_| ()).map_err(|e| e.to_string())
        }
        ActionSpec::UpdateBrokerConfig { key, value, .. } => {
            crate::broker::admin_broker_processor::parse_live_broker_config(key, value)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> Time {
        Time::from_secs(s)
    }

    fn sample() -> RunLink {
        RunLink {
            scenario: ScenarioRef::builtin("broker-heartbeats").unwrap(),
            seed: 7,
            at: Time::from_millis(150_500),
            actions: vec![
                UserAction {
                    at: at(30),
                    action: ActionSpec::Crash { node: "broker-a".into(), kind: CrashKindSpec::PowerLoss },
                },
                UserAction {
                    at: at(30),
                    action: ActionSpec::Partition {
                        from: vec!["broker-b".into()],
                        to: vec!["namesrv-0".into(), "namesrv-1".into()],
                        both_ways: false,
                    },
                },
                UserAction { at: at(90), action: ActionSpec::Restart { node: "broker-a".into() } },
                UserAction {
                    at: Time::from_micros(90_000_001),
                    action: ActionSpec::Clog { from: "a b".into(), to: "北".into(), extra: "500ms".into() },
                },
            ],
        }
    }

    #[test]
    fn a_run_encodes_to_a_short_readable_url_safe_string() {
        let link = sample();
        let text = encode(&link);
        let fp = format!("{:08x}", fingerprint(library::find("broker-heartbeats").unwrap()));
        assert_eq!(
            text,
            format!(
                "v1.broker-heartbeats~{fp}.7.150500ms.30s~power~broker-a.30s~partition~oneway~1~broker-b~namesrv-0~\
                 namesrv-1.90s~restart~broker-a.90000001us~clog~a_20b~_E5_8C_97~500ms"
            )
        );
        assert_eq!(decode(&text), Ok(link));
    }

    #[test]
    fn times_are_written_in_their_largest_exact_unit() {
        for (us, text) in [
            (0, "0s"),
            (1, "1us"),
            (1_500, "1500us"),
            (2_000, "2ms"),
            (90_000_000, "90s"),
            (120_000_000, "2m"),
            (7_200_000_000, "2h"),
        ] {
            assert_eq!(encode_time(Time::from_micros(us)), text);
            assert_eq!(decode_time(text), Ok(Time::from_micros(us)));
        }
        assert_eq!(decode_time("60s"), Err("write it as `1m`".into()));
        assert!(decode_time("01s").is_err());
        assert!(decode_time("5").is_err());
        assert!(decode_time("99999999999999999999h").is_err());
    }

    #[test]
    fn an_inline_scenario_round_trips_compressed() {
        let toml = library::find("broker-heartbeats").unwrap().to_string();
        let link =
            RunLink { scenario: ScenarioRef::Inline { toml: toml.clone() }, seed: 1, at: Time::ZERO, actions: vec![] };
        let text = encode(&link);
        assert!(text.len() < toml.len(), "{} chars for {} bytes of TOML", text.len(), toml.len());
        assert_eq!(decode(&text), Ok(link.clone()));
        assert_eq!(decode(&text).unwrap().scenario().unwrap().id, "broker-heartbeats");
    }

    #[test]
    fn a_bad_action_is_an_error_naming_its_position() {
        let good = encode(&sample());
        let bad = good.replace("~restart~", "~reboot~");
        assert_eq!(
            decode(&bad),
            Err(LinkError::BadAction {
                index: 3,
                text: "90s~reboot~broker-a".into(),
                reason: "unknown action `reboot`".into()
            })
        );
        let out_of_order = good.replace("90s~restart", "10s~restart");
        assert!(matches!(decode(&out_of_order), Err(LinkError::OutOfOrder { index: 3, .. })));
        let escaped_letter = good.replace("~power~broker-a.", "~power~broker_2Da.");
        assert!(
            matches!(decode(&escaped_letter), Err(LinkError::BadAction { index: 1, .. })),
            "{:?}",
            decode(&escaped_letter)
        );
    }

    #[test]
    fn malformed_strings_say_what_is_wrong() {
        assert_eq!(decode(""), Err(LinkError::Empty));
        assert!(matches!(decode("v2.x~00000000.1.0s"), Err(LinkError::UnsupportedVersion { .. })));
        assert!(matches!(decode("v1.broker-heartbeats~00000000"), Err(LinkError::MissingField { field: "seed" })));
        assert!(matches!(decode("v1.broker-heartbeats~00000000.01.0s"), Err(LinkError::BadSeed { .. })));
        assert!(matches!(decode("v1.Broker~00000000.1.0s"), Err(LinkError::BadScenario { .. })));
        assert!(matches!(decode("v1.b~00000000.1.0s.1s~kill~a b"), Err(LinkError::BadCharacter { offset: 28 })));
        assert!(matches!(decode("v1.T~AAAA.1.0s"), Err(LinkError::BadScenario { .. })));
        let long = format!("v1.b~00000000.1.0s{}", ".0s~healall".repeat(6_000));
        assert!(matches!(decode(&long), Err(LinkError::TooLong { .. })));
        let many = format!("v1.b~00000000.1.0s{}", ".0s~healall".repeat(MAX_ACTIONS + 1));
        assert!(matches!(decode(&many), Err(LinkError::TooManyActions { .. })));
    }

    #[test]
    fn a_json_action_is_refused_when_the_action_has_a_verb() {
        let action = ActionSpec::Restart { node: "broker-a".into() };
        let token = format!("1s~{}", json_fields(&action).join("~"));
        let error = decode_action(&token).unwrap_err();
        assert_eq!(error, "write it as `restart~broker-a`");
    }

    #[test]
    fn a_json_action_with_a_misspelt_key_names_the_key_and_the_likely_spelling() {
        let json = br#"{"do":"update_topic_queues","topic":"T","queuez":8}"#;
        let token = format!("1s~json~{}", base64url_encode(json));
        let error = decode_action(&token).unwrap_err();
        assert!(error.starts_with("its JSON is not an action: "), "{error}");
        assert!(error.contains("`queuez`") && error.contains("`queues`"), "{error}");
        let null = format!("1s~json~{}", base64url_encode(br#"{"do":"dependency_up","group":null}"#));
        let error = decode_action(&null).unwrap_err();
        assert!(error.contains("group: `null` is not a value here"), "{error}");
        let not_json = format!("1s~json~{}", base64url_encode(b"{do:"));
        assert!(decode_action(&not_json).unwrap_err().contains("not JSON"));
    }

    #[test]
    fn resolving_checks_the_fingerprint_and_the_node_names() {
        let mut link = sample();
        link.actions.truncate(3);
        let scenario = link.scenario().unwrap();
        link.check_actions(&scenario).unwrap();
        link.actions.push(UserAction { at: at(99), action: ActionSpec::Restart { node: "broker-z".into() } });
        assert!(matches!(link.check_actions(&scenario), Err(LinkError::ActionRejected { index: 4, .. })));
        link.scenario = ScenarioRef::Builtin { id: "broker-heartbeats".into(), fingerprint: 0 };
        assert!(matches!(link.scenario(), Err(LinkError::ScenarioChanged { .. })));
        link.scenario = ScenarioRef::Builtin { id: "no-such".into(), fingerprint: 0 };
        assert!(matches!(link.scenario(), Err(LinkError::UnknownScenario { .. })));
    }

    #[test]
    fn base64url_is_canonical() {
        for bytes in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar", &[0xff, 0xfe, 0x00]] {
            let text = base64url_encode(bytes);
            assert_eq!(base64url_decode(&text).as_deref(), Ok(bytes));
        }
        assert_eq!(base64url_encode(b"foobar"), "Zm9vYmFy");
        assert!(base64url_decode("Zh").is_err(), "trailing bits set");
        assert!(base64url_decode("Z").is_err());
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-z][a-z0-9-]{0,12}",
            1 => any::<String>().prop_map(|s| s.chars().take(8).collect()),
        ]
    }

    fn names() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(name(), 1..4)
    }

    fn action() -> impl Strategy<Value = ActionSpec> {
        let kind = prop_oneof![
            Just(CrashKindSpec::ProcessKill),
            Just(CrashKindSpec::PowerLoss),
            Just(CrashKindSpec::DiskLoss)
        ];
        prop_oneof![
            (name(), kind).prop_map(|(node, kind)| ActionSpec::Crash { node, kind }),
            name().prop_map(|node| ActionSpec::Restart { node }),
            name().prop_map(|node| ActionSpec::Shutdown { node }),
            (names(), names(), any::<bool>()).prop_map(|(from, to, both_ways)| ActionSpec::Partition {
                from,
                to,
                both_ways
            }),
            (names(), names(), any::<bool>()).prop_map(|(from, to, both_ways)| ActionSpec::Heal {
                from,
                to,
                both_ways
            }),
            Just(ActionSpec::HealAll),
            (name(), name()).prop_map(|(from, to)| ActionSpec::Hold { from, to }),
            (name(), name()).prop_map(|(from, to)| ActionSpec::Release { from, to }),
            (name(), name(), name()).prop_map(|(from, to, extra)| ActionSpec::Clog { from, to, extra }),
            (name(), any::<u64>()).prop_map(|(node, factor)| ActionSpec::SlowDisk { node, factor }),
            name().prop_map(|group| ActionSpec::AddConsumer { group }),
            name().prop_map(|node| ActionSpec::RemoveConsumer { node }),
            (name(), name(), name()).prop_map(|(group, topic, to)| ActionSpec::ResetOffset { group, topic, to }),
            (name(), any::<u32>()).prop_map(|(topic, queues)| ActionSpec::UpdateTopicQueues { topic, queues }),
            (name(), name()).prop_map(|(group, timeout)| ActionSpec::DependencyDown { group, timeout }),
            name().prop_map(|group| ActionSpec::DependencyUp { group }),
            (name(), name(), name()).prop_map(|(group, key, value)| ActionSpec::UpdateConsumerConfig {
                group,
                key,
                value
            }),
            (name(), name(), name()).prop_map(|(node, key, value)| ActionSpec::UpdateBrokerConfig { node, key, value }),
        ]
    }

    fn time() -> impl Strategy<Value = Time> {
        prop_oneof![
            any::<u64>(),
            (0u64..10_000).prop_map(|s| s * 1_000_000),
            (0u64..1_000_000).prop_map(|ms| ms * 1_000)
        ]
        .prop_map(Time::from_micros)
    }

    fn run_link() -> impl Strategy<Value = RunLink> {
        let scenario = prop_oneof![
            ("[a-z0-9-]{1,24}", any::<u32>()).prop_map(|(id, fingerprint)| ScenarioRef::Builtin { id, fingerprint }),
            any::<String>().prop_map(|toml| ScenarioRef::Inline { toml }),
        ];
        let actions = prop::collection::vec((time(), action()), 0..12).prop_map(|mut actions| {
            actions.sort_by_key(|(at, _)| *at);
            actions.into_iter().map(|(at, action)| UserAction { at, action }).collect()
        });
        (scenario, any::<u64>(), time(), actions).prop_map(|(scenario, seed, at, actions)| RunLink {
            scenario,
            seed,
            at,
            actions,
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn every_run_round_trips(link in run_link()) {
            let text = encode(&link);
            prop_assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)), "{}", text);
            let decoded = decode(&text);
            prop_assert_eq!(decoded.as_ref(), Ok(&link));
            prop_assert_eq!(encode(&decoded.unwrap()), text);
        }

        /// Any string that decodes, however it was made, is canonical.
        #[test]
        fn every_accepted_mutation_is_canonical(link in run_link(), cut in any::<prop::sample::Index>(),
                                               byte in prop::sample::select(b"0123456789abcdefsmhu-._~TAZ_".to_vec())) {
            let mut text = encode(&link).into_bytes();
            let i = cut.index(text.len());
            text[i] = byte;
            let text = String::from_utf8(text).unwrap();
            if let Ok(decoded) = decode(&text) {
                prop_assert_eq!(encode(&decoded), text);
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            let _ = decode(&text);
            let _ = decode(&format!("v1.{text}"));
        }
    }
}
