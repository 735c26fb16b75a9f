//! The `tessera` binary: parse, run, print the error once, choose the exit code.

#![warn(clippy::unwrap_used, clippy::expect_used)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let (cli, json) = match tessera::cli::parse() {
        Ok(parsed) => parsed,
        Err(e) => return tessera::cli::usage_error(e),
    };
    match tessera::cli::run(cli) {
        Ok(code) => code,
        Err(e) => tessera::cli::report_error(&e, json),
    }
}
