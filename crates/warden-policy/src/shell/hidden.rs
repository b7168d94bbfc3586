//! Programs that are not interpreters but can be told, in their own options or script
//! language, to run a command or write a file their operands do not name: sed's `e` and `w`,
//! tar's `--to-command` and remote archives, zip's test command, tcpdump's `-z`, man's pager,
//! split's filter, sort's compressor, sqlite3's dot-commands. Such a call is opaque; the same
//! programs doing only their job are not.
//!
//! Options are read as the programs' own parsers read them: GNU long options by any unique
//! prefix (`--to-com=` is `--to-command=`), short options in clusters with values attached
//! (`-cfhost:x`), options after operands (GNU getopt permutes), none after `--`. What this
//! reader cannot follow counts as hidden.

use super::Literal;

/// Why this call of `program` would run something or write somewhere its words do not show;
/// `None` when it does only its job.
pub(super) fn runs_hidden(program: &str, rest: &[Literal]) -> Option<&'static str> {
    let watched = matches!(
        program,
        "sed"
            | "gsed"
            | "tar"
            | "gtar"
            | "bsdtar"
            | "zip"
            | "tcpdump"
            | "man"
            | "sqlite3"
            | "split"
            | "sort"
    );
    if !watched {
        return None;
    }
    let words: Option<Vec<&str>> = rest.iter().map(|w| w.text.as_deref()).collect();
    let Some(words) = words else {
        return Some("its options or script are not known until the command runs");
    };
    let options = options_of(&words);
    match program {
        "sed" | "gsed" => sed(&words),
        "tar" | "gtar" | "bsdtar" => tar(&words),
        "zip" => (long(&options, "unzip-command", 1) || short(&options, "-TT"))
            .then_some("zip is told to test the archive with a command of its own"),
        "tcpdump" => cluster_has(&options, 'z')
            .then_some("tcpdump runs a command on each file it saves (`-z`)"),
        "man" => (cluster_has(&options, 'P')
            || cluster_has(&options, 'H')
            || long(&options, "pager", 1)
            || long(&options, "html", 1))
        .then_some("man runs a pager or browser named in its options"),
        "split" => long(&options, "filter", 1)
            .then_some("split runs a command of its own on each piece (`--filter`)"),
        "sort" => long(&options, "compress-program", 1)
            .then_some("sort runs a compressor named in its options"),
        "sqlite3" => sqlite3(&words),
        _ => None,
    }
}

/// The words that are options: every word before `--` that starts with `-`.
fn options_of<'a>(words: &[&'a str]) -> Vec<&'a str> {
    words
        .iter()
        .take_while(|w| **w != "--")
        .filter(|w| w.starts_with('-') && w.len() > 1)
        .copied()
        .collect()
}

/// Whether a long option abbreviates `name` (at least `min` characters of it), as GNU
/// getopt_long accepts any unique prefix: `--to-com=x` for `--to-command=x`. An option that
/// makes a program run something is looked for with `min` 1: which prefixes are unique
/// depends on the program's version (sort takes `--co` for `--compress-program`), and an
/// ambiguous one only makes the program refuse. Only an option that makes a call safer
/// (`--force-local`) needs enough of its name to be unique.
fn long(options: &[&str], name: &str, min: usize) -> bool {
    options.iter().any(|o| abbreviates(o, name, min))
}

/// Whether the word `option` is the long option `name`, or a prefix of it of at least `min`
/// characters, with or without `=value` (see [`long`]).
pub(super) fn abbreviates(option: &str, name: &str, min: usize) -> bool {
    option.strip_prefix("--").is_some_and(|o| {
        let given = o.split_once('=').map_or(o, |(n, _)| n);
        !given.is_empty() && given.len() >= min.min(name.len()) && name.starts_with(given)
    })
}

/// Whether a short option is given, alone or with its value attached (`-TTcmd`).
fn short(options: &[&str], option: &str) -> bool {
    options.iter().any(|o| o.starts_with(option))
}

/// Whether a short-option cluster (`-nz`, `-Pcmd`) holds `letter`.
fn cluster_has(options: &[&str], letter: char) -> bool {
    options
        .iter()
        .filter(|o| !o.starts_with("--"))
        .any(|o| o.contains(letter))
}

/// GNU sed's long options, for prefix matching.
const SED_LONG: &[&str] = &[
    "expression",
    "file",
    "line-length",
    "null-data",
    "zero-terminated",
    "separate",
    "sandbox",
    "debug",
    "posix",
    "quiet",
    "silent",
    "regexp-extended",
    "in-place",
    "follow-symlinks",
    "unbuffered",
    "binary",
    "help",
    "version",
];

