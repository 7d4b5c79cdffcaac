//! Counting test results in the output of the test runners, for the closing `N passed, N failed` line.
//!
//! Understood formats:
//! - libtest and wasm-bindgen-test-runner: `test result: ok. 12 passed; 0 failed; 1 ignored; ...`
//! - `node --test` reporters: spec `ℹ pass 3` / `ℹ fail 0`, tap `# pass 3` / `# fail 0`.

/// Passed and failed test counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub passed: u64,
    pub failed: u64,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.passed += other.passed;
        self.failed += other.failed;
    }
}

/// Sums every result line found in `output`.
pub fn count(output: &str) -> Tally {
    let mut tally = Tally::default();
    for line in output.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("test result: ") {
            tally.passed += number_before(rest, " passed");
            tally.failed += number_before(rest, " failed");
        } else if let Some(rest) = line.strip_prefix("ℹ ").or_else(|| line.strip_prefix("# ")) {
            if let Some(number) = rest.strip_prefix("pass ") {
                tally.passed += number.trim().parse::<u64>().unwrap_or(0);
            } else if let Some(number) = rest.strip_prefix("fail ") {
                tally.failed += number.trim().parse::<u64>().unwrap_or(0);
            }
        }
    }
    tally
}

/// The integer right before `label` in `text` (`"3 passed"` -> 3), or 0.
fn number_before(text: &str, label: &str) -> u64 {
    let Some(end) = text.find(label) else { return 0 };
    let digits = text[..end].rsplit(|c: char| !c.is_ascii_digit()).next().unwrap_or("");
    digits.parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtest_result_lines_are_summed() {
        let output = "running 3 tests\n\
                      test a ... ok\n\
                      test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\
                      test result: FAILED. 10 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out\n\
                      test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n";
        assert_eq!(count(output), Tally { passed: 13, failed: 2 });
    }

    #[test]
    fn node_spec_and_tap_summaries_are_read() {
        assert_eq!(count("ℹ tests 4\nℹ pass 3\nℹ fail 1\nℹ cancelled 0\n"), Tally { passed: 3, failed: 1 });
        assert_eq!(count("# tests 2\n# pass 2\n# fail 0\n"), Tally { passed: 2, failed: 0 });
    }

    #[test]
    fn unrelated_lines_count_nothing() {
        assert_eq!(count("Compiling rmqsim v0.1.0\n# passes everything\nℹ passive 3\n"), Tally::default());
    }
}
