//! The log macros (`error!`, `warn!`, `info!`, `debug!`, `trace_log!`, `log!`): `args`
//! parses the call, `format` the message's format string, `expand` writes the call
//! site; the runtime is `telem::macro_support::logs`.

mod args;
mod expand;
mod format;

use proc_macro2::TokenStream;

/// `macro_name!(input)` at `level` (a `Level` variant; `None` for `log!`, which takes
/// it first). Errors become `compile_error!`s at the offending token.
pub(crate) fn expand(macro_name: &str, level: Option<&str>, input: TokenStream) -> TokenStream {
    args::parse(input, macro_name, level.is_none())
        .and_then(|args| expand::log(args, level))
        .unwrap_or_else(syn::Error::into_compile_error)
}