/// The one long option of `known` that `given` abbreviates; `None` when none or several do.
fn expand<'a>(given: &str, known: &[&'a str]) -> Option<&'a str> {
    if let Some(exact) = known.iter().find(|k| **k == given) {
        return Some(exact);
    }
    let mut matches = known.iter().filter(|k| k.starts_with(given));
    let first = matches.next()?;
    matches.next().is_none().then_some(*first)
}

fn sed(words: &[&str]) -> Option<&'static str> {
    const RUNS: &str = "sed's script runs a command or writes a file (`e`, `w`, `s///e`, `s///w`)";
    let mut scripts = Vec::new();
    let mut operands = Vec::new();
    let mut sandbox = false;
    let mut i = 0;
    while let Some(w) = words.get(i) {
        i += 1;
        if *w == "--" {
            operands.extend(words.get(i..).unwrap_or_default());
            break;
        }
        if let Some(opt) = w.strip_prefix("--") {
            let (given, value) = match opt.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (opt, None),
            };
            let Some(name) = expand(given, SED_LONG) else {
                return Some("sed is given an option this reader does not know");
            };
            match name {
                "expression" => match value {
                    Some(v) => scripts.push(v),
                    None => {
                        scripts.push(words.get(i).copied()?);
                        i += 1;
                    }
                },
                "file" => return Some("sed runs a script file"),
                "line-length" if value.is_none() => i += 1,
                "sandbox" => sandbox = true,
                _ => {}
            }
        } else if let Some(cluster) = w.strip_prefix('-').filter(|c| !c.is_empty()) {
            // A short cluster: `-n`, `-ne SCRIPT`, `-i.bak`, `-l 80`. After `e`, `f` or `l`
            // the rest of the word, or else the next word, is the value; `i` takes the rest
            // of the word as its suffix.
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
                    'n' | 'r' | 'E' | 's' | 'u' | 'z' | 'b' => {}
                    _ => return Some("sed is given an option this reader does not know"),
                }
            }
        } else {
            operands.push(w);
        }
    }
    if sandbox {
        // GNU sed refuses `e`, `w` and `r` in sandbox mode.
        return None;
    }
    if scripts.is_empty() {
        match operands.first() {
            Some(script) => scripts.push(script),
            None => return Some("sed's script is not found"),
        }
    }
    scripts
        .iter()
        .any(|s| script_runs_or_writes(s))
        .then_some(RUNS)
}

