//! Prints an Argon2id PHC string for `ApproverLogin::password_argon2`.
//!
//! Reads the password from stdin (first line), so it stays out of shell history and `ps`:
//! `cargo run -p warden-console --example hash_password` then type it, or pipe it in.

use std::io::BufRead;

fn main() -> std::io::Result<()> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        eprintln!("no password on stdin");
        std::process::exit(2);
    }
    println!("{}", warden_console::hash_password(password));
    Ok(())
}
