//! Kubernetes' timestamps: `Time` prints whole seconds, `MicroTime`
//! microseconds, both in UTC with a `Z`, as Kubernetes does.

use crate::meta::v1::{MicroTime, Time};
use chrono::{DateTime, SecondsFormat, Utc};

/// A timestamp that is not RFC 3339.
#[derive(Debug, thiserror::Error)]
#[error("invalid time {text:?}: expected RFC 3339, e.g. \"2026-01-02T15:04:05Z\"")]
pub struct TimeError {
    pub text: String,
}

fn parse(text: &str) -> Result<(i64, i32), TimeError> {
    let parsed = DateTime::parse_from_rfc3339(text).map_err(|_| TimeError { text: text.to_string() })?;
    Ok((parsed.timestamp(), parsed.timestamp_subsec_nanos() as i32))
}

fn to_datetime(seconds: i64, nanos: i32) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, nanos.clamp(0, 999_999_999) as u32).unwrap_or_default()
}

impl Time {
    pub fn now() -> Self {
        Time { seconds: Utc::now().timestamp(), nanos: 0 }
    }
    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        Time { seconds: t.timestamp(), nanos: 0 }
    }
    pub fn to_datetime(&self) -> DateTime<Utc> {
        to_datetime(self.seconds, self.nanos)
    }
    pub fn to_rfc3339(&self) -> String {
        self.to_datetime().to_rfc3339_opts(SecondsFormat::Secs, true)
    }
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimeError> {
        let (seconds, _) = parse(text)?;
        Ok(Time { seconds, nanos: 0 })
    }
}

impl MicroTime {
    pub fn now() -> Self {
        Self::from_datetime(Utc::now())
    }
    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        let micros = t.timestamp_subsec_micros() as i32;
        MicroTime { seconds: t.timestamp(), nanos: micros * 1000 }
    }
    pub fn to_datetime(&self) -> DateTime<Utc> {
        to_datetime(self.seconds, self.nanos)
    }
    pub fn to_rfc3339(&self) -> String {
        self.to_datetime().to_rfc3339_opts(SecondsFormat::Micros, true)
    }
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimeError> {
        let (seconds, nanos) = parse(text)?;
        Ok(MicroTime { seconds, nanos: nanos / 1000 * 1000 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micro_time_keeps_microseconds() {
        let t = MicroTime::parse_rfc3339("2026-11-25T02:27:54.123456789Z").expect("parses");
        assert_eq!(t.to_rfc3339(), "2026-11-25T02:27:54.123456Z");
    }

    #[test]
    fn bad_time_names_the_text() {
        let err = Time::parse_rfc3339("yesterday").expect_err("refused");
        assert!(err.to_string().contains("\"yesterday\""));
    }
}
