//! Docker's RFC 3339 timestamps as the runtime interface's nanoseconds since the
//! epoch.
//!
//! Docker writes "never" as the zero time (`0001-01-01T00:00:00Z`); the interface
//! writes it as 0, as it does for anything unparseable.

use chrono::DateTime;

/// Nanoseconds since the epoch of an RFC 3339 time, or 0 for none, the zero time
/// or garbage.
pub fn epoch_nanos(text: &str) -> i64 {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .filter(|ns| *ns > 0)
        .unwrap_or_default()
}

/// Splits a log line that Docker prefixed with its timestamp (`timestamps=true`)
/// into (nanoseconds, the rest).
pub fn split_timestamp(line: &[u8]) -> (i64, &[u8]) {
    let Some(space) = line.iter().position(|b| *b == b' ') else { return (0, line) };
    match std::str::from_utf8(&line[..space]).map(epoch_nanos) {
        Ok(ns) if ns > 0 => (ns, &line[space + 1..]),
        _ => (0, line),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_times() {
        assert_eq!(epoch_nanos("1970-01-01T00:00:01.5Z"), 1_500_000_000);
        assert_eq!(epoch_nanos("2024-05-01T12:00:00.123456789+02:00"), 1_714_557_600_123_456_789);
        assert_eq!(epoch_nanos("0001-01-01T00:00:00Z"), 0, "Docker's zero time is never");
        assert_eq!(epoch_nanos(""), 0);
        assert_eq!(epoch_nanos("yesterday"), 0);
    }

    #[test]
    fn splits_log_timestamps() {
        assert_eq!(split_timestamp(b"1970-01-01T00:00:02Z hello world\n"), (2_000_000_000, &b"hello world\n"[..]));
        assert_eq!(split_timestamp(b"no timestamp here\n"), (0, &b"no timestamp here\n"[..]));
        assert_eq!(split_timestamp(b""), (0, &b""[..]));
    }
}
