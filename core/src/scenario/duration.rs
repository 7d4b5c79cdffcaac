//! Durations as people write them in scenario files: `"500ms"`, `"30s"`, `"2m"`, `"1h"`, `"3d"`,
//! or a bare integer of milliseconds (RocketMQ's own unit for every `...Millis` setting).

use crate::time::Duration;

/// Parse `text` into a duration, or say what was wrong with it.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    if digits.is_empty() {
        return Err(format!("`{text}` is not a duration; write e.g. \"500ms\", \"30s\", \"2m\", \"1h\""));
    }
    let value: u64 = digits.parse().map_err(|_| format!("`{digits}` is too large"))?;
    let micros_per_unit: u64 = match unit.trim() {
        "us" | "µs" => 1,
        "" | "ms" => 1_000,
        "s" => 1_000_000,
        "m" | "min" => 60_000_000,
        "h" => 3_600_000_000,
        "d" => 86_400_000_000,
        other => return Err(format!("unknown unit `{other}` in `{text}`; use us, ms, s, m, h or d")),
    };
    value.checked_mul(micros_per_unit).map(Duration).ok_or_else(|| format!("`{text}` is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_rocketmq_style_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3_600)));
        assert_eq!(parse_duration("250"), Ok(Duration::from_millis(250)));
    }

    #[test]
    fn bad_durations_say_what_is_wrong() {
        assert!(parse_duration("soon").unwrap_err().contains("not a duration"));
        assert!(parse_duration("5 fortnights").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("99999999999999999999s").is_err());
    }
}
