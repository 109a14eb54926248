//! The log macros' runtime beside their call sites: the levels compiled in
//! ([`static_enabled`]), the probe that turns a message argument into a value printing
//! exactly as `format!("{}", arg)` would, and text formatted on the stack into a
//! [`Str`] kept inline when short.
//!
//! A field's value goes through the span attributes' probes (`values.rs`: typed, else
//! `Display`, else `Debug`), or [`format_text`] for `%value` and `?value`.

use super::values::{Kind, StackWriter};
use crate::logs::filter::LevelFilter;
use crate::{Level, Str, Value};
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// The most detailed level compiled in, from the `max_level_*` and `release_max_level_*`
/// features (the latter only without `debug_assertions`, and winning there); the most
/// restrictive feature wins. [`LevelFilter::Trace`] without any.
pub const STATIC_MAX_LEVEL: LevelFilter = match release_max_level() {
    Some(level) if !cfg!(debug_assertions) => level,
    _ => max_level(),
};

const fn max_level() -> LevelFilter {
    if cfg!(feature = "max_level_off") {
        LevelFilter::Off
    } else if cfg!(feature = "max_level_error") {
        LevelFilter::Error
    } else if cfg!(feature = "max_level_warn") {
        LevelFilter::Warn
    } else if cfg!(feature = "max_level_info") {
        LevelFilter::Info
    } else if cfg!(feature = "max_level_debug") {
        LevelFilter::Debug
    } else {
        LevelFilter::Trace
    }
}

const fn release_max_level() -> Option<LevelFilter> {
    if cfg!(feature = "release_max_level_off") {
        Some(LevelFilter::Off)
    } else if cfg!(feature = "release_max_level_error") {
        Some(LevelFilter::Error)
    } else if cfg!(feature = "release_max_level_warn") {
        Some(LevelFilter::Warn)
    } else if cfg!(feature = "release_max_level_info") {
        Some(LevelFilter::Info)
    } else if cfg!(feature = "release_max_level_debug") {
        Some(LevelFilter::Debug)
    } else if cfg!(feature = "release_max_level_trace") {
        Some(LevelFilter::Trace)
    } else {
        None
    }
}

/// Whether calls at `level` are compiled in: the `enable` feature, and the level within
/// [`STATIC_MAX_LEVEL`]. The macros read it through a `const`, so a call at a level
/// removed compiles to nothing.
#[inline(always)]
pub const fn static_enabled(level: Level) -> bool {
    cfg!(feature = "enable") && level as u8 <= STATIC_MAX_LEVEL as u8
}

/// Formats into a [`Str`]: static when there is nothing to format, inline (no
/// allocation) up to [`Str::INLINE_LEN`] bytes, else one shared string; written on the
/// stack first, spilling to a `String` only past its buffer.
#[inline(never)]
pub fn format_str(args: fmt::Arguments<'_>) -> Str {
    if let Some(s) = args.as_str() {
        return Str::from_static(s);
    }
    let mut out = StackWriter::default();
    // A `Display` impl that fails leaves what it wrote so far; keep that.
    let _ = fmt::write(&mut out, args);
    out.finish_inline()
}

/// [`format_str`] as a string value: `%value` and `?value` fields, and message
/// arguments with no exact value of their own.
#[inline]
pub fn format_text(args: fmt::Arguments<'_>) -> Value {
    Value::String(format_str(args))
}

mod sealed {
    #[allow(unreachable_pub)]
    pub trait Sealed {}
}

/// A message argument whose value prints (with `Value`'s `Display`, as the drain writes
/// the message) exactly as `format!("{}", arg)` does, without formatting at the call.
pub trait ExactDisplay: sealed::Sealed {
    /// The value.
    fn exact_value(&self) -> Value;
}

macro_rules! exact_int {
    ($($ty:ty),*) => {$(
        impl sealed::Sealed for $ty {}
        impl ExactDisplay for $ty {
            #[inline]
            fn exact_value(&self) -> Value {
                Value::I64(i64::from(*self))
            }
        }
    )*};
}

exact_int!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! exact_wide_int {
    ($($ty:ty),*) => {$(
        impl sealed::Sealed for $ty {}
        impl ExactDisplay for $ty {
            /// An `I64` when it fits, else the decimal text.
            #[inline]
            fn exact_value(&self) -> Value {
                match i64::try_from(*self) {
                    Ok(v) => Value::I64(v),
                    Err(_) => format_text(format_args!("{self}")),
                }
            }
        }
    )*};
}

