//! The token manager of RocketMQ's SQL92 selector grammar (`filter/parser/SelectorParser.jj`, 4.9.8).
//!
//! Tokens, longest match first, the earlier definition on a tie (as JavaCC does): keywords
//! `NOT AND OR BETWEEN IN TRUE FALSE NULL IS` (any case), `DECIMAL_LITERAL` (`0` or `[1-9][0-9]*`
//! with an optional `l`/`L`), `FLOATING_POINT_LITERAL` (`5.5`, `5.`, `.5`, `5E10`, `5.5E-3`...),
//! `STRING_LITERAL` (`'...'`, a quote doubled inside), `ID` (`[a-zA-Z_$][a-zA-Z0-9_$]*`) and the
//! operators `= <> > >= < <= ( ) , + -`. Blanks (space, tab, CR, LF, FF), `/* */` comments and `--`
//! comments *ended by a line break* are skipped (a `--` comment at the very end, without a line
//! break, is two minus signs, as in RocketMQ).
//!
//! JavaCC reads tokens lazily, one lookahead at a time: a lexical error after the end of what the
//! parser consumes is never seen. To keep that, tokenizing stops at the first lexical error and the
//! error becomes a token that the parser reports only if it reaches it. Positions are 1-based line
//! and column in characters, as JavaCC reports them.

/// Kinds of tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Not,
    And,
    Or,
    Between,
    In,
    True,
    False,
    Null,
    Is,
    Decimal,
    Float,
    String,
    Id,
    Equal,
    NotEqual,
    Greater,
    GreaterEqual,
    Less,
    LessEqual,
    LeftParen,
    RightParen,
    Comma,
    Plus,
    Minus,
    /// The end of the expression.
    Eof,
    /// Characters no token matches: a lexical error, raised when the parser reaches it.
    Error,
}

impl TokenKind {
    /// How JavaCC names the token in "Was expecting" lists.
    pub fn describe(self) -> &'static str {
        match self {
            TokenKind::Not => "\"NOT\"",
            TokenKind::And => "\"AND\"",
            TokenKind::Or => "\"OR\"",
            TokenKind::Between => "\"BETWEEN\"",
            TokenKind::In => "\"IN\"",
            TokenKind::True => "\"TRUE\"",
            TokenKind::False => "\"FALSE\"",
            TokenKind::Null => "\"NULL\"",
            TokenKind::Is => "\"IS\"",
            TokenKind::Decimal => "<DECIMAL_LITERAL>",
            TokenKind::Float => "<FLOATING_POINT_LITERAL>",
            TokenKind::String => "<STRING_LITERAL>",
            TokenKind::Id => "<ID>",
            TokenKind::Equal => "\"=\"",
            TokenKind::NotEqual => "\"<>\"",
            TokenKind::Greater => "\">\"",
            TokenKind::GreaterEqual => "\">=\"",
            TokenKind::Less => "\"<\"",
            TokenKind::LessEqual => "\"<=\"",
            TokenKind::LeftParen => "\"(\"",
            TokenKind::RightParen => "\")\"",
            TokenKind::Comma => "\",\"",
            TokenKind::Plus => "\"+\"",
            TokenKind::Minus => "\"-\"",
            TokenKind::Eof => "<EOF>",
            TokenKind::Error => "<ERROR>",
        }
    }
}

/// One token with its text and where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    /// The characters of the token (for `Error`, the offending character).
    pub image: String,
    pub line: u32,
    pub column: u32,
    /// Character offset from the start of the expression.
    pub offset: u32,
}

const KEYWORDS: [(&str, TokenKind); 9] = [
    ("NOT", TokenKind::Not),
    ("AND", TokenKind::And),
    ("OR", TokenKind::Or),
    ("BETWEEN", TokenKind::Between),
    ("IN", TokenKind::In),
    ("TRUE", TokenKind::True),
    ("FALSE", TokenKind::False),
    ("NULL", TokenKind::Null),
    ("IS", TokenKind::Is),
];

/// Longest expressions we tokenize (scenario input is bounded; RocketMQ has no limit).
pub const MAX_EXPRESSION_CHARS: usize = 8_192;

