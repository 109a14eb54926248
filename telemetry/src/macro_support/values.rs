//! Values: the option probe that records an `Option<T>` only when it is `Some`, then the
//! kind probes that record a field typed, else with `Display`, else with `Debug`.

use crate::util::stack_text::StackText;
use crate::{Str, Value};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

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
        // Up to `Str::INLINE_LEN` bytes inline (no allocation), else a shared string.
        Value::String(Str::copy_of(self))
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

/// First choice of the option probe, `(&&kind(&v)).telemetry_option()`: `T` is an
/// `Option`, recorded only when it is `Some`.
pub trait OptionKind {
    /// Selects [`OptionTag`].
    #[inline(always)]
    fn telemetry_option(&self) -> OptionTag {
        OptionTag
    }
}
impl<T> OptionKind for &Kind<Option<T>> {}

/// First choice of the option probe too, for a borrowed `Option` (an `&Option<T>`
/// argument, `fields(key = &self.option)`): recorded only when it is `Some`.
pub trait OptionRefKind {
    /// Selects [`OptionRefTag`].
    #[inline(always)]
    fn telemetry_option(&self) -> OptionRefTag {
        OptionRefTag
    }
}
impl<T> OptionRefKind for &Kind<&Option<T>> {}

/// Second choice of the option probe: any other value, always recorded.
pub trait ValueKind {
    /// Selects [`ValueTag`].
    #[inline(always)]
    fn telemetry_option(&self) -> ValueTag {
        ValueTag
    }
}
impl<T: ?Sized> ValueKind for Kind<T> {}

/// An `Option<T>` field: its `T` when there is one.
#[derive(Debug, Clone, Copy)]
pub struct OptionTag;

impl OptionTag {
    /// The value to record, if any: the `T` of `Some`; `None` records nothing.
    #[inline(always)]
    pub fn present<T>(self, value: &Option<T>) -> Option<&T> {
        value.as_ref()
    }
}

/// An `&Option<T>` field: its `T` when there is one.
#[derive(Debug, Clone, Copy)]
pub struct OptionRefTag;

impl OptionRefTag {
    /// The value to record, if any: the `T` of `Some`; `None` records nothing.
    #[inline(always)]
    pub fn present<'a, T>(self, value: &'a &Option<T>) -> Option<&'a T> {
        value.as_ref()
    }
}

/// A field that is not an `Option`: always recorded.
#[derive(Debug, Clone, Copy)]
pub struct ValueTag;

impl ValueTag {
    /// The value to record: the value itself.
    #[inline(always)]
    pub fn present<T: ?Sized>(self, value: &T) -> Option<&T> {
        Some(value)
    }
}

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

/// Formats into a string value: the text is written to a stack buffer first; up to
/// [`Str::INLINE_LEN`] bytes it stays inline (no allocation), else it becomes one shared
/// string (spilling to a `String` past the buffer's size).
#[inline(never)]
pub fn format_value(args: fmt::Arguments<'_>) -> Value {
    if let Some(s) = args.as_str() {
        return Value::String(Str::from_static(s));
    }
    let mut out = StackWriter::default();
    // A `Display` impl that fails leaves what it wrote so far; keep that.
    let _ = fmt::write(&mut out, args);
    Value::String(out.finish_inline())
}

pub(super) const STACK_BUFFER: usize = 256;

/// A [`StackText`] that spills to a `String` once the text outgrows it.
#[derive(Default)]
pub(super) struct StackWriter {
    text: StackText<STACK_BUFFER>,
    spill: Option<String>,
}

impl StackWriter {
    /// The text, kept inline (no allocation) up to [`Str::INLINE_LEN`] bytes, else in
    /// one shared string.
    pub(super) fn finish_inline(self) -> Str {
        match self.spill {
            Some(s) => Str::from(s),
            None => Str::copy_of(self.text.as_str()),
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