exact_wide_int!(u64, usize, isize, u128, i128);

impl sealed::Sealed for bool {}
impl ExactDisplay for bool {
    #[inline]
    fn exact_value(&self) -> Value {
        Value::Bool(*self)
    }
}

impl sealed::Sealed for f64 {}
impl ExactDisplay for f64 {
    #[inline]
    fn exact_value(&self) -> Value {
        Value::F64(*self)
    }
}

impl sealed::Sealed for f32 {}
impl ExactDisplay for f32 {
    /// The text: as an `f64` it would print its binary expansion (`0.1f32` as
    /// `0.10000000149011612`).
    #[inline]
    fn exact_value(&self) -> Value {
        format_text(format_args!("{self}"))
    }
}

impl sealed::Sealed for char {}
impl ExactDisplay for char {
    #[inline]
    fn exact_value(&self) -> Value {
        Value::String(Str::copy_of(self.encode_utf8(&mut [0; 4])))
    }
}

impl sealed::Sealed for str {}
impl ExactDisplay for str {
    /// A copy, inline (no allocation) up to [`Str::INLINE_LEN`] bytes.
    #[inline]
    fn exact_value(&self) -> Value {
        Value::String(Str::copy_of(self))
    }
}

macro_rules! exact_deref_str {
    ($($ty:ty),*) => {$(
        impl sealed::Sealed for $ty {}
        impl ExactDisplay for $ty {
            #[inline]
            fn exact_value(&self) -> Value {
                Value::String(Str::copy_of(self))
            }
        }
    )*};
}

