//! The `tessera` binary: parse, run, print the error once, choose the exit code.

#![warn(clippy::unwrap_used, clippy::expect_used)]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = tessera::cli::Cli::parse();
    match tessera::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // An error can quote a file, a server's answer or a token's text.
            eprintln!(
                "tessera: {}",
                tessera::text::terminal_safe(&format!("{e:#}"))
            );
            ExitCode::from(2)
        }
    }
}
