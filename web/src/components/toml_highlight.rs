//! Syntax colours for the scenario-file editor: TOML split into tokens (comments, table headers, keys,
//! strings, numbers, booleans) that a `<pre>` behind the transparent text area draws in colour.
//!
//! It only colours: whether the file is valid is `Scenario::parse`'s business. The tokens put together
//! are exactly the text, character for character, so the coloured layer lines up with the text area.

/// What a piece of the text is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok {
    Plain,
    Comment,
    /// `[table]` and `[[array.of.tables]]` headers.
    Table,
    Key,
    Str,
    Number,
    Bool,
}

impl Tok {
    /// The CSS class of the token's span (`None`: drawn as plain text).
    pub fn class(self) -> Option<&'static str> {
        match self {
            Tok::Plain => None,
            Tok::Comment => Some("tok-comment"),
            Tok::Table => Some("tok-table"),
            Tok::Key => Some("tok-key"),
            Tok::Str => Some("tok-str"),
            Tok::Number => Some("tok-num"),
            Tok::Bool => Some("tok-bool"),
        }
    }
}

/// `text` as tokens, neighbours of the same kind merged; they concatenate back to `text`.
pub fn tokens(text: &str) -> Vec<(Tok, &str)> {
    let mut spans: Vec<(Tok, usize, usize)> = Vec::new();
    let mut push = |tok: Tok, start: usize, end: usize| match spans.last_mut() {
        Some((last, _, last_end)) if *last == tok && *last_end == start => *last_end = end,
        _ => spans.push((tok, start, end)),
    };
    let bytes = text.as_bytes();
    let mut at = 0;
    let mut line_start = true;
    while at < bytes.len() {
        let c = bytes[at];
        let (tok, end) = match c {
            b'\n' => (Tok::Plain, at + 1),
            b' ' | b'\t' | b'\r' => (Tok::Plain, at + 1),
            b'#' => (Tok::Comment, line_end(bytes, at)),
            b'[' if line_start => (Tok::Table, table_end(bytes, at)),
            b'"' | b'\'' => (Tok::Str, string_end(bytes, at)),
            c if is_bare(c) => {
                let end = (at..bytes.len()).find(|&i| !is_bare(bytes[i])).unwrap_or(bytes.len());
                (word_kind(&text[at..end], bytes, end), end)
            }
            _ => (Tok::Plain, at + char_len(c)),
        };
        push(tok, at, end);
        line_start = match c {
            b'\n' => true,
            b' ' | b'\t' | b'\r' => line_start,
            _ => false,
        };
        at = end;
    }
    spans.into_iter().map(|(tok, start, end)| (tok, &text[start..end])).collect()
}

/// Characters of bare keys, numbers, dates and booleans.
fn is_bare(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'+' | b':')
}

/// A bare word followed by `=` is a key (also inside inline tables); else a boolean, a number or plain.
fn word_kind(word: &str, bytes: &[u8], end: usize) -> Tok {
    let next = (end..bytes.len()).find(|&i| !matches!(bytes[i], b' ' | b'\t'));
    if next.is_some_and(|i| bytes[i] == b'=') {
        Tok::Key
    } else if word == "true" || word == "false" {
        Tok::Bool
    } else if word.trim_start_matches(['+', '-']).starts_with(|c: char| c.is_ascii_digit())
        || word == "inf"
        || word == "nan"
    {
        Tok::Number
    } else {
        Tok::Plain
    }
}

/// The end of the line that `at` is on (the newline stays out).
fn line_end(bytes: &[u8], at: usize) -> usize {
    (at..bytes.len()).find(|&i| bytes[i] == b'\n').unwrap_or(bytes.len())
}

/// A table header runs to its last `]` on the line (a comment after it is its own token).
fn table_end(bytes: &[u8], at: usize) -> usize {
    let end = line_end(bytes, at);
    let comment = (at..end).find(|&i| bytes[i] == b'#').unwrap_or(end);
    (at..comment).rev().find(|&i| bytes[i] == b']').map_or(comment, |i| i + 1)
}

