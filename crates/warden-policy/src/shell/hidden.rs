//! Programs that are not interpreters but can be told, in their own options or script
//! language, to run a command or write a file their operands do not name: sed's `e` and `w`,
//! tar's `--to-command` and remote archives, zip's test command, tcpdump's `-z`, man's pager,
//! sqlite3's dot-commands. Such a call is opaque; the same programs doing only their job are not.

use super::Literal;

/// Why this call of `program` would run something or write somewhere its words do not show;
/// `None` when it does only its job.
pub(super) fn runs_hidden(program: &str, rest: &[Literal]) -> Option<&'static str> {
    let watched = matches!(
        program,
        "sed" | "gsed" | "tar" | "gtar" | "bsdtar" | "zip" | "tcpdump" | "man" | "sqlite3"
    );
    if !watched {
        return None;
    }
    let words: Option<Vec<&str>> = rest.iter().map(|w| w.text.as_deref()).collect();
    let Some(words) = words else {
        return Some("its options or script are not known until the command runs");
    };
    match program {
        "sed" | "gsed" => sed(&words),
        "tar" | "gtar" | "bsdtar" => tar(&words),
        "zip" => words
            .iter()
            .any(|w| *w == "-TT" || w.starts_with("--unzip-command"))
            .then_some("zip is told to test the archive with a command of its own"),
        "tcpdump" => words
            .iter()
            .any(|w| w.starts_with("-z"))
            .then_some("tcpdump runs a command on each file it saves (`-z`)"),
        "man" => words
            .iter()
            .any(|w| {
                *w == "-P" || w.starts_with("--pager") || *w == "-H" || w.starts_with("--html")
            })
            .then_some("man runs a pager or browser named in its options"),
        "sqlite3" => sqlite3(&words),
        _ => None,
    }
}

fn sed(words: &[&str]) -> Option<&'static str> {
    if words.contains(&"--sandbox") {
        // GNU sed refuses `e`, `w` and `r` in sandbox mode.
        return None;
    }
    let mut scripts = Vec::new();
    let mut operands = Vec::new();
    let mut i = 0;
    while let Some(w) = words.get(i) {
        i += 1;
        if *w == "--" {
            operands.extend(words.get(i..).unwrap_or_default());
            break;
        }
        if let Some(script) = w.strip_prefix("--expression=") {
            scripts.push(script);
        } else if *w == "--expression" {
            scripts.push(words.get(i).copied()?);
            i += 1;
        } else if w.starts_with("--file") {
            return Some("sed runs a script file");
        } else if w.starts_with("--") {
            // --posix, --debug, --in-place[=SUFFIX], --line-length=N, --null-data…
        } else if let Some(cluster) = w.strip_prefix('-').filter(|c| !c.is_empty()) {
            // A short cluster: `-n`, `-ne SCRIPT`, `-i.bak`, `-l 80`. After `e` or `f` the
            // rest of the word, or else the next word, is the value; `i` takes the rest of
            // the word as its suffix.
            for (at, c) in cluster.char_indices() {
                let tail = cluster.get(at + c.len_utf8()..).unwrap_or_default();
                match c {
                    'e' => {
                        if tail.is_empty() {
                            scripts.push(words.get(i).copied()?);
                            i += 1;
                        } else {
                            scripts.push(tail);
                        }
                        break;
                    }
                    'f' => return Some("sed runs a script file"),
                    'i' => break,
                    'l' => {
                        if tail.is_empty() {
                            i += 1;
                        }
                        break;
                    }
                    _ => {}
                }
            }
        } else {
            operands.push(w);
        }
    }
    if scripts.is_empty() {
        scripts.push(operands.first().copied()?);
    }
    scripts
        .iter()
        .any(|s| script_runs_or_writes(s))
        .then_some("sed's script runs a command or writes a file (`e`, `w`, `s///e`, `s///w`)")
}