/// Whether a sed script has an `e`, `w` or `W` command, or an `s` command with the `e` or `w`
/// flag. A script this reader cannot follow counts as one that does.
fn script_runs_or_writes(script: &str) -> bool {
    let c: Vec<char> = script.chars().collect();
    let mut i = 0;
    let at = |i: usize| c.get(i).copied();
    // Skips a `delim`-terminated part (escapes honoured); in a regular expression a bracket
    // expression (`[/]`, `[]/]`, `[[:alpha:]/]`) is skipped whole, since the delimiter does not
    // end the part inside one. False when the part is not terminated.
    let part = |i: &mut usize, delim: char, regex: bool| -> bool {
        while let Some(ch) = at(*i) {
            *i += 1;
            if ch == '\\' {
                *i += 1;
            } else if ch == delim {
                return true;
            } else if regex && ch == '[' {
                if at(*i) == Some('^') {
                    *i += 1;
                }
                if at(*i) == Some(']') {
                    *i += 1;
                }
                loop {
                    match at(*i) {
                        None => return false,
                        Some(']') => {
                            *i += 1;
                            break;
                        }
                        Some('[') if matches!(at(*i + 1), Some(':' | '.' | '=')) => {
                            let close = at(*i + 1);
                            *i += 2;
                            // Up to the matching `:]`, `.]` or `=]`.
                            loop {
                                match at(*i) {
                                    None => return false,
                                    Some(x) if Some(x) == close && at(*i + 1) == Some(']') => {
                                        *i += 2;
                                        break;
                                    }
                                    Some(_) => *i += 1,
                                }
                            }
                        }
                        Some(_) => *i += 1,
                    }
                }
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
                    if !part(&mut i, '/', true) {
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
                    if !part(&mut i, delim, true) {
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
                if !part(&mut i, delim, cmd == 's') || !part(&mut i, delim, false) {
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

/// GNU tar's long options that run a program, each with the fewest characters that can name
/// it: any prefix, except that `--checkpoint` itself is another option (an exact name wins).
const TAR_RUNS: &[(&str, usize)] = &[
    ("to-command", 1),
    ("use-compress-program", 1),
    ("checkpoint-action", 11),
    ("info-script", 1),
    ("new-volume-script", 1),
    ("rsh-command", 1),
    ("rmt-command", 1),
];

fn tar(words: &[&str]) -> Option<&'static str> {
    let options = options_of(words);
    if TAR_RUNS
        .iter()
        .any(|(name, min)| long(&options, name, *min))
    {
        return Some("tar is told to run a program of its own");
    }
    // bsdtar's `--options` set format options, some of which name programs.
    if long(&options, "options", 1) {
        return Some("tar is given format options this reader does not follow");
    }
    // `-I PROG` (a compressor) and `-F SCRIPT` (an end-of-volume script), alone or in a
    // cluster, and the old style without a dash in the first word.
    let mut archives: Vec<&str> = Vec::new();
    for (n, w) in words.iter().enumerate() {
        let cluster = match w.strip_prefix('-') {
            Some(c) if !c.starts_with('-') => c,
            None if n == 0 => w,
            _ => continue,
        };
        for (at, c) in cluster.char_indices() {
            match c {
                'I' | 'F' => return Some("tar is told to run a program of its own (`-I`, `-F`)"),
                // `-f ARCHIVE`: the rest of the cluster, or the next word.
                'f' => {
                    let tail = cluster.get(at + 1..).unwrap_or_default();
                    if !tail.is_empty() && w.starts_with('-') {
                        archives.push(tail);
                    } else if let Some(next) = words.get(n + 1) {
                        archives.push(next);
                    }
                    break;
                }
                _ => {}
            }
        }
    }
    for o in &options {
        if let Some(rest) = o.strip_prefix("--")
            && let Some((given, value)) = rest.split_once('=')
            && given.len() >= 3
            && "file".starts_with(given)
        {
            archives.push(value);
        }
    }
    // An archive named `host:path` is reached over rsh, unless --force-local says otherwise.
    let remote = archives.iter().any(|a| {
        a.split_once(':')
            .is_some_and(|(host, _)| !host.is_empty() && !host.contains('/'))
    });
    if remote && !long(&options, "force-local", 3) {
        return Some("tar reaches an archive on another host (`host:path`)");
    }
    None
}

fn sqlite3(words: &[&str]) -> Option<&'static str> {
    // Options with one value, and with two; any other option must be one without a value.
    const ONE: &[&str] = &[
        "-cmd",
        "-separator",
        "-newline",
        "-nullvalue",
        "-vfs",
        "-mmap",
        "-maxsize",
        "-heap",
        "-nonce",
        "-threadsafe",
        "-screenwidth",
    ];
    const TWO: &[&str] = &["-lookaside", "-pagecache"];
    const FLAGS: &[&str] = &[
        "-readonly",
        "-bail",
        "-batch",
        "-header",
        "-noheader",
        "-column",
        "-csv",
        "-html",
        "-json",
        "-line",
        "-list",
        "-markdown",
        "-table",
        "-box",
        "-quote",
        "-tabs",
        "-ascii",
        "-echo",
        "-stats",
        "-memtrace",
        "-nofollow",
        "-safe",
        "-append",
        "-deserialize",
        "-interactive",
        "-version",
        "-help",
    ];
    let mut commands = Vec::new();
    let mut operands = Vec::new();
    let mut safe = false;
    let mut i = 0;
    while let Some(w) = words.get(i) {
        i += 1;
        // sqlite3 accepts `--opt` for `-opt`.
        let opt = w
            .strip_prefix('-')
            .map(|o| o.strip_prefix('-').unwrap_or(o));
        match opt {
            Some(o) if !o.is_empty() => {
                let dashed = format!("-{o}");
                if dashed == "-cmd" {
                    commands.push(words.get(i).copied()?);
                    i += 1;
                } else if ONE.contains(&dashed.as_str()) {
                    i += 1;
                } else if TWO.contains(&dashed.as_str()) {
                    i += 2;
                } else if dashed == "-safe" {
                    safe = true;
                } else if !FLAGS.contains(&dashed.as_str()) {
                    return Some("sqlite3 is given an option this reader does not know");
                }
            }
            _ => operands.push(*w),
        }
    }
    if safe {
        // `-safe` refuses dot-commands and functions that reach files or programs.
        return None;
    }
    // The first operand is the database; SQL follows. With none, commands come from
    // standard input, where a dot-command may run anything.
    if operands.len() < 2 {
        return Some("sqlite3 reads its commands from standard input");
    }
    let runs = |text: &str| {
        let lower = text.to_ascii_lowercase();
        let words = lower.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
        text.lines().any(|l| l.trim_start().starts_with('.'))
            || words.into_iter().any(|w| {
                matches!(
                    w,
                    "edit" | "writefile" | "load_extension" | "attach" | "vacuum"
                )
            })
    };
    commands
        .into_iter()
        .chain(operands.iter().skip(1).copied())
        .any(runs)
        .then_some("sqlite3 runs a dot-command or a function that reaches files or programs")
}
