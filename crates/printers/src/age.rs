//! Ages as kubectl prints them: coarse, short and stable (`5s`, `3m2s`,
//! `4h`, `2d`, `3y45d`), so columns stay narrow and readable.

use capstan_proto::meta::v1::Time;
use chrono::{DateTime, Utc};

/// The age of `time` at `now`; `<unknown>` without a time.
pub fn age(time: Option<&Time>, now: DateTime<Utc>) -> String {
    match time {
        Some(t) if t.seconds != 0 => human_duration(now.signed_duration_since(t.to_datetime()).num_seconds()),
        _ => "<unknown>".to_string(),
    }
}

/// kubectl's human-readable duration of `seconds`.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return with_rest(minutes, "m", seconds % 60, "s");
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return with_rest(hours, "h", minutes % 60, "m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return with_rest(days, "d", hours % 24, "h");
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return with_rest(years, "y", days % 365, "d");
    }
    format!("{years}y")
}

/// `3m2s`, or `3m` when the rest is zero.
fn with_rest(major: i64, major_unit: &str, minor: i64, minor_unit: &str) -> String {
    if minor == 0 {
        format!("{major}{major_unit}")
    } else {
        format!("{major}{major_unit}{minor}{minor_unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_match_kubectl() {
        let m = 60;
        let h = 60 * m;
        let d = 24 * h;
        let y = 365 * d;
        let cases = [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (5, "5s"),
            (119, "119s"),
            (2 * m, "2m"),
            (3 * m + 2, "3m2s"),
            (9 * m + 59, "9m59s"),
            (10 * m + 30, "10m"),
            (179 * m, "179m"),
            (3 * h, "3h"),
            (4 * h + 5 * m, "4h5m"),
            (8 * h + 30 * m, "8h"),
            (47 * h, "47h"),
            (2 * d, "2d"),
            (3 * d + 4 * h, "3d4h"),
            (8 * d + 5 * h, "8d"),
            (729 * d, "729d"),
            (2 * y, "2y"),
            (3 * y + 45 * d, "3y45d"),
            (9 * y + 3 * d, "9y"),
        ];
        for (seconds, want) in cases {
            assert_eq!(human_duration(seconds), want, "{seconds}s");
        }
    }

    #[test]
    fn age_needs_a_time() {
        let now = DateTime::from_timestamp(1_000_000, 0).expect("time");
        assert_eq!(age(Some(&Time { seconds: 1_000_000 - 75, nanos: 0 }), now), "75s");
        assert_eq!(age(None, now), "<unknown>");
    }
}
