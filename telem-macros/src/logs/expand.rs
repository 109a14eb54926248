//! Generating a log call: a `static` call site and, behind the compile-time and the
//! cached run-time check, the evaluation of the fields and arguments into values.
//! Every path goes through the `telemetry` crate (`::telem`, or `crate:`); what runs is
//! in `telem::macro_support::logs`.

use super::args::{Field, LogArgs, Message, Sigil};
use super::format::{self, ArgRef, Format};
use crate::expand::located_at;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Expr, Ident, Lit, LitStr};

/// The call: `level` is the `Level` variant of the macro (`None` for `log!`, whose
/// level is its first argument).
pub(crate) fn log(args: LogArgs, level: Option<&str>) -> syn::Result<TokenStream> {
    let krate = match &args.krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::telem),
    };
    let logs = quote!(#krate::macro_support::logs);
    let level = match (level, &args.level) {
        (Some(variant), _) => {
            let variant = Ident::new(variant, Span::call_site());
            quote!(#logs::Level::#variant)
        }
        (None, Some(expr)) => expr.to_token_stream(),
        (None, None) => unreachable!("`log!`'s parser requires a level"),
    };
    let target = match &args.target {
        Some(target) => target.to_token_stream(),
        None => quote!(::core::module_path!()),
    };
    let name = match &args.name {
        Some(name) => quote!(::core::option::Option::Some(#name)),
        None => quote!(::core::option::Option::None),
    };
    let keys = args.fields.iter().map(|f| &f.key);

    // A message formatted at the call puts the caller's arguments inside the `match` arm
    // that has the bindings: there they must not see them (nor be shadowed by them).
    let formatted_at_call = args
        .message
        .as_ref()
        .is_some_and(|m| format::parse(&m.format.value()).is_ok_and(|f| f.has_spec()));
    let mut bindings = Bindings {
        hidden: formatted_at_call,
        ..Bindings::default()
    };
    let fields: Vec<TokenStream> = args
        .fields
        .iter()
        .map(|field| field_value(field, &logs, &mut bindings))
        .collect();
    let (message, record) = match &args.message {
        None => (
            quote!(#logs::Message::Pieces(&[""])),
            record_call(&logs, None, Vec::new(), &fields),
        ),
        Some(message) => {
            let format = format::parse(&message.format.value())
                .map_err(|e| syn::Error::new(message.format.span(), e))?;
            if format.has_spec() {
                let formatted = formatted(message, &logs);
                (
                    quote!(#logs::Message::Formatted),
                    record_call(&logs, Some(formatted), Vec::new(), &fields),
                )
            } else {
                let args = pieces_args(message, &format, &logs, &mut bindings)?;
                let pieces = &format.pieces;
                (
                    quote!(#logs::Message::Pieces(&[#(#pieces),*])),
                    record_call(&logs, None, args, &fields),
                )
            }
        }
    };
    let record = bindings.wrap(record);
    let site = site_ident();
    // The static lives in a block of its own and the names the expansion binds are
    // `mixed_site` locals: the caller's expressions, evaluated inside, can neither see
    // them nor be shadowed by them (a caller's own `__telem_log_site` stays its own).
    Ok(quote! {{
        #[allow(unused_imports)]
        use #logs::{
            DebugKind as _, DisplayArgKind as _, DisplayKind as _, ExactArgKind as _,
            TypedKind as _,
        };
        let #site: &'static #logs::Site = {
            static SITE: #logs::Site = #logs::Site::new(
                #level,
                #target,
                ::core::file!(),
                ::core::line!(),
                #name,
                #message,
                &[#(#keys),*],
            );
            &SITE
        };
        if const { #logs::static_enabled(#level) } && #site.is_enabled() {
            #record
        }
    }})
}

/// The call site's local name in the expansion: `mixed_site`, so no caller's
/// expression resolves to it.
fn site_ident() -> Ident {
    Ident::new("__telem_log_site", Span::mixed_site())
}

/// The expressions evaluated (once each, by reference, in the order written, as
/// `format_args!` does) before the values are made: `match (&a, &b) { (x, y) => .. }`
/// keeps temporaries alive for the whole call.
#[derive(Default)]
struct Bindings {
    names: Vec<Ident>,
    exprs: Vec<TokenStream>,
    /// Names resolved at the macro's own site, so code of the caller's inside the arm
    /// cannot name them (type errors in their conversion then point at the whole call).
    hidden: bool,
}

impl Bindings {
    /// Binds `&(expr)` to a fresh name, spanned at `expr` so that a type error in its
    /// conversion points there. The expressions are all evaluated in the `match`'s
    /// scrutinee, the names exist only in its arm, where the caller's code appears only
    /// in a message formatted at the call: then the names are `hidden`.
    fn bind(&mut self, expr: TokenStream, span: Span) -> Ident {
        let span = if self.hidden {
            Span::mixed_site().located_at(span)
        } else {
            span
        };
        let name = format_ident!("__telem_log_value{}", self.names.len(), span = span);
        self.names.push(name.clone());
        self.exprs.push(expr);
        name
    }

    fn wrap(self, body: TokenStream) -> TokenStream {
        if self.names.is_empty() {
            return body;
        }
        let Self { names, exprs, .. } = self;
        quote! {
            match (#(&(#exprs),)*) {
                (#(#names,)*) => #body,
            }
        }
    }
}

/// A field's value. A string literal stays static; everything else is read by
/// reference, through the probes (typed, else `Display`, else `Debug`) or formatted
/// (`%`, `?`) on the stack.
fn field_value(field: &Field, logs: &TokenStream, bindings: &mut Bindings) -> TokenStream {
    let value = &field.value;
    if let (Sigil::Plain, Some(lit)) = (field.sigil, string_literal(value)) {
        return quote!(#logs::Value::String(#logs::Str::from_static(#lit)));
    }
    let span = value.span();
    let bound = bindings.bind(value.to_token_stream(), span);
    let logs = located_at(logs.clone(), span);
    match field.sigil {
        Sigil::Plain => quote_spanned! {span=>
            (&&&#logs::kind(#bound)).telemetry_kind().to_value(#bound)
        },
        Sigil::Display => quote_spanned! {span=>
            #logs::format_text(::core::format_args!("{}", #bound))
        },
        Sigil::Debug => quote_spanned! {span=>
            #logs::format_text(::core::format_args!("{:?}", #bound))
        },
    }
}

fn string_literal(expr: &Expr) -> Option<&LitStr> {
    match expr {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Str(s) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

/// A message with a format spec somewhere: formatted at the call by `format_args!`
/// (which checks it and captures names itself), into a string kept inline when short.
fn formatted(message: &Message, logs: &TokenStream) -> TokenStream {
    let format = &message.format;
    let positional = &message.positional;
    let named = message
        .named
        .iter()
        .map(|(name, value)| quote!(#name = #value));
    quote!(#logs::format_str(::core::format_args!(#format #(, #positional)* #(, #named)*)))
}

/// A message of plain placeholders: each placeholder's argument as a value, in the
/// order of the placeholders (the drain writes piece, value, piece, ...). Checks what
/// `format_args!` would: every placeholder has an argument, every argument is used.
fn pieces_args(
    message: &Message,
    format: &Format,
    logs: &TokenStream,
    bindings: &mut Bindings,
) -> syn::Result<Vec<TokenStream>> {
    let literal_span = message.format.span();
    let positional = &message.positional;
    let implicit = format
        .placeholders
        .iter()
        .filter(|p| matches!(p.arg, ArgRef::Next(_)))
        .count();
    if implicit > positional.len() {
        return Err(syn::Error::new(
            literal_span,
            format!(
                "{} in the message, but {}",
                plural(implicit, "positional placeholder"),
                given(positional.len())
            ),
        ));
    }
    // What each argument becomes: a static string literal, or a binding (made the
    // first time a placeholder uses it, in the order of the arguments).
    let mut positional_used = vec![false; positional.len()];
    let mut named_used = vec![false; message.named.len()];
    for placeholder in &format.placeholders {
        match &placeholder.arg {
            ArgRef::Next(i) => positional_used[*i] = true,
            ArgRef::Index(i) => match positional_used.get_mut(*i) {
                Some(used) => *used = true,
                None => {
                    return Err(syn::Error::new(
                        literal_span,
                        format!(
                            "invalid reference to positional argument {i} ({}; positional \
                             arguments are zero-based)",
                            given(positional.len())
                        ),
                    ))
                }
            },
            ArgRef::Name(name) => {
                if let Some(i) = message.named.iter().position(|(n, _)| n == name) {
                    named_used[i] = true;
                }
            }
        }
    }
    if let Some(i) = positional_used.iter().position(|used| !used) {
        return Err(syn::Error::new(
            positional[i].span(),
            "argument never used: the message has no placeholder for it",
        ));
    }
    if let Some(i) = named_used.iter().position(|used| !used) {
        let name = &message.named[i].0;
        return Err(syn::Error::new(
            name.span(),
            format!(
                "named argument `{name}` never used: the message has no `{{{name}}}` (a \
                 field goes before the message: `{name} = value, \"message\"`)"
            ),
        ));
    }
    let arg_value = |expr: &Expr, bindings: &mut Bindings| match string_literal(expr) {
        Some(lit) => quote!(#logs::Value::String(#logs::Str::from_static(#lit))),
        None => {
            let span = expr.span();
            let bound = bindings.bind(expr.to_token_stream(), span);
            exact_display(&bound, span, logs)
        }
    };
    let positional: Vec<TokenStream> = positional
        .iter()
        .map(|expr| arg_value(expr, bindings))
        .collect();
    let named: Vec<TokenStream> = message
        .named
        .iter()
        .map(|(_, expr)| arg_value(expr, bindings))
        .collect();
    // Names not given as arguments are captured from the caller's scope, each once.
    let mut captured: Vec<(String, TokenStream)> = Vec::new();
    let mut values = Vec::with_capacity(format.placeholders.len());
    for placeholder in &format.placeholders {
        let value = match &placeholder.arg {
            ArgRef::Next(i) | ArgRef::Index(i) => positional[*i].clone(),
            ArgRef::Name(name) => {
                if let Some(i) = message.named.iter().position(|(n, _)| n == name) {
                    named[i].clone()
                } else if let Some((_, value)) = captured.iter().find(|(n, _)| n == name) {
                    value.clone()
                } else {
                    let ident = capture(name, &message.format)?;
                    let bound = bindings.bind(ident.to_token_stream(), literal_span);
                    let value = exact_display(&bound, literal_span, logs);
                    captured.push((name.clone(), value.clone()));
                    value
                }
            }
        };
        values.push(value);
    }
    Ok(values)
}

/// The identifier `{name}` captures, resolved where the string literal was written
/// (as `format_args!`'s inline captures are).
fn capture(name: &str, format: &LitStr) -> syn::Result<Ident> {
    match syn::parse_str::<Ident>(name) {
        Ok(mut ident) => {
            ident.set_span(format.span());
            Ok(ident)
        }
        Err(_) if name == "self" => Ok(Ident::new("self", format.span())),
        Err(_) => Err(syn::Error::new(
            format.span(),
            format!(
                "`{{{name}}}`: `{name}` is a keyword, it can't be captured; pass it as a \
                 named argument: `\"{{{name}}}\", {name} = value` with another name"
            ),
        )),
    }
}

/// A message argument as a value that prints exactly as `format!("{}", arg)` does.
fn exact_display(bound: &Ident, span: Span, logs: &TokenStream) -> TokenStream {
    let logs = located_at(logs.clone(), span);
    quote_spanned! {span=>
        (&&#logs::kind(#bound)).telemetry_arg_kind().to_value(#bound)
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn given(n: usize) -> String {
    match n {
        0 => "no arguments were given".to_owned(),
        1 => "there is 1 argument".to_owned(),
        n => format!("there are {n} arguments"),
    }
}

/// The call that records: up to `INLINE` values (the message's arguments, then the
/// fields) go in an array of exactly `INLINE`, padded, so the runtime moves it into the
/// record whole (`record_inline`); more go through the generic `record`.
fn record_call(
    logs: &TokenStream,
    formatted: Option<TokenStream>,
    args: Vec<TokenStream>,
    fields: &[TokenStream],
) -> TokenStream {
    /// `telem`'s `INLINE_LOG_VALUES`.
    const INLINE: usize = 4;
    let count = args.len() + fields.len();
    let values = args.iter().chain(fields);
    let (method, padding) = if count <= INLINE {
        let pad = (count..INLINE).map(|_| quote!(#logs::Value::Bool(false)));
        (
            formatted
                .as_ref()
                .map_or(quote!(record_inline), |_| quote!(record_formatted_inline)),
            pad.collect::<Vec<_>>(),
        )
    } else {
        (
            formatted
                .as_ref()
                .map_or(quote!(record), |_| quote!(record_formatted)),
            Vec::new(),
        )
    };
    match formatted {
        Some(message) => {
            let site = site_ident();
            quote!(#site.#method(#message, [#(#values,)* #(#padding),*]))
        }
        None => {
            let site = site_ident();
            quote!(#site.#method([#(#values,)* #(#padding),*]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::args;
    use super::*;

    fn expand(tokens: TokenStream) -> String {
        match args::parse(tokens, "info", false).and_then(|a| log(a, Some("Info"))) {
            Ok(out) => out.to_string(),
            Err(e) => panic!("{e}"),
        }
    }

    fn error(tokens: TokenStream) -> String {
        match args::parse(tokens.clone(), "info", false).and_then(|a| log(a, Some("Info"))) {
            Ok(out) => panic!("{tokens}: expected an error, got {out}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn plain_placeholders_become_pieces_and_values() {
        let out = expand(quote!("a {} b {x} c {0}", y));
        assert!(
            out.contains(r#"Message :: Pieces (& ["a " , " b " , " c " , ""])"#),
            "{out}"
        );
        // `y` is evaluated once, though printed twice; `x` is captured.
        assert_eq!(out.matches("& (y)").count(), 1, "{out}");
        assert_eq!(out.matches("& (x)").count(), 1, "{out}");
        assert_eq!(out.matches("telemetry_arg_kind").count(), 3, "{out}");
        // Three values: padded to the inline four, moved into the record whole.
        assert!(out.contains("__telem_log_site . record_inline (["), "{out}");
        assert_eq!(out.matches("Value :: Bool (false)").count(), 1, "{out}");
    }

    #[test]
    fn a_format_spec_formats_at_the_call() {
        let out = expand(quote!(n = 1, "msg {n:>5} {}", y));
        assert!(out.contains("Message :: Formatted"), "{out}");
        assert!(
            out.contains(r#"format_str (:: core :: format_args ! ("msg {n:>5} {}" , y))"#),
            "{out}"
        );
        assert!(out.contains("record_formatted"), "{out}");
    }

    #[test]
    fn no_message_is_one_empty_piece() {
        let out = expand(quote!(a = 1));
        assert!(out.contains(r#"Message :: Pieces (& [""])"#), "{out}");
        assert!(out.contains(r#"& ["a"]"#), "{out}");
    }

    #[test]
    fn the_call_site_is_a_static_checked_before_anything_is_evaluated() {
        let out = expand(quote!(target: "http", name: "book.created", "k" = 1, "m"));
        assert!(
            out.contains("static SITE : :: telem :: macro_support :: logs :: Site"),
            "{out}"
        );
        assert!(
            out.contains(
                "if const { :: telem :: macro_support :: logs :: static_enabled \
                 (:: telem :: macro_support :: logs :: Level :: Info) } && \
                 __telem_log_site . is_enabled ()"
            ),
            "{out}"
        );
        assert!(out.contains(r#"Option :: Some ("book.created")"#), "{out}");
        assert!(out.contains(r#""http" , :: core :: file ! ()"#), "{out}");
        let default = expand(quote!("m"));
        assert!(default.contains(":: core :: module_path ! ()"), "{default}");
        assert!(default.contains("Option :: None"), "{default}");
    }

    #[test]
    fn string_literals_stay_static() {
        let out = expand(quote!(route = "/books", "{}", "lit"));
        assert!(!out.contains("match"), "{out}");
        assert_eq!(out.matches("Str :: from_static").count(), 2, "{out}");
    }

    #[test]
    fn sigils_choose_the_formatting() {
        let out = expand(quote!(a = %x, b = ?y, c = z));
        assert!(
            out.contains(r#"format_args ! ("{}" , __telem_log_value0)"#),
            "{out}"
        );
        assert!(
            out.contains(r#"format_args ! ("{:?}" , __telem_log_value1)"#),
            "{out}"
        );
        assert!(out.contains("telemetry_kind ()"), "{out}");
    }

    #[test]
    fn crate_option_replaces_every_path_to_telem() {
        let out = expand(quote!(crate: tel, a = 1, "m {} {:?}", x, y));
        assert!(!out.contains("telem ::"), "{out}");
        assert!(
            out.contains("tel :: macro_support :: logs :: Site"),
            "{out}"
        );
    }

    #[test]
    fn arguments_are_checked_as_format_args_checks_them() {
        let cases = [
            (
                quote!("{} {}", a),
                "2 positional placeholders in the message, but there is 1",
            ),
            (
                quote!("{}"),
                "1 positional placeholder in the message, but no arguments",
            ),
            (
                quote!("{2}", a, b),
                "invalid reference to positional argument 2",
            ),
            (quote!("{}", a, b), "argument never used"),
            (quote!("{x}", y = 1), "named argument `y` never used"),
            (quote!("{", a), "expected `}` but string was terminated"),
            (quote!("{type}"), "`type` is a keyword"),
        ];
        for (tokens, expected) in cases {
            let e = error(tokens.clone());
            assert!(e.contains(expected), "{tokens}: {e}");
        }
    }
}
