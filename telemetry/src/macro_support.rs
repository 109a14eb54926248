//! Runtime support for the code `#[trace]` generates. Not a public API: nothing here
//! is covered by semver, and only `telemetry-macros` should name it.
//!
//! The macro crate only parses and emits; everything that runs is here:
//!
//! - [`Site`]: one `static` per instrumented fn, holding its tracer and span name. The
//!   name is a `&'static str` (the one given, or `Type::method` worked out once from
//!   [`std::any::type_name`] on the first call), so starting a span never allocates.
//! - [`Site::start`] / [`Site::start_detached`] and [`instrument`] / [`run_in`]: the span
//!   of a sync fn (a guard), of an async fn (a span its body's future runs in), and of
//!   a fn returning `impl Future`.
//! - The kind probes ([`kind`], `TypedKind`/`DisplayKind`/`DebugKind`): autoref
//!   specialization that records a value typed when it is a number, bool or string, with
//!   `Display` otherwise, and with `Debug` as the last resort.
//! - The error probes (`ErrorKind`/`DerefErrorKind`/`DisplayErrKind`/`DebugErrKind`):
//!   what `err` does with `Err(e)`: an `exception` event and an error status, for any
//!   `E` that is an `Error`, derefs to one (`anyhow::Error`, `Box<dyn Error>`), or is
//!   only `Display`/`Debug` (`String`).

use crate::recording::enabled;
use crate::stack_text::StackText;
use crate::{Context, KeyValue, Span, SpanGuard, SpanKind, Status, Str, Tracer, Value};
#[cfg(feature = "enable")]
use crate::{FutureExt, Instrumented};
use std::borrow::Cow;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

// ---------------------------------------------------------------------------------------
// Call sites
// ---------------------------------------------------------------------------------------

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
fn qualified_name(here: &'static str, module: &str, fn_name: &'static str) -> Cow<'static, str> {
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

// ---------------------------------------------------------------------------------------
// Futures
// ---------------------------------------------------------------------------------------

/// Runs `future` with `span` current in every poll (and not between polls). The span
/// stays with the caller, a local of the generated async body, so that it can record
/// the output and so that a panic in a poll drops it while unwinding (error status).
#[cfg(feature = "enable")]
#[inline]
pub fn instrument<F: Future>(future: F, span: &Span) -> Instrumented<F> {
    future.with_context(Context::with_span(span.context()))
}

/// Without the `enable` feature the span is a no-op: the future runs as it is.
#[cfg(not(feature = "enable"))]
#[inline(always)]
pub fn instrument<F: Future>(future: F, _span: &Span) -> F {
    future
}

/// Runs `f` (the synchronous part of a fn returning `impl Future`) with `span` current.
#[inline]
pub fn run_in<R>(span: &Span, f: impl FnOnce() -> R) -> R {
    if span.span_id().is_valid() {
        Context::with_span(span.context()).run(f)
    } else {
        f()
    }
}

// ---------------------------------------------------------------------------------------
// Values: typed, else Display, else Debug
// ---------------------------------------------------------------------------------------

/// The probe of autoref specialization: `(&&&kind(&v)).telemetry_kind()` picks the most
/// specific of [`TypedKind`] (`&&Kind<T>`), [`DisplayKind`] (`&Kind<T>`) and
/// [`DebugKind`] (`Kind<T>`) that `T` implements, at compile time. The same probe with
/// one more `&` picks among the error kinds.
pub struct Kind<T: ?Sized>(PhantomData<T>);

impl<T: ?Sized> fmt::Debug for Kind<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Kind")
    }
}

/// The probe for `value`'s type.
#[inline(always)]
pub fn kind<T: ?Sized>(_value: &T) -> Kind<T> {
    Kind(PhantomData)
}

mod sealed {
    #[allow(unreachable_pub)]
    pub trait Sealed {}
}

/// A value recorded with its own attribute type: numbers, bools and strings.
pub trait Typed: sealed::Sealed {
    /// The attribute value (strings are copied into a shared string).
    fn to_value(&self) -> Value;
}

macro_rules! typed_lossless {
    ($($ty:ty),*) => {$(
        impl sealed::Sealed for $ty {}
        impl Typed for $ty {
            #[inline]
            fn to_value(&self) -> Value {
                Value::from(*self)
            }
        }
    )*};
}

typed_lossless!(bool, i8, i16, i32, i64, u8, u16, u32, f32, f64);

macro_rules! typed_wide_int {
    ($($ty:ty),*) => {$(
        impl sealed::Sealed for $ty {}
        impl Typed for $ty {
            /// An `I64` when it fits, else the decimal string.
            #[inline]
            fn to_value(&self) -> Value {
                match i64::try_from(*self) {
                    Ok(v) => Value::I64(v),
                    Err(_) => format_value(format_args!("{self}")),
                }
            }
        }
    )*};
}

