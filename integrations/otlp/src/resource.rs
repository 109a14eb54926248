//! The resource every batch carries: what the service is and where it runs.

use std::sync::OnceLock;
use telem::{KeyValue, SpanId, Value};

/// `telemetry.sdk.name`.
pub const SDK_NAME: &str = "telem";
/// `telemetry.sdk.version`: this crate's version.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The attributes this process gets when nothing says otherwise: `service.name`
/// (`unknown_service:<executable>`, as OpenTelemetry specifies), `service.instance.id`
/// (a random UUID, the same for every exporter of the process), `host.name`,
/// `process.pid` and `telemetry.sdk.*`.
pub(crate) fn defaults() -> Vec<KeyValue> {
    let mut attributes = vec![
        KeyValue::new("service.name", default_service_name()),
        KeyValue::new("service.instance.id", instance_id().to_owned()),
    ];
    if let Some(host) = host_name() {
        attributes.push(KeyValue::new("host.name", host));
    }
    attributes.extend([
        KeyValue::new("process.pid", i64::from(std::process::id())),
        KeyValue::new("telemetry.sdk.name", SDK_NAME),
        KeyValue::new("telemetry.sdk.language", "rust"),
        KeyValue::new("telemetry.sdk.version", SDK_VERSION),
    ]);
    attributes
}

/// Sets `attribute` in `attributes`: replaces the value of an attribute with the same
/// key (keeping its place) or appends it.
pub(crate) fn merge(attributes: &mut Vec<KeyValue>, attribute: KeyValue) {
    match attributes.iter_mut().find(|kv| kv.key == attribute.key) {
        Some(existing) => existing.value = attribute.value,
        None => attributes.push(attribute),
    }
}

/// The value of `key` as text, if set.
pub(crate) fn get(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| match &kv.value {
            Value::String(s) => s.as_str().to_owned(),
            other => other.to_string(),
        })
}

fn default_service_name() -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    format!("unknown_service:{exe}")
}

/// A random (version 4) UUID, drawn once per process.
fn instance_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let hi = SpanId::random().to_u64();
        let lo = SpanId::random().to_u64();
        let hi = (hi & !0xf000) | 0x4000; // version 4
        let lo = (lo & !(0b11 << 62)) | (0b10 << 62); // RFC 4122 variant
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xffff,
            hi & 0xffff,
            lo >> 48,
            lo & 0xffff_ffff_ffff
        )
    })
}

fn host_name() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .chain(std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .find(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_id_is_a_version_4_uuid_stable_for_the_process() {
        let id = instance_id();
        assert_eq!(id.len(), 36);
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert_eq!(instance_id(), id);
    }

    #[test]
    fn defaults_name_the_process_and_the_sdk() {
        let d = defaults();
        assert!(get(&d, "service.name")
            .unwrap()
            .starts_with("unknown_service:"));
        assert_eq!(
            get(&d, "process.pid").unwrap(),
            std::process::id().to_string()
        );
        assert_eq!(get(&d, "telemetry.sdk.language").unwrap(), "rust");
        assert_eq!(get(&d, "telemetry.sdk.name").unwrap(), "telem");
    }

    #[test]
    fn merge_replaces_in_place() {
        let mut a = vec![KeyValue::new("a", 1i64), KeyValue::new("b", 2i64)];
        merge(&mut a, KeyValue::new("a", 3i64));
        merge(&mut a, KeyValue::new("c", 4i64));
        assert_eq!(
            a,
            [
                KeyValue::new("a", 3i64),
                KeyValue::new("b", 2i64),
                KeyValue::new("c", 4i64)
            ]
        );
    }
}