/// Whether a sed script has an `e`, `w` or `W` command, or an `s` command with the `e` or `w`
/// flag. A script this reader cannot follow counts as one that does.
fn script_runs_or_writes(script: &str) -> bool {
    let c: Vec<char> = script.chars().collect();
    let mut i = 0;
    let at = |i: usize| c.get(i).copied();
    // Skips a `delim`-terminated part (escapes honoured); false when it is not terminated.
    let part = |i: &mut usize, delim: char| -> bool {
        while let Some(ch) = at(*i) {
            *i += 1;
            if ch == '\\' {
                *i += 1;
            } else if ch == delim {
                return true;
            }
        }
        false
    };
    let to_line_end = |i: &mut usize| {
        while let Some(ch) = at(*i) {
            *i += 1;
            if ch == '\n' {
                break;
            }
        }
    };
    loop {
        while at(i).is_some_and(|ch| ch.is_whitespace() || ch == ';') {
            i += 1;
        }
        let Some(mut cmd) = at(i) else {
            return false;
        };
        // Addresses: `12`, `$`, `/re/I`, `\%re%`, `first~step`, `addr,+N`, then `!`.
        loop {
            match cmd {
                '0'..='9' | '$' | ',' | '~' | '+' | '!' | ' ' | '\t' => i += 1,
                '/' => {
                    i += 1;
                    if !part(&mut i, '/') {
                        return true;
                    }
                    while matches!(at(i), Some('I' | 'M')) {
                        i += 1;
                    }
                }
                '\\' => {
                    let Some(delim) = at(i + 1) else {
                        return true;
                    };
                    i += 2;
                    if !part(&mut i, delim) {
                        return true;
                    }
                }
                _ => break,
            }
            let Some(next) = at(i) else {
                return false;
            };
            cmd = next;
        }
        i += 1;
        match cmd {
            '{' | '}' | '=' | 'd' | 'D' | 'g' | 'G' | 'h' | 'H' | 'n' | 'N' | 'p' | 'P' | 'x'
            | 'z' | 'F' => {}
            'l' | 'L' | 'q' | 'Q' => {
                while at(i).is_some_and(|ch| ch.is_ascii_digit()) {
                    i += 1;
                }
            }
            '#' | 'a' | 'i' | 'c' | 'r' | 'R' => to_line_end(&mut i),
            ':' | 'b' | 't' | 'T' | 'v' => {
                while at(i).is_some_and(|ch| ch != ';' && ch != '\n' && ch != '}') {
                    i += 1;
                }
            }
            'e' | 'w' | 'W' => return true,
            's' | 'y' => {
                let Some(delim) = at(i) else {
                    return true;
                };
                if delim == '\\' || delim == '\n' {
                    return true;
                }
                i += 1;
                if !part(&mut i, delim) || !part(&mut i, delim) {
                    return true;
                }
                if cmd == 's' {
                    while let Some(flag) = at(i) {
                        match flag {
                            'e' | 'w' => return true,
                            'g' | 'p' | 'i' | 'I' | 'm' | 'M' | '0'..='9' => i += 1,
                            _ => break,
                        }
                    }
                }
            }
            _ => return true,
        }
    }
}

fn tar(words: &[&str]) -> Option<&'static str> {
    const RUNS: &[&str] = &[
        "--to-command",
        "--use-compress-program",
        "--checkpoint-action",
        "--info-script",
        "--new-volume-script",
        "--rsh-command",
        "--rmt-command",
    ];
    if words.iter().any(|w| RUNS.iter().any(|r| w.starts_with(r))) {
        return Some("tar is told to run a program of its own");
    }
    // `-I PROG` (a compressor) and `-F SCRIPT` (an end-of-volume script), alone or in a
    // cluster, and the old style without a dash in the first word.
    let clusters = words
        .iter()
        .enumerate()
        .filter_map(|(n, w)| match w.strip_prefix('-') {
            Some(c) if !c.starts_with('-') => Some(c),
            None if n == 0 => Some(*w),
            _ => None,
        });
    for cluster in clusters {
        if cluster.contains(['I', 'F']) {
            return Some("tar is told to run a program of its own (`-I`, `-F`)");
        }
    }
    // An archive named `host:path` is reached over rsh, unless --force-local says otherwise.
    if !words.contains(&"--force-local") {
        let remote = words.iter().any(|w| {
            let w = w.strip_prefix("--file=").unwrap_or(w);
            !w.starts_with('-')
                && w.split_once(':')
                    .is_some_and(|(host, _)| !host.is_empty() && !host.contains('/'))
        });
        if remote {
            return Some("tar reaches an archive on another host (`host:path`)");
        }
    }
    None
}

fn sqlite3(words: &[&str]) -> Option<&'static str> {
    // `-cmd X` and the operands after the database are commands; the first operand is the
    // database. Options with a value: -cmd, -separator, -newline, -nullvalue, -init, -vfs…
    let mut commands = Vec::new();
    let mut operands = Vec::new();
    let mut i = 0;
    while let Some(w) = words.get(i) {
        i += 1;
        match *w {
            "-cmd" | "--cmd" => {
                commands.push(words.get(i).copied()?);
                i += 1;
            }
            "-init" | "--init" => return Some("sqlite3 runs an init file"),
            "-separator" | "-newline" | "-nullvalue" | "-vfs" | "-mmap" | "-lookaside"
            | "-pagecache" | "-maxsize" | "-A" => i += 1,
            w if w.starts_with('-') => {}
            w => operands.push(w),
        }
    }
    let mut sql = operands.iter().skip(1).copied().peekable();
    if sql.peek().is_none() && commands.is_empty() {
        return Some("sqlite3 reads its commands from standard input");
    }
    let runs = |text: &str| {
        let lower = text.to_ascii_lowercase();
        text.lines().any(|l| l.trim_start().starts_with('.'))
            || ["writefile", "edit(", "load_extension"]
                .iter()
                .any(|f| lower.contains(f))
    };
    commands
        .into_iter()
        .chain(sql)
        .any(runs)
        .then_some("sqlite3 runs a dot-command or a function that reaches files or programs")
}