/// Split `text` into tokens, ending with `Eof`, or with `Error` at the first lexical error.
pub fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let (mut i, mut line, mut column) = (0usize, 1u32, 1u32);
    let advance = |i: &mut usize, line: &mut u32, column: &mut u32, n: usize, chars: &[char]| {
        for k in 0..n {
            // JavaCC's SimpleCharStream: "\r\n" is one line break.
            match chars[*i + k] {
                '\n' => {
                    if *i + k == 0 || chars[*i + k - 1] != '\r' {
                        *line += 1;
                    }
                    *column = 1;
                }
                '\r' => {
                    *line += 1;
                    *column = 1;
                }
                _ => *column += 1,
            }
        }
        *i += n;
    };
    loop {
        // Skips: blanks and comments, longest match against the operators they could start.
        if i < chars.len() && matches!(chars[i], ' ' | '\t' | '\n' | '\r' | '\u{c}') {
            advance(&mut i, &mut line, &mut column, 1, &chars);
            continue;
        }
        if let Some(n) = line_comment(&chars[i..]) {
            advance(&mut i, &mut line, &mut column, n, &chars);
            continue;
        }
        if let Some(n) = block_comment(&chars[i..]) {
            advance(&mut i, &mut line, &mut column, n, &chars);
            continue;
        }
        let start = (line, column, i as u32);
        let token =
            |kind: TokenKind, image: String| Token { kind, image, line: start.0, column: start.1, offset: start.2 };
        if i >= chars.len() {
            tokens.push(token(TokenKind::Eof, String::new()));
            return tokens;
        }
        match next_token(&chars[i..]) {
            Some((kind, n)) => {
                let image: String = chars[i..i + n].iter().collect();
                tokens.push(token(kind, image));
                advance(&mut i, &mut line, &mut column, n, &chars);
            }
            None => {
                tokens.push(token(TokenKind::Error, chars[i].to_string()));
                return tokens;
            }
        }
    }
}

/// `--` to the end of the line, line break included (required).
fn line_comment(rest: &[char]) -> Option<usize> {
    if rest.len() < 2 || rest[0] != '-' || rest[1] != '-' {
        return None;
    }
    let mut n = 2;
    while n < rest.len() && rest[n] != '\n' && rest[n] != '\r' {
        n += 1;
    }
    match rest.get(n) {
        Some('\r') if rest.get(n + 1) == Some(&'\n') => Some(n + 2),
        Some('\n' | '\r') => Some(n + 1),
        _ => None,
    }
}

/// `/* ... */`.
fn block_comment(rest: &[char]) -> Option<usize> {
    if rest.len() < 2 || rest[0] != '/' || rest[1] != '*' {
        return None;
    }
    (2..rest.len().saturating_sub(1)).find(|&k| rest[k] == '*' && rest[k + 1] == '/').map(|k| k + 2)
}

/// The longest token at the start of `rest`: (kind, length in chars).
fn next_token(rest: &[char]) -> Option<(TokenKind, usize)> {
    let c = rest[0];
    let operator = match (c, rest.get(1)) {
        ('<', Some('>')) => Some((TokenKind::NotEqual, 2)),
        ('<', Some('=')) => Some((TokenKind::LessEqual, 2)),
        ('>', Some('=')) => Some((TokenKind::GreaterEqual, 2)),
        ('<', _) => Some((TokenKind::Less, 1)),
        ('>', _) => Some((TokenKind::Greater, 1)),
        ('=', _) => Some((TokenKind::Equal, 1)),
        ('(', _) => Some((TokenKind::LeftParen, 1)),
        (')', _) => Some((TokenKind::RightParen, 1)),
        (',', _) => Some((TokenKind::Comma, 1)),
        ('+', _) => Some((TokenKind::Plus, 1)),
        ('-', _) => Some((TokenKind::Minus, 1)),
        _ => None,
    };
    let mut best = operator;
    let mut consider = |candidate: Option<(TokenKind, usize)>| {
        if let Some((kind, n)) = candidate {
            if best.is_none_or(|(_, m)| n > m) {
                best = Some((kind, n));
            }
        }
    };
    consider(decimal_literal(rest).map(|n| (TokenKind::Decimal, n)));
    consider(float_literal(rest).map(|n| (TokenKind::Float, n)));
    consider(string_literal(rest).map(|n| (TokenKind::String, n)));
    if let Some(n) = identifier(rest) {
        let word: String = rest[..n].iter().collect();
        let keyword = KEYWORDS.iter().find(|(k, _)| k.eq_ignore_ascii_case(&word)).map(|(_, kind)| *kind);
        consider(Some((keyword.unwrap_or(TokenKind::Id), n)));
    }
    best
}

