//! Runtime of the metric macros (doc-hidden): call-site caches against the global
//! registry. Registration errors never panic: the call site gets a no-op handle and
//! the error is counted in the global registry's [`RegistryStats`](super::RegistryStats).
//!
//! Inside a test scope (`telem::testing`) the macros record into the scope's own
//! registry instead: one thread-local read tells, and only scoped calls pay a lookup.

use super::{global, Family, Instrument, Registry};
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

/// What a metric macro returns: the call site's cached handle, or in a test scope the
/// scope's own. Derefs to the handle.
#[derive(Debug)]
pub enum Handle<'a, M> {
    /// The global registry's handle, cached at the call site.
    Cached(&'a M),
    /// A test scope's handle.
    Scoped(M),
}

impl<M> Deref for Handle<'_, M> {
    type Target = M;

    #[inline(always)]
    fn deref(&self) -> &M {
        match self {
            Handle::Cached(m) => m,
            Handle::Scoped(m) => m,
        }
    }
}

/// The registry of the current test scope, if the caller is in one.
#[inline(always)]
fn scoped_registry() -> Option<Arc<crate::isolation::Scope>> {
    match crate::record::context::current_scope() {
        0 => None,
        id => scope_of(id),
    }
}

#[cold]
#[inline(never)]
fn scope_of(id: u32) -> Option<Arc<crate::isolation::Scope>> {
    crate::isolation::get(id)
}

fn lookup_in<M: Instrument>(
    registry: &Registry,
    name: &str,
    label_names: &[&str],
    values: &[&str],
) -> M {
    registry
        .family::<M>(name, label_names)
        .and_then(|f| f.get(values))
        .unwrap_or_else(|e| {
            registry.count_error(&e);
            M::noop_handle()
        })
}

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

    /// The cached handle (registering it the first time), or in a test scope the
    /// scope's.
    #[inline]
    pub fn get(&self) -> Handle<'_, M> {
        if let Some(scope) = scoped_registry() {
            return Handle::Scoped(self.scoped(&scope.registry));
        }
        Handle::Cached(match self.handle.get() {
            Some(handle) => handle,
            None => self.register(),
        })
    }

    #[cold]
    #[inline(never)]
    fn scoped(&self, registry: &Registry) -> M {
        let names: Vec<&str> = self.labels.iter().map(|(k, _)| *k).collect();
        let values: Vec<&str> = self.labels.iter().map(|(_, v)| *v).collect();
        lookup_in(registry, self.name, &names, &values)
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
        if let Some(scope) = scoped_registry() {
            return lookup_in(&scope.registry, self.name, self.label_names, values);
        }
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
    match scoped_registry() {
        Some(scope) => lookup_in(&scope.registry, name, label_names, values),
        None => lookup_in(global(), name, label_names, values),
    }
}

/// A label value from anything string-like.
#[inline]
pub fn label_value<T: AsRef<str> + ?Sized>(value: &T) -> &str {
    value.as_ref()
}

/// Describes `name` in the global registry; an invalid name is counted.
pub fn describe(name: &str, unit: &str, help: &str) {
    let scope = scoped_registry();
    let registry = scope.as_ref().map_or(global(), |s| &s.registry);
    if let Err(e) = registry.describe_with_unit(name, unit, help) {
        registry.count_error(&e);
    }
}