typed_wide_int!(u64, usize, isize, u128, i128);

impl sealed::Sealed for str {}
impl Typed for str {
    #[inline]
    fn to_value(&self) -> Value {
        Value::String(Str::from(Arc::<str>::from(self)))
    }
}

impl sealed::Sealed for String {}
impl Typed for String {
    #[inline]
    fn to_value(&self) -> Value {
        self.as_str().to_value()
    }
}

impl sealed::Sealed for Box<str> {}
impl Typed for Box<str> {
    #[inline]
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl sealed::Sealed for Arc<str> {}
impl Typed for Arc<str> {
    #[inline]
    fn to_value(&self) -> Value {
        Value::String(Str::from(self.clone()))
    }
}

impl sealed::Sealed for Cow<'_, str> {}
impl Typed for Cow<'_, str> {
    #[inline]
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl sealed::Sealed for Str {}
impl Typed for Str {
    #[inline]
    fn to_value(&self) -> Value {
        Value::String(self.clone())
    }
}

impl sealed::Sealed for Value {}
impl Typed for Value {
    #[inline]
    fn to_value(&self) -> Value {
        self.clone()
    }
}

impl<T: Typed + ?Sized> sealed::Sealed for &T {}
impl<T: Typed + ?Sized> Typed for &T {
    #[inline]
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: Typed + ?Sized> sealed::Sealed for &mut T {}
impl<T: Typed + ?Sized> Typed for &mut T {
    #[inline]
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

/// First choice of the value probe: `T` has an attribute type of its own.
pub trait TypedKind {
    /// Selects [`TypedTag`].
    #[inline(always)]
    fn telemetry_kind(&self) -> TypedTag {
        TypedTag
    }
}
impl<T: Typed + ?Sized> TypedKind for &&Kind<T> {}

/// Second choice of the value probe: `T: Display`.
pub trait DisplayKind {
    /// Selects [`DisplayTag`].
    #[inline(always)]
    fn telemetry_kind(&self) -> DisplayTag {
        DisplayTag
    }
}
impl<T: fmt::Display + ?Sized> DisplayKind for &Kind<T> {}

/// Last choice of the value probe: `T: Debug`.
pub trait DebugKind {
    /// Selects [`DebugTag`].
    #[inline(always)]
    fn telemetry_kind(&self) -> DebugTag {
        DebugTag
    }
}
impl<T: fmt::Debug + ?Sized> DebugKind for Kind<T> {}

/// Records a value with its own attribute type.
#[derive(Debug, Clone, Copy)]
pub struct TypedTag;

impl TypedTag {
    /// The attribute value of a `fields(key = expr)` value or a `record(arg)` argument.
    #[inline]
    pub fn to_value<T: Typed + ?Sized>(self, value: &T) -> Value {
        value.to_value()
    }
}

/// Records a value formatted with `Display`.
#[derive(Debug, Clone, Copy)]
pub struct DisplayTag;

impl DisplayTag {
    /// The attribute value of a `fields(key = expr)` value or a `record(arg)` argument.
    #[inline]
    pub fn to_value<T: fmt::Display + ?Sized>(self, value: &T) -> Value {
        format_value(format_args!("{value}"))
    }
}

/// Records a value formatted with `Debug`.
#[derive(Debug, Clone, Copy)]
pub struct DebugTag;

impl DebugTag {
    /// The attribute value of a `fields(key = expr)` value or a `record(arg)` argument.
    #[inline]
    pub fn to_value<T: fmt::Debug + ?Sized>(self, value: &T) -> Value {
        format_value(format_args!("{value:?}"))
    }
}

/// Formats into a string value with one allocation (the shared string itself): the text
/// is written to a stack buffer first, and only spills to a `String` past its size.
#[inline(never)]
pub fn format_value(args: fmt::Arguments<'_>) -> Value {
    if let Some(s) = args.as_str() {
        return Value::String(Str::from_static(s));
    }
    let mut out = StackWriter::default();
    // A `Display` impl that fails leaves what it wrote so far; keep that.
    let _ = fmt::write(&mut out, args);
    Value::String(out.finish())
}

const STACK_BUFFER: usize = 256;

/// A [`StackText`] that spills to a `String` once the text outgrows it.
#[derive(Default)]
struct StackWriter {
    text: StackText<STACK_BUFFER>,
    spill: Option<String>,
}

impl StackWriter {
    fn finish(self) -> Str {
        match self.spill {
            Some(s) => Str::from(s),
            None => Str::from(Arc::<str>::from(self.text.as_str())),
        }
    }
}

impl fmt::Write for StackWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if let Some(spill) = &mut self.spill {
            spill.push_str(s);
        } else if self.text.write_str(s).is_err() {
            let mut spill = String::with_capacity(2 * (self.text.len() + s.len()));
            spill.push_str(self.text.as_str());
            spill.push_str(s);
            self.spill = Some(spill);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Errors: `err`
// ---------------------------------------------------------------------------------------

/// What `err` needs from the fn's return type: an error to look at.
#[diagnostic::on_unimplemented(
    message = "`#[trace(err)]` needs a fn returning a `Result`, not `{Self}`",
    label = "`err` records the `Err` of a `Result`"
)]
pub trait TracedResult {
    /// The error type.
    type Error: ?Sized;