fn digits(rest: &[char]) -> usize {
    rest.iter().take_while(|c| c.is_ascii_digit()).count()
}

fn decimal_literal(rest: &[char]) -> Option<usize> {
    match rest[0] {
        '0' => Some(1),
        '1'..='9' => {
            let n = digits(rest);
            Some(if matches!(rest.get(n), Some('l' | 'L')) { n + 1 } else { n })
        }
        _ => None,
    }
}

/// `E [+-]? [0-9]+` at the start of `rest`.
fn exponent(rest: &[char]) -> Option<usize> {
    if !matches!(rest.first(), Some('e' | 'E')) {
        return None;
    }
    let sign = usize::from(matches!(rest.get(1), Some('+' | '-')));
    let n = digits(&rest[1 + sign..]);
    (n > 0).then_some(1 + sign + n)
}

fn float_literal(rest: &[char]) -> Option<usize> {
    let integral = digits(rest);
    if integral > 0 {
        if rest.get(integral) == Some(&'.') {
            let fraction = digits(&rest[integral + 1..]);
            let end = integral + 1 + fraction;
            return Some(end + exponent(&rest[end..]).unwrap_or(0));
        }
        return exponent(&rest[integral..]).map(|e| integral + e);
    }
    if rest[0] == '.' {
        let fraction = digits(&rest[1..]);
        if fraction > 0 {
            let end = 1 + fraction;
            return Some(end + exponent(&rest[end..]).unwrap_or(0));
        }
    }
    None
}

fn string_literal(rest: &[char]) -> Option<usize> {
    if rest[0] != '\'' {
        return None;
    }
    let mut n = 1;
    loop {
        match rest.get(n) {
            None => return None,
            Some('\'') if rest.get(n + 1) == Some(&'\'') => n += 2,
            Some('\'') => return Some(n + 1),
            Some(_) => n += 1,
        }
    }
}

fn identifier(rest: &[char]) -> Option<usize> {
    let first = |c: char| c.is_ascii_alphabetic() || c == '_' || c == '$';
    if !first(rest[0]) {
        return None;
    }
    Some(1 + rest[1..].iter().take_while(|&&c| first(c) || c.is_ascii_digit()).count())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        tokenize(text).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn keywords_ignore_case_and_longer_words_are_identifiers() {
        use TokenKind::*;
        assert_eq!(kinds("a not NOTE Between is null"), [Id, Not, Id, Between, Is, Null, Eof]);
        assert_eq!(kinds("a<>1 AND b>=2.5e3"), [Id, NotEqual, Decimal, And, Id, GreaterEqual, Float, Eof]);
    }

    #[test]
    fn literals_follow_the_grammar() {
        use TokenKind::*;
        assert_eq!(kinds("5L 0 .5 5. 5E10 'it''s'"), [Decimal, Decimal, Float, Float, Float, String, Eof]);
        // "0L" is "0" and an identifier; "007" is three literals.
        assert_eq!(kinds("0L"), [Decimal, Id, Eof]);
        assert_eq!(kinds("007"), [Decimal, Decimal, Decimal, Eof]);
        let tokens = tokenize("'it''s'");
        assert_eq!(tokens[0].image, "'it''s'");
    }

    #[test]
    fn comments_are_skipped_only_when_complete() {
        use TokenKind::*;
        assert_eq!(kinds("a -- note\n= 1"), [Id, Equal, Decimal, Eof]);
        assert_eq!(kinds("a /* x */ = 1"), [Id, Equal, Decimal, Eof]);
        assert_eq!(kinds("a = 1 -- no line break"), [Id, Equal, Decimal, Minus, Minus, Id, Id, Id, Eof]);
    }

    #[test]
    fn a_lexical_error_ends_the_tokens_with_its_position() {
        let tokens = tokenize("a = 1\n  AND b != 2");
        let last = tokens.last().unwrap();
        assert_eq!((last.kind, last.image.as_str(), last.line, last.column), (TokenKind::Error, "!", 2, 9));
        assert_eq!(tokenize("'open").last().unwrap().kind, TokenKind::Error);
    }
}
