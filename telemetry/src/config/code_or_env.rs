//! [`CodeOrEnv`]: how a setting made in code wins over the environment, whatever the
//! order of the calls.

/// One setting's value as made in code and as read from the environment: code wins over
/// the environment, which wins over the default (given when the value is read). Each
/// field of [`Config`](crate::Config) and of `telem_otlp::OtlpConfig` is one, so a
/// `with_*` call made before or after `with_env` keeps its value.
///
/// ```
/// use telem::CodeOrEnv;
/// let mut port = CodeOrEnv::new();
/// assert_eq!(port.get_or(3000), 3000, "neither: the default");
/// port.set_env(Some(8080));
/// assert_eq!(port.get_or(3000), 8080, "the environment");
/// port.set_code(9090);
/// port.set_env(Some(7070));
/// assert_eq!(port.get_or(3000), 9090, "code, even when the environment is read after it");
/// assert_eq!(port.env(), Some(&7070));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CodeOrEnv<T> {
    code: Option<T>,
    env: Option<T>,
}

impl<T> CodeOrEnv<T> {
    /// Neither set.
    pub const fn new() -> Self {
        Self {
            code: None,
            env: None,
        }
    }

    /// Sets the value made in code.
    pub fn set_code(&mut self, value: T) {
        self.code = Some(value);
    }

    /// Sets the value read from the environment, if the variable was set; `None` (an
    /// unset variable) keeps what an earlier reading found.
    pub fn set_env(&mut self, value: Option<T>) {
        if value.is_some() {
            self.env = value;
        }
    }

    /// The value made in code, if any.
    pub fn code(&self) -> Option<&T> {
        self.code.as_ref()
    }

    /// The value read from the environment, if any.
    pub fn env(&self) -> Option<&T> {
        self.env.as_ref()
    }

    /// The value made in code, created from `T::default()` if there is none yet: for
    /// settings that code adds to one by one (headers, resource attributes).
    pub fn code_mut(&mut self) -> &mut T
    where
        T: Default,
    {
        self.code.get_or_insert_with(T::default)
    }

    /// The value made in code, or else the one read from the environment.
    pub fn get(&self) -> Option<&T> {
        self.code.as_ref().or(self.env.as_ref())
    }

    /// The value made in code, or else the one read from the environment, or else `default`.
    pub fn get_or(&self, default: T) -> T
    where
        T: Clone,
    {
        self.get().cloned().unwrap_or(default)
    }
}

impl<T> Default for CodeOrEnv<T> {
    fn default() -> Self {
        Self::new()
    }
}
