//! What a shell command would do, as facts a policy can read: the programs it runs, the hosts
//! it reaches, the paths it writes, whether it sends local data to the network.
//!
//! The command is parsed by a real shell parser (`brush-parser`, the parser of the brush shell),
//! never matched with regular expressions. The design choice is that the analysis is an upper
//! bound, not a guess: wherever a command's meaning depends on something only known when it
//! runs — a variable or a command substitution as a program name, `eval`, `bash -c` with a
//! computed string, a script read from a pipe, a program that runs code (`python -c`), text
//! that does not parse — the facts say so with [`UNKNOWN`] in the set concerned and `opaque`
//! set. A policy that allow-lists (`["cat", "grep"].containsAll(programs)`,
//! `["lab.example"].containsAll(hosts)`) therefore denies what it cannot read, and one that
//! forbids on `opaque` refuses it outright. What a variable holds is never read (it may be set
//! by a `for` word, `read`, `printf -v`, `mapfile`…), so wherever bash would evaluate a value as
//! code the command is opaque: a parameter transformation (`${x@P}` expands it as a prompt, and
//! none of the `@` operators is assumed safer), and arithmetic on anything but integer literals
//! (`$((x))`, `$[x]`, `((x))`, `[[ x -eq 1 ]]`, an array subscript, a substring offset, `let`,
//! `declare -i`/`-n`), where a value such as `a[$(cmd)]` runs the command.
//!
//! The same bound holds for programs: only those on a built-in list of known-local programs
//! (`cat`, `grep`, `sort`, `cp`…, whose reads and writes the analysis models) count as local;
//! any other program (`setarch`, `prlimit`, `crontab`, `claude`, a compiled tool) may reach any
//! host and write anywhere, so it leaves [`UNKNOWN`] in `hosts` and `writes_paths`. A program
//! named by a path outside the system directories (`/cases/cat`, `./cat`) is kept as written,
//! and no name is case-folded, so a copy of a shell under a listed name is no listed program.
//! Forms bash reads as text but zsh or bash 5.3 run (`*(e:'cmd':)`, `${(e)…}`, `${ cmd; }`)
//! are opaque: an unquoted `(` in a word, and a `${` the parser cannot read. The options
//! of curl, wget, dig and host, and of the programs whose writes are recorded, are read as their
//! own parsers read them (short clusters with attached values, GNU long-option prefixes, `=`
//! where accepted); an option the reader does not know makes the destination unknown. A URL
//! whose host curl and the WHATWG parser would read differently names no host. A followed
//! redirect (`curl -L`; wget follows by default) reaches a host only the answer names, so the
//! hosts are unknown unless redirects are off (`--max-redirs 0`); each curl transfer
//! (`--next`) has its own. An option that connects elsewhere than the URL's host (a proxy, a
//! resolver, `--connect-to`, an `--alt-svc` or `--hsts` cache, a config file, `~/.curlrc`
//! unless `-q` comes first, `~/.wgetrc` unless `--no-config`) leaves the host unknown or names the host it reaches. A variable set
//! in a network program's environment may name its config file, proxy or resolver: its hosts
//! are unknown. A link (`ln`, `cp -s`/`-l`) writes what it points at, too; so does what a copy
//! that keeps links copies (`cp -P`/`-d`/`-a`/`-r` unless `-L`, `mv`, `rsync -a`/`-l`): an
//! existing link such as `/proc/self/root` copied as a link leads anywhere. A write below a
//! link that another command of the same script makes lands where the link leads, known only
//! when it runs: unknown. The destinations written into and what link-keeping copies copy are
//! named (`writes_into`, `links_copied`) for the hook, which resolves the links found there.
//!
//! What is followed: sequences, pipelines, `&&`/`||`, subshells, groups, `if`/`for`/`while`/
//! `case`, command and process substitutions (their commands count), `bash -c '…'`/`sh -c` and
//! `eval` with literal text (parsed in turn, to a bounded depth), wrappers that run another
//! program (`env`, `sudo`, `nohup`, `timeout`, `xargs`, `find -exec`, …), quoting (`c''url` is
//! `curl`), paths (`/usr/bin/curl` is `curl`), redirections (including `/dev/tcp/…`).
//!
//! The module is pure and bounded: no I/O, input longer than [`MAX_COMMAND`] or nested deeper
//! than [`MAX_DEPTH`] is opaque.

use std::collections::BTreeSet;

use brush_parser::ast::{
    AndOr, Assignment, AssignmentName, AssignmentValue, BinaryPredicate, Command,
    CommandPrefixOrSuffixItem, CompoundCommand, CompoundList, ExtendedTestExpr, IoFileRedirectKind,
    IoFileRedirectTarget, IoRedirect, Pipeline, SimpleCommand, UnaryPredicate, Word,
};
use brush_parser::word::{Parameter, ParameterExpr, WordPiece, WordPieceWithSource};
use brush_parser::{Parser, ParserOptions};

/// The member of `programs`, `hosts` or `writes_paths` that stands for "something warden could
/// not read": no real program, host name or path is spelt so.
pub const UNKNOWN: &str = "?";
/// Longer commands are not parsed: opaque.
pub const MAX_COMMAND: usize = 32 * 1024;
/// How deep `bash -c`, `eval` and substitutions may nest before the rest is opaque.
pub const MAX_DEPTH: usize = 6;

/// What a command would do, as far as can be read without running it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandFacts {
    /// Programs run, by name (`/usr/bin/curl` is `curl`; a path outside the system directories
    /// is kept as written: `/cases/cat` is not `cat`); [`UNKNOWN`] for one
    /// that is not known until the command runs.
    pub programs: BTreeSet<String>,
    /// Every literal argument of every program.
    pub args: BTreeSet<String>,
    /// Hosts a network program would reach, lower-cased; [`UNKNOWN`] where one is not literal.
    pub hosts: BTreeSet<String>,
    /// Paths written (redirections, `tee`, `cp`/`mv` targets, deletions, `-o` outputs…),
    /// absolute ones lexically normalised; [`UNKNOWN`] where one is not literal.
    pub writes_paths: BTreeSet<String>,
    /// A program that reaches the network runs (or may: an interpreter, an unknown program).
    pub network: bool,
    /// Local data goes to the network: a network program fed by a pipe, a redirection or an
    /// upload option (`curl -d @file`, `-T`, `--data-binary @-`, `wget --post-file`), or a write
    /// to `/dev/tcp/…`.
    pub pipes_to_network: bool,
    /// Something could not be read: the sets hold [`UNKNOWN`] and this says why.
    pub opaque: bool,
    /// Why the command is opaque, for the record and the denial.
    pub reasons: Vec<String>,
    /// Directories written into (a copy's, move's or link's destination), absolute and
    /// normalised: every existing entry below one may be written, through its links too, so
    /// the hook resolves the links it finds there. Each is also in `writes_paths`.
    pub writes_into: BTreeSet<String>,
    /// Paths copied or moved with their symbolic links kept (`cp -P`/`-a`/`-r`, `mv`): each
    /// link in them is made again where the copy lands, pointing where it points, so the hook
    /// judges where each leads. Each is also in `writes_paths`.
    pub links_copied: BTreeSet<String>,
    /// Where the command may make a link (absolute, normalised): a write below one, by another
    /// command of the same script, lands where that link leads, which nothing reads beforehand.
    links_made: BTreeSet<String>,
    /// A variable is set or exported for the commands after it: a network program among them
    /// may read its configuration, proxy or key log from it.
    env_changed: bool,
}

impl CommandFacts {
    /// Whether a write goes outside every one of `roots` (normalised absolute directories); a
    /// relative or unknown path is outside.
    pub fn writes_outside(&self, roots: &[String]) -> bool {
        self.writes_paths
            .iter()
            .any(|p| !roots.iter().any(|r| under(p, r)))
    }

    /// Adds where the command's literal write targets really land (through symbolic links, as
    /// resolved where the files are): each as a write of its own, normalised like the others;
    /// one that is not a clean absolute path (`?`: it could not be resolved) is unknown.
    pub fn add_real_writes(&mut self, real: &[String]) {
        for path in real {
            let p = normal_path(path);
            if p.starts_with('/') {
                self.writes_paths.insert(p);
            } else {
                self.writes_paths.insert(UNKNOWN.into());
            }
        }
    }

    fn unknown(&mut self, why: impl Into<String>) {
        self.opaque = true;
        self.programs.insert(UNKNOWN.into());
        self.hosts.insert(UNKNOWN.into());
        self.writes_paths.insert(UNKNOWN.into());
        self.network = true;
        self.pipes_to_network = true;
        let why = why.into();
        if !self.reasons.contains(&why) && self.reasons.len() < 8 {
            self.reasons.push(why);
        }
    }

    fn merge(&mut self, other: CommandFacts) {
        // One command's writes at or below a link another one makes land where the link
        // leads.
        let below = |paths: &BTreeSet<String>, links: &BTreeSet<String>| {
            paths.iter().any(|p| links.iter().any(|l| under(p, l)))
        };
        if below(&other.writes_paths, &self.links_made)
            || below(&self.writes_paths, &other.links_made)
        {
            self.writes_paths.insert(UNKNOWN.into());
            let why = "writes below a link the same command makes".to_string();
            if !self.reasons.contains(&why) && self.reasons.len() < 8 {
                self.reasons.push(why);
            }
        }
        self.writes_into.extend(other.writes_into);
        self.links_copied.extend(other.links_copied);
        self.links_made.extend(other.links_made);
        self.programs.extend(other.programs);
        self.args.extend(other.args);
        self.hosts.extend(other.hosts);
        self.writes_paths.extend(other.writes_paths);
        self.network |= other.network;
        self.pipes_to_network |= other.pipes_to_network;
        self.env_changed |= other.env_changed;
        self.opaque |= other.opaque;
        for r in other.reasons {
            if !self.reasons.contains(&r) && self.reasons.len() < 8 {
                self.reasons.push(r);
            }
        }
    }
}

/// Whether `path` is `root` or below it (both normalised absolute paths).
fn under(path: &str, root: &str) -> bool {
    let root = root.trim_end_matches('/');
    path.starts_with('/')
        && (root.is_empty()
            || path == root
            || path
                .strip_prefix(root)
                .is_some_and(|rest| rest.starts_with('/')))
}

/// The facts of `command`, a shell command line as Claude Code's `Bash` tool runs it.
pub fn analyse(command: &str) -> CommandFacts {
    let mut facts = CommandFacts::default();
    Walker { depth: 0 }.text(command, &mut facts);
    if facts.env_changed {
        environment_set(&mut facts);
    }
    facts
}

/// Programs that reach the network, and how their arguments name hosts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Net {
    /// curl: URLs, or bare host names; options read as curl reads them.
    Curl,
    /// wget: URLs; options read as GNU getopt reads them.
    Wget,
    /// dig, host, nslookup: every name is a query the name servers see, `@server` a server.
    Dns,
    /// `[user@]host[:path]` destinations (ssh, scp, rsync, sftp).
    Remote,
    /// The first operand is a host (nc, telnet, ping…).
    FirstOperand,
    /// socat's `TCP:host:port` addresses.
    Socat,
    /// Reaches the network, hosts not read from its arguments (mail, git, cloud CLIs, HTTP
    /// clients whose options and request items this reader does not follow).
    Opaque,
}

fn network_kind(program: &str) -> Option<Net> {
    Some(match program {
        "curl" => Net::Curl,
        "wget" => Net::Wget,
        "dig" | "nslookup" | "host" => Net::Dns,
        "ssh" | "scp" | "sftp" | "rsync" => Net::Remote,
        "nc" | "ncat" | "netcat" | "telnet" | "ping" | "ping6" | "ftp" | "tftp" | "traceroute"
        | "whois" | "smbclient" => Net::FirstOperand,
        "socat" => Net::Socat,
        "openssl" | "mail" | "mailx" | "sendmail" | "mutt" | "git" | "gh" | "aws" | "gcloud"
        | "az" | "kubectl" | "docker" | "pip" | "pip3" | "npm" | "npx" | "apt" | "apt-get"
        | "http" | "https" | "xh" | "aria2c" | "lftp" | "links" | "lynx" | "w3m" => Net::Opaque,
        _ => return None,
    })
}

/// Programs whose every effect the analysis models: they reach no network, run nothing they
/// are given, and write only what [`Walker::writes`] records (or nothing but standard output).
/// Every other program may reach any host and write anywhere: the default is the upper bound.
fn is_known_local(program: &str) -> bool {
    matches!(
        program,
        // Shell builtins that change nothing the analysis reads (`read`, `printf -v` and
        // `set -k` are checked in `run`).
        ":" | "true"
            | "false"
            | "test"
            | "["
            | "echo"
            | "printf"
            | "cd"
            | "pwd"
            | "exit"
            | "return"
            | "break"
            | "continue"
            | "shift"
            | "wait"
            | "jobs"
            | "bg"
            | "fg"
            | "disown"
            | "unset"
            | "umask"
            | "ulimit"
            | "times"
            | "set"
            | "type"
            | "which"
            | "help"
            | "command"
            | "let"
            | "read"
            | "mapfile"
            | "readarray"
            | "getopts"
            | "dirs"
            | "pushd"
            | "popd"
            // Readers: standard output only.
            | "cat"
            | "tac"
            | "nl"
            | "head"
            | "tail"
            | "grep"
            | "egrep"
            | "fgrep"
            | "zgrep"
            | "zegrep"
            | "zfgrep"
            | "zcat"
            | "bzcat"
            | "xzcat"
            | "wc"
            | "cut"
            | "tr"
            | "comm"
            | "join"
            | "paste"
            | "column"
            | "fold"
            | "fmt"
            | "rev"
            | "expand"
            | "unexpand"
            | "diff"
            | "cmp"
            | "cksum"
            | "sum"
            | "md5sum"
            | "sha1sum"
            | "sha224sum"
            | "sha256sum"
            | "sha384sum"
            | "sha512sum"
            | "b2sum"
            | "base32"
            | "basenc"
            | "od"
            | "hexdump"
            | "hd"
            | "strings"
            | "stat"
            | "ls"
            | "du"
            | "df"
            | "date"
            | "basename"
            | "dirname"
            | "realpath"
            | "readlink"
            | "whoami"
            | "id"
            | "groups"
            | "uname"
            | "seq"
            | "expr"
            | "sleep"
            | "yes"
            | "nproc"
            | "uptime"
            | "printenv"
            | "tty"
            | "numfmt"
            | "factor"
            | "jq"
            | "ps"
            | "pgrep"
            | "who"
            | "man"
            // Writers whose writes `writes` records.
            | "base64"
            | "file"
            | "tee"
            | "touch"
            | "mkdir"
            | "rm"
            | "rmdir"
            | "shred"
            | "unlink"
            | "truncate"
            | "mkfifo"
            | "cp"
            | "mv"
            | "install"
            | "ln"
            | "chmod"
            | "chown"
            | "chgrp"
            | "dd"
            | "sed"
            | "sort"
            | "uniq"
            | "split"
            | "tar"
            | "unzip"
            | "gzip"
            | "gunzip"
            | "zip"
            | "patch"
            | "sqlite3"
            | "tcpdump"
            // Followed by `run`: what they run is analysed in turn.
            | "find"
    )
}

