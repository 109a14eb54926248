//! Parsing `#[trace(...)]`'s arguments.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{parenthesized, Expr, Ident, LitStr, Path, Token};

mod kw {
    syn::custom_keyword!(name);
    syn::custom_keyword!(kind);
    syn::custom_keyword!(fields);
    syn::custom_keyword!(record);
    syn::custom_keyword!(err);
    syn::custom_keyword!(root);
}

/// What `#[trace(...)]` asked for.
#[derive(Default)]
pub(crate) struct TraceArgs {
    /// `"name"` or `name = "name"`.
    pub(crate) name: Option<LitStr>,
    /// `kind = server`: the `SpanKind` variant.
    pub(crate) kind: Option<Ident>,
    /// `fields(key = expr, ...)`.
    pub(crate) fields: Vec<Field>,
    /// `record(arg, ...)`.
    pub(crate) record: Vec<Ident>,
    /// `err`: the keyword's span, where type errors about the return type point.
    pub(crate) err: Option<Span>,
    /// `root`.
    pub(crate) root: bool,
    /// `crate = path`.
    pub(crate) krate: Option<Path>,
}

/// One `key = expr` of `fields(...)`.
pub(crate) struct Field {
    /// The attribute key: `http.request.method` or `"http.request.method"`.
    pub(crate) key: String,
    pub(crate) key_span: Span,
    pub(crate) value: Expr,
}

impl Parse for Field {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let (key, key_span) = if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            (lit.value(), lit.span())
        } else {
            // A dotted key, as OpenTelemetry's semantic conventions spell them; keywords
            // (`type`) are fine as segments.
            let first = Ident::parse_any(input)?;
            let span = first.span();
            let mut key = first.unraw().to_string();
            while input.peek(Token![.]) {
                input.parse::<Token![.]>()?;
                key.push('.');
                key.push_str(&Ident::parse_any(input)?.unraw().to_string());
            }
            (key, span)
        };
        input.parse::<Token![=]>()?;
        let value = input.parse()?;
        Ok(Self {
            key,
            key_span,
            value,
        })
    }
}

/// The span kinds `kind = ...` accepts, as `SpanKind` variants.
const KINDS: [(&str, &str); 5] = [
    ("internal", "Internal"),
    ("server", "Server"),
    ("client", "Client"),
    ("producer", "Producer"),
    ("consumer", "Consumer"),
];

const OPTIONS: &str = "`\"name\"`, `name`, `kind`, `fields`, `record`, `err`, `root`, `crate`";

impl Parse for TraceArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Self::default();
        let mut seen = Seen::default();
        while !input.is_empty() {
            let lookahead = input.lookahead1();
            if lookahead.peek(LitStr) {
                let lit: LitStr = input.parse()?;
                seen.first("name", lit.span())?;
                args.name = Some(lit);
            } else if lookahead.peek(kw::name) {
                let key = input.parse::<kw::name>()?;
                seen.first("name", key.span)?;
                input.parse::<Token![=]>()?;
                args.name = Some(input.parse()?);
            } else if lookahead.peek(kw::kind) {
                let key = input.parse::<kw::kind>()?;
                seen.first("kind", key.span)?;
                input.parse::<Token![=]>()?;
                let value = Ident::parse_any(input)?;
                let given = value.to_string();
                let Some((_, variant)) = KINDS.iter().find(|(k, _)| *k == given) else {
                    return Err(syn::Error::new(
                        value.span(),
                        format!(
                            "unknown span kind `{given}`: expected `server`, `client`, `producer`, \
                             `consumer` or `internal`"
                        ),
                    ));
                };
                args.kind = Some(Ident::new(variant, value.span()));
            } else if lookahead.peek(kw::fields) {
                let key = input.parse::<kw::fields>()?;
                seen.first("fields", key.span)?;
                let content;
                parenthesized!(content in input);
                args.fields = Punctuated::<Field, Token![,]>::parse_terminated(&content)?
                    .into_iter()
                    .collect();
            } else if lookahead.peek(kw::record) {
                let key = input.parse::<kw::record>()?;
                seen.first("record", key.span)?;
                let content;
                parenthesized!(content in input);
                args.record = Punctuated::<Ident, Token![,]>::parse_terminated_with(
                    &content,
                    Ident::parse_any,
                )?
                .into_iter()
                .collect();
            } else if lookahead.peek(kw::err) {
                let key = input.parse::<kw::err>()?;
                seen.first("err", key.span)?;
                args.err = Some(key.span);
            } else if lookahead.peek(kw::root) {
                let key = input.parse::<kw::root>()?;
                seen.first("root", key.span)?;
                args.root = true;
            } else if lookahead.peek(Token![crate]) {
                let key = input.parse::<Token![crate]>()?;
                seen.first("crate", key.span)?;
                input.parse::<Token![=]>()?;
                args.krate = Some(input.call(Path::parse_mod_style)?);
            } else if input.peek(Ident::peek_any) {
                let unknown = Ident::parse_any(input)?;
                return Err(syn::Error::new(
                    unknown.span(),
                    format!("unknown `#[trace]` option `{unknown}`: expected one of {OPTIONS}"),
                ));
            } else {
                return Err(lookahead.error());
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        args.check_keys()?;
        Ok(args)
    }
}

