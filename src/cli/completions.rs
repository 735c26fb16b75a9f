//! What the binary prints about itself, generated from its own
//! definitions: shell completions (`tessera completions bash|zsh|fish`,
//! from the clap tree), the man page (`tessera man`) and the admin API's
//! OpenAPI document (`tessera openapi`, from the handlers; no server
//! needed).

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;

use super::Cli;

/// The shells `tessera completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    /// bash (source it, or drop it in bash-completion's directory).
    Bash,
    /// zsh (a `_tessera` file on `$fpath`).
    Zsh,
    /// fish (`~/.config/fish/completions/tessera.fish`).
    Fish,
}

/// `tessera completions SHELL`: the completion script on stdout.
pub(super) fn completions(shell: Shell) -> Result<ExitCode> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    let generator = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(generator, &mut command, "tessera", &mut out);
    print(&out)
}

/// `tessera man`: the man page (roff) on stdout.
pub(super) fn man() -> Result<ExitCode> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .context("could not render the man page")?;
    print(&out)
}

/// `tessera openapi`: the admin API's OpenAPI 3.1 document on stdout.
pub(super) fn openapi() -> Result<ExitCode> {
    let mut text = crate::gateway::admin::openapi::document_json();
    text.push('\n');
    print(text.as_bytes())
}

fn print(bytes: &[u8]) -> Result<ExitCode> {
    std::io::stdout()
        .lock()
        .write_all(bytes)
        .context("could not write to stdout")?;
    Ok(ExitCode::SUCCESS)
}
