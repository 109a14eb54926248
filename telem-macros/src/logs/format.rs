//! Reading a log message's format string, as `format_args!` reads it: `{{`/`}}`
//! escapes, `{}` (the next positional argument), `{0}` (an explicit one), `{name}` (a
//! named argument, else a capture of `name` from the caller's scope), each with an
//! optional `:spec`.

/// A format string taken apart.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Format {
    /// The literal text around the placeholders, escapes resolved: one more than there
    /// are placeholders.
    pub(crate) pieces: Vec<String>,
    pub(crate) placeholders: Vec<Placeholder>,
}

/// One `{...}`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Placeholder {
    pub(crate) arg: ArgRef,
    /// Whether it has a format spec (`{:?}`, `{x:>5}`); `{:}` has none.
    pub(crate) has_spec: bool,
}

/// Which argument a placeholder prints.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ArgRef {
    /// `{}`: the next positional argument (its index counts only the `{}`s before it).
    Next(usize),
    /// `{0}`.
    Index(usize),
    /// `{name}`.
    Name(String),
}

impl Format {
    /// Whether any placeholder has a format spec: then the message is formatted at the
    /// call, by `format_args!`.
    pub(crate) fn has_spec(&self) -> bool {
        self.placeholders.iter().any(|p| p.has_spec)
    }
}

/// Takes `text` (the string literal's value) apart; the error says what is wrong, in
/// `format_args!`'s words where it has them.
pub(crate) fn parse(text: &str) -> Result<Format, String> {
    let mut pieces = Vec::new();
    let mut placeholders = Vec::new();
    let mut piece = String::new();
    let mut next = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                piece.push('{');
            }
            '{' => {
                let arg = argument(&mut chars)?;
                while chars.next_if(|c| c.is_whitespace()).is_some() {}
                let has_spec = match chars.next() {
                    Some('}') => false,
                    Some(':') => !spec(&mut chars)?.is_empty(),
                    Some(other) => {
                        return Err(format!(
                            "invalid format string: expected `}}`, found `{other}` (if you \
                             intended to print `{{`, escape it: `{{{{`)"
                        ))
                    }
                    None => return Err(UNTERMINATED.to_owned()),
                };
                let arg = arg.unwrap_or_else(|| {
                    next += 1;
                    ArgRef::Next(next - 1)
                });
                pieces.push(std::mem::take(&mut piece));
                placeholders.push(Placeholder { arg, has_spec });
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                piece.push('}');
            }
            '}' => {
                return Err(
                    "invalid format string: unmatched `}` found (if you intended to \
                            print `}`, escape it: `}}`)"
                        .to_owned(),
                )
            }
            c => piece.push(c),
        }
    }
    pieces.push(piece);
    Ok(Format {
        pieces,
        placeholders,
    })
}

const UNTERMINATED: &str = "invalid format string: expected `}` but string was terminated (if \
                            you intended to print `{`, escape it: `{{`)";

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// The argument of a placeholder, just after its `{`: `None` for `{}` / `{:..}`.
fn argument(chars: &mut Chars<'_>) -> Result<Option<ArgRef>, String> {
    match chars.peek() {
        Some(c) if c.is_ascii_digit() => {
            let mut digits = String::new();
            while let Some(c) = chars.next_if(char::is_ascii_digit) {
                digits.push(c);
            }
            digits.parse().map(|i| Some(ArgRef::Index(i))).map_err(|_| {
                format!("invalid format string: argument index `{digits}` is too large")
            })
        }
        Some(&c) if c == '_' || c.is_alphabetic() => {
            let mut name = String::new();
            while let Some(c) = chars.next_if(|&c| c == '_' || c.is_alphanumeric()) {
                name.push(c);
            }
            match chars.peek() {
                Some('#') if name == "r" => {
                    Err("invalid format string: raw identifiers are not supported".to_owned())
                }
                Some('.') => Err(format!(
                    "invalid format string: field access isn't supported: write a named \
                     argument (`\"{{{name}}}\", {name} = {name}.field`) or a field before \
                     the message"
                )),
                _ if name == "_" => {
                    Err("invalid format string: invalid argument name `_`".to_owned())
                }
                _ => Ok(Some(ArgRef::Name(name))),
            }
        }
        _ => Ok(None),
    }
}

