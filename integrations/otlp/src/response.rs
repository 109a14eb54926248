//! What a collector answers: `Export*ServiceResponse.partial_success` on success, a
//! `google.rpc.Status` on failure, in JSON or protobuf.

/// Items the collector refused in an otherwise successful export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PartialSuccess {
    pub(crate) rejected: u64,
    pub(crate) message: String,
}

/// Reads `partial_success` (`rejected_spans`, `rejected_log_records` or
/// `rejected_data_points`, and `error_message`) from a success body; `None` when there
/// is none or it is empty.
pub(crate) fn partial_success(body: &[u8], json: bool) -> Option<PartialSuccess> {
    let p = if json {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        let p = v.get("partialSuccess")?;
        let rejected = ["rejectedSpans", "rejectedLogRecords", "rejectedDataPoints"]
            .iter()
            .find_map(|k| p.get(*k))
            .and_then(|r| match r {
                serde_json::Value::String(s) => s.parse::<i64>().ok(),
                other => other.as_i64(),
            })
            .unwrap_or(0);
        let message = p
            .get("errorMessage")
            .and_then(|m| m.as_str())
            .unwrap_or_default()
            .to_owned();
        PartialSuccess {
            rejected: u64::try_from(rejected).unwrap_or(0),
            message,
        }
    } else {
        let inner = Fields::new(body).find_map(|(field, value)| match (field, value) {
            (1, Field::Bytes(b)) => Some(b),
            _ => None,
        })?;
        let mut p = PartialSuccess {
            rejected: 0,
            message: String::new(),
        };
        for (field, value) in Fields::new(inner) {
            match (field, value) {
                // int64: negative values are not a count.
                (1, Field::Varint(v)) => p.rejected = u64::try_from(v as i64).unwrap_or(0),
                (2, Field::Bytes(b)) => p.message = String::from_utf8_lossy(b).into_owned(),
                _ => {}
            }
        }
        p
    };
    (p.rejected > 0 || !p.message.is_empty()).then_some(p)
}

/// The message of a failure body: `google.rpc.Status.message`, or the body itself if
/// it is short text; at most 256 characters.
pub(crate) fn error_message(body: &[u8], json: bool) -> String {
    let message = if json {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("message")?.as_str().map(str::to_owned))
    } else {
        Fields::new(body).find_map(|(field, value)| match (field, value) {
            (2, Field::Bytes(b)) => std::str::from_utf8(b).ok().map(str::to_owned),
            _ => None,
        })
    };
    let text = message
        .or_else(|| std::str::from_utf8(body).ok().map(str::to_owned))
        .unwrap_or_default();
    text.chars().take(256).collect()
}

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

/// The top-level fields of a protobuf message; stops at the first malformed byte.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn new(body: &'a [u8]) -> Self {
        Self(body)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let (&b, rest) = self.0.split_first()?;
            self.0 = rest;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn skip(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = (u64, Field<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let key = self.varint()?;
        let field = match key & 7 {
            0 => Field::Varint(self.varint()?),
            1 => {
                self.skip(8)?;
                Field::Fixed
            }
            2 => {
                let len = usize::try_from(self.varint()?).ok()?;
                Field::Bytes(self.skip(len)?)
            }
            5 => {
                self.skip(4)?;
                Field::Fixed
            }
            _ => {
                self.0 = &[];
                return None;
            }
        };
        Some((key >> 3, field))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_success_from_json() {
        let body = br#"{"partialSuccess":{"rejectedSpans":"3","errorMessage":"too old"}}"#;
        assert_eq!(
            partial_success(body, true),
            Some(PartialSuccess {
                rejected: 3,
                message: "too old".into()
            })
        );
        let body = br#"{"partialSuccess":{"rejectedDataPoints":2}}"#;
        assert_eq!(partial_success(body, true).unwrap().rejected, 2);
        assert_eq!(partial_success(b"{}", true), None);
        assert_eq!(partial_success(br#"{"partialSuccess":{}}"#, true), None);
        assert_eq!(partial_success(b"not json", true), None);
    }

    #[test]
    fn partial_success_from_protobuf() {
        // partial_success (1) { rejected (1) = 5, error_message (2) = "no" }
        let body = [0x0a, 0x06, 0x08, 0x05, 0x12, 0x02, b'n', b'o'];
        assert_eq!(
            partial_success(&body, false),
            Some(PartialSuccess {
                rejected: 5,
                message: "no".into()
            })
        );
        assert_eq!(partial_success(&[], false), None);
        // Truncated or garbage bodies are not a partial success, and never panic.
        assert_eq!(partial_success(&[0x0a, 0x10, 0x08], false), None);
        assert_eq!(partial_success(&[0xff; 12], false), None);
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            error_message(br#"{"code":3,"message":"bad span"}"#, true),
            "bad span"
        );
        // google.rpc.Status { code (1) = 3, message (2) = "bad" }
        assert_eq!(
            error_message(&[0x08, 0x03, 0x12, 0x03, b'b', b'a', b'd'], false),
            "bad"
        );
        assert_eq!(error_message(b"plain text", true), "plain text");
        assert_eq!(
            error_message(&"x".repeat(1000).into_bytes(), true).len(),
            256
        );
    }
}
