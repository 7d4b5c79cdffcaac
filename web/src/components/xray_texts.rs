//! Bilingual strings of the inspectors (storage X-ray, producer and consumer views, swimlane, message
//! fate). Each call site names both languages, so a string cannot exist in one language only.

use crate::i18n::Lang;

/// The English or Chinese text.
pub fn tr(lang: Lang, en: &'static str, zh: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Zh => zh,
    }
}

/// Bytes with a unit a student reads at a glance (exact below 10 KiB).
pub fn bytes(n: i64) -> String {
    let a = n.unsigned_abs();
    let sign = if n < 0 { "-" } else { "" };
    match a {
        a if a < 10 * 1024 => format!("{sign}{a} B"),
        a if a < 10 * 1024 * 1024 => format!("{sign}{} KiB", a / 1024),
        a => format!("{sign}{} MiB", a / (1024 * 1024)),
    }
}
