//! `warden completions SHELL`: a completion script for bash, zsh, fish, elvish or PowerShell.

use clap_complete::Shell;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// bash, zsh, fish, elvish or powershell
    shell: Shell,
}

/// Prints the script for the command line `C` (warden's own, from `main`).
pub fn run<C: clap::CommandFactory>(args: Args) -> anyhow::Result<ExitCode> {
    let mut command = C::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "warden", &mut script);
    crate::output::print(&String::from_utf8(script)?)?;
    Ok(ExitCode::SUCCESS)
}
