//! Argument types refuse every string that another parser could read differently, and
//! normalise the rest. Each refusal class has several inputs; proptests check that the parsers
//! never panic and that an accepted value's `Display` parses back to the same value.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;
use warden_policy::argtypes::{
    ArgError, Email, Hostname, IdIndex, SafePath, Url, check_enum, check_id, check_relative_glob,
    fold_id, parse_ip, skeleton,
};

fn email_refused(inputs: &[&str], class: impl Fn(&ArgError) -> bool) {
    for input in inputs {
        match Email::parse(input) {
            Ok(email) => panic!("{input:?} was accepted as {email}"),
            Err(e) => assert!(class(&e), "{input:?} refused for the wrong reason: {e}"),
        }
    }
}

fn url_refused(inputs: &[&str], class: impl Fn(&ArgError) -> bool) {
    for input in inputs {
        match Url::parse(input) {
            Ok(url) => panic!("{input:?} was accepted as {url}"),
            Err(e) => assert!(class(&e), "{input:?} refused for the wrong reason: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Email

#[test]
fn email_the_reported_bypasses_are_refused() {
    for input in [
        "x@evil.example,soc@northwind.example",
        "x@evil.example;soc@northwind.example",
        "x@evil.example\n@northwind.example",
        "\"x@evil.example\"@northwind.example",
        "x%evil.example@northwind.example",
    ] {
        assert!(Email::parse(input).is_err(), "{input:?}");
    }
}

#[test]
fn email_case_is_normalised() {
    let email = Email::parse("Erin.Walsh@Northwind.example").unwrap();
    assert_eq!(email.domain(), "northwind.example");
    assert_eq!(email.local(), "erin.walsh");
    assert_eq!(email.address(), "erin.walsh@northwind.example");
    assert_eq!(email.to_string(), "erin.walsh@northwind.example");
    assert_eq!(email, Email::parse("erin.walsh@NORTHWIND.EXAMPLE").unwrap());
}

#[test]
fn email_accepts_ordinary_addresses() {
    for (input, address) in [
        ("soc@northwind.example", "soc@northwind.example"),
        (
            "soc+alerts@northwind.example",
            "soc+alerts@northwind.example",
        ),
        (
            "first.last@mail.northwind.example",
            "first.last@mail.northwind.example",
        ),
        ("o'brien@northwind.example", "o'brien@northwind.example"),
        ("a-b_c@north-wind.example", "a-b_c@north-wind.example"),
        ("x@xn--bcher-kva.example", "x@xn--bcher-kva.example"),
    ] {
        assert_eq!(Email::parse(input).unwrap().address(), address, "{input:?}");
    }
}

#[test]
fn email_international_domains_become_punycode() {
    let email = Email::parse("kim@Bücher.example").unwrap();
    assert_eq!(email.domain(), "xn--bcher-kva.example");
    // Fullwidth letters and the ideographic full stop are the same name after UTS 46.
    let email = Email::parse("kim@ｎｏｒｔｈｗｉｎｄ。example").unwrap();
    assert_eq!(email.domain(), "northwind.example");
    // A look-alike with a Cyrillic `о` is a different domain, and says so.
    let email = Email::parse("soc@nоrthwind.example").unwrap();
    assert_ne!(email.domain(), "northwind.example");
    assert!(email.domain().starts_with("xn--"));
}

#[test]
fn email_lists_are_refused() {
    email_refused(
        &[
            "a@b.example,c@d.example",
            "a@b.example;c@d.example",
            "a@b.example, c@d.example",
            ",a@b.example",
            "a@b.example;",
            "a,b@c.example",
        ],
        |e| matches!(e, ArgError::List { .. }),
    );
    // A fullwidth comma in the domain maps to `,` under IDNA and is refused there.
    email_refused(&["a@evil.example，northwind.example"], |e| {
        matches!(e, ArgError::Idna { .. })
    });
}

#[test]
fn email_whitespace_and_control_characters_are_refused() {
    email_refused(
        &[
            "x@evil.example\n@northwind.example",
            " soc@northwind.example",
            "soc@northwind.example ",
            "soc @northwind.example",
            "soc@northwind.example\r\nBcc: x@evil.example",
            "soc\t@northwind.example",
            "soc\0@northwind.example",
            "soc@northwind.example\0",
            "soc\u{7f}@northwind.example",
            "soc\u{85}@northwind.example",
            "soc\u{A0}@northwind.example",
            "soc@northwind\u{3000}.example",
            "soc@northwind.example\u{2028}",
            "soc@north\u{200B}wind.example",
            "soc@north\u{AD}wind.example",
            "soc\u{202E}@northwind.example",
            "soc@northwind.example\u{FEFF}",
        ],
        |e| matches!(e, ArgError::Whitespace { .. }),
    );
}

#[test]
fn email_display_names_and_angle_brackets_are_refused() {
    email_refused(
        &[
            "Erin <erin@northwind.example>",
            "<erin@northwind.example>",
            "Erin<erin@northwind.example>",
            "x@evil.example<soc@northwind.example>",
            "erin@northwind.example>",
        ],
        |e| {
            matches!(
                e,
                ArgError::DisplayName { .. } | ArgError::Whitespace { .. }
            )
        },
    );
}

#[test]
fn email_comments_are_refused() {
    email_refused(
        &[
            "erin(comment)@northwind.example",
            "erin@northwind.example(comment)",
            "(x@evil.example)soc@northwind.example",
            "erin@(x)northwind.example",
        ],
        |e| matches!(e, ArgError::Comment { .. }),
    );
}

#[test]
fn email_quoted_local_parts_are_refused() {
    email_refused(
        &[
            "\"x@evil.example\"@northwind.example",
            "\"erin\"@northwind.example",
            "\"\"@northwind.example",
            "\"a b\"@northwind.example",
        ],
        |e| {
            matches!(
                e,
                ArgError::QuotedLocal { .. } | ArgError::Whitespace { .. }
            )
        },
    );
}

#[test]
fn email_percent_and_bang_routing_is_refused() {
    email_refused(
        &[
            "x%evil.example@northwind.example",
            "evil.example!x@northwind.example",
            "x@evil.example%northwind.example",
            "soc%40evil.example@northwind.example",
        ],
        |e| matches!(e, ArgError::Routing { .. }),
    );
}

#[test]
fn email_source_routes_are_refused() {
    email_refused(
        &[
            "@evil.example:soc@northwind.example",
            "@a.example,@b.example:soc@northwind.example",
            "soc@northwind.example:25",
            "x:soc@northwind.example",
        ],
        |e| matches!(e, ArgError::SourceRoute { .. } | ArgError::List { .. }),
    );
}

#[test]
fn email_needs_exactly_one_at() {
    email_refused(
        &[
            "soc",
            "soc.northwind.example",
            "x@evil.example@northwind.example",
            "soc@@northwind.example",
            "@@",
            "a@b@c.example",
        ],
        |e| matches!(e, ArgError::AtSign { .. }),
    );
    // A fullwidth `＠` is not an `@`: it is a non-ASCII local part here.
    email_refused(&["x＠evil.example@northwind.example"], |e| {
        matches!(e, ArgError::NonAsciiLocal { .. })
    });
}

#[test]
fn email_empty_parts_are_refused() {
    assert!(matches!(Email::parse(""), Err(ArgError::Empty { .. })));
    email_refused(&["@northwind.example", "soc@", "@"], |e| {
        matches!(e, ArgError::EmptyPart { .. })
    });
}

#[test]
fn email_dots_must_separate_atoms() {
    email_refused(
        &[
            ".soc@northwind.example",
            "soc.@northwind.example",
            "s..oc@northwind.example",
            "soc@.northwind.example",
            "soc@northwind.example.",
            "soc@northwind..example",
            ".@northwind.example",
        ],
        |e| matches!(e, ArgError::Dots { .. }),
    );
}

#[test]
fn email_ip_literal_domains_are_refused() {
    email_refused(
        &[
            "soc@[1.2.3.4]",
            "soc@[IPv6:::1]",
            "soc@1.2.3.4",
            "soc@10.1",
            "soc@0x7f.1",
            "soc@１２７.０.０.１",
        ],
        |e| matches!(e, ArgError::IpLiteral { .. }),
    );
}

#[test]
fn email_over_long_parts_are_refused() {
    let local = "a".repeat(65);
    let long_local = format!("{local}@northwind.example");
    assert!(matches!(
        Email::parse(&long_local),
        Err(ArgError::LocalTooLong { .. })
    ));
    assert!(Email::parse(&format!("{}@northwind.example", "a".repeat(64))).is_ok());
    let label = "b".repeat(60);
    let long = format!("a@{label}.{label}.{label}.{label}.{label}.example");
    assert!(matches!(Email::parse(&long), Err(ArgError::TooLong { .. })));
    let long_label = format!("a@{}.example", "c".repeat(64));
    assert!(Email::parse(&long_label).is_err());
}

#[test]
fn email_domain_needs_a_dot() {
    email_refused(&["soc@localhost", "soc@northwind"], |e| {
        matches!(e, ArgError::NoDot { .. })
    });
}

#[test]
fn email_non_ascii_local_parts_are_refused() {
    email_refused(
        &[
            "érin@northwind.example",
            "sос@northwind.example", // Cyrillic о and с
            "ｓｏｃ@northwind.example",
            "soc\u{301}@northwind.example",
        ],
        |e| matches!(e, ArgError::NonAsciiLocal { .. }),
    );
}

#[test]
fn email_encoded_local_parts_are_refused() {
    email_refused(
        &[
            "=?utf-8?q?x=40evil.example?=@northwind.example",
            "=?x?q?collab=40evil.example=3e=00?=foo@northwind.example",
            "=?utf-7?q?&AEA-evil.example?=@northwind.example",
            "a=?b@northwind.example",
            "xn--x-xxx@northwind.example",
            "soc.XN--abc@northwind.example",
        ],
        |e| matches!(e, ArgError::EncodedLocal { .. }),
    );
    // `=` and `?` alone are ordinary atext (SRS and VERP addresses use `=`).
    assert!(Email::parse("bounce+soc=evil.example@northwind.example").is_ok());
}

#[test]
fn email_leading_hyphen_is_refused() {
    email_refused(
        &["-X/tmp/log@northwind.example", "-oQ@northwind.example"],
        |e| matches!(e, ArgError::LeadingHyphen { .. }),
    );
    assert!(Email::parse("a-b@northwind.example").is_ok());
}

#[test]
fn email_other_bad_characters_are_refused() {
    email_refused(
        &[
            "soc\\@northwind.example",
            "soc@north_wind.example",
            "soc@north*wind.example",
            "soc@-northwind.example",
            "soc@northwind-.example",
            "soc@xn--invalid-.example",
            "soc@xn--a.example",
        ],
        |e| {
            matches!(
                e,
                ArgError::Backslash { .. }
                    | ArgError::BadChar { .. }
                    | ArgError::Idna { .. }
                    | ArgError::BadLabel { .. }
            )
        },
    );
}

#[test]
fn email_errors_read_like_cedar_and_show_the_input() {
    let err = Email::parse("x@evil.example,soc@northwind.example").unwrap_err();
    assert_eq!(
        err.to_string(),
        "email address `x@evil.example,soc@northwind.example` is a list: give exactly one address"
    );
    let err = Email::parse("x@evil.example\n@northwind.example").unwrap_err();
    assert_eq!(
        err.to_string(),
        "email address `x@evil.example\\n@northwind.example` contains whitespace, a control \
         character or an invisible character"
    );
    for input in [
        "a@b@c.example",
        "soc@[1.2.3.4]",
        "x%y@z.example",
        "soc@localhost",
    ] {
        let message = Email::parse(input).unwrap_err().to_string();
        assert!(message.contains(&format!("`{input}`")), "{message}");
        assert!(!message.ends_with('.'), "{message}");
        assert!(message.starts_with(char::is_lowercase), "{message}");
    }
}

// ---------------------------------------------------------------------------------------------
// Url

#[test]
fn url_normalises_host_and_finds_the_registered_domain() {
    let url = Url::parse("HTTPS://Soc.Northwind.Example/Path?q=1#f").unwrap();
    assert_eq!(url.scheme(), "https");
    assert_eq!(url.host(), "soc.northwind.example");
    assert_eq!(url.domain(), "northwind.example");
    assert_eq!(url.path(), "/Path");
    assert_eq!(url.as_str(), "https://soc.northwind.example/Path?q=1#f");

    let url = Url::parse("https://a.b.example.co.uk/").unwrap();
    assert_eq!(url.domain(), "example.co.uk");
    let url = Url::parse("http://northwind.example:8080").unwrap();
    assert_eq!(url.domain(), "northwind.example");
    assert_eq!(url.port(), Some(8080));
    assert_eq!(url.path(), "/");
    let url = Url::parse("https://northwind.example.evil.com/northwind.example").unwrap();
    assert_eq!(url.domain(), "evil.com");
    let url = Url::parse("https://Bücher.example/").unwrap();
    assert_eq!(url.host(), "xn--bcher-kva.example");
    // A private-section suffix makes each tenant its own registered domain.
    let url = Url::parse("https://evil.github.io/").unwrap();
    assert_eq!(url.domain(), "evil.github.io");
    // A host that is a single label or a public suffix is its own domain.
    assert_eq!(
        Url::parse("http://localhost/").unwrap().domain(),
        "localhost"
    );
    assert_eq!(Url::parse("http://co.uk/").unwrap().domain(), "co.uk");
}

#[test]
fn url_strips_one_root_dot() {
    let url = Url::parse("https://northwind.example./a").unwrap();
    assert_eq!(url.host(), "northwind.example");
    assert_eq!(url.as_str(), "https://northwind.example/a");
    assert!(Url::parse("https://northwind.example../a").is_err());
}

#[test]
fn url_ip_hosts_are_their_own_domain() {
    let url = Url::parse("http://192.0.2.7:8080/x").unwrap();
    assert_eq!(url.host(), "192.0.2.7");
    assert_eq!(url.domain(), "192.0.2.7");
    let url = Url::parse("http://[2001:DB8::1]/").unwrap();
    assert_eq!(url.host(), "2001:db8::1");
    assert_eq!(url.domain(), "2001:db8::1");
    let url = Url::parse("http://[::ffff:127.0.0.1]/").unwrap();
    assert_eq!(url.host(), "127.0.0.1");
}

#[test]
fn url_userinfo_is_refused() {
    url_refused(
        &[
            "https://northwind.example@evil.com",
            "https://northwind.example@evil.com/",
            "https://user:pass@northwind.example/",
            "https://@northwind.example/",
            "https://northwind.example:443@evil.com/",
            "http://a@b@evil.com/",
        ],
        |e| matches!(e, ArgError::UserInfo { .. }),
    );
    // `@` after the authority is an ordinary path, query or fragment character.
    assert_eq!(
        Url::parse("https://northwind.example/@evil.com")
            .unwrap()
            .host(),
        "northwind.example"
    );
    assert_eq!(
        Url::parse("https://northwind.example?@evil.com")
            .unwrap()
            .host(),
        "northwind.example"
    );
    assert_eq!(
        Url::parse("https://northwind.example#@evil.com")
            .unwrap()
            .host(),
        "northwind.example"
    );
}

#[test]
fn url_other_schemes_are_refused() {
    url_refused(
        &[
            "mailto:soc@northwind.example",
            "ftp://northwind.example/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "data:text/html,x",
            "ws://northwind.example/",
        ],
        |e| matches!(e, ArgError::UnsupportedScheme { .. }),
    );
}

#[test]
fn url_relative_or_authority_less_forms_are_refused() {
    url_refused(
        &["northwind.example/x", "//northwind.example/x", "/x", ":x"],
        |e| matches!(e, ArgError::NotAbsolute { .. }),
    );
    url_refused(
        &[
            "https:northwind.example",
            "https:/northwind.example",
            "https:///evil.com",
            "https://",
            "https://?x",
            "https://#x",
        ],
        |e| matches!(e, ArgError::NoAuthority { .. }),
    );
}

#[test]
fn url_whitespace_backslashes_and_encoded_hosts_are_refused() {
    url_refused(
        &[
            "https://evil.com\\@northwind.example",
            "https:\\\\evil.com",
            "https://northwind.example\\..\\x",
        ],
        |e| matches!(e, ArgError::Backslash { .. }),
    );
    url_refused(
        &[
            "https://north\twind.example/",
            "https://northwind.example\n.evil.com/",
            " https://northwind.example/",
            "https://northwind.example/ x",
            "https://north\u{200B}wind.example/",
        ],
        |e| matches!(e, ArgError::Whitespace { .. }),
    );
    url_refused(
        &[
            "https://northwind%2Eexample/",
            "https://evil.com%2F.northwind.example/",
            "https://%65vil.com/",
        ],
        |e| matches!(e, ArgError::PercentEncoded { .. }),
    );
}

#[test]
fn url_ipv4_shorthand_octal_and_hex_are_refused() {
    url_refused(
        &[
            "http://127.1/",
            "http://0177.0.0.1/",
            "http://0x7f.0.0.1/",
            "http://2130706433/",
            "http://127.0.0.01/",
            "http://127.0.0.1./",
            "http://１２７.０.０.１/",
        ],
        |e| matches!(e, ArgError::NonStandardIp { .. }),
    );
}

#[test]
fn url_malformed_hosts_are_refused() {
    for input in [
        "https://north_wind.example/",
        "https://-northwind.example/",
        "https://northwind.example:99999/",
        "https://[::1/",
        "https://xn--a.example/",
        "https://a..example/",
    ] {
        assert!(Url::parse(input).is_err(), "{input:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Hostname

#[test]
fn hostname_normalises() {
    for (input, name) in [
        ("Northwind.Example", "northwind.example"),
        ("northwind.example.", "northwind.example"),
        ("localhost", "localhost"),
        ("Bücher.example", "xn--bcher-kva.example"),
        ("a-1.b2.example", "a-1.b2.example"),
    ] {
        let host = Hostname::parse(input).unwrap();
        assert_eq!(host.as_str(), name, "{input:?}");
        assert_eq!(host.to_string(), name, "{input:?}");
    }
}

#[test]
fn hostname_refusals() {
    for input in [
        "",
        ".",
        "northwind.example..",
        ".northwind.example",
        "north..wind",
        "north wind.example",
        "northwind.example\n",
        "north_wind.example",
        "-northwind.example",
        "northwind-.example",
        "northwind.example:80",
        "user@northwind.example",
        "northwind.example/x",
        "127.0.0.1",
        "::1",
        "[::1]",
        "10.1",
        "0x7f.1",
        "a.123",
        "xn--a",
        &"a".repeat(64),
        &format!("{}.example", vec!["b".repeat(63); 4].join(".")),
    ] {
        assert!(Hostname::parse(input).is_err(), "{input:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// IP

#[test]
fn ip_standard_forms_are_accepted() {
    assert_eq!(
        parse_ip("192.0.2.1").unwrap(),
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))
    );
    assert_eq!(parse_ip("2001:DB8::1").unwrap().to_string(), "2001:db8::1");
    assert_eq!(
        parse_ip("::ffff:10.0.0.1").unwrap(),
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))
    );
    assert_eq!(parse_ip("0.0.0.0").unwrap().to_string(), "0.0.0.0");
}

#[test]
fn ip_shorthand_octal_hex_and_decorated_forms_are_refused() {
    for input in [
        "",
        "10.1",
        "10.0.1",
        "127.1",
        "010.0.0.1",
        "0177.0.0.1",
        "127.0.0.01",
        "0x7f.0.0.1",
        "0x7f000001",
        "2130706433",
        "256.0.0.1",
        "1.2.3.4.5",
        " 10.0.0.1",
        "10.0.0.1 ",
        "10.0.0.1\n",
        "[::1]",
        "fe80::1%eth0",
        "１２７.０.０.１",
        "10.0.0.1/8",
        "10.0.0.1:80",
    ] {
        assert!(parse_ip(input).is_err(), "{input:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// SafePath

#[test]
fn safe_path_normalises_under_the_root() {
    for (input, path) in [
        ("/srv/data", "/srv/data"),
        ("/srv/data/", "/srv/data"),
        ("/srv/data/a/b.txt", "/srv/data/a/b.txt"),
        ("/srv//data/./a//b.txt/", "/srv/data/a/b.txt"),
        ("/srv/data/with space.txt", "/srv/data/with space.txt"),
        ("/srv/data/ünïcode", "/srv/data/ünïcode"),
    ] {
        let safe = SafePath::parse(input, "/srv/data").unwrap();
        assert_eq!(safe.as_str(), path, "{input:?}");
        assert_eq!(safe.to_string(), path, "{input:?}");
    }
    assert_eq!(
        SafePath::parse("/etc/passwd", "/").unwrap().as_str(),
        "/etc/passwd"
    );
    assert_eq!(
        SafePath::parse("/srv/data/x", "/srv/data/")
            .unwrap()
            .as_str(),
        "/srv/data/x"
    );
}

#[test]
fn safe_path_refusals() {
    let refused =
        |input: &str, class: fn(&ArgError) -> bool| match SafePath::parse(input, "/srv/data") {
            Ok(p) => panic!("{input:?} was accepted as {p}"),
            Err(e) => assert!(class(&e), "{input:?} refused for the wrong reason: {e}"),
        };
    for input in [
        "/srv/data/../etc/passwd",
        "/srv/data/../../etc",
        "/srv/data/..",
        "/..",
        "/srv/data/a/../b",
        "/srv/data/a/..",
    ] {
        refused(input, |e| matches!(e, ArgError::ParentDir { .. }));
    }
    for input in ["/srv/database", "/srv", "/", "/etc/passwd", "/srv/dat"] {
        refused(input, |e| matches!(e, ArgError::OutsideRoot { .. }));
    }
    for input in ["srv/data/x", "./x", "x", "~/x", "C:/srv/data"] {
        refused(input, |e| matches!(e, ArgError::NotAbsolute { .. }));
    }
    for input in [
        "/srv/data/x\0",
        "/srv/data/\0/../../etc",
        "/srv/data/x\n",
        "/srv/data/\tx",
        "/srv/data/\u{A0}",
        "/srv/data/a\u{200B}",
    ] {
        refused(input, |e| matches!(e, ArgError::Whitespace { .. }));
    }
    for input in ["/srv/data\\..\\..\\etc", "/srv/data/a\\b", "\\srv\\data"] {
        refused(input, |e| matches!(e, ArgError::Backslash { .. }));
    }
    for input in [
        "/srv/data/%2e%2e/etc",
        "/srv/data/%2e%2e%2fetc",
        "/srv/data/a%00",
        "/srv/data/100%",
    ] {
        refused(input, |e| matches!(e, ArgError::PercentEncoded { .. }));
    }
    assert!(matches!(
        SafePath::parse("", "/srv/data"),
        Err(ArgError::Empty { .. })
    ));
    assert!(matches!(
        SafePath::parse(&format!("/srv/data/{}", "a".repeat(5000)), "/srv/data"),
        Err(ArgError::TooLong { .. })
    ));
}

#[test]
fn safe_path_refuses_a_bad_root() {
    for root in [
        "",
        "srv/data",
        "/srv/../etc",
        "/srv/data\\x",
        "/srv/%2e",
        "/srv\n",
    ] {
        assert!(
            matches!(
                SafePath::parse("/srv/data/x", root),
                Err(ArgError::InvalidRoot { .. })
            ),
            "{root:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Enumerations

#[test]
fn enum_is_exact() {
    let allowed = vec!["low".to_owned(), "high".to_owned()];
    assert_eq!(check_enum("low", &allowed).unwrap(), "low");
    for input in ["Low", "LOW", "low ", " low", "lоw", "ｌｏｗ", "", "medium"] {
        let err = check_enum(input, &allowed).unwrap_err();
        assert!(matches!(err, ArgError::NotAllowed { .. }), "{input:?}");
    }
    assert_eq!(
        check_enum("medium", &allowed).unwrap_err().to_string(),
        "`medium` is not one of the allowed values: `low`, `high`"
    );
    assert!(check_enum("x", &[]).is_err());
}

// ---------------------------------------------------------------------------------------------
// Entity ids

#[test]
fn ids_fold_and_skeletons() {
    assert_eq!(fold_id("DC01"), "dc01");
    assert_eq!(fold_id("ｄｃ０１"), "dc01");
    assert_eq!(fold_id("ﬁle"), "file");
    assert_eq!(fold_id(" a "), " a ");
    assert_eq!(skeleton("dc0l"), skeleton("dc01"));
    assert_eq!(skeleton("dcO1"), skeleton("dc01"));
    assert_eq!(skeleton("pаypal"), skeleton("paypal")); // Cyrillic а
    assert_ne!(skeleton("dc02"), skeleton("dc01"));
}

#[test]
fn ids_with_whitespace_or_invisibles_are_refused() {
    assert!(check_id("dc01").is_ok());
    assert!(check_id("soc@northwind.example").is_ok());
    for input in [
        "",
        " dc01",
        "dc01 ",
        "dc 01",
        "dc01\n",
        "dc\u{200B}01",
        "dc01\u{FE0F}",
        "dc\u{202E}01",
        "dc\u{A0}01",
    ] {
        assert!(check_id(input).is_err(), "{input:?}");
    }
}

fn index() -> IdIndex {
    IdIndex::new(
        ["dc01", "web-01", "Alice", "payroll"]
            .into_iter()
            .map(str::to_owned),
    )
}

#[test]
fn ids_resolve_exactly_or_by_fold() {
    let index = index();
    assert_eq!(index.resolve("dc01").unwrap(), "dc01");
    assert_eq!(index.resolve("DC01").unwrap(), "dc01");
    assert_eq!(index.resolve("ｄｃ０１").unwrap(), "dc01");
    assert_eq!(index.resolve("Alice").unwrap(), "Alice");
    assert_eq!(index.resolve("alice").unwrap(), "Alice");
    assert_eq!(index.resolve("ALICE").unwrap(), "Alice");
}

#[test]
fn ids_confusable_with_known_are_refused() {
    let index = index();
    for input in [
        "dc0l", "dcO1", "DCOl", "dс01",  // Cyrillic с
        "аlice", // Cyrillic а
        "pаyroll", "web-0l", "payro11",
    ] {
        match index.resolve(input) {
            Err(ArgError::Confusable { .. }) => {}
            other => panic!("{input:?}: {other:?}"),
        }
    }
    assert_eq!(
        index.resolve("dc0l").unwrap_err().to_string(),
        "id `dc0l` is confusable with known `dc01`"
    );
}

#[test]
fn ids_that_fold_together_are_ambiguous() {
    let index = IdIndex::new(["Admin", "admin", "ADMIN"].into_iter().map(str::to_owned));
    match index.resolve("aDmin") {
        Err(ArgError::Ambiguous { candidates, .. }) => {
            assert_eq!(candidates, ["ADMIN", "Admin", "admin"]);
        }
        other => panic!("{other:?}"),
    }
    // An exact spelling still names exactly one of them.
    assert_eq!(index.resolve("admin").unwrap(), "admin");
    let index = IdIndex::new(["dc01", "ｄｃ０１"].into_iter().map(str::to_owned));
    assert!(matches!(
        index.resolve("DC01"),
        Err(ArgError::Ambiguous { .. })
    ));
}

#[test]
fn ids_unknown_and_malformed() {
    let index = index();
    assert!(matches!(
        index.resolve("dc02"),
        Err(ArgError::UnknownEntity { .. })
    ));
    assert!(matches!(
        index.resolve("mallory"),
        Err(ArgError::UnknownEntity { .. })
    ));
    for input in ["dc01 ", " dc01", "dc\u{200B}01", "", "dc01\n"] {
        assert!(
            matches!(
                index.resolve(input),
                Err(ArgError::Whitespace { .. } | ArgError::Empty { .. })
            ),
            "{input:?}"
        );
    }
    assert!(matches!(
        IdIndex::new(Vec::new()).resolve("x"),
        Err(ArgError::UnknownEntity { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Properties

/// Characters that make up addresses, URLs, hosts and paths, and the ones that break them.
const SOUP: &str = "[a-zA-Z0-9@.,;:%!<>()\"'\\[\\]\\\\/?#&=+_~ \t\n\u{0}\u{A0}\u{200B}\u{FF20}\u{FF0E}\u{3002}éаο-]{0,40}";

/// Every Unicode White_Space character.
const WHITESPACE: &[char] = &[
    '\t', '\n', '\u{B}', '\u{C}', '\r', ' ', '\u{85}', '\u{A0}', '\u{1680}', '\u{2000}',
    '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}', '\u{2005}', '\u{2006}', '\u{2007}', '\u{2008}',
    '\u{2009}', '\u{200A}', '\u{2028}', '\u{2029}', '\u{202F}', '\u{205F}', '\u{3000}',
];

fn email_like() -> impl Strategy<Value = String> {
    (
        "[a-zA-Z0-9._+'-]{1,12}",
        "[a-zA-Z0-9-]{1,10}",
        "(\\.[a-zA-Z0-9-]{1,8}){0,3}",
        "\\.(example|com|co\\.uk|org|bücher)",
    )
        .prop_map(|(l, d, mid, tld)| format!("{l}@{d}{mid}{tld}"))
}

fn url_like() -> impl Strategy<Value = String> {
    (
        "(http|https|HTTP|ftp)",
        "[a-zA-Z0-9.-]{1,20}",
        "(:[0-9]{1,5})?",
        "(/[a-zA-Z0-9._~%@!$&'()*+,;=:-]{0,10}){0,3}",
        "(\\?[a-z0-9=&%]{0,10})?",
        "(#[a-z0-9@]{0,6})?",
    )
        .prop_map(|(s, h, p, path, q, f)| format!("{s}://{h}{p}{path}{q}{f}"))
}

fn path_like() -> impl Strategy<Value = String> {
    "(/(srv|data|\\.|\\.\\.|x y|a|%2e|\\\\|\u{0}|é)?){0,8}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsers_never_panic(text in any::<String>(), soup in SOUP) {
        for input in [text.as_str(), soup.as_str()] {
            let _ = Email::parse(input);
            let _ = Url::parse(input);
            let _ = Hostname::parse(input);
            let _ = parse_ip(input);
            let _ = SafePath::parse(input, "/srv/data");
            let _ = SafePath::parse("/srv/data/x", input);
            let _ = check_enum(input, &["a".to_owned()]);
            let _ = check_id(input);
            let _ = fold_id(input);
            let _ = skeleton(input);
            let _ = index().resolve(input);
            let _ = IdIndex::new([input.to_owned(), fold_id(input)]).resolve(input);
        }
    }

    #[test]
    fn email_round_trips(text in prop_oneof![email_like(), SOUP]) {
        if let Ok(email) = Email::parse(&text) {
            prop_assert_eq!(Email::parse(&email.to_string()), Ok(email.clone()));
            prop_assert_eq!(email.address(), format!("{}@{}", email.local(), email.domain()));
            prop_assert!(email.address().is_ascii());
            prop_assert_eq!(email.address().to_ascii_lowercase(), email.address());
            prop_assert_eq!(email.address().matches('@').count(), 1);
            prop_assert!(email.domain().contains('.'));
        }
    }

    #[test]
    fn email_refuses_lists_whitespace_and_second_at(
        head in prop_oneof![email_like(), SOUP, any::<String>()],
        tail in prop_oneof![email_like(), SOUP, any::<String>()],
        sep in prop_oneof![
            Just(",".to_owned()),
            Just(";".to_owned()),
            Just("@".to_owned()),
            prop::sample::select(WHITESPACE).prop_map(String::from),
        ],
        at in any::<prop::sample::Index>(),
    ) {
        // Put the separator anywhere in a string, and for `@` make sure there are two.
        let cut = head.char_indices().map(|(i, _)| i).chain([head.len()]).collect::<Vec<_>>();
        let cut = cut[at.index(cut.len())];
        let (left, right) = head.split_at(cut);
        let text = if sep == "@" {
            format!("{left}@{right}@{tail}")
        } else {
            format!("{left}{sep}{right}{tail}")
        };
        prop_assert!(Email::parse(&text).is_err(), "{:?} was accepted", text);
    }

    #[test]
    fn url_round_trips(text in prop_oneof![url_like(), SOUP]) {
        if let Ok(url) = Url::parse(&text) {
            prop_assert_eq!(Url::parse(&url.to_string()), Ok(url.clone()));
            prop_assert!(url.scheme() == "http" || url.scheme() == "https");
            prop_assert!(!url.host().contains('@'));
            prop_assert!(url.host().ends_with(url.domain()));
        }
    }

    #[test]
    fn hostname_round_trips(text in prop_oneof!["[a-zA-Z0-9.-]{1,30}", SOUP]) {
        if let Ok(host) = Hostname::parse(&text) {
            prop_assert_eq!(Hostname::parse(&host.to_string()), Ok(host.clone()));
            prop_assert!(host.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'));
        }
    }

    #[test]
    fn ip_round_trips(text in prop_oneof!["[0-9a-fA-F:.]{1,20}", any::<IpAddr>().prop_map(|ip| ip.to_string())]) {
        if let Ok(ip) = parse_ip(&text) {
            prop_assert_eq!(parse_ip(&ip.to_string()), Ok(ip));
        }
    }

    #[test]
    fn safe_path_round_trips_and_stays_under_root(
        text in prop_oneof![path_like().prop_map(|p| format!("/srv/data{p}")), path_like(), SOUP],
    ) {
        if let Ok(path) = SafePath::parse(&text, "/srv/data") {
            prop_assert_eq!(SafePath::parse(&path.to_string(), "/srv/data"), Ok(path.clone()));
            prop_assert!(path.as_str() == "/srv/data" || path.as_str().starts_with("/srv/data/"));
            prop_assert!(!path.as_str().split('/').any(|c| c == ".." || c == "."));
        }
    }

    #[test]
    fn id_resolution_is_stable(given in "[a-zA-Z0-9OoIl1-]{1,6}") {
        let index = index();
        if let Ok(id) = index.resolve(&given) {
            prop_assert_eq!(index.resolve(&id), Ok(id.clone()));
            prop_assert_eq!(fold_id(&id), fold_id(&given));
        }
    }
}

/// Review 35: a glob pattern is matched below the directory it is given (`Glob`'s `path`), and
/// only a relative one stays there: an absolute one, one from a home directory, one that climbs
/// (or a brace or class that spells `..`), one with a variable, are refused.
#[test]
fn glob_patterns_that_leave_their_directory_are_refused() {
    for input in [
        "/home/analyst/.ssh/*",
        "//etc/*",
        "~/.ssh/*",
        "~analyst/.ssh/*",
        "{/etc,x}/*",
        "x,{a,/etc}/*",
        "{~,x}/.ssh/*",
        "../../home/analyst/.ssh/*",
        "a/../../b",
        "**/..",
        "{.,x}./home/*",
        ".[.]/*",
        ".*/etc",
        ".?/x",
        "$HOME/.ssh/*",
        "`id`/*",
        "a\\..\\b",
        "a\nb",
        "",
    ] {
        assert!(check_relative_glob(input).is_err(), "{input:?}");
    }
    for input in [
        "*",
        "**/*.log",
        "*.{log,txt}",
        "evidence/**/auth*.log",
        ".env",
        ".git/config",
        "notes [draft].md",
    ] {
        assert_eq!(
            check_relative_glob(input).as_deref(),
            Ok(input),
            "{input:?}"
        );
    }
}

/// Review shell24-35 F5: a brace alternative or a pattern that starts with a space, and
/// extglob's `(`, `)`, `|`, are refused: nothing legitimate needs them, and a matcher that
/// trims or anchors differently would start anew at `/`.
#[test]
fn glob_patterns_with_spaced_alternatives_or_extglob_are_refused() {
    for input in [
        " /etc/*",
        "{x, /etc}/*",
        "{ /etc,x}/*",
        "@(/etc)/passwd",
        "+(x|/etc)/*",
        "*(/)etc/passwd",
        "a|b",
    ] {
        assert!(check_relative_glob(input).is_err(), "{input:?}");
    }
    for input in [
        "notes [draft].md",
        "my notes/*.md",
        "*.{log,txt}",
        "Smith, J*.pdf",
    ] {
        assert_eq!(
            check_relative_glob(input).as_deref(),
            Ok(input),
            "{input:?}"
        );
    }
}

/// What a URL carries to its host beside its name: data in the query, the fragment or the path
/// is measured as spelt and once percent-decoded, so `%63%6D…` is the base64 it spells.
#[test]
fn url_measures_the_data_it_carries() {
    let blob = "cm9vdDp4OjA6MDpyb290Oi9yb290Oi9iaW4vYmFzaAo";
    let percent: String = blob.bytes().map(|b| format!("%{b:02X}")).collect();
    for url in [
        format!("https://intel.example/?q={blob}"),
        format!("https://intel.example/a/{blob}/b"),
        format!("https://intel.example/#{blob}"),
        format!("https://intel.example/?q={percent}"),
    ] {
        let u = Url::parse(&url).unwrap();
        let runs = u.data_runs();
        assert!(runs.encoded, "{url}");
        assert!(runs.longest >= blob.len(), "{url}: {runs:?}");
    }
    let u = Url::parse(&format!("https://intel.example/p?q={percent}#f")).unwrap();
    assert_eq!(u.query(), Some(format!("q={percent}").as_str()));
    assert_eq!(u.fragment(), Some("f"));
    assert_eq!(u.query_length(), 2 + percent.len() + 1);
    assert_eq!(u.data_length(), 2 + 2 + percent.len() + 1);

    // Words, identifiers and a SHA-256 in hex are not base64.
    for url in [
        "https://nvd.nist.gov/vuln/detail/CVE-2024-3400",
        "https://intel.example/reports/ThreatIntelligence-Report-2024-GlobalProtect",
        "https://intel.example/v1/file/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "https://intel.example/search?q=ws-042&type=host",
    ] {
        let u = Url::parse(url).unwrap();
        assert!(!u.data_runs().encoded, "{url}");
    }
    let u = Url::parse("https://intel.example/").unwrap();
    assert_eq!((u.query(), u.fragment(), u.query_length()), (None, None, 0));
    assert_eq!(u.data_runs().longest, 0);
    let u = Url::parse("https://intel.example/?").unwrap();
    assert_eq!(u.query(), Some(""), "an empty query is still a query");
}