/// The format spec after a `:`, up to and without the closing `}`. A fill character
/// may be `}` (`{:}>5}`), as `format_args!` reads it.
fn spec(chars: &mut Chars<'_>) -> Result<String, String> {
    let mut spec = String::new();
    let mut ahead = chars.clone();
    if let (Some(fill), Some(align @ ('<' | '^' | '>'))) = (ahead.next(), ahead.next()) {
        spec.push(fill);
        spec.push(align);
        chars.next();
        chars.next();
    }
    loop {
        match chars.next() {
            Some('}') => return Ok(spec),
            Some(c) => spec.push(c),
            None => return Err(UNTERMINATED.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(arg: ArgRef) -> Placeholder {
        Placeholder {
            arg,
            has_spec: false,
        }
    }

    fn name(n: &str) -> ArgRef {
        ArgRef::Name(n.to_owned())
    }

    #[test]
    fn a_message_without_placeholders_is_one_piece() {
        let f = parse("book not found").unwrap();
        assert_eq!(f.pieces, ["book not found"]);
        assert!(f.placeholders.is_empty());
        assert_eq!(parse("").unwrap().pieces, [""]);
    }

    #[test]
    fn escapes_become_single_braces() {
        let f = parse("{{literal}} {{{x}}}").unwrap();
        assert_eq!(f.pieces, ["{literal} {", "}"]);
        assert_eq!(f.placeholders, [plain(name("x"))]);
    }

    #[test]
    fn implicit_explicit_and_named_arguments() {
        let f = parse("a {} b {0} c {} d {name} e {1}").unwrap();
        assert_eq!(f.pieces, ["a ", " b ", " c ", " d ", " e ", ""]);
        assert_eq!(
            f.placeholders,
            [
                plain(ArgRef::Next(0)),
                plain(ArgRef::Index(0)),
                plain(ArgRef::Next(1)),
                plain(name("name")),
                plain(ArgRef::Index(1)),
            ]
        );
        assert!(!f.has_spec());
    }

    #[test]
    fn unicode_names_and_trailing_whitespace_are_accepted() {
        let f = parse("{é} {_x } { }").unwrap();
        assert_eq!(
            f.placeholders,
            [plain(name("é")), plain(name("_x")), plain(ArgRef::Next(0))]
        );
    }

    #[test]
    fn specs_are_detected_and_an_empty_one_is_none() {
        assert!(!parse("{:} {0:} {x:}").unwrap().has_spec());
        for text in [
            "{:?}",
            "{x:>5}",
            "{:.2}",
            "{0:#x}",
            "{:}>5}",
            "{:w$}",
            "a {} {:?}",
        ] {
            let f = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(f.has_spec(), "{text}");
        }
        let f = parse("{:}>5} tail").unwrap();
        assert_eq!(f.pieces, ["", " tail"]);
    }

    #[test]
    fn malformed_strings_are_refused_with_format_args_words() {
        let cases = [
            ("{", "expected `}` but string was terminated"),
            ("a {x", "expected `}` but string was terminated"),
            ("{:?", "expected `}` but string was terminated"),
            ("}", "unmatched `}` found"),
            ("a } b", "unmatched `}` found"),
            ("{x y}", "expected `}`, found `y`"),
            ("{ 0}", "expected `}`, found `0`"),
            ("{0x}", "expected `}`, found `x`"),
            ("{x-y}", "expected `}`, found `-`"),
            ("{r#type}", "raw identifiers are not supported"),
            ("{a.b}", "field access isn't supported"),
            ("{_}", "invalid argument name `_`"),
            ("{99999999999999999999999}", "too large"),
        ];
        for (text, expected) in cases {
            match parse(text) {
                Ok(f) => panic!("{text:?} parsed: {f:?}"),
                Err(e) => assert!(e.contains(expected), "{text:?}: {e}"),
            }
        }
    }
}
