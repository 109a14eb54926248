//! Generating the instrumented fn. Every path to runtime code goes through the
//! `telemetry` crate (`::telem`, or the `crate = path` option); what runs is in
//! `telem::macro_support`.

use crate::attr::TraceArgs;
use crate::item::{self, Item, TracedFn};
use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{
    Expr, ExprAsync, ExprCall, FnArg, GenericArgument, Ident, Lit, Pat, PathArguments, ReturnType,
    Signature, Stmt, Type, TypeParamBound,
};

/// `#[trace(args)] item`.
pub(crate) fn trace(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = syn::parse2::<TraceArgs>(args);
    match item::parse(item.clone()) {
        Item::Fn(function) => match args.and_then(|args| instrument(args, *function)) {
            Ok(tokens) => tokens,
            Err(e) => unchanged_with(e, item),
        },
        // The compiler reports what is wrong with the fn; only our own errors are added.
        Item::Unparsed => match args {
            Ok(_) => item,
            Err(e) => unchanged_with(e, item),
        },
        Item::Rejected(mut e) => {
            if let Err(args_error) = args {
                e.combine(args_error);
            }
            unchanged_with(e, item)
        }
    }
}

/// The error, and the item as it was, so that nothing else fails because of it.
fn unchanged_with(error: syn::Error, item: TokenStream) -> TokenStream {
    let mut tokens = error.to_compile_error();
    tokens.extend(item);
    tokens
}

/// How the fn's work runs, which decides where its span lives.
enum Mode<'a> {
    /// A plain fn: a guard, current until the fn returns or unwinds.
    Sync,
    /// An `async fn`: the span starts at the first poll and the body's future runs in it.
    AsyncFn,
    /// `-> impl Future`: the span starts at the call; the synchronous part runs in it, then
    /// the returned future does.
    ImplFuture,
    /// A fn ending in `Box::pin(async move { .. })`, as `#[async_trait]` writes `async fn`
    /// methods: instrumented like an `async fn`, inside the box.
    BoxPinned {
        call: &'a ExprCall,
        future: &'a ExprAsync,
    },
}

impl<'a> Mode<'a> {
    fn of(function: &'a TracedFn) -> Self {
        if function.sig.asyncness.is_some() {
            return Mode::AsyncFn;
        }
        if let Some(Stmt::Expr(Expr::Call(call), None)) = function.stmts.last() {
            if let (Expr::Path(callee), Some(Expr::Async(future))) =
                (&*call.func, call.args.first())
            {
                let segments: Vec<_> = callee
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect();
                if segments.ends_with(&["Box".to_owned(), "pin".to_owned()]) && call.args.len() == 1
                {
                    return Mode::BoxPinned { call, future };
                }
            }
        }
        if returns_impl_future(&function.sig) {
            return Mode::ImplFuture;
        }
        Mode::Sync
    }
}

fn returns_impl_future(sig: &Signature) -> bool {
    let ReturnType::Type(_, ty) = &sig.output else {
        return false;
    };
    let Type::ImplTrait(bounds) = &**ty else {
        return false;
    };
    bounds.bounds.iter().any(|bound| {
        matches!(bound, TypeParamBound::Trait(t)
            if t.path.segments.last().is_some_and(|s| s.ident == "Future"))
    })
}

/// `X` in `-> impl Future<Output = X>`.
fn future_output(sig: &Signature) -> Option<Type> {
    let ReturnType::Type(_, ty) = &sig.output else {
        return None;
    };
    let Type::ImplTrait(bounds) = &**ty else {
        return None;
    };
    bounds.bounds.iter().find_map(|bound| {
        let TypeParamBound::Trait(t) = bound else {
            return None;
        };
        let last = t.path.segments.last()?;
        let PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        args.args.iter().find_map(|arg| match arg {
            GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(assoc.ty.clone()),
            _ => None,
        })
    })
}

