//! Options of the network programs whose destination warden reads from their words (curl,
//! wget, dig, host), read as their own parsers read them: short options in clusters with a
//! value attached to its letter (`-sK/cases/c`, `-xevil:8080`, `-ehttp_proxy=…`), long options
//! by any unique prefix (`--confi`), `--opt=value` where the program accepts it, operands
//! anywhere before `--`. The design choice: an option this reader does not know is
//! [`Item::Unknown`], and the caller makes the destination unknown — never "probably harmless".

use super::Literal;

/// What an option does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Opt {
    /// A flag that changes nothing warden reads.
    Flag,
    /// A flag that writes a file its words do not name (`curl -O`).
    Writes,
    /// A flag that reaches hosts its words do not name (`wget -H`, `--metalink`).
    Spans,
    /// A flag that follows redirects (`curl -L`): the answer names the next host, so the hosts
    /// reached are unknown unless redirects are limited to none ([`Value::MaxRedirects`]).
    Redirects,
    /// curl's `--next` (`-:`): a new transfer starts, its per-transfer options (`-L`,
    /// `--max-redirs`…) afresh.
    Next,
    /// An option with a value.
    Takes(Value),
}

/// What an option's value is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Value {
    Plain,
    /// Local data sent (`-d @file`, `-T`, `--post-file`).
    Upload,
    /// A file written.
    Output,
    /// A URL reached.
    Url,
    /// A host reached (a proxy).
    Host,
    /// A configuration source or routing that may name any host, upload or output.
    Config,
    /// A header, or `@file` whose contents are sent.
    Header,
    /// A cookie string, or a file (no `=`) whose contents are sent.
    Cookie,
    /// curl's `-w` format: `%output{file}` or `@file` writes.
    WriteOut,
    /// A cache file read for where to connect and written back (`--alt-svc` maps a host to
    /// another, `--hsts` changes the scheme and port): the host connected to is not only the
    /// one named.
    Routes,
    /// How many redirects are followed (`--max-redirs`, `--max-redirect`): only `0` keeps the
    /// request on the host it names.
    MaxRedirects,
}

/// One parsed word (or a word and its value).
#[derive(Debug)]
pub(super) enum Item {
    /// An option and, for [`Opt::Takes`], its value (`None`: computed or missing).
    Opt(Opt, Option<String>),
    /// An operand (`None`: computed when the command runs).
    Operand(Option<String>),
    /// An option this reader does not know, or one given in a form the program refuses.
    Unknown,
}

/// A program's option syntax.
pub(super) struct Grammar {
    pub short: fn(char) -> Option<Opt>,
    pub long: &'static [(&'static str, Opt)],
    /// Whether `--opt=value` is accepted (getopt_long); curl takes the value as the next word.
    pub long_equals: bool,
}