/// Programs that run code given to them (which may do anything, the network included).
fn is_interpreter(program: &str) -> bool {
    matches!(
        program,
        "python"
            | "python2"
            | "python3"
            | "perl"
            | "ruby"
            | "node"
            | "nodejs"
            | "deno"
            | "bun"
            | "php"
            | "lua"
            | "pwsh"
            | "powershell"
            | "osascript"
            | "tclsh"
            | "expect"
            | "irb"
            | "jshell"
            | "R"
            | "rscript"
            // Programs that run a command given in their own syntax or options, or change how
            // the one they run reaches the network.
            | "awk"
            | "gawk"
            | "mawk"
            | "nawk"
            | "flock"
            | "script"
            | "su"
            | "runuser"
            | "pkexec"
            | "chroot"
            | "unshare"
            | "nsenter"
            | "firejail"
            | "bwrap"
            | "proxychains"
            | "proxychains4"
            | "torsocks"
            | "torify"
            | "systemd-run"
            | "toybox"
            | "vim"
            | "vi"
            | "nvim"
            | "ex"
            | "ed"
            | "red"
            | "emacs"
            | "gdb"
            | "make"
            | "parallel"
            | "at"
            | "batch"
            | "sg"
            | "newgrp"
            | "dbus-launch"
            | "ssh-agent"
    ) || program.starts_with("python3.")
}

fn is_shell(program: &str) -> bool {
    matches!(
        program,
        "sh" | "bash"
            | "dash"
            | "zsh"
            | "ksh"
            | "mksh"
            | "fish"
            | "csh"
            | "tcsh"
            | "ash"
            | "busybox"
    )
}

/// A word's text once the shell has removed quotes, if nothing in it is computed when the
/// command runs. Commands inside substitutions are analysed into `facts` either way.
#[derive(Clone)]
struct Literal {
    text: Option<String>,
    /// Unquoted glob or brace characters: the shell may expand the word into several.
    expands: bool,
}

struct Walker {
    depth: usize,
}

impl Walker {
    fn deeper(&self) -> Walker {
        Walker {
            depth: self.depth + 1,
        }
    }

    fn text(&self, command: &str, facts: &mut CommandFacts) {
        if command.len() > MAX_COMMAND {
            facts.unknown(format!("command longer than {MAX_COMMAND} bytes"));
            return;
        }
        if self.depth > MAX_DEPTH {
            facts.unknown("commands nested too deeply");
            return;
        }
        if command.contains('\0') {
            facts.unknown("command contains a NUL character");
            return;
        }
        let mut parser = Parser::new(
            std::io::Cursor::new(command.as_bytes()),
            &ParserOptions::default(),
        );
        match parser.parse_program() {
            Ok(program) => {
                for list in &program.complete_commands {
                    self.list(list, facts);
                }
            }
            Err(e) => facts.unknown(format!("does not parse as a shell command: {e}")),
        }
    }

    fn list(&self, list: &CompoundList, facts: &mut CommandFacts) {
        for item in &list.0 {
            let and_or = &item.0;
            self.pipeline(&and_or.first, facts);
            for next in &and_or.additional {
                match next {
                    AndOr::And(p) | AndOr::Or(p) => self.pipeline(p, facts),
                }
            }
        }
    }

    fn pipeline(&self, pipeline: &Pipeline, facts: &mut CommandFacts) {
        for (i, command) in pipeline.seq.iter().enumerate() {
            let mut one = CommandFacts::default();
            let fed = self.command(command, &mut one);
            // Data flows into this command from the one before it, or from a file.
            if (i > 0 || fed) && one.network {
                one.pipes_to_network = true;
            }
            facts.merge(one);
        }
    }

    /// Analyses one command into `facts`; whether its standard input is redirected from a
    /// file, a here-document or a here-string.
    fn command(&self, command: &Command, facts: &mut CommandFacts) -> bool {
        match command {
            Command::Simple(simple) => self.simple(simple, facts),
            Command::Compound(compound, redirects) => {
                let mut fed = false;
                if let Some(list) = redirects {
                    for r in &list.0 {
                        fed |= self.redirect(r, facts);
                    }
                }
                self.compound(compound, facts);
                fed
            }
            Command::Function(_) => {
                facts.unknown("defines a shell function");
                false
            }
            Command::ExtendedTest(test, _) => {
                let text = format!("{}", test.expr);
                if text.contains("$(") || text.contains('`') {
                    facts.unknown("a test runs a command substitution");
                }
                self.extended_test(&test.expr, facts);
                false
            }
        }
    }

    fn compound(&self, compound: &CompoundCommand, facts: &mut CommandFacts) {
        match compound {
            CompoundCommand::BraceGroup(g) => self.list(&g.list, facts),
            CompoundCommand::Subshell(s) => self.list(&s.list, facts),
            CompoundCommand::ForClause(f) => {
                if dangerous_variable(&f.variable_name) {
                    facts.unknown(
                        "sets a variable that changes which program runs or what it loads",
                    );
                }
                for w in f.values.iter().flatten() {
                    self.word(w, facts);
                }
                self.list(&f.body.list, facts);
            }
            CompoundCommand::IfClause(i) => {
                self.list(&i.condition, facts);
                self.list(&i.then, facts);
                for e in i.elses.iter().flatten() {
                    if let Some(c) = &e.condition {
                        self.list(c, facts);
                    }
                    self.list(&e.body, facts);
                }
            }
            CompoundCommand::WhileClause(w) | CompoundCommand::UntilClause(w) => {
                self.list(&w.0, facts);
                self.list(&w.1.list, facts);
            }
            CompoundCommand::CaseClause(c) => {
                self.word(&c.value, facts);
                for item in &c.cases {
                    // Patterns are expanded too: `$(cmd)`, `${x@P}`.
                    for pattern in &item.patterns {
                        self.word(pattern, facts);
                    }
                    if let Some(list) = &item.cmd {
                        self.list(list, facts);
                    }
                }
            }
            CompoundCommand::ArithmeticForClause(f) => {
                for expr in [&f.initializer, &f.condition, &f.updater]
                    .into_iter()
                    .flatten()
                {
                    arithmetic(&expr.value, facts);
                }
                self.list(&f.body.list, facts);
            }
            CompoundCommand::Arithmetic(a) => arithmetic(&a.expr.value, facts),
            CompoundCommand::Coprocess(_) => facts.unknown("starts a coprocess"),
        }
    }

    /// The literal text of `word`; commands in its substitutions are analysed into `facts`.
    fn word(&self, word: &Word, facts: &mut CommandFacts) -> Literal {
        match brush_parser::word::parse(&word.value, &ParserOptions::default()) {
            Ok(pieces) => {
                let mut text = Some(String::new());
                let mut expands = false;
                self.pieces(&pieces, false, &mut text, &mut expands, facts);
                Literal { text, expands }
            }
            Err(_) => {
                facts.unknown("a word does not parse");
                Literal {
                    text: None,
                    expands: false,
                }
            }
        }
    }

    fn pieces(
        &self,
        pieces: &[WordPieceWithSource],
        quoted: bool,
        text: &mut Option<String>,
        expands: &mut bool,
        facts: &mut CommandFacts,
    ) {
        // Whether the piece before ended in a `$` the parser kept as text.
        let mut bare_dollar = false;
        for piece in pieces {
            let after_dollar = std::mem::take(&mut bare_dollar);
            match &piece.piece {
                WordPiece::Text(s) => {
                    // Globs, braces, and extglob's `@(…)`, `+(…)`, `!(…)` where it is on.
                    if !quoted && s.contains(['*', '?', '[', '{', '}', '(', ')']) {
                        *expands = true;
                    }
                    // An unquoted `(` in a word is a pattern: extglob's `*(…)` in bash, and in
                    // zsh (which Claude Code's Bash tool runs where it finds no bash) a group or
                    // a glob qualifier that runs code: `*(e:'cmd':)`, `*(+cmd)`. Bash without
                    // extglob refuses it, so nothing legitimate is lost.
                    if !quoted && s.contains(['(', ')']) {
                        facts.unknown("a parenthesis in a word is a pattern that may run code");
                    }
                    // The parser keeps the `$` of a `${…}` it cannot read as text, and what
                    // follows as more text; bash 5.3 runs the list in `${ cmd; }` and
                    // `${| cmd; }`, and zsh's `${(e)…}` evaluates. An unread `${` is no
                    // literal.
                    if s.contains("${") || (after_dollar && s.starts_with('{')) {
                        facts.unknown("a `${` the analysis cannot read may run a command");
                    }
                    bare_dollar = s.ends_with('$');
                    if let Some(t) = text.as_mut() {
                        t.push_str(s);
                    }
                }
                WordPiece::SingleQuotedText(s) => {
                    if let Some(t) = text.as_mut() {
                        t.push_str(s);
                    }
                }
                WordPiece::EscapeSequence(s) => {
                    let escaped = s.strip_prefix('\\').unwrap_or(s);
                    // A backslash-newline is a line continuation: it disappears.
                    if let Some(t) = text.as_mut()
                        && escaped != "\n"
                    {
                        t.push_str(escaped);
                    }
                }
                WordPiece::DoubleQuotedSequence(inner)
                | WordPiece::GettextDoubleQuotedSequence(inner) => {
                    self.pieces(inner, true, text, expands, facts);
                }
                WordPiece::CommandSubstitution(inner)
                | WordPiece::BackquotedCommandSubstitution(inner) => {
                    self.deeper().text(inner, facts);
                    *text = None;
                }
                // `$((…))` and `$[…]`.
                WordPiece::ArithmeticExpression(expr) => {
                    arithmetic(&expr.value, facts);
                    *text = None;
                }
                WordPiece::ParameterExpansion(expr) => {
                    self.parameter(expr, facts);
                    *text = None;
                }
                // `$'\x63url'`, `~`, `$X`: known only when the command runs.
                WordPiece::AnsiCQuotedText(_) | WordPiece::TildeExpansion(_) => *text = None,
            }
        }
    }

    /// `${…}`. `${X:-$(cmd)}`, `${a[$(cmd)]}` run a command; `${!X}` expands a name the
    /// variable holds, whose subscript the shell evaluates. A transformation (`${x@P}` expands
    /// the value as a prompt, running the `$(…)` in it; the others are no safer to assume) and
    /// arithmetic on anything but integer literals (an indexed array's subscript, a substring's
    /// offset and length) evaluate what a variable holds, which may be code the analysis never
    /// saw: a variable may be set by a `for` word, `read`, `printf -v`, `mapfile`…
    fn parameter(&self, expr: &ParameterExpr, facts: &mut CommandFacts) {
        // The expression's words are kept as source text (its `Debug` shows them).
        let source = format!("{expr:?}");
        if runs_if_evaluated(&source) {
            facts.unknown("a parameter expansion runs a command or an indirect name");
        }
        type P = ParameterExpr;
        let (parameter, indirect, nested): (Option<&Parameter>, bool, Vec<&str>) = match expr {
            P::Parameter {
                parameter,
                indirect,
            }
            | P::ParameterLength {
                parameter,
                indirect,
            } => (Some(parameter), *indirect, Vec::new()),
            P::UseDefaultValues {
                parameter,
                indirect,
                default_value: value,
                ..
            }
            | P::AssignDefaultValues {
                parameter,
                indirect,
                default_value: value,
                ..
            }
            | P::IndicateErrorIfNullOrUnset {
                parameter,
                indirect,
                error_message: value,
                ..
            }
            | P::UseAlternativeValue {
                parameter,
                indirect,
                alternative_value: value,
                ..
            }
            | P::RemoveSmallestSuffixPattern {
                parameter,
                indirect,
                pattern: value,
            }
            | P::RemoveLargestSuffixPattern {
                parameter,
                indirect,
                pattern: value,
            }
            | P::RemoveSmallestPrefixPattern {
                parameter,
                indirect,
                pattern: value,
            }
            | P::RemoveLargestPrefixPattern {
                parameter,
                indirect,
                pattern: value,
            }
            | P::UppercaseFirstChar {
                parameter,
                indirect,
                pattern: value,
            }
            | P::UppercasePattern {
                parameter,
                indirect,
                pattern: value,
            }
            | P::LowercaseFirstChar {
                parameter,
                indirect,
                pattern: value,
            }
            | P::LowercasePattern {
                parameter,
                indirect,
                pattern: value,
            } => (
                Some(parameter),
                *indirect,
                value.as_deref().into_iter().collect(),
            ),
            P::ReplaceSubstring {
                parameter,
                indirect,
                pattern,
                replacement,
                ..
            } => {
                let mut nested = vec![pattern.as_str()];
                nested.extend(replacement.as_deref());
                (Some(parameter), *indirect, nested)
            }
            P::Substring {
                parameter,
                indirect,
                offset,
                length,
            } => {
                arithmetic(&offset.value, facts);
                if let Some(length) = length {
                    arithmetic(&length.value, facts);
                }
                (Some(parameter), *indirect, Vec::new())
            }
            P::Transform { .. } => {
                facts.unknown(
                    "a parameter transformation (`${x@P}`…) may run what the variable holds",
                );
                (None, false, Vec::new())
            }
            P::VariableNames { .. } | P::MemberKeys { .. } => (None, false, Vec::new()),
        };
        if indirect {
            facts.unknown("a parameter expansion runs a command or an indirect name");
        }
        if let Some(Parameter::NamedWithIndex { index, .. }) = parameter {
            arithmetic(index, facts);
        }
        for text in nested {
            self.nested(text, facts);
        }
    }