/// The type a `let` can be annotated with: `impl Trait` parts become `_`; `None` for `!`.
fn nameable(ty: &Type) -> Option<Type> {
    if matches!(ty, Type::Never(_)) {
        return None;
    }
    let mut ty = ty.clone();
    ImplTraitEraser.visit_type_mut(&mut ty);
    Some(ty)
}

/// The fn's declared return type, as [`nameable`].
fn declared_output(sig: &Signature) -> Option<Type> {
    match &sig.output {
        ReturnType::Type(_, ty) => nameable(ty),
        ReturnType::Default => None,
    }
}

/// The names the fn's parameters bind (`self` included), for `record(...)`.
fn parameter_names(sig: &Signature) -> Vec<Ident> {
    fn bound_by(pat: &Pat, names: &mut Vec<Ident>) {
        match pat {
            Pat::Ident(p) => {
                names.push(p.ident.clone());
                if let Some((_, sub)) = &p.subpat {
                    bound_by(sub, names);
                }
            }
            Pat::Reference(p) => bound_by(&p.pat, names),
            Pat::Type(p) => bound_by(&p.pat, names),
            Pat::Paren(p) => bound_by(&p.pat, names),
            Pat::Tuple(p) => p.elems.iter().for_each(|p| bound_by(p, names)),
            Pat::TupleStruct(p) => p.elems.iter().for_each(|p| bound_by(p, names)),
            Pat::Slice(p) => p.elems.iter().for_each(|p| bound_by(p, names)),
            Pat::Struct(p) => p.fields.iter().for_each(|f| bound_by(&f.pat, names)),
            _ => {}
        }
    }
    let mut names = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) => names.push(Ident::new("self", r.self_token.span)),
            FnArg::Typed(t) => bound_by(&t.pat, &mut names),
        }
    }
    names
}

fn instrument(args: TraceArgs, function: TracedFn) -> syn::Result<TokenStream> {
    if let Some(constness) = &function.sig.constness {
        return Err(syn::Error::new(
            constness.span,
            "`#[trace]` cannot instrument a `const fn`: spans start and end at run time",
        ));
    }
    let parameters = parameter_names(&function.sig);
    for arg in &args.record {
        if !parameters.iter().any(|p| p == arg) {
            return Err(syn::Error::new(
                arg.span(),
                format!(
                    "`record({arg})`: `{}` has no parameter named `{arg}`",
                    function.sig.ident
                ),
            ));
        }
    }
    let body = Codegen::new(&args, &function).body(Mode::of(&function));
    let TracedFn {
        outer_attrs,
        inner_attrs,
        vis,
        sig,
        ..
    } = &function;
    Ok(quote! {
        #(#outer_attrs)*
        #vis #sig {
            #(#inner_attrs)*
            #body
        }
    })
}

/// Pieces of generated code shared by the modes.
struct Codegen<'a> {
    args: &'a TraceArgs,
    function: &'a TracedFn,
    /// `::telem`, or the `crate = path` option.
    krate: TokenStream,
    /// `#krate::macro_support`.
    support: TokenStream,
    /// The span (or guard) variable; mixed-site, so the fn body cannot see it.
    span: Ident,
    ret: Ident,
}