exact_deref_str!(String, Box<str>, Cow<'_, str>);

impl sealed::Sealed for Arc<str> {}
impl ExactDisplay for Arc<str> {
    #[inline]
    fn exact_value(&self) -> Value {
        Value::String(Str::from(self.clone()))
    }
}

impl sealed::Sealed for Str {}
impl ExactDisplay for Str {
    #[inline]
    fn exact_value(&self) -> Value {
        Value::String(self.clone())
    }
}

impl sealed::Sealed for Value {}
impl ExactDisplay for Value {
    #[inline]
    fn exact_value(&self) -> Value {
        self.clone()
    }
}

impl<T: ExactDisplay + ?Sized> sealed::Sealed for &T {}
impl<T: ExactDisplay + ?Sized> ExactDisplay for &T {
    #[inline]
    fn exact_value(&self) -> Value {
        (**self).exact_value()
    }
}

impl<T: ExactDisplay + ?Sized> sealed::Sealed for &mut T {}
impl<T: ExactDisplay + ?Sized> ExactDisplay for &mut T {
    #[inline]
    fn exact_value(&self) -> Value {
        (**self).exact_value()
    }
}

/// First choice of the message argument probe, `(&&kind(&arg)).telemetry_arg_kind()`:
/// `T` has an exact value.
pub trait ExactArgKind {
    /// Selects [`ExactArgTag`].
    #[inline(always)]
    fn telemetry_arg_kind(&self) -> ExactArgTag {
        ExactArgTag
    }
}
impl<T: ExactDisplay + ?Sized> ExactArgKind for &Kind<T> {}

/// Last choice of the message argument probe: any `T`; [`DisplayArgTag::to_value`]
/// then requires `Display`, so that a type without it is refused as `format!` refuses
/// it.
pub trait DisplayArgKind {
    /// Selects [`DisplayArgTag`].
    #[inline(always)]
    fn telemetry_arg_kind(&self) -> DisplayArgTag {
        DisplayArgTag
    }
}
impl<T: ?Sized> DisplayArgKind for Kind<T> {}

/// Records a message argument as its exact value.
#[derive(Debug, Clone, Copy)]
pub struct ExactArgTag;

impl ExactArgTag {
    /// The argument's value.
    #[inline]
    pub fn to_value<T: ExactDisplay + ?Sized>(self, value: &T) -> Value {
        value.exact_value()
    }
}

/// Records a message argument as its `Display` text.
#[derive(Debug, Clone, Copy)]
pub struct DisplayArgTag;

impl DisplayArgTag {
    /// The argument's text.
    #[inline]
    pub fn to_value<T: fmt::Display + ?Sized>(self, value: &T) -> Value {
        format_text(format_args!("{value}"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::values::kind;
    use super::*;
    use std::net::Ipv4Addr;

    /// What the drain would print for the argument, and whether it is that type.
    macro_rules! probe {
        ($arg:expr) => {{
            let arg = &$arg;
            (&&kind(arg)).telemetry_arg_kind().to_value(arg)
        }};
    }

    #[test]
    // The borrows are the probe; `format!` is what each value is compared with.
    #[allow(
        clippy::needless_borrow,
        clippy::approx_constant,
        clippy::useless_format
    )]
    fn every_argument_prints_exactly_as_format_does() {
        let owned = String::from("owned");
        let long = "x".repeat(40);
        let cases: Vec<(Value, String)> = vec![
            (probe!(7u8), format!("{}", 7u8)),
            (probe!(-7i32), format!("{}", -7i32)),
            (probe!(u64::MAX), format!("{}", u64::MAX)),
            (probe!(i128::MIN), format!("{}", i128::MIN)),
            (probe!(42usize), format!("{}", 42usize)),
            (probe!(true), format!("{}", true)),
            (probe!(0.1f64), format!("{}", 0.1f64)),
            (probe!(1e300f64), format!("{}", 1e300f64)),
            (probe!(f64::NAN), format!("{}", f64::NAN)),
            (probe!(-0.0f64), format!("{}", -0.0f64)),
            (probe!(0.1f32), format!("{}", 0.1f32)),
            (probe!(3.14159f32), format!("{}", 3.14159f32)),
            (probe!('é'), format!("{}", 'é')),
            (probe!("str"), format!("{}", "str")),
            (probe!(owned), format!("{owned}")),
            (probe!(&&owned), format!("{owned}")),
            (probe!(long), format!("{long}")),
            (probe!(Cow::Borrowed("cow")), "cow".to_owned()),
            (probe!(Arc::<str>::from("arc")), "arc".to_owned()),
            (probe!(Str::from_static("static")), "static".to_owned()),
            (probe!(Value::from(vec![1i64, 2])), "[1,2]".to_owned()),
            (
                probe!(Ipv4Addr::LOCALHOST),
                format!("{}", Ipv4Addr::LOCALHOST),
            ),
            (probe!(std::num::NonZeroU8::MIN), "1".to_owned()),
        ];
        for (value, expected) in cases {
            assert_eq!(value.to_string(), expected, "{value:?}");
        }
    }

    #[test]
    #[allow(clippy::needless_borrow)] // the borrows are the probe
    fn numbers_stay_numbers_where_they_print_the_same() {
        assert_eq!(probe!(7u32), Value::I64(7));
        assert_eq!(probe!(i64::MIN), Value::I64(i64::MIN));
        assert_eq!(probe!(u64::MAX), Value::from(u64::MAX.to_string()));
        assert_eq!(probe!(2.5f64), Value::F64(2.5));
        assert_eq!(probe!(false), Value::Bool(false));
        assert!(matches!(probe!(2.5f32), Value::String(_)));
        // Integer and float literals settle on their default types.
        assert_eq!(probe!(5), Value::I64(5));
        assert_eq!(probe!(0.5), Value::F64(0.5));
    }

    #[test]
    #[allow(clippy::needless_borrow)] // the borrows are the probe
    fn short_strings_are_kept_inline() {
        let short = "x".repeat(Str::INLINE_LEN);
        let Value::String(s) = probe!(short) else {
            panic!("not a string");
        };
        assert!(s.as_inline().is_some());
        let id = std::hint::black_box(7);
        let Value::String(s) = format_text(format_args!("book-{id}")) else {
            panic!("not a string");
        };
        assert_eq!(s, "book-7");
        assert!(s.as_inline().is_some());
        let long = format_str(format_args!("{}", "y".repeat(300)));
        assert_eq!(long.as_str(), "y".repeat(300));
        assert!(format_str(format_args!("static")).as_static().is_some());
    }

    #[test]
    fn every_level_is_compiled_in_without_level_features() {
        for level in Level::ALL {
            let expected = cfg!(feature = "enable") && STATIC_MAX_LEVEL.allows(level);
            assert_eq!(static_enabled(level), expected, "{level}");
        }
        let any_level_feature = cfg!(any(
            feature = "max_level_off",
            feature = "max_level_error",
            feature = "max_level_warn",
            feature = "max_level_info",
            feature = "max_level_debug",
            feature = "max_level_trace",
            feature = "release_max_level_off",
            feature = "release_max_level_error",
            feature = "release_max_level_warn",
            feature = "release_max_level_info",
            feature = "release_max_level_debug",
            feature = "release_max_level_trace",
        ));
        if !any_level_feature {
            assert_eq!(STATIC_MAX_LEVEL, LevelFilter::Trace);
        }
    }
}
