//! Runtime support for the code `#[trace]` generates. Not a public API: nothing here
//! is covered by semver, and only `telem-macros` should name it.
//!
//! The macro crate only parses and emits; everything that runs is here:
//!
//! - [`Site`]: one `static` per instrumented fn, holding its tracer and span name. The
//!   name is a `&'static str` (the one given, or `Type::method` worked out once from
//!   [`std::any::type_name`] on the first call), so starting a span never allocates.
//! - [`Site::start`] / [`Site::start_detached`] and [`instrument`] / [`run_in`]: the span
//!   of a sync fn (a guard), of an async fn (a span its body's future runs in), and of
//!   a fn returning `impl Future`.
//! - The option probe ([`kind`], `OptionKind`/`OptionRefKind`/`ValueKind`): autoref
//!   specialization that records an `Option<T>` or `&Option<T>` field only when it is
//!   `Some` (as its `T`), any other value always.
//! - The kind probes ([`kind`], `TypedKind`/`DisplayKind`/`DebugKind`): autoref
//!   specialization that records a value typed when it is a number, bool or string, with
//!   `Display` otherwise, and with `Debug` as the last resort.
//! - The error probes (`ErrorKind`/`DerefErrorKind`/`DisplayErrKind`/`DebugErrKind`):
//!   what `err` does with `Err(e)`: an `exception` event and an error status, for any
//!   `E` that is an `Error`, derefs to one (`anyhow::Error`, `Box<dyn Error>`), or is
//!   only `Display`/`Debug` (`String`).
//! - [`logs`]: what the log macros (`info!`, ...) expand to: their call sites,
//!   [`logs::static_enabled`] (the levels compiled in) and the probe of message
//!   arguments (`log_values.rs`), which keeps a value that prints exactly as `format!`
//!   would, so the drain writes the message.

mod callsite;
mod errors;
mod futures;
mod log_values;
mod values;

pub use callsite::*;
pub use errors::*;

/// The log macros' runtime: call sites, the levels compiled in, and the value probes of
/// their fields and message arguments.
pub mod logs {
    pub use super::log_values::*;
    pub use super::values::{kind, DebugKind, DisplayKind, TypedKind};
    pub use crate::logs::site::{Message, Site};
    pub use crate::{Level, Str, Value};
}

/// What the metric macros (`counter!`, `histogram!`, ...) expand to.
pub mod metrics {
    pub use crate::metrics::callsite::{
        describe, label_value, lookup, Callsite, FamilySite, Handle,
    };
}
pub use futures::*;
pub use values::*;

#[cfg(test)]
mod tests {
    use super::callsite::qualified_name;
    use super::values::STACK_BUFFER;
    use super::*;
    use crate::Value;
    use std::borrow::Cow;
    use std::fmt;

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
    #[allow(clippy::needless_borrow)] // the borrows are the probe
    fn options_are_present_only_when_some_and_other_values_always() {
        let some: Option<u32> = Some(3);
        assert_eq!((&&kind(&some)).telemetry_option().present(&some), Some(&3));
        let none: Option<&str> = None;
        assert_eq!((&&kind(&none)).telemetry_option().present(&none), None);
        let borrowed = &some;
        assert_eq!(
            (&&kind(&borrowed)).telemetry_option().present(&borrowed),
            Some(&3)
        );
        let plain = 5u8;
        assert_eq!(
            (&&kind(&plain)).telemetry_option().present(&plain),
            Some(&5)
        );
        let text: &str = "unsized inside";
        assert_eq!(
            (&&kind(text)).telemetry_option().present(text),
            Some("unsized inside")
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
