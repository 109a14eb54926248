//! A variable that is not UTF-8 somewhere in the environment (a path in another
//! encoding, say) must not make reading the environment panic, as `std::env::vars`
//! would; one of ours that is not UTF-8 is refused like any other bad value.

#[cfg(unix)]
#[test]
fn a_variable_that_is_not_utf8_does_not_panic_and_ours_is_refused() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    // This test binary runs only this test, so changing its environment is safe.
    std::env::set_var("SOMEONE_ELSES_PATH", OsStr::from_bytes(b"/srv/\xff\xfe"));
    assert!(telem::Config::from_env().is_ok());
    assert!(telem::Exporters::from_env().is_ok());

    std::env::set_var("TELEMETRY_DRAIN_INTERVAL", OsStr::from_bytes(b"10\xff"));
    let error = telem::Config::from_env().unwrap_err();
    assert!(
        error.to_string().contains("TELEMETRY_DRAIN_INTERVAL"),
        "{error}"
    );
}
