//! Parsing a log macro's input, in `tracing`'s syntax:
//!
//! ```text
//! [LEVEL,] [target: EXPR,] [name: EXPR,] [crate: PATH,] FIELD,* ["MESSAGE" (, ARG)*] [,]
//! FIELD := KEY = VALUE | KEY | %KEY | ?KEY      (KEY: a.b.c or "any text")
//! VALUE := EXPR | %EXPR | ?EXPR
//! ARG   := EXPR | NAME = EXPR
//! ```
//!
//! The level comes first in `log!` only; `target:`, `name:` and `crate:` may come
//! before or after it, in any order.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Expr, Ident, Lit, LitStr, Path, Token};

mod kw {
    syn::custom_keyword!(target);
    syn::custom_keyword!(name);
}

/// What a log macro call asked for.
pub(crate) struct LogArgs {
    /// `log!`'s level expression.
    pub(crate) level: Option<Expr>,
    /// `target: EXPR`.
    pub(crate) target: Option<Expr>,
    /// `name: EXPR`.
    pub(crate) name: Option<Expr>,
    /// `crate: PATH`.
    pub(crate) krate: Option<Path>,
    pub(crate) fields: Vec<Field>,
    pub(crate) message: Option<Message>,
}

/// One field: a key and how its value is recorded.
pub(crate) struct Field {
    /// `book.id`, `"http.route"`, or the path of a shorthand.
    pub(crate) key: String,
    pub(crate) key_span: Span,
    pub(crate) sigil: Sigil,
    pub(crate) value: Expr,
}

/// How a field's value is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sigil {
    /// `key = value`: typed when it can be (numbers, bools, strings), else `Display`,
    /// else `Debug`.
    Plain,
    /// `key = %value`: its `Display` text.
    Display,
    /// `key = ?value`: its `Debug` text.
    Debug,
}

/// The message: the format string and its arguments.
pub(crate) struct Message {
    pub(crate) format: LitStr,
    pub(crate) positional: Vec<Expr>,
    pub(crate) named: Vec<(Ident, Expr)>,
}

/// Parses the input of `macro_name!`; `takes_level`: `log!`, whose first argument is
/// the level.
pub(crate) fn parse(
    input: TokenStream,
    macro_name: &str,
    takes_level: bool,
) -> syn::Result<LogArgs> {
    let parser = |input: ParseStream<'_>| parse_args(input, macro_name, takes_level);
    parser.parse2(input)
}

fn parse_args(input: ParseStream<'_>, macro_name: &str, takes_level: bool) -> syn::Result<LogArgs> {
    let mut args = LogArgs {
        level: None,
        target: None,
        name: None,
        krate: None,
        fields: Vec::new(),
        message: None,
    };
    options(input, &mut args)?;
    if takes_level {
        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "`log!` needs a level first: `log!(telem::Level::Info, \"message\")`",
            ));
        }
        let level: Expr = input.parse()?;
        if let Expr::Lit(lit) = &level {
            return Err(syn::Error::new(
                lit.span(),
                "`log!`'s first argument is the level: `log!(telem::Level::Info, \"message\")`",
            ));
        }
        args.level = Some(level);
        comma_or_end(input)?;
        options(input, &mut args)?;
    }
    while !input.is_empty() {
        if let Some(message) = message(input, macro_name)? {
            args.message = Some(message);
            break;
        }
        let field = field(input, macro_name)?;
        if let Some(first) = args.fields.iter().find(|f| f.key == field.key) {
            let mut e = syn::Error::new(
                field.key_span,
                format!("field `{}` is given twice", field.key),
            );
            e.combine(syn::Error::new(first.key_span, "first given here"));
            return Err(e);
        }
        args.fields.push(field);
        comma_or_end(input)?;
    }
    if args.fields.is_empty() && args.message.is_none() {
        return Err(syn::Error::new(
            Span::call_site(),
            format!(
                "`{macro_name}!` needs a message or a field: `{macro_name}!(\"message\")`, \
                 `{macro_name}!(key = value, \"message {{}}\", arg)`"
            ),
        ));
    }
    Ok(args)
}