    /// Text the shell expands as a double-quoted word (an expansion's default or pattern, a
    /// here-document's body): its expansions are read as any word's are.
    fn nested(&self, text: &str, facts: &mut CommandFacts) {
        if !text.contains(['$', '`']) {
            return;
        }
        if self.depth > MAX_DEPTH {
            facts.unknown("commands nested too deeply");
            return;
        }
        match brush_parser::word::parse(text, &ParserOptions::default()) {
            Ok(pieces) => {
                let mut ignored: Option<String> = None;
                let mut expands = false;
                self.deeper()
                    .pieces(&pieces, true, &mut ignored, &mut expands, facts);
            }
            Err(_) => facts.unknown("an expansion does not parse"),
        }
    }

    /// `[[ … ]]`: its words are expanded; `-eq` and the like evaluate both sides as arithmetic,
    /// `-v` a name whose subscript is arithmetic.
    fn extended_test(&self, expr: &ExtendedTestExpr, facts: &mut CommandFacts) {
        match expr {
            ExtendedTestExpr::And(a, b) | ExtendedTestExpr::Or(a, b) => {
                self.extended_test(a, facts);
                self.extended_test(b, facts);
            }
            ExtendedTestExpr::Not(e) | ExtendedTestExpr::Parenthesized(e) => {
                self.extended_test(e, facts);
            }
            ExtendedTestExpr::UnaryTest(predicate, w) => {
                let lit = self.word(w, facts);
                if matches!(
                    predicate,
                    UnaryPredicate::ShellVariableIsSetAndAssigned
                        | UnaryPredicate::ShellVariableIsSetAndNameRef
                ) {
                    variable_name(lit.text.as_deref(), facts);
                }
            }
            ExtendedTestExpr::BinaryTest(predicate, left_word, right_word) => {
                let left = self.word(left_word, facts);
                let right = if matches!(
                    predicate,
                    BinaryPredicate::StringMatchesRegex | BinaryPredicate::StringContainsSubstring
                ) {
                    // A regular expression is not a shell word (`^(a|b)$`); only the
                    // expansions in it matter.
                    self.nested(&right_word.value, facts);
                    Literal {
                        text: None,
                        expands: false,
                    }
                } else {
                    self.word(right_word, facts)
                };
                if matches!(
                    predicate,
                    BinaryPredicate::ArithmeticEqualTo
                        | BinaryPredicate::ArithmeticNotEqualTo
                        | BinaryPredicate::ArithmeticLessThan
                        | BinaryPredicate::ArithmeticLessThanOrEqualTo
                        | BinaryPredicate::ArithmeticGreaterThan
                        | BinaryPredicate::ArithmeticGreaterThanOrEqualTo
                ) {
                    for (side, word) in [(left, left_word), (right, right_word)] {
                        match side.text {
                            Some(t) => arithmetic(&t, facts),
                            None if plain_arithmetic(word.value.trim_matches('"')) => {}
                            None => facts.unknown(ARITHMETIC_ON_A_VALUE),
                        }
                    }
                }
            }
        }
    }

    /// Analyses a redirection; whether it feeds the command's standard input.
    fn redirect(&self, redirect: &IoRedirect, facts: &mut CommandFacts) -> bool {
        match redirect {
            IoRedirect::File(fd, kind, target) => {
                let writes = matches!(
                    kind,
                    IoFileRedirectKind::Write
                        | IoFileRedirectKind::Append
                        | IoFileRedirectKind::Clobber
                        | IoFileRedirectKind::ReadAndWrite
                        | IoFileRedirectKind::DuplicateOutput
                );
                match target {
                    IoFileRedirectTarget::Filename(w) | IoFileRedirectTarget::Duplicate(w) => {
                        let lit = self.word(w, facts);
                        // `>&2`, `2>&1`, `<&-`: descriptors, not files.
                        let is_fd = matches!(
                            kind,
                            IoFileRedirectKind::DuplicateOutput
                                | IoFileRedirectKind::DuplicateInput
                        ) && lit
                            .text
                            .as_deref()
                            .is_some_and(|t| t == "-" || t.chars().all(|c| c.is_ascii_digit()));
                        if is_fd {
                            return false;
                        }
                        self.device(lit.text.as_deref(), facts);
                        if writes {
                            add_path(&mut facts.writes_paths, &lit);
                        }
                        matches!(
                            kind,
                            IoFileRedirectKind::Read | IoFileRedirectKind::ReadAndWrite
                        ) && fd.is_none_or(|fd| fd == 0)
                    }
                    IoFileRedirectTarget::Fd(_) => false,
                    IoFileRedirectTarget::ProcessSubstitution(_, sub) => {
                        self.deeper().list(&sub.list, facts);
                        matches!(kind, IoFileRedirectKind::Read)
                    }
                }
            }
            IoRedirect::HereDocument(_, doc) => {
                if doc.requires_expansion {
                    let body = &doc.doc.value;
                    if body.contains("$(") || body.contains('`') {
                        facts.unknown("a here-document runs a command substitution");
                    }
                    // The body expands as double-quoted text does, its `"` being plain.
                    self.nested(&format!("\"{}\"", body.replace('"', "\\\"")), facts);
                }
                true
            }
            IoRedirect::HereString(_, w) => {
                self.word(w, facts);
                true
            }
            IoRedirect::OutputAndError(w, _) => {
                let lit = self.word(w, facts);
                self.device(lit.text.as_deref(), facts);
                add_path(&mut facts.writes_paths, &lit);
                false
            }
        }
    }

    /// `/dev/tcp/<host>/<port>` and `/dev/udp/…`: bash opens a socket.
    fn device(&self, path: Option<&str>, facts: &mut CommandFacts) {
        let Some(path) = path else { return };
        for prefix in ["/dev/tcp/", "/dev/udp/"] {
            if let Some(rest) = path.strip_prefix(prefix) {
                facts.network = true;
                facts.pipes_to_network = true;
                let host = rest.split('/').next().unwrap_or_default();
                facts.hosts.insert(clean_host(host));
            }
        }
    }

    fn assignment(&self, a: &Assignment, facts: &mut CommandFacts) -> Option<String> {
        // A value that runs a command when arithmetic later evaluates it
        // (`X='a[$(curl …)]'; echo $((X))`).
        let kept = |lit: Literal, facts: &mut CommandFacts| {
            if lit.text.as_deref().is_some_and(runs_if_evaluated) {
                facts.unknown("a variable holds a command that arithmetic would run");
            }
        };
        match &a.value {
            AssignmentValue::Scalar(w) => {
                let lit = self.word(w, facts);
                kept(lit, facts);
            }
            AssignmentValue::Array(items) => {
                for (k, v) in items {
                    if let Some(k) = k {
                        // `a=([k]=v)`: an indexed array's key is arithmetic.
                        let lit = self.word(k, facts);
                        match &lit.text {
                            Some(t) => arithmetic(t, facts),
                            None => facts.unknown(ARITHMETIC_ON_A_VALUE),
                        }
                        kept(lit, facts);
                    }
                    let lit = self.word(v, facts);
                    kept(lit, facts);
                }
            }
        }
        if runs_if_evaluated(&format!("{}", a.name)) {
            facts.unknown("an assignment's subscript runs a command");
        }
        if let AssignmentName::ArrayElementName(_, index) = &a.name {
            arithmetic(index, facts);
        }
        Some(format!("{}", a.name))
    }

    /// One simple command: assignments, redirections, the program and its arguments.
    fn simple(&self, simple: &SimpleCommand, facts: &mut CommandFacts) -> bool {
        let mut fed = false;
        // The redirections' writes, merged last: a command substitution in the words may
        // make a link they write below.
        let mut redirected = CommandFacts::default();
        let mut words: Vec<Literal> = Vec::new();
        let mut assigned: Vec<String> = Vec::new();
        let items = simple
            .prefix
            .iter()
            .flat_map(|p| p.0.iter())
            .map(Some)
            .chain(std::iter::once(None))
            .chain(simple.suffix.iter().flat_map(|s| s.0.iter()).map(Some));
        for item in items {
            match item {
                None => {
                    if let Some(w) = &simple.word_or_name {
                        words.push(self.word(w, facts));
                    }
                }
                Some(CommandPrefixOrSuffixItem::IoRedirect(r)) => {
                    // Each on its own, merged in order: bash runs them left to right, so a
                    // link one makes (`<<< "$(ln -s …)"`) is there for the next one's write.
                    let mut one = CommandFacts::default();
                    fed |= self.redirect(r, &mut one);
                    redirected.merge(one);
                }
                Some(CommandPrefixOrSuffixItem::Word(w)) => words.push(self.word(w, facts)),
                Some(CommandPrefixOrSuffixItem::AssignmentWord(a, w)) => {
                    // Before the program an assignment sets its environment; after it
                    // (`declare X=1`) it is an argument.
                    if words.is_empty() {
                        if let Some(name) = self.assignment(a, facts) {
                            assigned.push(name);
                        }
                    } else {
                        words.push(self.word(w, facts));
                    }
                }
                Some(CommandPrefixOrSuffixItem::ProcessSubstitution(kind, sub)) => {
                    self.deeper().list(&sub.list, facts);
                    if matches!(kind, brush_parser::ast::ProcessSubstitutionKind::Read) {
                        fed = true;
                    }
                    words.push(Literal {
                        text: None,
                        expands: false,
                    });
                }
            }
        }
        // A prefix assignment changes the command it precedes; a bare one changes every later
        // command of the shell (`http_proxy=…; export http_proxy; curl …`, `PATH=/tmp; curl`).
        if assigned.iter().any(|n| dangerous_variable(n)) {
            facts.unknown("sets a variable that changes which program runs or what it loads");
        }
        let mut ran = CommandFacts::default();
        self.run(&words, &mut ran);
        if !assigned.is_empty() {
            if words.is_empty() {
                // `NAME=value;` changes the environment of later commands when NAME is
                // exported (inherited, or by `export` later).
                ran.env_changed = true;
            } else {
                environment_set(&mut ran);
            }
        }
        facts.merge(ran);
        facts.merge(redirected);
        fed
    }

