//! Exit codes, the same for every subcommand.

pub const HELP: &str = "Exit codes:\n  0  success\n  1  a check failed (expectations or violations)\n  2  bad command-line arguments\n  3  the scenario is invalid (every problem is listed with its location)\n  4  a file could not be read or written\n  5  the run stopped at one of its limits";

pub const CHECK_FAILED: i32 = 1;
pub const BAD_ARGUMENTS: i32 = 2;
pub const INVALID_SCENARIO: i32 = 3;
pub const IO_ERROR: i32 = 4;
pub const LIMIT_REACHED: i32 = 5;

/// Why a subcommand failed, and with which exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn new(code: i32, message: impl Into<String>) -> Failure {
        Failure { code, message: message.into() }
    }
}

/// An expectation or a sweep found a failing run.
pub fn check_failed(message: impl Into<String>) -> Failure {
    Failure::new(CHECK_FAILED, message)
}