impl<'a> Codegen<'a> {
    fn new(args: &'a TraceArgs, function: &'a TracedFn) -> Self {
        let krate = match &args.krate {
            Some(path) => path.to_token_stream(),
            None => quote!(::telem),
        };
        Self {
            args,
            function,
            support: quote!(#krate::macro_support),
            krate,
            span: Ident::new("__telemetry_span", Span::mixed_site()),
            ret: Ident::new("__telemetry_ret", Span::mixed_site()),
        }
    }

    fn body(&self, mode: Mode<'_>) -> TokenStream {
        let stmts = &self.function.stmts;
        let span = &self.span;
        let ret = &self.ret;
        let support = &self.support;
        let attributes = self.attributes(span);
        let records = !attributes.is_empty();
        let err = self.args.err.is_some();
        match mode {
            Mode::Sync => {
                let start = self.start(quote!(start));
                let mutability = (records || err).then(|| quote!(mut));
                if err {
                    let fake_return = self.fake_return();
                    let record_err = self.record_err(span);
                    let ret_type = declared_output(&self.function.sig).map(|ty| quote!(: #ty));
                    quote! {
                        let #mutability #span = #start;
                        #attributes
                        #[allow(clippy::redundant_closure_call)]
                        let #ret #ret_type = (move || { #fake_return #(#stmts)* })();
                        #record_err
                        #ret
                    }
                } else {
                    quote! {
                        let #mutability #span = #start;
                        #attributes
                        #(#stmts)*
                    }
                }
            }
            Mode::AsyncFn => {
                let fake_return = self.fake_return();
                let future = quote!(async move { #fake_return #(#stmts)* });
                let run = self.run_future(&future, span, declared_output(&self.function.sig));
                let start = self.start(quote!(start_detached));
                let mutability = (records || err).then(|| quote!(mut));
                quote! {
                    let #mutability #span = #start;
                    #attributes
                    #run
                }
            }
            Mode::BoxPinned { call, future } => {
                let before = &stmts[..stmts.len() - 1];
                let callee = &call.func;
                let run = self.run_future(&future.to_token_stream(), span, None);
                let start = self.start(quote!(start_detached));
                let mutability = (records || err).then(|| quote!(mut));
                quote! {
                    #(#before)*
                    #callee(async move {
                        let #mutability #span = #start;
                        #attributes
                        #run
                    })
                }
            }
            Mode::ImplFuture => {
                let future = Ident::new("__telemetry_future", Span::mixed_site());
                let owned = Ident::new("__telemetry_owned_span", Span::mixed_site());
                let output = future_output(&self.function.sig).and_then(|ty| nameable(&ty));
                let run = self.run_future(&future.to_token_stream(), &owned, output);
                let start = self.start(quote!(start_detached));
                let mutability = records.then(|| quote!(mut));
                let owned_mutability = err.then(|| quote!(mut));
                quote! {
                    let #mutability #span = #start;
                    #attributes
                    let #future = #support::run_in(&#span, move || { #(#stmts)* });
                    async move {
                        let #owned_mutability #owned = #span;
                        #run
                    }
                }
            }
        }
    }

    /// Awaits `future` in `span`, recording an `Err` output when asked to. `output`, when
    /// known, is the future's output type: the error probe needs it before the tail
    /// expression would have told the compiler.
    fn run_future(&self, future: &TokenStream, span: &Ident, output: Option<Type>) -> TokenStream {
        let support = &self.support;
        let ret = &self.ret;
        if self.args.err.is_some() {
            let record_err = self.record_err(span);
            let output = output.map(|ty| quote!(: #ty));
            quote! {
                let #ret #output = #support::instrument(#future, &#span).await;
                #record_err
                #ret
            }
        } else {
            quote!(#support::instrument(#future, &#span).await)
        }
    }

    /// Starts the span through this fn's `static` call site.
    fn start(&self, method: TokenStream) -> TokenStream {
        let support = &self.support;
        let krate = &self.krate;
        let kind = match &self.args.kind {
            Some(variant) => quote!(#krate::SpanKind::#variant),
            None => quote!(#krate::SpanKind::Internal),
        };
        let root = self.args.root;
        let scope = quote!(::core::env!("CARGO_PKG_NAME"));
        match &self.args.name {
            Some(name) => quote!({
                static __TELEMETRY_SITE: #support::Site = #support::Site::named(#scope, #name);
                __TELEMETRY_SITE.#method((), #kind, #root)
            }),
            None => {
                let fn_name = self.function.sig.ident.to_string();
                let fn_name = fn_name.strip_prefix("r#").unwrap_or(&fn_name);
                quote!({
                    fn __telemetry_here() {}
                    static __TELEMETRY_SITE: #support::Site =
                        #support::Site::qualified(#scope, ::core::module_path!(), #fn_name);
                    __TELEMETRY_SITE.#method(__telemetry_here, #kind, #root)
                })
            }
        }
    }

    /// `fields(...)` and `record(...)`, set only when the span records.
    fn attributes(&self, span: &Ident) -> TokenStream {
        if self.args.fields.is_empty() && self.args.record.is_empty() {
            return TokenStream::new();
        }
        let support = &self.support;
        let fields = self.args.fields.iter().map(|field| {
            let key = &field.key;
            match &field.value {
                // A literal string stays static: no allocation.
                Expr::Lit(lit) if matches!(lit.lit, Lit::Str(_)) => {
                    quote!(#span.set_str(#key, #lit);)
                }
                // Borrowed, like `record`'s arguments: `self.name` is read, not moved.
                value => self.set_value(span, key.to_token_stream(), value, value.span()),
            }
        });
        let records = self.args.record.iter().map(|arg| {
            let key = arg.to_string();
            let key = key.strip_prefix("r#").unwrap_or(&key);
            self.set_value(span, key.to_token_stream(), arg, arg.span())
        });
        quote! {
            if #span.is_recording() {
                #[allow(unused_imports)]
                use #support::{
                    DebugKind as _, DisplayKind as _, OptionKind as _, OptionRefKind as _,
                    TypedKind as _, ValueKind as _,
                };
                #(#fields)*
                #(#records)*
            }
        }
    }

    /// Sets the attribute `key` to `value` (read by reference), spanned at `at` so a
    /// value that cannot be recorded is reported there. The option probe comes first: an
    /// `Option<T>` is set only when it is `Some`, to its `T`; any other value always is.
    /// Then the kind probe picks how the value (or the `T`) is recorded.
    fn set_value(
        &self,
        span: &Ident,
        key: TokenStream,
        value: &impl ToTokens,
        at: Span,
    ) -> TokenStream {
        let support = &self.support;
        quote_spanned! {at=>
            {
                let __telemetry_value = &(#value);
                if let ::core::option::Option::Some(__telemetry_value) =
                    (&&#support::kind(__telemetry_value))
                        .telemetry_option()
                        .present(__telemetry_value)
                {
                    #span.set_attribute(
                        #key,
                        (&&&#support::kind(__telemetry_value))
                            .telemetry_kind()
                            .to_value(__telemetry_value),
                    );
                }
            }
        }
    }

    /// `err`: an `Err(e)` in `self.ret` becomes an exception event and an error status.
    /// Spanned at `err`, so a fn that doesn't return a `Result` is reported there.
    fn record_err(&self, span: &Ident) -> TokenStream {
        let Some(err) = self.args.err else {
            return TokenStream::new();
        };
        let support = &self.support;
        let ret = &self.ret;
        let tokens = quote_spanned! {err=>
            if let ::core::option::Option::Some(__telemetry_error) = #support::TracedResult::traced_err(&#ret) {
                #[allow(unused_imports)]
                use #support::{DebugErrKind as _, DerefErrorKind as _, DisplayErrKind as _, ErrorKind as _};
                (&&&&#support::kind(__telemetry_error))
                    .telemetry_err_kind()
                    .record(&mut #span, __telemetry_error);
            }
        };
        // Shown at `err` (hygiene unchanged), so that type errors point there.
        located_at(tokens, err)
    }

    /// An unreachable `return` of the declared type at the top of a body moved into a
    /// closure or an async block, so that `?` and `Err(e.into())` infer as they did in the
    /// fn itself. `impl Trait` parts become `_`.
    fn fake_return(&self) -> TokenStream {
        let Some(ty) = declared_output(&self.function.sig) else {
            return TokenStream::new();
        };
        quote_spanned! {ty.span()=>
            #[allow(
                unreachable_code,
                clippy::diverging_sub_expression,
                clippy::let_unit_value,
                clippy::unreachable,
                clippy::needless_return,
                clippy::let_with_type_underscore
            )]
            if false {
                let __telemetry_fake_return: #ty = ::core::unreachable!();
                return __telemetry_fake_return;
            }
        }
    }
}

/// The same tokens, shown at `location` in error messages (their hygiene is kept): a
/// type error in them points at `location` (an `err` option, a log value), not at the
/// whole item or call. Shared by `#[trace]` and the log macros.
pub(crate) fn located_at(tokens: TokenStream, location: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut new = Group::new(group.delimiter(), located_at(group.stream(), location));
                new.set_span(group.span().located_at(location));
                tree = TokenTree::Group(new);
            } else {
                tree.set_span(tree.span().located_at(location));
            }
            tree
        })
        .collect()
}

/// Replaces `impl Trait` with `_`, which a `let` accepts.
struct ImplTraitEraser;

impl VisitMut for ImplTraitEraser {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(t) = ty {
            *ty = Type::Infer(syn::TypeInfer {
                underscore_token: syn::Token![_](t.span()),
            });
        } else {
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(args: TokenStream, item: TokenStream) -> String {
        trace(args, item).to_string()
    }

    #[test]
    fn crate_option_replaces_every_path_to_telem() {
        let items = [
            quote!(
                fn f(x: u8) -> Result<u8, String> {
                    Ok(x)
                }
            ),
            quote!(
                async fn f(x: u8) -> Result<u8, String> {
                    Ok(x)
                }
            ),
            quote!(
                fn f(x: u8) -> impl Future<Output = Result<u8, String>> {
                    async move { Ok(x) }
                }
            ),
            quote!(
                fn f(&self, x: u8) -> Pin<Box<dyn Future<Output = Result<u8, String>> + Send>> {
                    Box::pin(async move { Ok(x) })
                }
            ),
        ];
        for item in items {
            let out = expand(
                quote!(crate = tel, err, kind = server, fields(k = x), record(x)),
                item,
            );
            assert!(out.contains("tel :: macro_support"), "{out}");
            assert!(out.contains("tel :: SpanKind :: Server"), "{out}");
            assert!(!out.contains(":: telem"), "{out}");
            assert!(!out.contains("telem ::"), "{out}");
        }
        let default = expand(
            quote!(),
            quote!(
                fn f() {}
            ),
        );
        assert!(
            default.contains(":: telem :: macro_support :: Site"),
            "{default}"
        );
    }

    #[test]
    fn modes_are_recognised() {
        let async_fn = expand(
            quote!(),
            quote!(
                async fn f() {}
            ),
        );
        assert!(async_fn.contains("start_detached") && async_fn.contains("instrument"));
        let sync_fn = expand(
            quote!(),
            quote!(
                fn f() {}
            ),
        );
        assert!(sync_fn.contains(". start (") && !sync_fn.contains("instrument"));
        let boxed = expand(
            quote!(),
            quote!(
                fn f() -> Pin<Box<dyn Future<Output = ()>>> {
                    Box::pin(async move {})
                }
            ),
        );
        assert!(boxed.starts_with(
            "fn f () -> Pin < Box < dyn Future < Output = () > > > { Box :: pin (async move {"
        ));
        let impl_future = expand(
            quote!(),
            quote!(
                fn f() -> impl Future<Output = ()> {
                    async {}
                }
            ),
        );
        assert!(impl_future.contains("run_in"));
    }

    #[test]
    fn refused_items_are_emitted_unchanged_after_the_error() {
        let item = quote!(
            struct S;
        );
        let out = expand(quote!(), item.clone());
        assert!(
            out.contains("compile_error") && out.ends_with(&item.to_string()),
            "{out}"
        );
        let broken = quote!(fn f() { let x = ; });
        assert_eq!(expand(quote!(), broken.clone()), broken.to_string());
        let out = expand(quote!(nonsense), broken.clone());
        assert!(
            out.contains("compile_error") && out.ends_with(&broken.to_string()),
            "{out}"
        );
    }
}
