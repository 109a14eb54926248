//! `#[telem::test]`: parses an `async fn` test and emits a `#[tokio::test]` that
//! starts a `telem::testing::TestPipeline` first. The runtime is all in
//! `telem::testing`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, Pat};

/// The expanded test, or the first error at its token.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut f: ItemFn = syn::parse2(item)?;
    if f.sig.asyncness.is_none() {
        return Err(syn::Error::new(
            f.sig.fn_token.span(),
            "#[telem::test] needs an `async fn` (it runs the test on a tokio runtime)",
        ));
    }
    let inputs = std::mem::take(&mut f.sig.inputs);
    if inputs.len() > 1 {
        return Err(syn::Error::new(
            inputs.span(),
            "#[telem::test] takes at most one parameter: the test's `TestPipeline`",
        ));
    }
    let binding = match inputs.into_iter().next() {
        None => quote!(_telemetry_test_pipeline: ::telem::testing::TestPipeline),
        Some(FnArg::Typed(arg)) => match &*arg.pat {
            // The user's own type path, so their `use` of it counts as used.
            Pat::Ident(_) | Pat::Wild(_) => {
                let (pat, ty) = (&arg.pat, &arg.ty);
                quote!(#pat: #ty)
            }
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "the `TestPipeline` parameter must be a plain name, like `t`",
                ))
            }
        },
        Some(FnArg::Receiver(r)) => {
            return Err(syn::Error::new(
                r.span(),
                "#[telem::test] goes on a free `async fn`, not a method",
            ))
        }
    };
    let attrs = &f.attrs;
    let vis = &f.vis;
    let sig = &f.sig;
    let body = &f.block;
    let start = quote_spanned!(sig.ident.span()=> ::telem::testing::TestPipeline::start());
    Ok(quote! {
        #[::tokio::test(#args)]
        #(#attrs)*
        #vis #sig {
            let #binding = #start;
            #body
        }
    })
}