    /// The error, if this is an `Err`.
    fn traced_err(&self) -> Option<&Self::Error>;
}

impl<T, E> TracedResult for Result<T, E> {
    type Error = E;

    #[inline(always)]
    fn traced_err(&self) -> Option<&E> {
        self.as_ref().err()
    }
}

/// First choice of the error probe: `E: Error` ([`Span::record_error`], with the
/// chain of sources).
pub trait ErrorKind {
    /// Selects [`ErrorTag`].
    #[inline(always)]
    fn telemetry_err_kind(&self) -> ErrorTag {
        ErrorTag
    }
}
impl<E: Error + ?Sized> ErrorKind for &&&Kind<E> {}

/// Second choice: `E` derefs to an `Error` (`anyhow::Error`, `Box<dyn Error>`).
pub trait DerefErrorKind {
    /// Selects [`DerefErrorTag`].
    #[inline(always)]
    fn telemetry_err_kind(&self) -> DerefErrorTag {
        DerefErrorTag
    }
}
impl<E> DerefErrorKind for &&Kind<E>
where
    E: Deref + ?Sized,
    E::Target: Error,
{
}

/// Third choice: `E: Display` (`String`, `&str`).
pub trait DisplayErrKind {
    /// Selects [`DisplayErrTag`].
    #[inline(always)]
    fn telemetry_err_kind(&self) -> DisplayErrTag {
        DisplayErrTag
    }
}
impl<E: fmt::Display + ?Sized> DisplayErrKind for &Kind<E> {}

/// Last choice: `E: Debug`.
pub trait DebugErrKind {
    /// Selects [`DebugErrTag`].
    #[inline(always)]
    fn telemetry_err_kind(&self) -> DebugErrTag {
        DebugErrTag
    }
}
impl<E: fmt::Debug + ?Sized> DebugErrKind for Kind<E> {}

/// Records an `Error`.
#[derive(Debug, Clone, Copy)]
pub struct ErrorTag;

impl ErrorTag {
    /// An `exception` event (type, message, causes) and an error status.
    #[inline]
    pub fn record<E: Error + ?Sized>(self, span: &mut Span, error: &E) {
        span.record_error(error);
    }
}

/// Records a type that derefs to an `Error`.
#[derive(Debug, Clone, Copy)]
pub struct DerefErrorTag;

impl DerefErrorTag {
    /// An `exception` event (`E`'s type, the message, the causes) and an error status.
    #[inline]
    pub fn record<E>(self, span: &mut Span, error: &E)
    where
        E: Deref + ?Sized,
        E::Target: Error,
    {
        if span.is_recording() {
            let inner: &E::Target = error;
            let causes = Causes(inner.source());
            record_exception(
                span,
                std::any::type_name::<E>(),
                Str::from(inner.to_string()),
                causes,
            );
        }
    }
}

/// Records an error that is only `Display`.
#[derive(Debug, Clone, Copy)]
pub struct DisplayErrTag;

impl DisplayErrTag {
    /// An `exception` event (`E`'s type and the message) and an error status.
    #[inline]
    pub fn record<E: fmt::Display + ?Sized>(self, span: &mut Span, error: &E) {
        if span.is_recording() {
            record_exception(
                span,
                std::any::type_name::<E>(),
                Str::from(error.to_string()),
                Causes(None),
            );
        }
    }
}

/// Records an error that is only `Debug`.
#[derive(Debug, Clone, Copy)]
pub struct DebugErrTag;

impl DebugErrTag {
    /// An `exception` event (`E`'s type and the `Debug` text) and an error status.
    #[inline]
    pub fn record<E: fmt::Debug + ?Sized>(self, span: &mut Span, error: &E) {
        if span.is_recording() {
            record_exception(
                span,
                std::any::type_name::<E>(),
                Str::from(format!("{error:?}")),
                Causes(None),
            );
        }
    }
}

/// An error's chain of sources.
struct Causes<'a>(Option<&'a (dyn Error + 'static)>);

impl Iterator for Causes<'_> {
    type Item = Value;

    fn next(&mut self) -> Option<Value> {
        let cause = self.0?;
        self.0 = cause.source();
        Some(Value::from(cause.to_string()))
    }
}

/// The same event and status as [`Span::record_error`], with the type name given.
#[cold]
fn record_exception(span: &mut Span, type_name: &'static str, message: Str, causes: Causes<'_>) {
    let mut attributes = vec![
        KeyValue::new("exception.type", type_name),
        KeyValue::new("exception.message", message.clone()),
    ];
    let causes: Vec<Value> = causes.collect();
    if !causes.is_empty() {
        attributes.push(KeyValue::new(
            "exception.cause",
            Value::Array(causes.into()),
        ));
    }
    span.add_event("exception", attributes);
    span.set_status(Status::error(message));
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &str = "my_crate::books";

    #[test]
    fn qualified_names_from_type_paths() {
        let cases = [
            (
                "my_crate::books::list_books::here",
                "list_books",
                "list_books",
            ),
            (
                "my_crate::books::Library::list_books::here",
                "list_books",
                "Library::list_books",
            ),
            (
                "my_crate::books::Library::open::{{closure}}::here",
                "open",
                "Library::open",
            ),
            (
                "<my_crate::books::Library as my_crate::Shelf>::list::here",
                "list",
                "Library::list",
            ),
            (
                "<my_crate::Wrapper<_> as my_crate::Shelf>::list::here",
                "list",
                "Wrapper::list",
            ),
            (
                "my_crate::books::Wrapper<_>::get::here",
                "get",
                "Wrapper::get",
            ),
            ("my_crate::Shelf::dflt::here", "dflt", "Shelf::dflt"),
            ("<&str as my_crate::Shelf>::list::here", "list", "str::list"),
            // Not recognisable: the fn name.
            ("<(u8, u8) as my_crate::Shelf>::list::here", "list", "list"),
            ("my_crate::main::{{closure}}::inner::here", "inner", "inner"),
            ("my_crate::_::f::here", "f", "f"),
            ("something else entirely", "f", "f"),
            ("my_crate::books::other::here", "f", "f"),
        ];
        for (path, fn_name, want) in cases {
            assert_eq!(qualified_name(path, M, fn_name), want, "{path}");
        }
    }

    #[test]
    fn inherent_method_names_are_slices_of_the_type_path() {
        let name = qualified_name(
            "my_crate::books::Library::list_books::here",
            M,
            "list_books",
        );
        assert!(matches!(name, Cow::Borrowed(_)));
    }

    #[test]
    fn site_names_are_computed_once_from_the_here_item() {
        struct Library;
        impl Library {
            fn name(&self) -> &'static str {
                fn here() {}
                static SITE: Site = Site::qualified("t", module_path!(), "name");
                SITE.name(here)
            }
        }
        let first = Library.name();
        assert_eq!(first, "Library::name");
        assert!(std::ptr::eq(first, Library.name()));
        static GIVEN: Site = Site::named("t", "given");
        assert_eq!(GIVEN.name(()), "given");
    }