impl TraceArgs {
    /// Two attributes with the same key would silently keep the last one: refuse them.
    fn check_keys(&self) -> syn::Result<()> {
        let mut keys: Vec<String> = Vec::new();
        let record = self.record.iter().map(|arg| (arg.to_string(), arg.span()));
        let fields = self.fields.iter().map(|f| (f.key.clone(), f.key_span));
        for (key, span) in fields.chain(record) {
            if keys.contains(&key) {
                return Err(syn::Error::new(
                    span,
                    format!("attribute `{key}` is recorded twice"),
                ));
            }
            keys.push(key);
        }
        Ok(())
    }
}

/// The options given so far, to refuse one given twice.
#[derive(Default)]
struct Seen(Vec<&'static str>);

impl Seen {
    fn first(&mut self, option: &'static str, span: Span) -> syn::Result<()> {
        if self.0.contains(&option) {
            return Err(syn::Error::new(
                span,
                format!("duplicate `#[trace]` option `{option}`"),
            ));
        }
        self.0.push(option);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse(tokens: proc_macro2::TokenStream) -> syn::Result<TraceArgs> {
        syn::parse2(tokens)
    }

    fn error(tokens: proc_macro2::TokenStream) -> String {
        match parse(tokens) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn every_option_parses() {
        let args = parse(quote!(
            "list_books",
            kind = server,
            fields(
                http.request.method = "GET",
                "db.system" = db.name(),
                r#type = 1
            ),
            record(shelf, self),
            err,
            root,
            crate = ::my::telem,
        ))
        .unwrap();
        assert_eq!(args.name.unwrap().value(), "list_books");
        assert_eq!(args.kind.unwrap().to_string(), "Server");
        let keys: Vec<_> = args.fields.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["http.request.method", "db.system", "type"]);
        let record: Vec<_> = args.record.iter().map(ToString::to_string).collect();
        assert_eq!(record, ["shelf", "self"]);
        assert!(args.err.is_some() && args.root);
        let krate = args.krate.unwrap();
        assert!(krate.leading_colon.is_some() && krate.segments.len() == 2);
    }

    #[test]
    fn empty_args_are_the_defaults() {
        let args = parse(quote!()).unwrap();
        assert!(args.name.is_none() && args.kind.is_none() && args.krate.is_none());
        assert!(
            args.fields.is_empty() && args.record.is_empty() && args.err.is_none() && !args.root
        );
        assert_eq!(
            parse(quote!(name = "x")).unwrap().name.unwrap().value(),
            "x"
        );
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(error(quote!(level = "info")).contains("unknown `#[trace]` option `level`"));
        assert!(error(quote!(err, err)).contains("duplicate `#[trace]` option `err`"));
        assert!(error(quote!("a", name = "b")).contains("duplicate `#[trace]` option `name`"));
        assert!(error(quote!(kind = sever)).contains("unknown span kind `sever`"));
        assert!(error(quote!(fields(a = 1, a = 2))).contains("attribute `a` is recorded twice"));
        assert!(error(quote!(fields(a = 1), record(a))).contains("attribute `a` is recorded twice"));
        assert!(error(quote!(42)).contains("expected one of"));
    }
}
