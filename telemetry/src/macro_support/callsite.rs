//! Call sites: the one `static` per instrumented fn, and starting its span.

use crate::record::recording::enabled;
use crate::{Span, SpanGuard, SpanKind, Tracer};
use std::borrow::Cow;
use std::sync::OnceLock;

/// One instrumented fn: its tracer (scope = the user's crate) and its span name.
#[derive(Debug)]
pub struct Site {
    tracer: Tracer,
    name: Name,
}

#[derive(Debug)]
enum Name {
    /// Given in the attribute: `#[trace("list_books")]`.
    Given(&'static str),
    /// Worked out on the first call: `Type::method`, or the fn name.
    Qualified {
        module: &'static str,
        fn_name: &'static str,
        cached: OnceLock<Cow<'static, str>>,
    },
}

impl Site {
    /// A site whose span is named `name`.
    pub const fn named(scope: &'static str, name: &'static str) -> Self {
        Self {
            tracer: Tracer::new(scope),
            name: Name::Given(name),
        }
    }

    /// A site whose span is named after the fn: `fn_name`, or `Type::fn_name` when the
    /// fn is in an `impl` or trait block (worked out once, on the first call).
    pub const fn qualified(
        scope: &'static str,
        module: &'static str,
        fn_name: &'static str,
    ) -> Self {
        Self {
            tracer: Tracer::new(scope),
            name: Name::Qualified {
                module,
                fn_name,
                cached: OnceLock::new(),
            },
        }
    }

    /// The span name. `_here` is a fn item declared in the instrumented fn's body: its
    /// type name is the path of the fn (`crate::module::Type::method::here`).
    #[inline]
    pub fn name<F>(&'static self, _here: F) -> &'static str {
        match &self.name {
            Name::Given(name) => name,
            Name::Qualified { cached, .. } => match cached.get() {
                Some(name) => name,
                None => self.qualify(std::any::type_name::<F>()),
            },
        }
    }

    #[cold]
    #[inline(never)]
    fn qualify(&'static self, here: &'static str) -> &'static str {
        match &self.name {
            Name::Given(name) => name,
            Name::Qualified {
                module,
                fn_name,
                cached,
            } => cached.get_or_init(|| qualified_name(here, module, fn_name)),
        }
    }

    #[inline]
    fn builder(
        &'static self,
        name: &'static str,
        kind: SpanKind,
        root: bool,
    ) -> crate::SpanBuilder<'static> {
        let builder = self.tracer.span(name).kind(kind);
        if root {
            builder.root()
        } else {
            builder
        }
    }

    /// Starts the span of a sync fn: current until the guard drops, which ends it (with an
    /// error status if the fn panics).
    #[inline(always)]
    pub fn start<F>(&'static self, here: F, kind: SpanKind, root: bool) -> SpanGuard {
        if !enabled() {
            return SpanGuard::NOOP;
        }
        self.start_enabled(here, kind, root)
    }

    #[inline(never)]
    fn start_enabled<F>(&'static self, here: F, kind: SpanKind, root: bool) -> SpanGuard {
        let name = self.name(here);
        if matches!(kind, SpanKind::Internal) && !root {
            self.tracer.start_span(name)
        } else {
            self.builder(name, kind, root).start()
        }
    }

    /// Starts the span of an async fn (or of a fn returning a future), not current: the
    /// body's future runs in it through [`instrument`].
    #[inline(always)]
    pub fn start_detached<F>(&'static self, here: F, kind: SpanKind, root: bool) -> Span {
        if !enabled() {
            return Span::noop();
        }
        let name = self.name(here);
        self.builder(name, kind, root).start_detached()
    }
}

/// `Type::fn_name` from the type name of a fn item declared in the instrumented fn
/// (`crate::module::Type::fn_name::here`, `<crate::A as crate::Trait>::fn_name::here`,
/// `crate::module::Wrapper<_>::fn_name::{{closure}}::here`), or `fn_name` for a free fn
/// or whenever the path doesn't look as expected (type names are not a stable format).
pub(super) fn qualified_name(
    here: &'static str,
    module: &str,
    fn_name: &'static str,
) -> Cow<'static, str> {
    qualify_path(here, module, fn_name).unwrap_or(Cow::Borrowed(fn_name))
}

fn qualify_path(
    here: &'static str,
    module: &str,
    fn_name: &'static str,
) -> Option<Cow<'static, str>> {
    // Drop the `here` item, then the async bodies (`{{closure}}`) around it.
    let (mut path, _) = here.rsplit_once("::")?;
    while let Some(outer) = path.strip_suffix("::{{closure}}") {
        path = outer;
    }
    let owner = path.strip_suffix(fn_name)?.strip_suffix("::")?;
    if owner == module {
        return None; // a free fn
    }
    // `<Type as Trait>` or `path::Type<..>`.
    let ty = match owner.strip_prefix('<').and_then(|o| o.strip_suffix('>')) {
        Some(inner) => split_top_level(inner, " as ").map_or(inner, |(ty, _)| ty),
        None => owner,
    };
    let ty = ty.trim_start_matches('&').trim_start_matches("mut ");
    let ty = strip_generics(ty);
    let segment = ty.rsplit("::").next()?;
    let is_ident = segment.chars().all(|c| c == '_' || c.is_alphanumeric())
        && segment
            .chars()
            .next()
            .is_some_and(|c| c == '_' || c.is_alphabetic())
        && segment != "_";
    if !is_ident {
        return None;
    }
    // `Type::fn_name` is often a slice of the path itself: no allocation then.
    if owner.ends_with(segment) {
        return Some(Cow::Borrowed(
            &path[path.len() - segment.len() - 2 - fn_name.len()..],
        ));
    }
    Some(Cow::Owned(format!("{segment}::{fn_name}")))
}

/// Splits at the first `pat` outside `<..>`.
fn split_top_level<'a>(s: &'a str, pat: &str) -> Option<(&'a str, &'a str)> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 && s[i..].starts_with(pat) => {
                return Some((&s[..i], &s[i + pat.len()..]))
            }
            _ => {}
        }
    }
    None
}

/// `a::Wrapper<_>` -> `a::Wrapper`.
fn strip_generics(ty: &str) -> &str {
    match ty.find('<') {
        Some(i) if ty.ends_with('>') => &ty[..i],
        _ => ty,
    }
}