    /// `words` run as a command: the program is the first.
    fn run(&self, words: &[Literal], facts: &mut CommandFacts) {
        let Some((first, rest)) = words.split_first() else {
            return;
        };
        let program = match (&first.text, first.expands) {
            (Some(text), false) if !text.is_empty() => program_name(text),
            _ => {
                facts.unknown("the program to run is not known until the command runs");
                return;
            }
        };
        // No program is named `-x` or `--`: a word like that in a program's place is an option
        // a wrapper's or a shell's reading did not expect (`sh -c -x '…'` runs the `'…'`), so
        // what really runs is not the word read here.
        if program.starts_with('-') {
            facts.unknown("an option stands where the program to run should be");
            return;
        }
        facts.programs.insert(program.clone());
        for w in rest {
            if let Some(t) = &w.text {
                facts.args.insert(t.clone());
            }
        }
        // A word the shell expands becomes several words, options among them: braces
        // (`find {-exec,sh,-c,…}`, `cp {-t,/etc} x`), or a glob that a file the agent named
        // matches (`sort *` beside a file `--compress-program=sh`). Nothing read below sees
        // those words: opaque. Only a glob under a path cannot become an option.
        if rest.iter().any(|w| may_become_options(w, &program)) {
            facts.unknown("a word the shell expands may become options of the program");
        }
        if self.depth > MAX_DEPTH {
            facts.unknown("commands nested too deeply");
            return;
        }
        if let Some(why) = hidden::runs_hidden(&program, rest) {
            facts.unknown(why);
        }
        // Builtins that take variable names or arithmetic evaluate an array subscript, which
        // runs the command substitutions in it even when the word was quoted:
        // `let 'a[$(curl …)]=1'`, `declare`, `read`, `printf -v`, `unset`, `test -v`.
        if evaluates_subscripts(&program)
            && rest
                .iter()
                .any(|w| w.text.as_deref().is_some_and(runs_if_evaluated))
        {
            facts.unknown("a builtin evaluates a subscript that runs a command");
        }
        self.evaluated_names(&program, rest, facts);
        match program.as_str() {
            // Wrappers: the program they run follows their own options.
            // `env -S 'curl …'` splits its value into a command of its own.
            "env"
                if rest.iter().any(|w| {
                    w.text.as_deref().is_none_or(|t| {
                        // `-S`, alone or after the flags that take no value (`-ivS…`).
                        let cluster = t
                            .strip_prefix('-')
                            .filter(|c| !c.starts_with('-'))
                            .map(|c| c.trim_start_matches(['i', '0', 'v']));
                        cluster.is_some_and(|c| c.starts_with('S'))
                            || hidden::abbreviates(t, "split-string", 1)
                    })
                }) =>
            {
                facts.unknown("`env -S` runs a command split from one argument");
            }
            "env" => self.wrapped(rest, &["-u", "--unset", "-C", "--chdir"], true, facts),
            // `sudo -e` runs an editor on its operands; `-s`/`-i` with no command, a shell
            // reading its standard input.
            "sudo" | "doas" if sudo_runs_unseen(rest) => {
                facts.unknown("sudo runs a shell or an editor of its own");
            }
            "sudo" | "doas" => self.wrapped(
                rest,
                &[
                    "-u",
                    "-g",
                    "-C",
                    "-D",
                    "-h",
                    "-p",
                    "-r",
                    "-t",
                    "-U",
                    "-T",
                    "-R",
                    "-c",
                    "--user",
                    "--group",
                    "--host",
                    "--prompt",
                    "--role",
                    "--type",
                    "--other-user",
                    "--command-timeout",
                    "--chdir",
                    "--chroot",
                    "--close-from",
                ],
                false,
                facts,
            ),
            // Each wrapper with the options that take a value as its own parser reads them: a
            // flag read as taking a value would swallow the program (`exec -c sh -c '…'`).
            "nohup" | "setsid" | "builtin" | "unbuffer" => {
                self.wrapped(rest, &[], false, facts);
            }
            "exec" => self.wrapped(rest, &["-a"], false, facts),
            "nice" => self.wrapped(rest, &["-n", "--adjustment"], false, facts),
            "stdbuf" => self.wrapped(
                rest,
                &["-i", "-o", "-e", "--input", "--output", "--error"],
                false,
                facts,
            ),
            "ionice" => self.wrapped(
                rest,
                &["-c", "-n", "-p", "-P", "-u", "--class", "--classdata"],
                false,
                facts,
            ),
            // GNU time writes its report to `-o FILE`.
            "time" => {
                let skip = skip_options(rest, &["-f", "--format", "-o", "--output"]);
                for (at, w) in rest.iter().enumerate().take(skip) {
                    if matches!(w.text.as_deref(), Some("-o" | "--output"))
                        && let Some(file) = rest.get(at + 1)
                    {
                        add_path(&mut facts.writes_paths, file);
                    } else if w.text.as_deref().is_none_or(|t| {
                        t.starts_with("--output=") || (t.starts_with("-o") && t.len() > 2)
                    }) {
                        facts.writes_paths.insert(UNKNOWN.into());
                    }
                }
                self.wrapped(rest, &["-f", "--format", "-o", "--output"], false, facts);
            }
            // Both write their trace to `-o FILE`; `-p PID` traces a process already running.
            "strace" | "ltrace" => {
                let takes = [
                    "-a", "-b", "-e", "-E", "-I", "-n", "-o", "-O", "-p", "-P", "-s", "-S", "-u",
                    "-U", "-X", "-D", "-F",
                ];
                let skip = skip_options(rest, &takes);
                if rest.iter().take(skip).any(|w| {
                    w.text.as_deref().is_none_or(|t| {
                        !t.starts_with("--") && t.starts_with('-') && t.contains('o')
                    })
                }) {
                    facts.writes_paths.insert(UNKNOWN.into());
                }
                self.wrapped(rest, &takes, false, facts);
            }
            // A CPU mask or a priority comes before the command: `taskset 1 curl …`.
            "taskset" | "chrt" => {
                let skip = skip_options(rest, &["-p"]);
                self.run(rest.get(skip + 1..).unwrap_or_default(), facts);
            }
            "caffeinate" => self.wrapped(rest, &["-t", "-w"], false, facts),
            // `command -v x` only looks a name up.
            // `command -v x` only looks a name up; a `-v` after the name is the program's own
            // (`command bash -c -v '…'` runs bash).
            "command"
                if !rest.iter().take(skip_options(rest, &[])).any(|w| {
                    w.text.as_deref().is_some_and(|t| {
                        !t.starts_with("--") && (t.contains('v') || t.contains('V'))
                    })
                }) =>
            {
                self.wrapped(rest, &[], false, facts);
            }
            "timeout" => {
                // timeout [options] DURATION COMMAND…
                let skip = skip_options(rest, &["-s", "--signal", "-k", "--kill-after"]);
                self.run(rest.get(skip + 1..).unwrap_or_default(), facts);
            }
            "xargs" => {
                let skip = skip_options(
                    rest,
                    &[
                        // `-i`, `-e` and `-l` take a value only attached (`-i{}`).
                        "-I",
                        "-n",
                        "-P",
                        "-d",
                        "-a",
                        "-L",
                        "-s",
                        "-E",
                        "--delimiter",
                        "--arg-file",
                        "--max-args",
                        "--max-procs",
                        "--max-chars",
                        "--process-slot-var",
                    ],
                );
                let inner = rest.get(skip..).unwrap_or_default();
                if inner.is_empty() {
                    // xargs runs `echo` by default.
                    facts.programs.insert("echo".into());
                } else {
                    // Its arguments come from standard input: unknown.
                    let mut sub = CommandFacts::default();
                    self.run(inner, &mut sub);
                    if sub.network {
                        sub.hosts.insert(UNKNOWN.into());
                        sub.pipes_to_network = true;
                    }
                    if !sub.writes_paths.is_empty() {
                        sub.writes_paths.insert(UNKNOWN.into());
                    }
                    facts.merge(sub);
                }
            }
            "find" => {
                let mut i = 0;
                while let Some(w) = rest.get(i) {
                    let is_exec = matches!(
                        w.text.as_deref(),
                        Some("-exec" | "-execdir" | "-ok" | "-okdir")
                    );
                    if is_exec {
                        // As find reads it: `;` ends the command; `+` only right after `{}`
                        // (any other `+` is an argument). With no end, find refuses the
                        // line, but what it would have run is not known: the longer command.
                        let start = i + 1;
                        let end = (start..rest.len()).find(|&j| {
                            match rest.get(j).and_then(|w| w.text.as_deref()) {
                                Some(";") => true,
                                Some("+") => {
                                    j > start
                                        && rest
                                            .get(j - 1)
                                            .is_some_and(|w| w.text.as_deref() == Some("{}"))
                                }
                                _ => false,
                            }
                        });
                        if end.is_none() {
                            facts.unknown("find's `-exec` has no end");
                        }
                        let end = end.unwrap_or(rest.len());
                        let mut ran = CommandFacts::default();
                        self.run(rest.get(start..end).unwrap_or_default(), &mut ran);
                        facts.merge(ran);
                        i = end;
                    }
                    if matches!(
                        w.text.as_deref(),
                        Some("-delete" | "-fprint" | "-fprint0" | "-fprintf" | "-fls")
                    ) {
                        facts.writes_paths.insert(UNKNOWN.into());
                    }
                    i += 1;
                }
            }
            // eval takes no option but ends its options at `--`.
            "eval" => match literal_join(match rest.first().and_then(|w| w.text.as_deref()) {
                Some("--") => rest.get(1..).unwrap_or_default(),
                _ => rest,
            }) {
                Some(text) => self.deeper().text(&text, facts),
                None => facts.unknown("`eval` of text not known until the command runs"),
            },
            "source" | "." => facts.unknown("runs a script file"),
            // `export http_proxy=…` changes what later commands do, as an assignment does.
            "export" | "declare" | "typeset" | "readonly" | "local" => {
                facts.env_changed |= !rest.is_empty();
                let dangerous = rest.iter().any(|w| match &w.text {
                    Some(t) => t
                        .split_once('=')
                        .is_some_and(|(name, _)| dangerous_variable(name)),
                    None => true,
                });
                if dangerous {
                    facts.unknown("sets a variable that changes what later commands do");
                }
            }
            "alias" | "trap" | "enable" | "hash" => {
                facts.unknown(format!("`{program}` changes what later commands run"));
            }
            // watch runs its operands through `sh -c`, or with `-x` (`--exec`) as a command of
            // their own; only `-n` and `-q` take a value (`-d` only attached: `-d=permanent`).
            "watch" => {
                let takes = ["-n", "--interval", "-q", "--equexit"];
                let skip = skip_options(rest, &takes);
                let exec = rest.iter().take(skip).any(|w| {
                    w.text.as_deref().is_none_or(|t| {
                        t == "--exec"
                            || (!t.starts_with("--") && t.starts_with('-') && t.contains('x'))
                    })
                });
                let operands = rest.get(skip..).unwrap_or_default();
                if exec {
                    self.wrapped(rest, &takes, false, facts);
                } else {
                    match literal_join(operands) {
                        Some(text) => self.deeper().text(&text, facts),
                        None => facts.unknown("`watch` of a command not known until it runs"),
                    }
                }
            }
            p if is_shell(p) => self.shell(p, rest, facts),
            p if is_interpreter(p) => {
                // Code the interpreter runs may reach any host.
                facts.network = true;
                facts.hosts.insert(UNKNOWN.into());
                facts.writes_paths.insert(UNKNOWN.into());
            }
            // Builtins that set variables by name: `read PATH`, `printf -v PATH`, and `set -k`,
            // which makes `NAME=value` after a program its environment.
            "read" | "mapfile" | "readarray" | "getopts"
                if rest
                    .iter()
                    .any(|w| w.text.as_deref().is_none_or(dangerous_variable)) =>
            {
                facts.unknown("sets a variable that changes which program runs or what it loads");
            }
            "printf" if printf_sets_dangerous(rest) => {
                facts.unknown("sets a variable that changes which program runs or what it loads");
            }
            "set"
                if rest.iter().any(|w| {
                    w.text.as_deref().is_none_or(|t| {
                        t == "keyword"
                            || ((t.starts_with('-') || t.starts_with('+'))
                                && !t.starts_with("--")
                                && t.contains('k'))
                    })
                }) =>
            {
                facts.unknown("`set -k` makes later assignments a program's environment");
            }
            "install"
                if rest
                    .iter()
                    // `--strip` is an option of its own; `--strip-` on names the program.
                    .any(|w| {
                        w.text
                            .as_deref()
                            .is_none_or(|t| hidden::abbreviates(t, "strip-program", 6))
                    }) =>
            {
                facts.unknown("install runs a strip program named in its options");
            }
            p if network_kind(p).is_some() || is_known_local(p) => {}
            // A program the analysis does not model (a wrapper such as `setarch` or `prlimit`
            // that runs the rest of its line, a shell not listed, a scheduler, a compiled
            // tool): it may reach any host and write anywhere.
            _ => {
                facts.network = true;
                facts.hosts.insert(UNKNOWN.into());
                facts.writes_paths.insert(UNKNOWN.into());
            }
        }
        if let Some(kind) = network_kind(&program) {
            self.network(&program, kind, rest, facts);
        }
        self.writes(&program, rest, facts);
    }

    /// The builtins that evaluate their words as arithmetic (`let`) or as variable names whose
    /// subscripts are arithmetic, and the attributes that make every later assignment
    /// arithmetic (`declare -i`) or a name evaluated at each use (`declare -n`).
    fn evaluated_names(&self, program: &str, rest: &[Literal], facts: &mut CommandFacts) {
        match program {
            "let" => {
                for w in rest {
                    match &w.text {
                        Some(t) => arithmetic(t, facts),
                        None => facts.unknown(ARITHMETIC_ON_A_VALUE),
                    }
                }
            }
            "test" | "[" => {
                let mut words = rest.iter();
                while let Some(w) = words.next() {
                    if w.text.as_deref() == Some("-v") {
                        variable_name(words.next().and_then(|w| w.text.as_deref()), facts);
                    }
                }
            }
            "printf" => {
                let mut words = rest.iter();
                if let Some(first) = words.next() {
                    match first.text.as_deref() {
                        Some("-v") => {
                            variable_name(words.next().and_then(|w| w.text.as_deref()), facts);
                        }
                        Some(t) if t.starts_with("-v") => {
                            variable_name(t.strip_prefix("-v"), facts);
                        }
                        _ => {}
                    }
                }
            }
            "declare" | "typeset" | "local" | "export" | "readonly" | "read" | "mapfile"
            | "readarray" | "getopts" | "unset" | "wait" => {
                for w in rest {
                    let attributes = w.text.as_deref().and_then(|t| {
                        t.strip_prefix('-')
                            .or_else(|| t.strip_prefix('+'))
                            .filter(|a| !a.starts_with('-'))
                    });
                    match attributes {
                        Some(a)
                            if matches!(program, "declare" | "typeset" | "local")
                                && a.contains(['i', 'n']) =>
                        {
                            facts.unknown(
                                "an integer or reference attribute evaluates what a variable holds",
                            );
                        }
                        // `mapfile -C CALLBACK` evaluates the callback as a command.
                        Some(a)
                            if matches!(program, "mapfile" | "readarray") && a.contains('C') =>
                        {
                            facts.unknown("mapfile runs a callback command");
                        }
                        Some(_) => {}
                        None => variable_name(w.text.as_deref(), facts),
                    }
                }
            }
            _ => {}
        }
    }

    /// A wrapper's command: after its options (`takes_value` lists those with a value) and,
    /// for `env`, its `NAME=value` assignments.
    fn wrapped(
        &self,
        rest: &[Literal],
        takes_value: &[&str],
        assignments: bool,
        facts: &mut CommandFacts,
    ) {
        let mut i = skip_options(rest, takes_value);
        while assignments
            && let Some(w) = rest.get(i)
            && let Some(text) = &w.text
            && let Some((name, _)) = text.split_once('=')
            && !name.is_empty()
            && !name.contains('/')
        {
            if dangerous_variable(name) {
                facts.unknown("sets a variable that changes which program runs or what it loads");
            }
            if text
                .split_once('=')
                .is_some_and(|(_, v)| runs_if_evaluated(v))
            {
                facts.unknown("a variable holds a command that arithmetic would run");
            }
            i += 1;
        }
        if rest.get(i).is_some_and(|w| w.text.is_none()) {
            facts.unknown("the program to run is not known until the command runs");
            return;
        }
        let mut ran = CommandFacts::default();
        self.run(rest.get(i..).unwrap_or_default(), &mut ran);
        if assignments && i > skip_options(rest, takes_value) {
            environment_set(&mut ran);
        }
        facts.merge(ran);
    }

