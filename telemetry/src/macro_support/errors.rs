//! Errors: what `err` records for `Err(e)`.

use super::values::Kind;
use crate::{KeyValue, Span, Status, Str, Value};
use std::error::Error;
use std::fmt;
use std::ops::Deref;

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
    // A failed operation's class of error (OpenTelemetry's `error.type`, conditionally
    // required on failure): the type's name when nothing better is known.
    span.set_str("error.type", type_name);
    span.set_status(Status::error(message));
}