/// The end of the string opening at `at`: `"..."` with escapes, `'...'` literal, or a `"""` / `'''`
/// multi-line string, which may span lines. An unclosed string ends with its line (or, multi-line, the
/// text), so one typo colours no more than that.
fn string_end(bytes: &[u8], at: usize) -> usize {
    let quote = bytes[at];
    let triple = bytes.len() >= at + 3 && bytes[at + 1] == quote && bytes[at + 2] == quote;
    if triple {
        let mut i = at + 3;
        while i + 3 <= bytes.len() {
            if quote == b'"' && bytes[i] == b'\\' {
                i += 2;
                continue;
            }
            if bytes[i..i + 3] == [quote; 3] {
                // A closing run may be longer (up to two quotes belong to the content).
                let mut end = i + 3;
                while end < bytes.len() && bytes[end] == quote && end < i + 5 {
                    end += 1;
                }
                return end;
            }
            i += 1;
        }
        return bytes.len();
    }
    let mut i = at + 1;
    while i < bytes.len() && bytes[i] != b'\n' {
        if quote == b'"' && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            return i + 1;
        }
        i += 1;
    }
    i.min(bytes.len())
}

/// The byte length of the UTF-8 character that starts with `c`.
fn char_len(c: u8) -> usize {
    match c {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Tok, &str)> {
        tokens(text).into_iter().filter(|(t, _)| *t != Tok::Plain).collect()
    }

    #[test]
    fn the_tokens_put_together_are_the_text_for_every_library_scenario() {
        for (id, text) in rmqsim_core::scenario::library::SCENARIOS {
            let joined: String = tokens(text).iter().map(|(_, s)| *s).collect();
            assert_eq!(&joined, text, "{id}");
        }
    }

    #[test]
    fn keys_tables_strings_numbers_booleans_and_comments_are_told_apart() {
        let text =
            "# a comment\n[[topology.broker_groups]] # trailing\nname = \"broker-a\" # why\nqueues = 8\nauto = true\n";
        assert_eq!(
            kinds(text),
            [
                (Tok::Comment, "# a comment"),
                (Tok::Table, "[[topology.broker_groups]]"),
                (Tok::Comment, "# trailing"),
                (Tok::Key, "name"),
                (Tok::Str, "\"broker-a\""),
                (Tok::Comment, "# why"),
                (Tok::Key, "queues"),
                (Tok::Number, "8"),
                (Tok::Key, "auto"),
                (Tok::Bool, "true"),
            ]
        );
    }

    #[test]
    fn keys_inside_inline_tables_and_quotes_inside_strings_are_recognised() {
        let text = "subscriptions = [{ topic = \"T\", expression = \"a \\\" || b\" }]\n";
        assert_eq!(
            kinds(text),
            [
                (Tok::Key, "subscriptions"),
                (Tok::Key, "topic"),
                (Tok::Str, "\"T\""),
                (Tok::Key, "expression"),
                (Tok::Str, "\"a \\\" || b\""),
            ]
        );
    }

    #[test]
    fn a_multi_line_string_is_one_token_across_its_lines_and_brackets_in_it_are_not_tables() {
        let text = "explanation = \"\"\"\n[not a table]\n# not a comment\n\"\"\"\nrun_for = \"3m\"\n";
        assert_eq!(
            kinds(text),
            [
                (Tok::Key, "explanation"),
                (Tok::Str, "\"\"\"\n[not a table]\n# not a comment\n\"\"\""),
                (Tok::Key, "run_for"),
                (Tok::Str, "\"3m\""),
            ]
        );
    }

    #[test]
    fn an_unclosed_string_stops_at_its_line_and_chinese_text_stays_whole() {
        let text = "title = \"未闭合\nseed = 1\n";
        assert_eq!(kinds(text), [(Tok::Key, "title"), (Tok::Str, "\"未闭合"), (Tok::Key, "seed"), (Tok::Number, "1")]);
        let joined: String = tokens("a = 中文 # 注释\n").iter().map(|(_, s)| *s).collect();
        assert_eq!(joined, "a = 中文 # 注释\n");
    }
}