    /// `bash -c '…'`: the string is a command in turn; a shell reading a script or its
    /// standard input runs code warden cannot see. A POSIX shell (sh, bash, dash, zsh, ksh…)
    /// reads all its options first, `-c` among them, and runs the first word after them:
    /// `bash -c -x '…'`, `sh -c -- '…'` and `bash -co pipefail '…'` run the `'…'`. fish, csh
    /// and tcsh take the word right after `-c`; where the two readings differ it is not known.
    ///
    /// A shell that reads startup files runs code warden does not see: any shell asked to be a
    /// login or interactive one (`-l`, `-i`, `--login`, `--interactive`: profile files,
    /// `~/.bashrc`, `$ENV`), zsh unless `-f`/`--no-rcs` (it reads `~/.zshenv` for every
    /// command), csh and tcsh unless `-f` (`~/.cshrc`), fish unless `-N`/`--no-config` (it
    /// reads `config.fish` for every command, and runs `-C`'s init command).
    fn shell(&self, program: &str, rest: &[Literal], facts: &mut CommandFacts) {
        let mut command_mode = false;
        let mut next_after_c = None;
        let mut startup = false;
        let mut no_rc = false;
        let mut i = 0;
        while let Some(w) = rest.get(i) {
            let Some(text) = &w.text else {
                facts.unknown("a shell option is not known until the command runs");
                return;
            };
            if text == "--" || text == "-" {
                i += 1;
                break;
            }
            if let Some(long) = text.strip_prefix("--") {
                // A startup file runs code of its own.
                if long.starts_with("rcfile")
                    || long.starts_with("init-file")
                    || long.starts_with("init-command")
                {
                    facts.unknown("a shell reads a startup file");
                    return;
                }
                let named = |full: &str| long.len() >= 2 && full.starts_with(long);
                startup |= named("login") || named("interactive");
                no_rc |= named("no-rcs") || named("no-config") || named("norc");
                i += 1;
                continue;
            }
            let Some(cluster) = text.strip_prefix('-').or_else(|| text.strip_prefix('+')) else {
                break;
            };
            if text.starts_with('-') && cluster.contains('c') && !command_mode {
                command_mode = true;
                next_after_c = Some(i + 1);
            }
            if text.starts_with('-') {
                startup |= cluster.contains(['l', 'i']);
                no_rc |= match program {
                    "zsh" | "csh" | "tcsh" => cluster.contains('f'),
                    "fish" => cluster.contains('N'),
                    _ => false,
                };
                if program == "fish" && cluster.contains('C') {
                    facts.unknown("a shell runs an init command first");
                    return;
                }
            }
            // `-o NAME`, `-O NAME` (and `+o`, `+O`) take the next word.
            i += 1 + cluster.chars().filter(|c| matches!(c, 'o' | 'O')).count();
        }
        if !command_mode {
            facts.unknown("a shell runs a script or its standard input");
            return;
        }
        // The command is read all the same; what the startup files run is not known.
        if startup {
            facts.unknown("a login or interactive shell reads startup files first");
        } else if matches!(program, "zsh" | "fish" | "csh" | "tcsh") && !no_rc {
            facts.unknown("the shell reads its own startup files for every command");
        }
        if matches!(program, "fish" | "csh" | "tcsh") && next_after_c != Some(i) {
            facts.unknown("the shell's command is not the word its options leave");
            return;
        }
        match rest.get(i).and_then(|w| w.text.clone()) {
            Some(script) => self.deeper().text(&script, facts),
            None => facts.unknown("a shell runs a command not known until it runs"),
        }
    }

    fn network(&self, program: &str, kind: Net, rest: &[Literal], facts: &mut CommandFacts) {
        facts.network = true;
        match kind {
            Net::Curl | Net::Wget => self.url_client(kind, rest, facts),
            Net::Dns => dns(program, rest, facts),
            _ => self.host_operands(program, kind, rest, facts),
        }
    }

    /// curl and wget: URLs and the options that send a request elsewhere, upload or write.
    fn url_client(&self, kind: Net, rest: &[Literal], facts: &mut CommandFacts) {
        let grammar = if kind == Net::Wget {
            &options::WGET
        } else {
            &options::CURL
        };
        let mut hosts = BTreeSet::new();
        let mut unknown = false;
        let mut names_its_output = false;
        let mut spider = false;
        // wget follows redirects unless told not to; curl only with `-L`. The last
        // `--max-redirs` given counts; only `0` keeps the request on the host it names. Each
        // curl transfer (`--next` starts one) has its own.
        let mut follows = kind == Net::Wget;
        let mut max_redirects: Option<Option<String>> = None;
        // A followed redirect goes wherever the answer says.
        let followed = |follows: bool, max: &Option<Option<String>>| {
            let none_followed = max
                .as_ref()
                .is_some_and(|v| v.as_ref().is_some_and(|n| n.trim().parse::<i64>() == Ok(0)));
            follows && !none_followed
        };
        for item in options::parse(rest, grammar) {
            match item {
                options::Item::Opt(options::Opt::Next, _) => {
                    unknown |= followed(follows, &max_redirects);
                    // curl reads `~/.curlrc` (or `$CURL_HOME`'s, `$XDG_CONFIG_HOME`'s), which may name a
                    // proxy, a resolver or an upload, unless `-q` (`--disable`) is its first word.
                    if kind == Net::Curl
                        && rest.first().is_none_or(|w| {
                            w.text
                                .as_deref()
                                .is_none_or(|t| !(t == "-q" || t.eq_ignore_ascii_case("--disable")))
                        })
                    {
                        unknown = true;
                    }
                    follows = kind == Net::Wget;
                    max_redirects = None;
                }
                options::Item::Unknown => {
                    // An option this reader does not know may take any value: a proxy, a
                    // config file, an upload, an output.
                    unknown = true;
                    facts.pipes_to_network = true;
                    facts.writes_paths.insert(UNKNOWN.into());
                }
                options::Item::Operand(Some(text)) => match url_host(&text) {
                    Some(h) => {
                        hosts.insert(h);
                    }
                    None => unknown = true,
                },
                options::Item::Operand(None) => unknown = true,
                options::Item::Opt(options::Opt::Flag, _) => {}
                options::Item::Opt(options::Opt::Writes, _) => {
                    facts.writes_paths.insert(UNKNOWN.into());
                }
                options::Item::Opt(options::Opt::Spans, _) => unknown = true,
                options::Item::Opt(options::Opt::Redirects, _) => follows = true,
                options::Item::Opt(options::Opt::Takes(what), value) => {
                    use options::Value;
                    match what {
                        Value::Plain => {}
                        Value::MaxRedirects => max_redirects = Some(value),
                        Value::Upload => facts.pipes_to_network = true,
                        Value::Output => {
                            names_its_output = true;
                            match value {
                                Some(v) if v == "-" => {}
                                Some(v) => add_path(
                                    &mut facts.writes_paths,
                                    &Literal {
                                        text: Some(v),
                                        expands: false,
                                    },
                                ),
                                None => {
                                    facts.writes_paths.insert(UNKNOWN.into());
                                }
                            }
                        }
                        Value::Url => match value.as_deref().map(url_host) {
                            Some(Some(h)) => {
                                hosts.insert(h);
                            }
                            _ => unknown = true,
                        },
                        Value::Host => match value.as_deref().map(proxy_host) {
                            Some(Some(h)) => {
                                hosts.insert(h);
                            }
                            _ => unknown = true,
                        },
                        Value::Routes => {
                            unknown = true;
                            add_path(
                                &mut facts.writes_paths,
                                &Literal {
                                    text: value,
                                    expands: false,
                                },
                            );
                        }
                        Value::Config => {
                            unknown = true;
                            facts.pipes_to_network = true;
                            facts.writes_paths.insert(UNKNOWN.into());
                        }
                        Value::Header => {
                            if value.as_deref().is_none_or(|v| v.starts_with('@')) {
                                facts.pipes_to_network = true;
                            }
                        }
                        Value::Cookie => {
                            if value.as_deref().is_none_or(|v| !v.contains('=')) {
                                facts.pipes_to_network = true;
                            }
                        }
                        Value::WriteOut => {
                            if value
                                .as_deref()
                                .is_none_or(|v| v.starts_with('@') || v.contains("%output"))
                            {
                                facts.writes_paths.insert(UNKNOWN.into());
                            }
                        }
                    }
                }
            }
        }
        if kind == Net::Wget {
            spider = rest.iter().any(|w| {
                w.text
                    .as_deref()
                    .is_some_and(|t| t.len() > 3 && "--spider".starts_with(t))
            });
        }
        // wget saves what it fetches under a name the server's answer chooses, unless told
        // where (`-O`, `-P`) or only to check (`--spider`).
        if kind == Net::Wget && !names_its_output && !spider {
            facts.writes_paths.insert(UNKNOWN.into());
        }
        unknown |= followed(follows, &max_redirects);
        // curl reads `~/.curlrc` (or `$CURL_HOME`'s, `$XDG_CONFIG_HOME`'s), which may name a
        // proxy, a resolver or an upload, unless `-q` (`--disable`) is its first word.
        if kind == Net::Curl
            && rest.first().is_none_or(|w| {
                w.text
                    .as_deref()
                    .is_none_or(|t| !(t == "-q" || t.eq_ignore_ascii_case("--disable")))
            })
        {
            unknown = true;
        }
        // wget reads `/etc/wgetrc` and `~/.wgetrc` (a proxy, a `post_file`…) unless told not
        // to (`--no-config`).
        if kind == Net::Wget
            && !rest
                .iter()
                .take_while(|w| w.text.as_deref() != Some("--"))
                .any(|w| w.text.as_deref() == Some("--no-config"))
        {
            unknown = true;
        }
        // No URL: where it goes comes from a config file (`~/.curlrc`, `-K`): unknown.
        if unknown || hosts.is_empty() {
            hosts.insert(UNKNOWN.into());
        }
        facts.hosts.extend(hosts);
    }