/// The long option `given` names: exact, or the one unique prefix match; `--no-flag` negates a
/// flag. Names starting with `expand-` (curl's variable expansion) are configuration.
fn long_option(table: &[(&'static str, Opt)], given: &str) -> Option<Opt> {
    if given.starts_with("expand-") {
        return Some(Opt::Takes(Value::Config));
    }
    if let Some((_, o)) = table.iter().find(|(n, _)| *n == given) {
        return Some(*o);
    }
    let mut matches = table.iter().filter(|(n, _)| n.starts_with(given));
    if let Some((_, o)) = matches.next()
        && !given.is_empty()
        && matches.all(|(_, other)| other == o)
    {
        return Some(*o);
    }
    given
        .strip_prefix("no-")
        .and_then(|rest| long_option(table, rest))
        .filter(|o| matches!(o, Opt::Flag | Opt::Spans | Opt::Writes | Opt::Redirects))
}

/// `words` read with `grammar`.
pub(super) fn parse(words: &[Literal], grammar: &Grammar) -> Vec<Item> {
    let mut out = Vec::new();
    let mut i = 0;
    let next_value = |i: &mut usize| -> Option<String> {
        let v = words.get(*i).and_then(|w| w.text.clone());
        *i += 1;
        v
    };
    while let Some(w) = words.get(i) {
        i += 1;
        let Some(text) = w.text.as_deref() else {
            out.push(Item::Operand(None));
            continue;
        };
        if text == "--" {
            out.extend(
                words
                    .get(i..)
                    .unwrap_or_default()
                    .iter()
                    .map(|w| Item::Operand(w.text.clone())),
            );
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (given, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            if inline.is_some() && !grammar.long_equals {
                out.push(Item::Unknown);
                continue;
            }
            match long_option(grammar.long, given) {
                None => out.push(Item::Unknown),
                Some(Opt::Takes(v)) => {
                    let value = match inline {
                        Some(x) => Some(x),
                        None => next_value(&mut i),
                    };
                    out.push(Item::Opt(Opt::Takes(v), value));
                }
                Some(_) if inline.is_some() => out.push(Item::Unknown),
                Some(o) => out.push(Item::Opt(o, None)),
            }
            continue;
        }
        let Some(cluster) = text.strip_prefix('-').filter(|c| !c.is_empty()) else {
            out.push(Item::Operand(Some(text.to_string())));
            continue;
        };
        for (at, c) in cluster.char_indices() {
            match (grammar.short)(c) {
                None => {
                    out.push(Item::Unknown);
                    break;
                }
                Some(Opt::Takes(v)) => {
                    let tail = cluster.get(at + c.len_utf8()..).unwrap_or_default();
                    let value = if tail.is_empty() {
                        next_value(&mut i)
                    } else {
                        Some(tail.to_string())
                    };
                    out.push(Item::Opt(Opt::Takes(v), value));
                    break;
                }
                Some(o) => out.push(Item::Opt(o, None)),
            }
        }
    }
    out
}

use Opt::{Flag, Next, Redirects, Spans, Takes, Writes};
use Value::{
    Config, Cookie, Header, Host, MaxRedirects, Output, Plain, Routes, Upload, Url, WriteOut,
};

fn curl_short(c: char) -> Option<Opt> {
    Some(match c {
        '0' | '1' | '2' | '3' | '4' | '6' | 'a' | 'B' | 'f' | 'G' | 'g' | 'I' | 'i' | 'j' | 'J'
        | 'k' | 'l' | 'M' | 'N' | 'n' | 'p' | 'q' | 'R' | 'S' | 's' | 'V' | 'v' | 'Z' | '#'
        | 'h' => Flag,
        ':' => Next,
        'L' => Redirects,
        'O' => Writes,
        'A' | 'C' | 'E' | 'e' | 'm' | 'Q' | 'r' | 't' | 'U' | 'u' | 'X' | 'Y' | 'y' | 'z' => {
            Takes(Plain)
        }
        'd' | 'F' | 'T' => Takes(Upload),
        'c' | 'D' | 'o' => Takes(Output),
        'b' => Takes(Cookie),
        'H' => Takes(Header),
        'K' => Takes(Config),
        'P' | 'x' => Takes(Host),
        'w' => Takes(WriteOut),
        _ => return None,
    })
}

/// curl's long options (curl 8), by what they do.
const CURL_LONG: &[(&str, Opt)] = &[
    ("silent", Flag),
    ("show-error", Flag),
    ("fail", Flag),
    ("fail-with-body", Flag),
    ("fail-early", Flag),
    ("location", Redirects),
    ("location-trusted", Redirects),
    ("insecure", Flag),
    ("compressed", Flag),
    ("compressed-ssh", Flag),
    ("include", Flag),
    ("head", Flag),
    ("verbose", Flag),
    ("globoff", Flag),
    ("get", Flag),
    ("http0.9", Flag),
    ("http1.0", Flag),
    ("http1.1", Flag),
    ("http2", Flag),
    ("http2-prior-knowledge", Flag),
    ("http3", Flag),
    ("http3-only", Flag),
    ("no-progress-meter", Flag),
    ("progress-bar", Flag),
    ("ipv4", Flag),
    ("ipv6", Flag),
    ("no-buffer", Flag),
    ("raw", Flag),
    ("tr-encoding", Flag),
    ("disable", Flag),
    ("netrc", Flag),
    ("netrc-optional", Flag),
    ("no-keepalive", Flag),
    ("post301", Flag),
    ("post302", Flag),
    ("post303", Flag),
    ("ssl", Flag),
    ("ssl-reqd", Flag),
    ("tlsv1", Flag),
    ("tlsv1.0", Flag),
    ("tlsv1.1", Flag),
    ("tlsv1.2", Flag),
    ("tlsv1.3", Flag),
    ("path-as-is", Flag),
    ("anyauth", Flag),
    ("basic", Flag),
    ("digest", Flag),
    ("ntlm", Flag),
    ("negotiate", Flag),
    ("no-sessionid", Flag),
    ("styled-output", Flag),
    ("create-dirs", Flag),
    ("remote-time", Flag),
    ("remote-header-name", Flag),
    ("junk-session-cookies", Flag),
    ("list-only", Flag),
    ("append", Flag),
    ("use-ascii", Flag),
    ("crlf", Flag),
    ("manual", Flag),
    ("help", Flag),
    ("version", Flag),
    ("parallel", Flag),
    ("parallel-immediate", Flag),
    ("next", Next),
    ("proxytunnel", Flag),
    ("proxy-insecure", Flag),
    ("suppress-connect-headers", Flag),
    ("tcp-nodelay", Flag),
    ("cert-status", Flag),
    ("retry-connrefused", Flag),
    ("retry-all-errors", Flag),
    ("ignore-content-length", Flag),
    ("skip-existing", Flag),
    ("remove-on-error", Flag),
    ("no-clobber", Flag),
    ("trace-time", Flag),
    ("trace-ids", Flag),
    ("form-escape", Flag),
    ("remote-name", Writes),
    ("remote-name-all", Writes),
    ("metalink", Spans),
    ("url", Takes(Url)),
    ("data", Takes(Upload)),
    ("data-ascii", Takes(Upload)),
    ("data-binary", Takes(Upload)),
    ("data-raw", Takes(Upload)),
    ("data-urlencode", Takes(Upload)),
    ("json", Takes(Upload)),
    ("form", Takes(Upload)),
    ("form-string", Takes(Upload)),
    ("upload-file", Takes(Upload)),
    ("variable", Takes(Upload)),
    ("url-query", Takes(Header)),
    ("header", Takes(Header)),
    ("proxy-header", Takes(Header)),
    ("cookie", Takes(Cookie)),
    ("output", Takes(Output)),
    ("output-dir", Takes(Output)),
    ("cookie-jar", Takes(Output)),
    ("dump-header", Takes(Output)),
    ("trace", Takes(Output)),
    ("trace-ascii", Takes(Output)),
    ("stderr", Takes(Output)),
    ("etag-save", Takes(Output)),
    ("hsts", Takes(Routes)),
    ("alt-svc", Takes(Routes)),
    ("libcurl", Takes(Output)),
    ("write-out", Takes(WriteOut)),
    ("proxy", Takes(Host)),
    ("proxy1.0", Takes(Host)),
    ("preproxy", Takes(Host)),
    ("ftp-port", Takes(Host)),
    ("config", Takes(Config)),
    ("resolve", Takes(Config)),
    ("connect-to", Takes(Config)),
    ("doh-url", Takes(Config)),
    ("dns-servers", Takes(Config)),
    ("socks4", Takes(Config)),
    ("socks4a", Takes(Config)),
    ("socks5", Takes(Config)),
    ("socks5-hostname", Takes(Config)),
    ("unix-socket", Takes(Config)),
    ("abstract-unix-socket", Takes(Config)),
    ("max-time", Takes(Plain)),
    ("connect-timeout", Takes(Plain)),
    ("retry", Takes(Plain)),
    ("retry-delay", Takes(Plain)),
    ("retry-max-time", Takes(Plain)),
    ("request", Takes(Plain)),
    ("user-agent", Takes(Plain)),
    ("referer", Takes(Plain)),
    ("user", Takes(Plain)),
    ("range", Takes(Plain)),
    ("cert", Takes(Plain)),
    ("key", Takes(Plain)),
    ("cacert", Takes(Plain)),
    ("capath", Takes(Plain)),
    ("proxy-user", Takes(Plain)),
    ("limit-rate", Takes(Plain)),
    ("max-filesize", Takes(Plain)),
    ("max-redirs", Takes(MaxRedirects)),
    ("oauth2-bearer", Takes(Plain)),
    ("noproxy", Takes(Plain)),
    ("cert-type", Takes(Plain)),
    ("key-type", Takes(Plain)),
    ("ciphers", Takes(Plain)),
    ("tls13-ciphers", Takes(Plain)),
    ("aws-sigv4", Takes(Plain)),
    ("keepalive-time", Takes(Plain)),
    ("speed-limit", Takes(Plain)),
    ("speed-time", Takes(Plain)),
    ("time-cond", Takes(Plain)),
    ("pass", Takes(Plain)),
    ("pinnedpubkey", Takes(Plain)),
    ("continue-at", Takes(Plain)),
    ("request-target", Takes(Plain)),
    ("interface", Takes(Plain)),
    ("local-port", Takes(Plain)),
    ("proto", Takes(Plain)),
    ("proto-redir", Takes(Plain)),
    ("proto-default", Takes(Plain)),
    ("netrc-file", Takes(Plain)),
    // Sent as `If-None-Match`, whatever the file holds.
    ("etag-compare", Takes(Upload)),
    ("quote", Takes(Plain)),
    ("telnet-option", Takes(Plain)),
    ("mail-from", Takes(Plain)),
    ("mail-rcpt", Takes(Plain)),
    ("mail-auth", Takes(Plain)),
    ("crlfile", Takes(Plain)),
    ("happy-eyeballs-timeout-ms", Takes(Plain)),
    ("expect100-timeout", Takes(Plain)),
    ("trace-config", Takes(Plain)),
];

/// curl: short clusters with attached values, long options by unique prefix, no `=`.
pub(super) const CURL: Grammar = Grammar {
    short: curl_short,
    long: CURL_LONG,
    long_equals: false,
};

fn wget_short(c: char) -> Option<Opt> {
    Some(match c {
        'V' | 'h' | 'b' | 'q' | 'v' | 'd' | 'F' | 'c' | 'N' | 'S' | 'r' | 'k' | 'K' | 'm' | 'p'
        | 'E' | 'L' | 'x' | '4' | '6' => Flag,
        'H' => Spans,
        'o' | 'a' | 'O' | 'P' => Takes(Output),
        'e' | 'i' => Takes(Config),
        // `-nv`, `-nc`, `-nd`, `-nH`, `-np`: `n` takes the next letter.
        'B' | 't' | 'T' | 'w' | 'Q' | 'U' | 'l' | 'A' | 'R' | 'D' | 'I' | 'X' | 'n' => Takes(Plain),
        _ => return None,
    })
}

/// wget's long options (GNU wget 1.21), by what they do.
const WGET_LONG: &[(&str, Opt)] = &[
    ("version", Flag),
    ("help", Flag),
    ("background", Flag),
    ("quiet", Flag),
    ("verbose", Flag),
    ("no-verbose", Flag),
    ("debug", Flag),
    ("force-html", Flag),
    ("continue", Flag),
    ("timestamping", Flag),
    ("server-response", Flag),
    ("spider", Flag),
    ("recursive", Flag),
    ("convert-links", Flag),
    ("backup-converted", Flag),
    ("mirror", Flag),
    ("page-requisites", Flag),
    ("adjust-extension", Flag),
    ("relative", Flag),
    ("force-directories", Flag),
    ("no-directories", Flag),
    ("no-host-directories", Flag),
    ("no-parent", Flag),
    ("no-config", Flag),
    ("inet4-only", Flag),
    ("inet6-only", Flag),
    ("check-certificate", Flag),
    ("cache", Flag),
    ("cookies", Flag),
    ("keep-session-cookies", Flag),
    ("ignore-length", Flag),
    ("dns-cache", Flag),
    ("retry-connrefused", Flag),
    ("content-disposition", Flag),
    ("content-on-error", Flag),
    ("auth-no-challenge", Flag),
    ("http-keep-alive", Flag),
    ("save-headers", Flag),
    ("https-only", Flag),
    ("ignore-case", Flag),
    ("clobber", Flag),
    ("delete-after", Flag),
    ("unlink", Flag),
    ("show-progress", Flag),
    ("follow-ftp", Flag),
    ("glob", Flag),
    ("netrc", Flag),
    ("proxy", Flag),
    ("hsts", Flag),
    ("if-modified-since", Flag),
    ("iri", Flag),
    ("span-hosts", Spans),
    ("metalink-over-http", Spans),
    ("post-data", Takes(Upload)),
    ("body-data", Takes(Upload)),
    ("post-file", Takes(Upload)),
    ("body-file", Takes(Upload)),
    ("output-document", Takes(Output)),
    ("output-file", Takes(Output)),
    ("append-output", Takes(Output)),
    ("directory-prefix", Takes(Output)),
    ("save-cookies", Takes(Output)),
    ("warc-file", Takes(Output)),
    ("rejected-log", Takes(Output)),
    ("hsts-file", Takes(Output)),
    ("execute", Takes(Config)),
    ("input-file", Takes(Config)),
    ("input-metalink", Takes(Config)),
    ("config", Takes(Config)),
    ("use-askpass", Takes(Config)),
    ("dns-servers", Takes(Config)),
    ("tries", Takes(Plain)),
    ("timeout", Takes(Plain)),
    ("dns-timeout", Takes(Plain)),
    ("connect-timeout", Takes(Plain)),
    ("read-timeout", Takes(Plain)),
    ("wait", Takes(Plain)),
    ("waitretry", Takes(Plain)),
    ("quota", Takes(Plain)),
    ("user-agent", Takes(Plain)),
    ("level", Takes(Plain)),
    ("accept", Takes(Plain)),
    ("reject", Takes(Plain)),
    ("domains", Takes(Plain)),
    ("exclude-domains", Takes(Plain)),
    ("include-directories", Takes(Plain)),
    ("exclude-directories", Takes(Plain)),
    ("user", Takes(Plain)),
    ("password", Takes(Plain)),
    ("http-user", Takes(Plain)),
    ("http-password", Takes(Plain)),
    ("header", Takes(Plain)),
    ("method", Takes(Plain)),
    ("referer", Takes(Plain)),
    ("limit-rate", Takes(Plain)),
    ("ca-certificate", Takes(Plain)),
    ("ca-directory", Takes(Plain)),
    ("certificate", Takes(Plain)),
    ("private-key", Takes(Plain)),
    ("max-redirect", Takes(MaxRedirects)),
    ("compression", Takes(Plain)),
    ("restrict-file-names", Takes(Plain)),
    ("default-page", Takes(Plain)),
    ("cut-dirs", Takes(Plain)),
    // Sent as cookies to the hosts the file names.
    ("load-cookies", Takes(Upload)),
    ("progress", Takes(Plain)),
    ("secure-protocol", Takes(Plain)),
];

/// wget: GNU getopt_long.
pub(super) const WGET: Grammar = Grammar {
    short: wget_short,
    long: WGET_LONG,
    long_equals: true,
};

fn dig_short(c: char) -> Option<Opt> {
    Some(match c {
        '4' | '6' | 'h' | 'i' | 'm' | 'r' | 'u' | 'v' => Flag,
        'b' | 'c' | 'k' | 'p' | 't' | 'y' => Takes(Plain),
        'q' | 'x' => Takes(Host),
        'f' => Takes(Config),
        _ => return None,
    })
}

/// dig: short options; `@server` and `+option` words are operands for the caller.
pub(super) const DIG: Grammar = Grammar {
    short: dig_short,
    long: &[],
    long_equals: false,
};

fn host_short(c: char) -> Option<Opt> {
    Some(match c {
        'a' | 'A' | 'C' | 'd' | 'l' | 'n' | 'r' | 's' | 'T' | 'U' | 'w' | 'v' | 'V' | '4' | '6' => {
            Flag
        }
        'c' | 'N' | 'p' | 'R' | 't' | 'W' | 'm' => Takes(Plain),
        _ => return None,
    })
}

/// host (BIND's).
pub(super) const HOST: Grammar = Grammar {
    short: host_short,
    long: &[],
    long_equals: false,
};