/// `target:`, `name:` and `crate:`, each at most once.
fn options(input: ParseStream<'_>, args: &mut LogArgs) -> syn::Result<()> {
    loop {
        let colon_next = input.peek2(Token![:]) && !input.peek2(Token![::]);
        if !colon_next {
            return Ok(());
        }
        if input.peek(kw::target) {
            let key = input.parse::<kw::target>()?;
            once(&args.target, "target", key.span)?;
            input.parse::<Token![:]>()?;
            args.target = Some(input.parse()?);
        } else if input.peek(kw::name) {
            let key = input.parse::<kw::name>()?;
            once(&args.name, "name", key.span)?;
            input.parse::<Token![:]>()?;
            args.name = Some(input.parse()?);
        } else if input.peek(Token![crate]) {
            let key = input.parse::<Token![crate]>()?;
            once(&args.krate, "crate", key.span)?;
            input.parse::<Token![:]>()?;
            args.krate = Some(input.call(Path::parse_mod_style)?);
        } else if input.peek(Ident::peek_any) {
            let unknown = Ident::parse_any(input)?;
            return Err(syn::Error::new(
                unknown.span(),
                format!(
                    "unknown option `{unknown}:`: expected `target:`, `name:` or `crate:` (a \
                     field is `{unknown} = value`)"
                ),
            ));
        } else {
            return Ok(());
        }
        comma_or_end(input)?;
    }
}

fn once<T>(given: &Option<T>, option: &str, span: Span) -> syn::Result<()> {
    match given {
        Some(_) => Err(syn::Error::new(span, format!("`{option}:` is given twice"))),
        None => Ok(()),
    }
}

fn comma_or_end(input: ParseStream<'_>) -> syn::Result<()> {
    if !input.is_empty() {
        input.parse::<Token![,]>()?;
    }
    Ok(())
}

fn peek_assign(input: ParseStream<'_>) -> bool {
    input.peek(Token![=]) && !input.peek(Token![==]) && !input.peek(Token![=>])
}

/// The message and its arguments, if the input is at a string literal that is not a
/// field's key.
fn message(input: ParseStream<'_>, macro_name: &str) -> syn::Result<Option<Message>> {
    if !input.peek(LitStr) || (input.peek2(Token![=]) && !input.peek2(Token![==])) {
        return Ok(None);
    }
    let format: LitStr = input.parse()?;
    let mut positional = Vec::new();
    let mut named: Vec<(Ident, Expr)> = Vec::new();
    while !input.is_empty() {
        input.parse::<Token![,]>()?;
        if input.is_empty() {
            break;
        }
        if input.peek(Token![%]) || input.peek(Token![?]) {
            return Err(input.error(format!(
                "`%` and `?` mark fields, which go before the message; in the message, write \
                 `{{}}` (Display) or `{{:?}}` (Debug): `{macro_name}!(\"{{:?}}\", value)`"
            )));
        }
        if input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
            let name: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let value: Expr = input.parse()?;
            if named.iter().any(|(n, _)| *n == name) {
                return Err(syn::Error::new(
                    name.span(),
                    format!("duplicate argument named `{name}`"),
                ));
            }
            named.push((name, value));
        } else {
            let value: Expr = input.parse()?;
            if !named.is_empty() {
                return Err(syn::Error::new(
                    value.span(),
                    "positional arguments cannot follow named arguments",
                ));
            }
            positional.push(value);
        }
    }
    Ok(Some(Message {
        format,
        positional,
        named,
    }))
}

/// One field.
fn field(input: ParseStream<'_>, macro_name: &str) -> syn::Result<Field> {
    let start = input.fork();
    // `%key` / `?key`: the shorthand of `key = %key`.
    let shorthand_sigil = if input.peek(Token![%]) {
        input.parse::<Token![%]>()?;
        Some(Sigil::Display)
    } else if input.peek(Token![?]) {
        input.parse::<Token![?]>()?;
        Some(Sigil::Debug)
    } else {
        None
    };
    if let Some(sigil) = shorthand_sigil {
        let (key, key_span, path) = dotted(input, macro_name)?;
        if peek_assign(input) {
            return Err(input.error(
                "`%` and `?` go before the value, not the key: `key = %value`, or `%key` alone",
            ));
        }
        return Ok(Field {
            key,
            key_span,
            sigil,
            value: path,
        });
    }
    let key = if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        if !peek_assign(input) {
            // Only reached for a string literal followed by something else than `=`.
            return Err(input.error("expected `=` after a string key: `\"key\" = value`"));
        }
        Some((lit.value(), lit.span(), None))
    } else {
        None
    };
    let (key, key_span, shorthand) = match key {
        Some(key) => key,
        None => {
            let (key, span, path) = dotted(input, macro_name)?;
            (key, span, Some(path))
        }
    };
    if peek_assign(input) {
        input.parse::<Token![=]>()?;
        let sigil = if input.peek(Token![%]) {
            input.parse::<Token![%]>()?;
            Sigil::Display
        } else if input.peek(Token![?]) {
            input.parse::<Token![?]>()?;
            Sigil::Debug
        } else {
            Sigil::Plain
        };
        let value = input.parse()?;
        return Ok(Field {
            key,
            key_span,
            sigil,
            value,
        });
    }
    match shorthand {
        // `count`: the shorthand of `count = count`.
        Some(path) if input.is_empty() || input.peek(Token![,]) => Ok(Field {
            key,
            key_span,
            sigil: Sigil::Plain,
            value: path,
        }),
        _ => Err(expression_message(&start, macro_name).unwrap_or_else(|| {
            input.error(format!(
                "expected `=`, `,` or the end after the field `{key}`; {}",
                message_help(macro_name)
            ))
        })),
    }
}