    /// ssh, nc, socat… : hosts named by their operands.
    fn host_operands(&self, program: &str, kind: Net, rest: &[Literal], facts: &mut CommandFacts) {
        let mut hosts = BTreeSet::new();
        let mut unknown = false;
        let mut i = 0;
        let mut first_operand = true;
        // After `--` every word is an operand, one that starts with `-` too.
        let mut operands_only = false;
        while let Some(w) = rest.get(i) {
            i += 1;
            let Some(text) = w.text.as_deref() else {
                unknown = true;
                continue;
            };
            if text == "--" && !operands_only {
                operands_only = true;
                continue;
            }
            if text.starts_with('-') && !operands_only {
                // Options that send the connection elsewhere or run a command of their own
                // (`-o HostName=…`, `-o ProxyCommand=…`, a config file, rsync's remote shell):
                // where it goes is not the host named.
                if matches!(kind, Net::Remote)
                    && (text.starts_with("-o")
                        || text.starts_with("-F")
                        || text.starts_with("-S")
                        || text.starts_with("-e")
                        || hidden::abbreviates(text, "rsh", 1)
                        || hidden::abbreviates(text, "rsync-path", 1)
                        || hidden::abbreviates(text, "config", 1))
                {
                    unknown = true;
                    facts.pipes_to_network = true;
                }
                // ssh-like options that take a value; a jump host is a host too.
                if matches!(kind, Net::Remote)
                    && matches!(
                        text,
                        "-p" | "-P"
                            | "-i"
                            | "-l"
                            | "-o"
                            | "-F"
                            | "-L"
                            | "-R"
                            | "-D"
                            | "-b"
                            | "-c"
                            | "-E"
                            | "-m"
                            | "-O"
                            | "-Q"
                            | "-S"
                            | "-W"
                            | "-w"
                            | "-e"
                    )
                {
                    i += 1;
                }
                if matches!(kind, Net::Remote) && text == "-J" {
                    match rest.get(i).and_then(|w| w.text.as_deref()) {
                        Some(j) => {
                            hosts.insert(host_of_authority(j));
                        }
                        None => unknown = true,
                    }
                    i += 1;
                }
                if matches!(kind, Net::FirstOperand) {
                    // A listener serves whoever connects; `-e`/`-c`/`--exec` run a program for
                    // the peer; a proxy (`-x`) or a whois server (`-h`) is reached, its value
                    // perhaps attached: where it goes is not read here.
                    let cluster = text.strip_prefix('-').unwrap_or(text);
                    let nc = matches!(program, "nc" | "ncat" | "netcat");
                    if (nc
                        && (text.starts_with("--") || cluster.contains(['l', 'e', 'c', 'x', 'X'])))
                        || (program == "whois" && cluster.contains('h'))
                    {
                        unknown = true;
                        facts.pipes_to_network = true;
                    }
                    if matches!(
                        text,
                        "-p" | "-w" | "-s" | "-c" | "-e" | "-i" | "-W" | "-q" | "-I"
                    ) {
                        i += 1;
                    }
                }
                continue;
            }
            match kind {
                Net::Remote => {
                    if program == "ssh" {
                        if first_operand {
                            hosts.insert(host_of_authority(text));
                        }
                    } else if let Some((host, _)) = text.split_once(':')
                        && !host.contains('/')
                    {
                        hosts.insert(host_of_authority(host));
                    } else if text.contains("://") {
                        match url_host(text) {
                            Some(h) => {
                                hosts.insert(h);
                            }
                            None => unknown = true,
                        }
                    }
                }
                Net::FirstOperand => {
                    // The first operand is the host; a later one is a port, or else a host too.
                    let port =
                        !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '-');
                    if first_operand || !port {
                        hosts.insert(host_of_authority(text));
                    }
                }
                Net::Socat => {
                    let upper = text.to_ascii_uppercase();
                    if ["TCP", "UDP", "OPENSSL", "SSL", "SOCKS", "PROXY"]
                        .iter()
                        .any(|p| upper.starts_with(p))
                    {
                        match text.split(':').nth(1) {
                            Some(h) if !h.is_empty() => {
                                hosts.insert(clean_host(h.split(',').next().unwrap_or_default()));
                            }
                            _ => unknown = true,
                        }
                    } else if upper.starts_with("EXEC") || upper.starts_with("SYSTEM") {
                        facts.unknown("socat runs a command");
                    }
                }
                Net::Opaque | Net::Curl | Net::Wget | Net::Dns => {}
            }
            first_operand = false;
        }
        if kind == Net::Opaque || hosts.is_empty() {
            unknown = true;
        }
        if unknown {
            hosts.insert(UNKNOWN.into());
        }
        facts.hosts.extend(hosts);
    }

    /// Paths a well-known program writes.
    fn writes(&self, program: &str, rest: &[Literal], facts: &mut CommandFacts) {
        let ops = operands(rest);
        match program {
            "tee" | "touch" | "mkdir" | "rm" | "rmdir" | "shred" | "unlink" | "truncate"
            | "mkfifo" => {
                for w in &ops {
                    add_path(&mut facts.writes_paths, w);
                }
            }
            "cp" | "mv" | "install" | "ln" => copy_like(program, rest, facts),
            // sftp's batch or interactive `get` writes local files it names itself.
            "sftp" => {
                facts.writes_paths.insert(UNKNOWN.into());
            }
            // `ssh -E LOG` writes a log file; `-S`/`-o` may name a control socket or log.
            "ssh"
                if rest.iter().any(|w| {
                    w.text.as_deref().is_none_or(|t| {
                        !t.starts_with("--")
                            && t.starts_with('-')
                            && t.contains(['E', 'S', 'o', 'F'])
                    })
                }) =>
            {
                facts.writes_paths.insert(UNKNOWN.into());
            }
            "rsync" | "scp" => {
                // rsync's side files (`--log-file`, `--backup-dir`, `--temp-dir`,
                // `--partial-dir`, `--write-batch`, `-T`…) land where their options say.
                if program == "rsync"
                    && rest.iter().any(|w| {
                        w.text.as_deref().is_none_or(|t| {
                            (t.starts_with("--")
                                && !matches!(
                                    t,
                                    "--archive"
                                        | "--verbose"
                                        | "--compress"
                                        | "--recursive"
                                        | "--progress"
                                        | "--partial"
                                        | "--delete"
                                        | "--dry-run"
                                        | "--human-readable"
                                        | "--stats"
                                        | "--checksum"
                                        | "--times"
                                        | "--perms"
                                        | "--"
                                ))
                                || (t.starts_with('-') && !t.starts_with("--") && t.contains('T'))
                        })
                    })
                {
                    facts.writes_paths.insert(UNKNOWN.into());
                }
                if let Some(w) = ops.last() {
                    // A remote target (`host:path`) is not a local write.
                    let remote = w
                        .text
                        .as_deref()
                        .and_then(|t| t.split_once(':'))
                        .is_some_and(|(h, _)| !h.contains('/'));
                    if !remote {
                        add_path(&mut facts.writes_paths, w);
                        add_absolute(&mut facts.writes_into, w);
                    }
                }
                // `rsync -a`/`-l` makes each link it copies again at the destination: a local
                // source is written as a link's target is; a remote one's links point anywhere.
                if program == "rsync" && rsync_keeps_links(rest) {
                    for w in ops.iter().rev().skip(1) {
                        let remote = w.text.as_deref().is_none_or(|t| {
                            t.split_once(':').is_some_and(|(h, _)| !h.contains('/'))
                        });
                        if remote {
                            facts.writes_paths.insert(UNKNOWN.into());
                        } else {
                            add_path(&mut facts.writes_paths, w);
                            add_absolute(&mut facts.links_copied, w);
                        }
                    }
                    if let Some(w) = ops.last() {
                        add_absolute(&mut facts.links_made, w);
                    }
                }
            }
            "uniq" => {
                // uniq [INPUT [OUTPUT]]
                let g = gnu(rest, "fsw", &["skip-fields", "skip-chars", "check-chars"]);
                if g.computed {
                    facts.writes_paths.insert(UNKNOWN.into());
                }
                if let Some(w) = g.operands.get(1) {
                    add_path(&mut facts.writes_paths, w);
                }
            }
            "split" => {
                // split [FILE [PREFIX]]: writes PREFIXaa, PREFIXab… (`xaa` here by default).
                let g = gnu(
                    rest,
                    "abClnt",
                    &[
                        "suffix-length",
                        "additional-suffix",
                        "bytes",
                        "line-bytes",
                        "lines",
                        "number",
                        "separator",
                        "filter",
                    ],
                );
                let prefix = match g.operands.get(1) {
                    Some(w) => w.text.clone(),
                    None => Some("x".into()),
                };
                add_path(
                    &mut facts.writes_paths,
                    &Literal {
                        text: prefix.map(|p| format!("{p}aa")),
                        expands: g.computed,
                    },
                );
            }
            "file" => {
                let g = gnu(
                    rest,
                    "efFmP",
                    &[
                        "exclude",
                        "separator",
                        "files-from",
                        "magic-file",
                        "parameter",
                    ],
                );
                if g.computed
                    || g.flags
                        .iter()
                        .any(|f| f == "C" || "compile".starts_with(f.as_str()) && f.len() > 1)
                {
                    facts.writes_paths.insert(UNKNOWN.into());
                }
            }
            "base64" | "tcpdump" => {
                // `base64 -o FILE` (BSD), `tcpdump -w FILE` (rotated with a numeric suffix).
                let (short, long, out): (&str, &[&str], &[&str]) = if program == "base64" {
                    (
                        "wbio",
                        &["wrap", "break", "input", "output"],
                        &["o", "output"],
                    )
                } else {
                    ("BcCDEFGiIjmMrsTVwWyzZ", &[], &["w"])
                };
                let g = gnu(rest, short, long);
                if g.computed {
                    facts.writes_paths.insert(UNKNOWN.into());
                }
                for (name, value) in &g.values {
                    if out.contains(&name.as_str()) {
                        add_path(&mut facts.writes_paths, value);
                        if program == "tcpdump" {
                            add_path(
                                &mut facts.writes_paths,
                                &Literal {
                                    text: value.text.as_ref().map(|t| format!("{t}0")),
                                    expands: value.expands,
                                },
                            );
                        }
                    }
                }
            }
            // The database is written unless opened read-only.
            "sqlite3"
                if !rest
                    .iter()
                    .any(|w| matches!(w.text.as_deref(), Some("-readonly" | "--readonly"))) =>
            {
                facts.writes_paths.insert(UNKNOWN.into());
            }
            "chmod" | "chown" | "chgrp" => {
                // The mode or owner comes first, unless `--reference` gives it. A mode may
                // start with `-` (`chmod -w FILE`): only the letters of the programs' own
                // options make an option.
                let flags = if program == "chmod" {
                    "cfvR"
                } else {
                    "cfvRHLPh"
                };
                let mut words = Vec::new();
                let mut all_operands = false;
                for w in rest {
                    match w.text.as_deref() {
                        Some("--") if !all_operands => all_operands = true,
                        Some(t)
                            if !all_operands
                                && (t.starts_with("--")
                                    || t.strip_prefix('-').is_some_and(|c| {
                                        !c.is_empty() && c.chars().all(|l| flags.contains(l))
                                    })) => {}
                        _ => words.push(w),
                    }
                }
                let reference = rest
                    .iter()
                    .any(|w| w.text.as_deref().is_none_or(|t| t.starts_with("--ref")));
                for w in words.iter().skip(usize::from(!reference)) {
                    add_path(&mut facts.writes_paths, w);
                }
            }
            "dd" => {
                for w in rest {
                    match w.text.as_deref() {
                        Some(t) => {
                            if let Some(p) = t.strip_prefix("of=") {
                                add_path(
                                    &mut facts.writes_paths,
                                    &Literal {
                                        text: Some(p.to_string()),
                                        expands: false,
                                    },
                                );
                            }
                        }
                        None => {
                            facts.writes_paths.insert(UNKNOWN.into());
                        }
                    }
                }
            }
            "sed" => sed_in_place(rest, facts),
            "perl" | "ruby" => {
                let in_place = rest.iter().any(|w| {
                    w.text.as_deref().is_some_and(|t| {
                        t.starts_with("-i")
                            || t == "--in-place"
                            || (t.starts_with('-') && !t.starts_with("--") && t.contains('i'))
                    })
                });
                if in_place {
                    for w in ops.iter().skip(1) {
                        add_path(&mut facts.writes_paths, w);
                    }
                }
            }
            "sort" => {
                // `-o FILE`, `-oFILE`, `--output=FILE`, `--out FILE`; temporary files go to
                // `-T DIR`.
                let g = gnu(
                    rest,
                    "kotST",
                    &[
                        "output",
                        "key",
                        "field-separator",
                        "buffer-size",
                        "temporary-directory",
                        "parallel",
                        "batch-size",
                        "files0-from",
                        "random-source",
                        "sort",
                        "compress-program",
                    ],
                );
                if g.computed {
                    facts.writes_paths.insert(UNKNOWN.into());
                }
                for (name, value) in &g.values {
                    if matches!(name.as_str(), "o" | "output" | "T" | "temporary-directory") {
                        add_path(&mut facts.writes_paths, value);
                    }
                }
            }
            "tar" | "unzip" | "gzip" | "gunzip" | "zip" | "patch" | "git" => {
                // Archivers and patchers write where their options and contents say.
                let writes = match program {
                    "tar" => !tar_only_lists(rest),
                    "git" => rest.iter().any(|w| {
                        matches!(
                            w.text.as_deref(),
                            Some(
                                "clone"
                                    | "checkout"
                                    | "pull"
                                    | "reset"
                                    | "apply"
                                    | "commit"
                                    | "init"
                            )
                        )
                    }),
                    _ => true,
                };
                if writes {
                    facts.writes_paths.insert(UNKNOWN.into());
                }
            }
            _ => {}
        }
    }
}

/// A GNU-style command's words: options (clusters, values attached or next, long options by
/// unique prefix, `--opt=value`), operands anywhere before `--`.
struct Gnu {
    operands: Vec<Literal>,
    /// Options with a value, by letter or full long name.
    values: Vec<(String, Literal)>,
    /// Options without one: letters, or long names as given.
    flags: Vec<String>,
    /// A word is computed when the command runs: it may be any option.
    computed: bool,
}

/// `rest` read as GNU getopt would, given the letters (`short_values`) and long options
/// (`long_values`) that take a value.
fn gnu(rest: &[Literal], short_values: &str, long_values: &[&str]) -> Gnu {
    let mut g = Gnu {
        operands: Vec::new(),
        values: Vec::new(),
        flags: Vec::new(),
        computed: false,
    };
    let missing = Literal {
        text: None,
        expands: false,
    };
    let mut i = 0;
    while let Some(w) = rest.get(i) {
        i += 1;
        let Some(text) = w.text.as_deref() else {
            g.computed = true;
            g.operands.push(w.clone());
            continue;
        };
        if text == "--" {
            g.operands
                .extend(rest.get(i..).unwrap_or_default().iter().cloned());
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (given, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let mut named = long_values.iter().filter(|n| n.starts_with(given));
            let full = match (named.next(), named.next()) {
                (Some(n), None) if !given.is_empty() => Some(*n),
                _ => long_values.iter().find(|n| **n == given).copied(),
            };
            match (full, inline) {
                (Some(n), Some(v)) => g.values.push((
                    n.to_string(),
                    Literal {
                        text: Some(v.to_string()),
                        expands: w.expands,
                    },
                )),
                (Some(n), None) => {
                    g.values.push((
                        n.to_string(),
                        rest.get(i).cloned().unwrap_or(missing.clone()),
                    ));
                    i += 1;
                }
                (None, _) => g.flags.push(given.to_string()),
            }
            continue;
        }
        let Some(cluster) = text.strip_prefix('-').filter(|c| !c.is_empty()) else {
            g.operands.push(w.clone());
            continue;
        };
        for (at, c) in cluster.char_indices() {
            if short_values.contains(c) {
                let tail = cluster.get(at + c.len_utf8()..).unwrap_or_default();
                let value = if tail.is_empty() {
                    let v = rest.get(i).cloned().unwrap_or(missing.clone());
                    i += 1;
                    v
                } else {
                    Literal {
                        text: Some(tail.to_string()),
                        expands: w.expands,
                    }
                };
                g.values.push((c.to_string(), value));
                break;
            }
            g.flags.push(c.to_string());
        }
    }
    g
}

/// Whether tar only lists an archive: a `t` mode (`-t`, `tvf`, `--list`) and no mode that
/// writes (`x`, `c`, `r`, `u`, `A`, `--extract`, `--create`… by any prefix).
fn tar_only_lists(rest: &[Literal]) -> bool {
    const WRITING: &[&str] = &[
        "extract",
        "get",
        "create",
        "append",
        "update",
        "catenate",
        "concatenate",
        "delete",
    ];
    let mut lists = false;
    for (n, w) in rest.iter().enumerate() {
        let Some(t) = w.text.as_deref() else {
            return false;
        };
        if let Some(long) = t.strip_prefix("--") {
            let name = long.split_once('=').map_or(long, |(n, _)| n);
            if name.len() >= 2 && WRITING.iter().any(|m| m.starts_with(name)) {
                return false;
            }
            lists |= name.len() >= 2 && "list".starts_with(name);
            continue;
        }
        let cluster = match t.strip_prefix('-') {
            Some(c) => c,
            None if n == 0 => t,
            None => continue,
        };
        // Letters after `f`, `C`, `T`, `X` or `b` are that option's value.
        for c in cluster.chars() {
            match c {
                'x' | 'c' | 'r' | 'u' | 'A' => return false,
                't' => lists = true,
                'f' | 'C' | 'T' | 'X' | 'b' | 'K' | 'N' | 'g' | 'L' | 'V' | 'H' => break,
                _ => {}
            }
        }
    }
    lists
}

/// `sed -i`: every file operand is rewritten; the first operand is the script unless one is
/// given by `-e`/`-f` (attached `-es/a/b/`, `--expression=…`, any prefix).
fn sed_in_place(rest: &[Literal], facts: &mut CommandFacts) {
    let mut in_place = false;
    let mut script_given = false;
    let mut operands: Vec<&Literal> = Vec::new();
    let mut i = 0;
    while let Some(w) = rest.get(i) {
        i += 1;
        let Some(t) = w.text.as_deref() else {
            // A computed word may be any option.
            in_place = true;
            script_given = true;
            operands.push(w);
            continue;
        };
        if t == "--" {
            operands.extend(rest.get(i..).unwrap_or_default());
            break;
        }
        if let Some(long) = t.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, _)) => (n, true),
                None => (long, false),
            };
            let is = |full: &str| !name.is_empty() && full.starts_with(name);
            if is("in-place") {
                in_place = true;
            } else if is("expression") || is("file") {
                script_given = true;
                i += usize::from(!inline);
            } else if is("line-length") {
                i += usize::from(!inline);
            }
            continue;
        }
        let Some(cluster) = t.strip_prefix('-').filter(|c| !c.is_empty()) else {
            operands.push(w);
            continue;
        };
        for (at, c) in cluster.char_indices() {
            let tail_empty = cluster.get(at + c.len_utf8()..).is_none_or(str::is_empty);
            match c {
                // `-i[SUFFIX]`: the rest of the word is the suffix.
                'i' => {
                    in_place = true;
                    break;
                }
                'e' | 'f' | 'l' => {
                    script_given |= c != 'l';
                    i += usize::from(tail_empty);
                    break;
                }
                _ => {}
            }
        }
    }
    if in_place {
        for w in operands.iter().skip(usize::from(!script_given)) {
            add_path(&mut facts.writes_paths, w);
        }
    }
}

