//! `warden hash token | password`: what the config stores for a secret, never the secret.
//!
//! A token (an agent's bearer token, an approver's CLI token) is stored as the hex SHA-256 of its
//! trimmed text, as the gateway and the console compare it; a password as an Argon2id PHC
//! string, as the console verifies it. The secret is read from stdin (its first line) or, on a
//! terminal, from a prompt that does not echo: never from the command line, where `ps` and the
//! shell's history would keep it.

use anyhow::Context;
use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    what: Secret,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Secret {
    /// `token_sha256` for `[agents.<id>]`, `[approvers.<id>]` or `[metrics]`
    Token,
    /// `password_argon2` for `[approvers.<id>]` (the console's sign-in)
    Password,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let secret = read_secret(args.what)?;
    let line = match args.what {
        Secret::Token => {
            let token = secret.trim();
            if token.is_empty() {
                anyhow::bail!("the token is empty");
            }
            format!(
                "token_sha256 = \"{}\"",
                warden_core::sha256_hex(token.as_bytes())
            )
        }
        Secret::Password => format!(
            "password_argon2 = \"{}\"",
            warden_console::hash_password(&secret)
        ),
    };
    crate::output::print(&format!("{line}\n"))?;
    Ok(ExitCode::SUCCESS)
}

/// The secret: typed twice at a prompt on a terminal, else the first line of stdin.
fn read_secret(what: Secret) -> anyhow::Result<String> {
    let name = match what {
        Secret::Token => "token",
        Secret::Password => "password",
    };
    let secret = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("{name}: "))
            .with_context(|| format!("cannot read the {name}"))?;
        let again = rpassword::prompt_password(format!("{name} again: "))
            .with_context(|| format!("cannot read the {name}"))?;
        if first != again {
            anyhow::bail!("the two {name}s differ");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .with_context(|| format!("cannot read the {name} from stdin"))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if secret.is_empty() {
        anyhow::bail!("no {name} given: type it at the prompt or pipe it to stdin");
    }
    Ok(secret)
}
