//! Parsing the item `#[trace]` is on: a fn with a body, or why it is refused.

use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::{braced, Attribute, Block, Signature, Stmt, Token, Visibility};

/// What `#[trace]` was put on.
pub(crate) enum Item {
    /// A fn whose signature and body parse.
    Fn(Box<TracedFn>),
    /// A fn that doesn't parse: emitted unchanged, so the compiler's own error shows.
    Unparsed,
    /// Something `#[trace]` cannot instrument (a struct, a bodiless trait method).
    Rejected(syn::Error),
}

/// A fn, split so that its body can be wrapped.
pub(crate) struct TracedFn {
    pub(crate) outer_attrs: Vec<Attribute>,
    /// `#![...]` at the top of the body: they stay at the top of the new body.
    pub(crate) inner_attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) stmts: Vec<Stmt>,
}

/// A fn whose body is not parsed yet.
struct RawFn {
    outer_attrs: Vec<Attribute>,
    inner_attrs: Vec<Attribute>,
    vis: Visibility,
    sig: Signature,
    body: TokenStream,
}

enum Shape {
    Fn(Box<RawFn>),
    Bodiless(Span),
    NotFn(Span),
}

pub(crate) fn parse(item: TokenStream) -> Item {
    let shape = match parse_shape.parse2(item) {
        Ok(shape) => shape,
        Err(_) => return Item::Unparsed,
    };
    match shape {
        Shape::Fn(raw) => match Block::parse_within.parse2(raw.body) {
            Ok(stmts) => Item::Fn(Box::new(TracedFn {
                outer_attrs: raw.outer_attrs,
                inner_attrs: raw.inner_attrs,
                vis: raw.vis,
                sig: raw.sig,
                stmts,
            })),
            Err(_) => Item::Unparsed,
        },
        Shape::Bodiless(span) => Item::Rejected(syn::Error::new(
            span,
            "`#[trace]` needs a fn body: a trait method without a default body has nothing to \
             instrument; put `#[trace]` on the method in each `impl` instead",
        )),
        Shape::NotFn(span) => Item::Rejected(syn::Error::new(
            span,
            "`#[trace]` instruments functions and methods only",
        )),
    }
}

fn parse_shape(input: ParseStream<'_>) -> syn::Result<Shape> {
    let outer_attrs = input.call(Attribute::parse_outer)?;
    let vis: Visibility = input.parse()?;
    if !starts_a_fn(input) {
        let span = input.span();
        input.parse::<TokenStream>()?;
        return Ok(Shape::NotFn(span));
    }
    let sig: Signature = input.parse()?;
    if input.peek(Token![;]) {
        let semi: Token![;] = input.parse()?;
        return Ok(Shape::Bodiless(semi.span));
    }
    let content;
    braced!(content in input);
    let inner_attrs = content.call(Attribute::parse_inner)?;
    let body: TokenStream = content.parse()?;
    Ok(Shape::Fn(Box::new(RawFn {
        outer_attrs,
        inner_attrs,
        vis,
        sig,
        body,
    })))
}

/// Whether the tokens ahead are a fn signature (`const async unsafe extern "C" fn`), so
/// that a fn whose signature doesn't parse is left to the compiler, not called "not a fn".
fn starts_a_fn(input: ParseStream<'_>) -> bool {
    let ahead = input.fork();
    loop {
        if ahead.peek(Token![fn]) {
            return true;
        }
        // SAFETY: no unsafe code here: `Token![unsafe]` only parses the keyword of an
        // `unsafe fn` signature.
        let qualifier = ahead.parse::<Token![const]>().is_ok()
            || ahead.parse::<Token![async]>().is_ok()
            || ahead.parse::<Token![unsafe]>().is_ok()
            || ahead.parse::<Token![default]>().is_ok()
            || ahead.parse::<syn::Abi>().is_ok();
        if !qualifier {
            return false;
        }
    }
}