/// cp, mv, install, ln: the target (`-t DIR` in any form, else the last operand) is written;
/// a link (`ln`, `cp -s`/`-l`) is also a write to what it points at, since writing through
/// it lands there.
fn copy_like(program: &str, rest: &[Literal], facts: &mut CommandFacts) {
    let (short, long): (&str, &[&str]) = match program {
        "install" => (
            "gmoSt",
            &[
                "group",
                "mode",
                "owner",
                "suffix",
                "target-directory",
                "strip-program",
            ],
        ),
        _ => ("St", &["suffix", "target-directory"]),
    };
    let g = gnu(rest, short, long);
    if g.computed {
        facts.writes_paths.insert(UNKNOWN.into());
    }
    let target_dir = g
        .values
        .iter()
        .rev()
        .find(|(n, _)| n == "t" || n == "target-directory")
        .map(|(_, v)| v.clone());
    let (target, sources): (Option<Literal>, &[Literal]) = match &target_dir {
        Some(t) => (Some(t.clone()), g.operands.as_slice()),
        None => match g.operands.split_last() {
            // `ln -s TARGET` links into the working directory.
            Some((last, [])) if program == "ln" => (
                Some(Literal {
                    text: None,
                    expands: false,
                }),
                std::slice::from_ref(last),
            ),
            Some((last, others)) => (Some(last.clone()), others),
            None => (None, &[]),
        },
    };
    if let Some(t) = &target {
        add_path(&mut facts.writes_paths, t);
        // An existing directory is written below, and through the links it holds.
        add_absolute(&mut facts.writes_into, t);
    }
    let long_flag = |name: &str| {
        g.flags
            .iter()
            .any(|f| f.len() > 1 && name.starts_with(f.as_str()))
    };
    // A copy that keeps symbolic links makes each link it copies again at the destination,
    // pointing where it points (`cp -P /proc/self/root DIR/r` makes `DIR/r → /`): what it
    // copies is written as a link's target is, and links may appear below the destination.
    let keeps_links = program == "mv" || (program == "cp" && cp_keeps_links(rest, &g.flags));
    if keeps_links {
        for src in sources {
            add_path(&mut facts.writes_paths, src);
            add_absolute(&mut facts.links_copied, src);
        }
    }
    // `install -d` creates every operand; `mv` removes what it moves.
    if (program == "install" && (g.flags.iter().any(|f| f == "d") || long_flag("directory")))
        || program == "mv"
    {
        for src in sources {
            add_path(&mut facts.writes_paths, src);
        }
    }
    // `cp --parents SRC… DIR` writes DIR/SRC, `..` in SRC included.
    if program == "cp" && long_flag("parents") {
        for src in sources {
            let dest = target.as_ref().and_then(|t| t.text.as_deref());
            let written = match (dest, src.text.as_deref()) {
                (Some(dest), Some(src_text)) => Literal {
                    text: Some(format!("{dest}/{src_text}")),
                    expands: src.expands,
                },
                _ => Literal {
                    text: None,
                    expands: false,
                },
            };
            add_path(&mut facts.writes_paths, &written);
        }
    }
    let symbolic =
        g.flags.iter().any(|f| f == "s") || long_flag("symbolic") || long_flag("symbolic-link");
    let link = program == "ln"
        || (program == "cp" && (symbolic || g.flags.iter().any(|f| f == "l") || long_flag("link")));
    // A hard link (`ln`, `cp -l`) of a symbolic link is that link again, at the target: where
    // it leads is judged as a kept link's is.
    if link && !symbolic {
        for src in sources {
            add_absolute(&mut facts.links_copied, src);
        }
    }
    if (link || keeps_links)
        && let Some(t) = &target
    {
        // Links made there: a later write below them lands where they lead.
        add_absolute(&mut facts.links_made, t);
    }
    if !link {
        return;
    }
    for src in sources {
        let text = src.text.as_deref();
        match (text, target.as_ref().and_then(|t| t.text.as_deref())) {
            // A relative symbolic link resolves from the link's folder: the target folder
            // itself, or its parent when the target names the link.
            (Some(rel), Some(dest))
                if symbolic && !rel.starts_with('/') && dest.starts_with('/') =>
            {
                let parent = dest
                    .rsplit_once('/')
                    .map_or("/", |(p, _)| if p.is_empty() { "/" } else { p });
                for base in [dest, parent] {
                    add_path(
                        &mut facts.writes_paths,
                        &Literal {
                            text: Some(format!("{base}/{rel}")),
                            expands: src.expands,
                        },
                    );
                }
            }
            _ => add_path(&mut facts.writes_paths, src),
        }
    }
}

/// Whether cp, given these words (`flags` as [`gnu`] read them, in order), may copy a
/// symbolic link as a link: `-P`, `-d`, `-a`, `--no-dereference`, `--archive`, or a recursive
/// copy (`-r`, `-R`, which do not follow links below what they copy), or `--preserve` with
/// `links` or `all` — unless a later `-L` (`--dereference`) follows every link.
fn cp_keeps_links(rest: &[Literal], flags: &[String]) -> bool {
    let long = |f: &str, name: &str| f.len() > 1 && name.starts_with(f);
    let mut dereference = None;
    let mut recursive = false;
    for f in flags {
        if f == "L" || long(f, "dereference") {
            dereference = Some(true);
        } else if matches!(f.as_str(), "P" | "d" | "a")
            || long(f, "no-dereference")
            || long(f, "archive")
        {
            dereference = Some(false);
        }
        recursive |=
            matches!(f.as_str(), "r" | "R" | "a") || long(f, "recursive") || long(f, "archive");
    }
    let preserves_links = rest.iter().any(|w| {
        w.text.as_deref().is_none_or(|t| {
            t.strip_prefix("--").is_some_and(|l| {
                let (name, value) = l.split_once('=').unwrap_or((l, ""));
                name.len() >= 2
                    && "preserve".starts_with(name)
                    && (value.contains("links") || value.contains("all"))
            })
        })
    });
    match dereference {
        Some(true) => false,
        Some(false) => true,
        None => recursive || preserves_links,
    }
}

/// Whether rsync copies symbolic links as links (`-l`, `-a`, `--links`, `--archive`) and does
/// not follow them all (`-L`, `--copy-links`).
fn rsync_keeps_links(rest: &[Literal]) -> bool {
    let mut keeps = false;
    let mut follows = false;
    for w in rest {
        let Some(t) = w.text.as_deref() else {
            return true;
        };
        if t == "--" {
            break;
        }
        if let Some(long) = t.strip_prefix("--") {
            let name = long.split_once('=').map_or(long, |(n, _)| n);
            let is = |full: &str| name.len() >= 3 && full.starts_with(name);
            keeps |= is("links") || is("archive");
            follows |= is("copy-links");
        } else if let Some(cluster) = t.strip_prefix('-') {
            keeps |= cluster.contains(['a', 'l']);
            follows |= cluster.contains('L');
        }
    }
    keeps && !follows
}

/// Adds `w`'s path to `paths` when it is a literal absolute one (the hook looks only there).
fn add_absolute(paths: &mut BTreeSet<String>, w: &Literal) {
    if let (Some(t), false) = (&w.text, w.expands) {
        let p = normal_path(t);
        if p.starts_with('/') {
            paths.insert(p);
        }
    }
}

/// Whether sudo (or doas) runs an editor (`-e`, `--edit`) or a shell reading its standard
/// input (`-s`, `-i` with no command).
fn sudo_runs_unseen(rest: &[Literal]) -> bool {
    const VALUES: &str = "ugCDhprtUTRc";
    let mut shell = false;
    let mut i = 0;
    while let Some(w) = rest.get(i) {
        i += 1;
        let Some(t) = w.text.as_deref() else {
            return true;
        };
        if t == "--" {
            break;
        }
        if let Some(long) = t.strip_prefix("--") {
            let name = long.split_once('=').map_or(long, |(n, _)| n);
            if name.len() >= 2 && "edit".starts_with(name) {
                return true;
            }
            shell |= name.len() >= 2 && ("shell".starts_with(name) || "login".starts_with(name));
            continue;
        }
        let Some(cluster) = t.strip_prefix('-').filter(|c| !c.is_empty()) else {
            // The command.
            return false;
        };
        for (at, c) in cluster.char_indices() {
            match c {
                'e' => return true,
                's' | 'i' => shell = true,
                c if VALUES.contains(c) => {
                    i += usize::from(cluster.get(at + 1..).is_none_or(str::is_empty));
                    break;
                }
                _ => {}
            }
        }
    }
    // Options only: a shell if `-s`/`-i`, else sudo only prints or validates.
    shell
}

/// Builtins that evaluate array subscripts or arithmetic in their arguments.
fn evaluates_subscripts(program: &str) -> bool {
    matches!(
        program,
        "let"
            | "read"
            | "mapfile"
            | "readarray"
            | "getopts"
            | "printf"
            | "unset"
            | "test"
            | "["
            | "wait"
            | "export"
            | "declare"
            | "typeset"
            | "readonly"
            | "local"
    )
}

/// Why arithmetic that names a variable is opaque: bash evaluates the variable's value as
/// arithmetic in turn, and an array subscript in that value (`a[$(cmd)]`) runs the command.
const ARITHMETIC_ON_A_VALUE: &str =
    "arithmetic evaluates what a variable holds, which may run a command";

/// Arithmetic the shell evaluates: only integer literals and operators are read; a name (a
/// variable, an array element), an expansion or a base (`16#…`) may evaluate code a variable
/// holds, so it is opaque.
fn arithmetic(text: &str, facts: &mut CommandFacts) {
    if runs_if_evaluated(text) {
        facts.unknown("arithmetic runs a command substitution");
    } else if !plain_arithmetic(text) {
        facts.unknown(ARITHMETIC_ON_A_VALUE);
    }
}

/// Integer literals and operators only.
/// The shell's own counters (`$?`, `$#`, `$$`, `$!`) are integers whatever the script did.
fn plain_arithmetic(text: &str) -> bool {
    let text = ["$?", "$#", "$$", "$!"]
        .iter()
        .fold(text.to_string(), |t, p| t.replace(p, "0"));
    text.chars()
        .all(|c| c.is_ascii_digit() || c.is_ascii_whitespace() || "+-*/%<>=!&|^~?:(),".contains(c))
}

/// A variable name a builtin reads (`read NAME`, `test -v NAME`, `declare NAME=…`): one that
/// is not literal may be anything, and a subscript in it is arithmetic.
fn variable_name(name: Option<&str>, facts: &mut CommandFacts) {
    match name {
        Some(t) => {
            if let Some((_, subscript)) = t.split_once('[') {
                // Up to the last `]`: `a[1]=v[x]` is judged whole, which is only stricter.
                let subscript = subscript.rsplit_once(']').map_or(subscript, |(s, _)| s);
                arithmetic(subscript, facts);
            }
        }
        None => facts.unknown(ARITHMETIC_ON_A_VALUE),
    }
}

/// Whether text would run a command if the shell evaluated it as arithmetic or a subscript.
fn runs_if_evaluated(text: &str) -> bool {
    text.contains("$(") || text.contains('`') || text.contains("<(") || text.contains(">(")
}

/// Whether `printf -v NAME` (or `-vNAME`) sets a variable that changes what runs, or one
/// whose name is computed.
fn printf_sets_dangerous(rest: &[Literal]) -> bool {
    match rest.first().map(|w| w.text.as_deref()) {
        Some(None) => true,
        Some(Some("-v")) => rest
            .get(1)
            .is_none_or(|w| w.text.as_deref().is_none_or(dangerous_variable)),
        Some(Some(t)) => t.strip_prefix("-v").is_some_and(dangerous_variable),
        None => false,
    }
}