/// The error for an expression written where the message goes (`info!(msg.clone())`,
/// `info!(format!(..))`), if `input` is at one.
fn expression_message(input: ParseStream<'_>, macro_name: &str) -> Option<syn::Error> {
    let expr: Expr = input.parse().ok()?;
    (input.is_empty() || input.peek(Token![,])).then(|| {
        syn::Error::new(
            expr.span(),
            format!(
                "the message must be a string literal, not an expression: \
                 `{macro_name}!(\"{{}}\", value)` (fields are `key = value`, `key`, `%key` \
                 or `?key`, before the message)"
            ),
        )
    })
}

/// A field key or shorthand written as a path of identifiers: `book.id`, `self.name`,
/// `r#type`. Returns the key, its span and the path as an expression (the shorthand's
/// value). Anything else where a field or the message should be is refused: a
/// message that is not a string literal lands here.
fn dotted(input: ParseStream<'_>, macro_name: &str) -> syn::Result<(String, Span, Expr)> {
    if !input.peek(Ident::peek_any) {
        return Err(not_a_field(input, macro_name));
    }
    let first = Ident::parse_any(input)?;
    let span = first.span();
    let mut key = first.unraw().to_string();
    let mut path = first.to_token_stream();
    while input.peek(Token![.]) && !input.peek(Token![..]) {
        let dot = input.parse::<Token![.]>()?;
        if input.peek(syn::LitInt) {
            // A tuple field: `pair.0`.
            let index: syn::LitInt = input.parse()?;
            key.push('.');
            key.push_str(index.base10_digits());
            path.extend(quote!(#dot #index));
            continue;
        }
        let segment = Ident::parse_any(input)?;
        key.push('.');
        key.push_str(&segment.unraw().to_string());
        path.extend(quote!(#dot #segment));
    }
    let value = syn::parse2(path).map_err(|_| {
        syn::Error::new(
            span,
            format!("`{key}` can't be a field's value: write `{key} = value`"),
        )
    })?;
    Ok((key, span, value))
}

/// The error for what is neither a field nor a string literal message: pointed at the
/// whole expression when it parses as one.
fn not_a_field(input: ParseStream<'_>, macro_name: &str) -> syn::Error {
    let help = message_help(macro_name);
    if input.peek(Lit) {
        let lit: Lit = match input.parse() {
            Ok(lit) => lit,
            Err(e) => return e,
        };
        return syn::Error::new(
            lit.span(),
            format!("the message must be a string literal; {help}"),
        );
    }
    expression_message(&input.fork(), macro_name).unwrap_or_else(|| {
        input.error(format!(
            "expected a field or a string literal message; {help}"
        ))
    })
}

fn message_help(macro_name: &str) -> String {
    format!(
        "fields are `key = value`, `key`, `%key` or `?key`, before the message, which is a \
         string literal with `{{}}` placeholders: `{macro_name}!(key = value, \"text {{}}\", \
         arg)`"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(tokens: TokenStream) -> LogArgs {
        match parse(tokens.clone(), "info", false) {
            Ok(args) => args,
            Err(e) => panic!("{tokens}: {e}"),
        }
    }

    fn error(tokens: TokenStream) -> String {
        match parse(tokens.clone(), "info", false) {
            Ok(_) => panic!("{tokens}: expected an error"),
            Err(e) => e.to_string(),
        }
    }

    fn keys(args: &LogArgs) -> Vec<(&str, Sigil, String)> {
        args.fields
            .iter()
            .map(|f| {
                (
                    f.key.as_str(),
                    f.sigil,
                    f.value.to_token_stream().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn a_message_alone() {
        let args = parse_ok(quote!("book {id} not found"));
        let message = args.message.unwrap();
        assert_eq!(message.format.value(), "book {id} not found");
        assert!(message.positional.is_empty() && message.named.is_empty());
        assert!(args.fields.is_empty() && args.target.is_none() && args.name.is_none());
    }

    #[test]
    fn positional_and_named_arguments_with_a_trailing_comma() {
        let args = parse_ok(quote!("a {} b {x}", y + 1, x = 2,));
        let message = args.message.unwrap();
        assert_eq!(message.positional.len(), 1);
        assert_eq!(message.named.len(), 1);
        assert_eq!(message.named[0].0.to_string(), "x");
        // `==` is a comparison, not a named argument.
        let args = parse_ok(quote!("{}", a == b));
        assert_eq!(args.message.unwrap().positional.len(), 1);
    }

    #[test]
    fn every_kind_of_field() {
        let args = parse_ok(quote!(
            book.id = id,
            reason = %err,
            req = ?req,
            %user,
            ?self.state,
            count,
            "k" = 1,
            r#type = "t",
            pair.0,
            "lookup failed",
        ));
        assert_eq!(
            keys(&args),
            [
                ("book.id", Sigil::Plain, "id".to_owned()),
                ("reason", Sigil::Display, "err".to_owned()),
                ("req", Sigil::Debug, "req".to_owned()),
                ("user", Sigil::Display, "user".to_owned()),
                ("self.state", Sigil::Debug, "self . state".to_owned()),
                ("count", Sigil::Plain, "count".to_owned()),
                ("k", Sigil::Plain, "1".to_owned()),
                ("type", Sigil::Plain, "\"t\"".to_owned()),
                ("pair.0", Sigil::Plain, "pair . 0".to_owned()),
            ]
        );
        assert_eq!(args.message.unwrap().format.value(), "lookup failed");
    }

    #[test]
    fn fields_without_a_message() {
        let args = parse_ok(quote!(a = 1));
        assert!(args.message.is_none());
        assert_eq!(args.fields.len(), 1);
        assert_eq!(parse_ok(quote!(a = 1, b,)).fields.len(), 2);
    }

    #[test]
    fn options_come_first() {
        let args = parse_ok(quote!(
            target: "http",
            name: "book.created",
            crate: ::my::telem,
            "k" = 1,
            "msg {n:>5}"
        ));
        assert_eq!(
            args.target.unwrap().to_token_stream().to_string(),
            "\"http\""
        );
        assert_eq!(
            args.name.unwrap().to_token_stream().to_string(),
            "\"book.created\""
        );
        assert_eq!(
            args.krate.unwrap().to_token_stream().to_string(),
            ":: my :: telem"
        );
        // A field called `target` or `name` is a field.
        let args = parse_ok(quote!(target = 1, name = 2));
        assert_eq!(args.fields.len(), 2);
        assert!(args.target.is_none() && args.name.is_none());
    }

    #[test]
    fn log_takes_the_level_first_with_options_on_either_side() {
        let args = parse(quote!(telem::Level::Debug, "m"), "log", true).unwrap();
        assert_eq!(
            args.level.unwrap().to_token_stream().to_string(),
            "telem :: Level :: Debug"
        );
        let args = parse(
            quote!(target: "t", Level::Warn, name: "n", a = 1),
            "log",
            true,
        )
        .unwrap();
        assert!(args.level.is_some() && args.target.is_some() && args.name.is_some());
        let e = parse(quote!(), "log", true).err().unwrap().to_string();
        assert!(e.contains("`log!` needs a level first"), "{e}");
        let e = parse(quote!("m"), "log", true).err().unwrap().to_string();
        assert!(e.contains("`log!`'s first argument is the level"), "{e}");
    }

    #[test]
    fn errors_name_the_problem() {
        let cases = [
            (quote!(), "`info!` needs a message or a field"),
            (quote!(42), "the message must be a string literal"),
            (quote!(b"bytes"), "the message must be a string literal"),
            (
                quote!(msg.to_string()),
                "the message must be a string literal, not an",
            ),
            (
                quote!(format!("x"), a),
                "the message must be a string literal, not an",
            ),
            (
                quote!(a = 1, &msg),
                "the message must be a string literal, not an",
            ),
            (
                quote!(a + b c),
                "expected `=`, `,` or the end after the field `a`",
            ),
            (quote!(=), "expected a field or a string literal message"),
            (quote!(a = 1, a = 2), "field `a` is given twice"),
            (quote!("x" = 1, x = 2), "field `x` is given twice"),
            (quote!(%a = b), "`%` and `?` go before the value"),
            (quote!("m", %x), "`%` and `?` mark fields"),
            (
                quote!("m", a = 1, 2),
                "positional arguments cannot follow named arguments",
            ),
            (quote!("m", a = 1, a = 2), "duplicate argument named `a`"),
            (
                quote!(target: "a", target: "b", "m"),
                "`target:` is given twice",
            ),
            (quote!(level: "a", "m"), "unknown option `level:`"),
            (quote!("m" x), "expected `,`"),
            (quote!(a = 1 b = 2), "expected `,`"),
        ];
        for (tokens, expected) in cases {
            let e = error(tokens.clone());
            assert!(e.contains(expected), "{tokens}: {e}");
        }
    }
}
