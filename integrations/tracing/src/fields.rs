//! `tracing`'s field values as telem [`Value`]s, and the fields with a meaning of their
//! own on a span (`otel.name`, `otel.kind`, `otel.status_code`, `otel.status_message`,
//! `error`), the names `tracing-opentelemetry` gave them.

use std::fmt;
use telem::bridge::{debug_value, display_value, BridgedRecord};
use telem::{Attributes, KeyValue, Span, SpanKind, Status, Str, Value};
use tracing::field::{Field, Visit};

/// One field's value, as `tracing` hands it over.
fn text(s: &str) -> Value {
    Value::String(Str::copy_of(s))
}

fn unsigned(v: u64) -> Value {
    i64::try_from(v).map_or_else(|_| display_value(&v), Value::I64)
}

fn wide(v: impl TryInto<i64> + fmt::Display + Copy) -> Value {
    v.try_into().map_or_else(|_| display_value(&v), Value::I64)
}

/// Turns each `record_*` call into one [`Value`] for `put`.
macro_rules! visit_values {
    () => {
        fn record_str(&mut self, field: &Field, value: &str) {
            self.put(field, text(value));
        }
        fn record_i64(&mut self, field: &Field, value: i64) {
            self.put(field, Value::I64(value));
        }
        fn record_u64(&mut self, field: &Field, value: u64) {
            self.put(field, unsigned(value));
        }
        fn record_i128(&mut self, field: &Field, value: i128) {
            self.put(field, wide(value));
        }
        fn record_u128(&mut self, field: &Field, value: u128) {
            self.put(field, wide(value));
        }
        fn record_f64(&mut self, field: &Field, value: f64) {
            self.put(field, Value::F64(value));
        }
        fn record_bool(&mut self, field: &Field, value: bool) {
            self.put(field, Value::Bool(value));
        }
        fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
            self.put(field, display_value(&value));
        }
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            self.put(field, debug_value(value));
        }
    };
}

/// What a span's fields say, beyond its attributes.
#[derive(Default)]
pub(crate) struct SpanFields {
    pub(crate) attributes: Attributes,
    /// `otel.name`: the span's name instead of the callsite's.
    pub(crate) name: Option<Str>,
    /// `otel.kind`.
    pub(crate) kind: Option<SpanKind>,
    pub(crate) status: StatusFields,
}

/// `otel.status_code`, `otel.status_message` and `error`.
#[derive(Default)]
pub(crate) struct StatusFields {
    code: Option<Code>,
    message: Option<Str>,
    error: Option<Str>,
}

#[derive(Clone, Copy)]
enum Code {
    Ok,
    Error,
    Unset,
}

impl StatusFields {
    /// The status they set, if any: `otel.status_code` wins over an `error` field (an
    /// `error` alone is an error status with its text).
    pub(crate) fn status(self) -> Option<Status> {
        match (self.code, self.error) {
            (Some(Code::Ok), _) => Some(Status::Ok),
            (Some(Code::Error), error) => Some(Status::error(
                self.message.or(error).unwrap_or(Str::from_static("")),
            )),
            (Some(Code::Unset), _) => None,
            (None, Some(error)) => Some(Status::error(self.message.unwrap_or(error))),
            (None, None) => None,
        }
    }

    fn put(&mut self, key: &str, value: &Value) -> bool {
        match key {
            "otel.status_code" => {
                self.code = match text_of(value).to_ascii_lowercase().as_str() {
                    "ok" => Some(Code::Ok),
                    "error" => Some(Code::Error),
                    _ => Some(Code::Unset),
                };
            }
            "otel.status_message" => self.message = Some(Str::copy_of(&text_of(value))),
            "error" => self.error = Some(Str::copy_of(&text_of(value))),
            _ => return false,
        }
        true
    }
}

fn text_of(value: &Value) -> std::borrow::Cow<'_, str> {
    match value {
        Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
        other => std::borrow::Cow::Owned(other.to_string()),
    }
}

/// `otel.kind`'s value, case-insensitive; `None` for anything else.
fn kind(value: &Value) -> Option<SpanKind> {
    match text_of(value).to_ascii_lowercase().as_str() {
        "server" => Some(SpanKind::Server),
        "client" => Some(SpanKind::Client),
        "producer" => Some(SpanKind::Producer),
        "consumer" => Some(SpanKind::Consumer),
        "internal" => Some(SpanKind::Internal),
        _ => None,
    }
}

impl SpanFields {
    fn put(&mut self, field: &Field, value: Value) {
        match field.name() {
            "otel.name" => self.name = Some(Str::copy_of(&text_of(&value))),
            "otel.kind" => self.kind = kind(&value),
            key if self.status.put(key, &value) => {}
            key => self.attributes.push(KeyValue {
                key: Str::from_static(key),
                value,
            }),
        }
    }
}

impl Visit for SpanFields {
    visit_values!();
}

/// Fields recorded into a started span (`Span::record`): attributes, a new name, a
/// status. The kind is fixed at the start and a later `otel.kind` is ignored.
pub(crate) struct LateFields<'a> {
    pub(crate) span: &'a mut Span,
    pub(crate) status: StatusFields,
}

impl LateFields<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        match field.name() {
            "otel.name" => self.span.update_name(Str::copy_of(&text_of(&value))),
            "otel.kind" => {}
            key if self.status.put(key, &value) => {}
            key => self.span.set_attribute(Str::from_static(key), value),
        }
    }
}

impl Visit for LateFields<'_> {
    visit_values!();
}

/// An event's fields into a bridged log record: `message` is the body, the others are
/// fields by their index in the call site's keys.
pub(crate) struct EventFields<'a> {
    pub(crate) record: &'a mut BridgedRecord,
}

impl EventFields<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            if let Value::String(message) = value {
                self.record.message(message);
            } else {
                self.record.message(Str::copy_of(&value.to_string()));
            }
        } else {
            self.record.field(field.index(), value);
        }
    }
}

impl Visit for EventFields<'_> {
    visit_values!();
}