/// A command run with variables set in its environment: a network program may read its
/// configuration, proxy or resolver from any of them (`HOME` and `XDG_CONFIG_HOME` name the
/// config files, `CURL_HOME`, `WGETRC`, `*_proxy`…), so where it goes and what it sends or
/// writes are unknown.
fn environment_set(facts: &mut CommandFacts) {
    if facts.network {
        facts.hosts.insert(UNKNOWN.into());
        facts.writes_paths.insert(UNKNOWN.into());
        facts.pipes_to_network = true;
    }
}

/// Variables that change which program a name runs, or what it loads on start. A subscript is
/// no escape: `PS4[0]=…` sets what `$PS4` expands to (element 0 is the scalar's value).
fn dangerous_variable(name: &str) -> bool {
    let name = name.split('[').next().unwrap_or(name);
    matches!(
        name,
        "PATH"
            | "IFS"
            | "BASH_ENV"
            | "ENV"
            | "SHELLOPTS"
            | "BASHOPTS"
            | "PROMPT_COMMAND"
            // Prompt strings are expanded as `${x@P}` is: `set -x` expands `PS4` before each
            // command, running the `$(…)` it holds.
            | "PS0"
            | "PS1"
            | "PS2"
            | "PS3"
            | "PS4"
            | "PYTHONSTARTUP"
            | "PYTHONPATH"
            | "NODE_OPTIONS"
            | "PERL5OPT"
            | "RUBYOPT"
            | "GIT_SSH_COMMAND"
            | "GIT_EXEC_PATH"
            | "GIT_SSH"
            | "GIT_PROXY_COMMAND"
            | "RSYNC_RSH"
            | "RSYNC_CONNECT_PROG"
            // Options or helpers given to a program through its environment: a command it runs.
            | "TAR_OPTIONS"
            | "ZIPOPT"
            | "UNZIPOPT"
            | "LESSOPEN"
            | "LESSCLOSE"
            | "MANOPT"
            | "MANPAGER"
            | "PAGER"
            | "BROWSER"
            | "EDITOR"
            | "VISUAL"
            | "SUDO_EDITOR"
            | "GIT_PAGER"
            | "GIT_EDITOR"
            | "GIT_CONFIG_PARAMETERS"
            | "SQLITE_INIT"
            | "SYSTEM_WGETRC"
            // Where programs read their configuration (`~/.curlrc`, `~/.wgetrc`, `.gitconfig`,
            // `.sqliterc`, `.digrc`), and how names resolve or what code TLS loads.
            | "HOME"
            | "XDG_CONFIG_HOME"
            | "HOSTALIASES"
            | "LOCALDOMAIN"
            | "RES_OPTIONS"
            | "GCONV_PATH"
            | "OPENSSL_CONF"
            | "OPENSSL_ENGINES"
            | "OPENSSL_MODULES"
    ) || name.starts_with("LD_")
        || name.starts_with("GIT_CONFIG_")
        // A proxy (or a client's own config file) sends a request elsewhere than its URL's
        // host: `http_proxy=http://evil curl http://lab/…` reaches evil.
        || {
            let lower = name.to_ascii_lowercase();
            lower.ends_with("_proxy") || matches!(lower.as_str(), "curl_home" | "wgetrc")
        }
        || name.starts_with("DYLD_")
        || name.starts_with("BASH_FUNC_")
}

/// The directories whose programs are the programs their names say: root-owned, and not
/// writable under a policy that bounds writes (the agent cannot put a shell there as `cat`).
/// `/usr/local/bin` is left out: Homebrew makes it the user's own on macOS.
const SYSTEM_PROGRAM_DIRS: [&str; 4] = ["/bin", "/usr/bin", "/sbin", "/usr/sbin"];

/// The program a command word names. A bare name (looked up in `PATH`, which the analysis
/// holds fixed) and a path in one of [`SYSTEM_PROGRAM_DIRS`] are the program by that name;
/// any other path (`/cases/cat`, `./cat`, `bin/cat`, `/usr/bin/../../cases/cat`) is kept as
/// written, so it is no program the analysis models, nor one an allow-list of names holds: a
/// copy of a shell under an allowed name runs what a shell runs. No case folding: `CAT` is
/// another program on Linux, and where it is not, holding it as unknown is the safe side.
fn program_name(text: &str) -> String {
    match text.rsplit_once('/') {
        Some((dir, base))
            if !base.is_empty()
                && base != "."
                && base != ".."
                && SYSTEM_PROGRAM_DIRS.contains(&dir) =>
        {
            base.to_owned()
        }
        _ => text.to_owned(),
    }
}

fn is_option(w: &Literal) -> bool {
    w.text
        .as_deref()
        .is_some_and(|t| t.starts_with('-') && t.len() > 1)
}

/// The words that are not options: after `--`, every word is one (`tee -- -d/../x`).
fn operands(rest: &[Literal]) -> Vec<&Literal> {
    let mut out = Vec::new();
    let mut words = rest.iter();
    for w in words.by_ref() {
        if w.text.as_deref() == Some("--") {
            break;
        }
        if !is_option(w) {
            out.push(w);
        }
    }
    out.extend(words);
    out
}

/// How many leading words are options (those in `takes_value` with their value); `--` ends them.
/// Short options are read in clusters as getopt does: in `-Eu man`, `u` takes `man`; in
/// `-n10`, `10` is attached to `n`.
fn skip_options(rest: &[Literal], takes_value: &[&str]) -> usize {
    let mut i = 0;
    while let Some(w) = rest.get(i) {
        match w.text.as_deref() {
            Some("--") => return i + 1,
            // GNU getopt takes any unambiguous prefix of a long option: `--kill 5` is
            // `--kill-after 5`, `--max-a 1` is `--max-args 1`.
            Some(t) if t.starts_with("--") => {
                let takes = t.len() > 2
                    && !t.contains('=')
                    && takes_value
                        .iter()
                        .any(|o| o.starts_with("--") && o.starts_with(t));
                i += if takes { 2 } else { 1 };
            }
            Some(t) if t.starts_with('-') && t.len() > 1 => {
                let cluster = t.get(1..).unwrap_or_default();
                let mut next_is_value = false;
                for (at, c) in cluster.char_indices() {
                    if takes_value.iter().any(|o| {
                        o.strip_prefix('-')
                            .is_some_and(|l| l.len() == c.len_utf8() && l.starts_with(c))
                    }) {
                        next_is_value = cluster.get(at + c.len_utf8()..).is_none_or(str::is_empty);
                        break;
                    }
                }
                i += if next_is_value { 2 } else { 1 };
            }
            _ => break,
        }
    }
    i
}

/// The words joined by spaces, as `eval` does, if all are literal.
fn literal_join(words: &[Literal]) -> Option<String> {
    let parts: Option<Vec<&str>> = words.iter().map(|w| w.text.as_deref()).collect();
    parts.map(|p| p.join(" "))
}

fn add_path(paths: &mut BTreeSet<String>, w: &Literal) {
    match (&w.text, w.expands) {
        (Some(t), false) if !t.is_empty() => {
            paths.insert(normal_path(t));
        }
        _ => {
            paths.insert(UNKNOWN.into());
        }
    }
}

/// An absolute path lexically normalised (`//`, `.` removed); one with `..` is unknown, since a
/// symlink decides where it leads. A relative path is kept as written.
fn normal_path(text: &str) -> String {
    if !text.starts_with('/') {
        return text.to_string();
    }
    let parts: Vec<&str> = text
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return UNKNOWN.into();
    }
    format!("/{}", parts.join("/"))
}

/// The host of a URL, or of a bare `host[:port][/path]` as curl accepts it; `None` where
/// parsers disagree. The WHATWG parser reads a backslash as `/` and decodes `%6d`, while curl takes
/// the authority up to the first `/`, `?` or `#` and the host after its last `@`: a URL whose
/// host differs between the two readings, or that holds a backslash, names no host warden can
/// trust.
fn url_host(text: &str) -> Option<String> {
    if text.contains('\\') || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let Some((_, after_scheme)) = text.split_once("://") else {
        let authority = text.split(['/', '?', '#']).next().unwrap_or_default();
        let host = host_of_authority(authority);
        return (!host.is_empty() && host != UNKNOWN).then_some(host);
    };
    let parsed = url::Url::parse(text).ok()?;
    let whatwg = parsed
        .host_str()
        .map(clean_host)
        .filter(|h| !h.is_empty())?;
    let authority = after_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let raw = host_of_authority(authority);
    let raw = raw.trim_start_matches('[').trim_end_matches(']');
    let whatwg_bare = whatwg.trim_start_matches('[').trim_end_matches(']');
    (raw == whatwg_bare && whatwg != UNKNOWN).then_some(whatwg)
}

/// A proxy's host: a URL (`http://evil:8080`, `socks5h://evil`) or `[user@]host[:port]`.
fn proxy_host(text: &str) -> Option<String> {
    if text.contains("://") {
        return url_host(text);
    }
    let host = host_of_authority(text);
    (!host.is_empty() && host != UNKNOWN).then_some(host)
}

/// A name or address given to a DNS tool.
fn dns_name(text: &str) -> String {
    if let Ok(ip) = text.parse::<std::net::IpAddr>() {
        return ip.to_string();
    }
    let host = clean_host(text);
    if host.is_empty() {
        UNKNOWN.into()
    } else {
        host
    }
}

/// Resource record types and classes dig reads as such, not as names.
fn dns_type_or_class(word: &str) -> bool {
    let upper = word.to_ascii_uppercase();
    matches!(
        upper.as_str(),
        "A" | "AAAA"
            | "MX"
            | "TXT"
            | "NS"
            | "CNAME"
            | "SOA"
            | "PTR"
            | "SRV"
            | "ANY"
            | "CAA"
            | "DS"
            | "DNSKEY"
            | "RRSIG"
            | "NSEC"
            | "NSEC3"
            | "HINFO"
            | "NAPTR"
            | "TLSA"
            | "SSHFP"
            | "SPF"
            | "AXFR"
            | "IXFR"
            | "HTTPS"
            | "SVCB"
            | "IN"
            | "CH"
            | "HS"
            | "CHAOS"
            | "HESIOD"
    ) || upper
        .strip_prefix("TYPE")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// dig, host and nslookup: every name is a query (its labels reach the name's own servers),
/// every server named (`@server`, host's and nslookup's second operand) is reached.
fn dns(program: &str, rest: &[Literal], facts: &mut CommandFacts) {
    let mut hosts = BTreeSet::new();
    let mut unknown = false;
    if program == "nslookup" {
        // `-option[=value]` words; `-` or no name reads commands from standard input.
        for w in rest {
            // nslookup reads no `--`: every word that starts with `-` is an option.
            match w.text.as_deref() {
                None | Some("-") => unknown = true,
                Some(t) if t.starts_with('-') => {}
                Some(t) => {
                    hosts.insert(dns_name(t));
                }
            }
        }
    } else {
        let grammar = if program == "dig" {
            &options::DIG
        } else {
            &options::HOST
        };
        for item in options::parse(rest, grammar) {
            match item {
                options::Item::Unknown | options::Item::Operand(None) => unknown = true,
                options::Item::Operand(Some(t)) => {
                    if let Some(server) = t.strip_prefix('@') {
                        hosts.insert(dns_name(server));
                    } else if program == "dig" && (t.starts_with('+') || dns_type_or_class(&t)) {
                        // A query option (`+short`), or a type or class.
                    } else {
                        hosts.insert(dns_name(&t));
                    }
                }
                options::Item::Opt(options::Opt::Takes(options::Value::Host), v) => match v {
                    Some(v) => {
                        hosts.insert(dns_name(&v));
                    }
                    None => unknown = true,
                },
                options::Item::Opt(options::Opt::Takes(options::Value::Config), _) => {
                    unknown = true;
                }
                options::Item::Opt(..) => {}
            }
        }
    }
    if unknown || hosts.is_empty() {
        hosts.insert(UNKNOWN.into());
    }
    facts.hosts.extend(hosts);
}

/// `user@host:port` → `host`.
fn host_of_authority(text: &str) -> String {
    let after_user = text.rsplit('@').next().unwrap_or(text);
    let host = if let Some(v6) = after_user.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        after_user.split(':').next().unwrap_or_default()
    };
    let host = clean_host(host);
    if host.is_empty() {
        UNKNOWN.into()
    } else {
        host
    }
}

fn clean_host(host: &str) -> String {
    let h = host.trim_end_matches('.').to_lowercase();
    if h.is_empty()
        || h.contains(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_')))
    {
        // Not a plain name or address (unicode, glob, escape): unknown.
        return if h.is_empty() {
            String::new()
        } else {
            UNKNOWN.into()
        };
    }
    h
}

mod hidden;
mod options;

#[cfg(test)]
mod tests;

/// Programs none of whose options or operands run, write or reach anything: a word of theirs
/// whose text is known only when the command runs cannot make them do more.
const OPTIONS_HARMLESS: &[&str] = &["echo", "grep", "egrep", "fgrep", "wc", "head", "cat", "ls"];

/// Whether `w` may reach `program` as words that start with `-`, or that the readers below
/// would take for something else: a word whose text is not known until the command runs
/// (`$X`, `"${A[@]}"`, `~+`: `X=-exec; find … $X sh -c …`), unless no option of the program
/// does harm; any brace expansion (`{-exec,sh,-c,…}`, `/cases/{a,../../etc/x}`); and a glob
/// that starts with a pattern or a dash (`*.log` matches a file named `--output=x.log`). A
/// glob after a literal start (`/cases/*.log`, `https://host/a?b`) keeps that start in every
/// word it becomes; find's `{}` is not a brace expansion.
fn may_become_options(w: &Literal, program: &str) -> bool {
    let Some(t) = &w.text else {
        return !OPTIONS_HARMLESS.contains(&program);
    };
    if !w.expands {
        return false;
    }
    let brace = t.contains('{') && (t.contains(',') || t.contains(".."));
    brace || t.starts_with(['*', '?', '[', '-', '@', '+', '!', '('])
}