    #[test]
    #[allow(clippy::needless_borrow)] // the borrows are the probe
    fn values_are_typed_then_display_then_debug() {
        #[derive(Debug)]
        struct OnlyDebug;
        struct Both;
        impl fmt::Display for Both {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("display")
            }
        }
        impl fmt::Debug for Both {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("debug")
            }
        }
        let n = 7u64;
        assert_eq!((&&&kind(&n)).telemetry_kind().to_value(&n), Value::I64(7));
        let big = u64::MAX;
        assert_eq!(
            (&&&kind(&big)).telemetry_kind().to_value(&big),
            Value::from(u64::MAX.to_string())
        );
        let s: &str = "hi";
        assert_eq!(
            (&&&kind(&s)).telemetry_kind().to_value(&s),
            Value::from("hi")
        );
        let owned = String::from("copied");
        assert_eq!(
            (&&&kind(&owned)).telemetry_kind().to_value(&owned),
            Value::from("copied")
        );
        assert_eq!(
            (&&&kind(&Both)).telemetry_kind().to_value(&Both),
            Value::from("display")
        );
        assert_eq!(
            (&&&kind(&OnlyDebug)).telemetry_kind().to_value(&OnlyDebug),
            Value::from("OnlyDebug")
        );
        let c = 'x';
        assert_eq!(
            (&&&kind(&c)).telemetry_kind().to_value(&c),
            Value::from("x")
        );
    }

    #[test]
    fn long_values_spill_from_the_stack_buffer_intact() {
        for len in [
            0,
            1,
            STACK_BUFFER - 1,
            STACK_BUFFER,
            STACK_BUFFER + 1,
            3 * STACK_BUFFER,
        ] {
            let text: String = "é".repeat(len / 2) + &"x".repeat(len % 2);
            let value = format_value(format_args!("{text}{}", ""));
            assert_eq!(value, Value::from(text.clone()), "len {len}");
        }
    }
}
