//! Runtime of the metric macros (doc-hidden): call-site caches against the global
//! registry. Registration errors never panic: the call site gets a no-op handle and
//! the error is counted in the global registry's [`RegistryStats`](super::RegistryStats).

use super::{global, Family, Instrument};
use std::sync::OnceLock;

/// A call site with a literal name and literal labels: registered once, then the
/// cached handle.
#[derive(Debug)]
pub struct Callsite<M> {
    name: &'static str,
    labels: &'static [(&'static str, &'static str)],
    handle: OnceLock<M>,
}

impl<M: Instrument> Callsite<M> {
    /// A call site not yet registered.
    pub const fn new(name: &'static str, labels: &'static [(&'static str, &'static str)]) -> Self {
        Self {
            name,
            labels,
            handle: OnceLock::new(),
        }
    }

    /// The cached handle (registering it the first time).
    #[inline]
    pub fn get(&self) -> &M {
        match self.handle.get() {
            Some(handle) => handle,
            None => self.register(),
        }
    }

    #[cold]
    #[inline(never)]
    fn register(&self) -> &M {
        self.handle.get_or_init(|| {
            let names: Vec<&str> = self.labels.iter().map(|(k, _)| *k).collect();
            let values: Vec<&str> = self.labels.iter().map(|(_, v)| *v).collect();
            lookup::<M>(self.name, &names, &values)
        })
    }
}

/// A call site with a literal name and label keys but computed values: the family is
/// cached, the series looked up per call.
#[derive(Debug)]
pub struct FamilySite<M> {
    name: &'static str,
    label_names: &'static [&'static str],
    family: OnceLock<Option<Family<M>>>,
}

impl<M: Instrument> FamilySite<M> {
    /// A call site not yet registered.
    pub const fn new(name: &'static str, label_names: &'static [&'static str]) -> Self {
        Self {
            name,
            label_names,
            family: OnceLock::new(),
        }
    }

    /// The handle of the series with these values.
    #[inline]
    pub fn get(&self, values: &[&str]) -> M {
        let family = self.family.get_or_init(|| {
            global()
                .family::<M>(self.name, self.label_names)
                .map_err(|e| global().count_error(&e))
                .ok()
        });
        match family {
            Some(f) => f.with_labels(values),
            None => M::noop_handle(),
        }
    }
}

/// Registers or finds `name` with these labels in the global registry; a no-op
/// handle, counted, on error.
pub fn lookup<M: Instrument>(name: &str, label_names: &[&str], values: &[&str]) -> M {
    global()
        .family::<M>(name, label_names)
        .and_then(|f| f.get(values))
        .unwrap_or_else(|e| {
            global().count_error(&e);
            M::noop_handle()
        })
}

/// A label value from anything string-like.
#[inline]
pub fn label_value<T: AsRef<str> + ?Sized>(value: &T) -> &str {
    value.as_ref()
}

/// Describes `name` in the global registry; an invalid name is counted.
pub fn describe(name: &str, unit: &str, help: &str) {
    if let Err(e) = global().describe_with_unit(name, unit, help) {
        global().count_error(&e);
    }
}
