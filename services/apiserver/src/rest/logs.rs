//! `GET …/pods/{name}/log`: a container's log as kube-apiserver serves it to
//! `kubectl logs`, plain text streamed as the kubelet reads it (with
//! `follow`, a line reaches kubectl as soon as the container writes it).
//!
//! The query becomes the gRPC face's `LogsRequest` and goes to
//! [`PodApi`]'s `Logs`, so the hook (get `pods/log`), the container's choice
//! and every refusal are the gRPC face's. What the kubelet's request does not
//! carry is done here: `sinceTime` becomes the seconds since then,
//! `timestamps` puts each chunk's time (the runtime's, carried beside the
//! data) before its lines as the kubelet writes it, and `limitBytes` cuts the
//! stream.

use super::objects::request;
use super::status;
use super::Caller;
use crate::pods::PodApi;
use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::Response;
use capstan_proto::api::v1::pod_service_server::PodService;
use capstan_proto::kubelet::v1::LogsRequest;
use capstan_proto::meta::v1::Status;
use chrono::{DateTime, Utc};
use futures::StreamExt;

/// `PodLogOptions` from the query string.
#[derive(Debug, Default, PartialEq)]
pub struct LogQuery {
    pub logs: LogsRequest,
    pub limit_bytes: Option<i64>,
}

/// The query as kubectl sends it, checked as kube-apiserver checks
/// `PodLogOptions`; `now` turns `sinceTime` into seconds.
pub fn query(query: Option<&str>, now: DateTime<Utc>) -> Result<LogQuery, Box<Status>> {
    let mut asked = LogQuery::default();
    let mut since_time = None;
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let logs = &mut asked.logs;
        match key.as_ref() {
            "container" => logs.container = value.into_owned(),
            "follow" => logs.follow = flag(&key, &value)?,
            "previous" => logs.previous = flag(&key, &value)?,
            "timestamps" => logs.timestamps = flag(&key, &value)?,
            "tailLines" => logs.tail_lines = Some(number(&key, &value)?),
            "sinceSeconds" => logs.since_seconds = Some(number(&key, &value)?),
            "limitBytes" => asked.limit_bytes = Some(number(&key, &value)?),
            "sinceTime" => {
                let time = DateTime::parse_from_rfc3339(&value).map_err(|e| {
                    bad_request(format!("sinceTime: {value:?} is not an RFC 3339 time (2006-01-02T15:04:05Z): {e}"))
                })?;
                since_time = Some(time.with_timezone(&Utc));
            }
            // insecureSkipTLSVerifyBackend, stream: the kubelet is always verified, both streams are one log
            _ => {}
        }
    }
    let invalid = |field: &str, value: i64, why: &str| {
        let message = format!("PodLogOptions is invalid: {field}: Invalid value: {value}: {why}");
        Err(Box::new(status::failure(422, "Invalid", message)))
    };
    match (asked.logs.tail_lines, asked.limit_bytes, asked.logs.since_seconds) {
        (Some(lines), _, _) if lines < 0 => return invalid("tailLines", lines, "must be greater than or equal to 0"),
        (_, Some(bytes), _) if bytes < 1 => return invalid("limitBytes", bytes, "must be greater than 0"),
        (_, _, Some(seconds)) if seconds < 1 => return invalid("sinceSeconds", seconds, "must be greater than 0"),
        _ => {}
    }
    if let Some(time) = since_time {
        if asked.logs.since_seconds.is_some() {
            let message =
                "PodLogOptions is invalid: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified";
            return Err(Box::new(status::failure(422, "Invalid", message)));
        }
        // whole seconds, rounded up so the line written at sinceTime is in
        let millis = (now - time).num_milliseconds().max(0);
        asked.logs.since_seconds = Some((millis + 999) / 1000);
    }
    Ok(asked)
}

/// A boolean query parameter, as Go's `strconv.ParseBool` reads it.
pub(super) fn flag(key: &str, value: &str) -> Result<bool, Box<Status>> {
    match value {
        "" | "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(bad_request(format!("{key}: {value:?} is not a boolean (true or false)"))),
    }
}

fn number(key: &str, value: &str) -> Result<i64, Box<Status>> {
    value.parse().map_err(|_| bad_request(format!("{key}: {value:?} is not a whole number")))
}

fn bad_request(message: String) -> Box<Status> {
    Box::new(status::failure(400, "BadRequest", message))
}

/// `GET /api/v1/namespaces/{namespace}/pods/{name}/log`.
pub async fn serve(pods: &PodApi, user: Caller, namespace: &str, name: &str, query: Option<&str>) -> Response {
    let asked = match self::query(query, Utc::now()) {
        Ok(asked) => asked,
        Err(refused) => return status::respond(&refused),
    };
    let logs = LogsRequest { namespace: namespace.into(), pod: name.into(), ..asked.logs };
    let chunks = match pods.logs(request(user, logs)).await {
        Ok(chunks) => chunks.into_inner(),
        Err(refused) => return status::respond(&status::from_grpc(&refused)),
    };
    let limit = asked.limit_bytes.and_then(|l| usize::try_from(l).ok()).unwrap_or(usize::MAX);
    let timestamps = asked.logs.timestamps;
    // the kubelet failing mid-stream breaks the response, so kubectl sees an error, not a short log
    let bytes = chunks
        .scan(limit, move |left, chunk| {
            let piece = match chunk {
                Ok(_) if *left == 0 => None,
                Ok(mut chunk) => {
                    if timestamps {
                        chunk.data = stamped(&chunk.data, chunk.timestamp);
                    }
                    chunk.data.truncate(*left);
                    *left -= chunk.data.len();
                    Some(Ok(Bytes::from(chunk.data)))
                }
                Err(status) => Some(Err(std::io::Error::other(status.message().to_string()))),
            };
            std::future::ready(piece)
        })
        .boxed();
    let mut response = Response::new(Body::from_stream(bytes));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain"));
    response
}

/// `data`'s lines, each behind its time as the kubelet writes it
/// (`2006-01-02T15:04:05.000000000Z `). A runtime sends a chunk per line
/// (Docker's frames, CRI log lines), so a chunk starts a line.
pub fn stamped(data: &[u8], timestamp: i64) -> Vec<u8> {
    let time = DateTime::from_timestamp_nanos(timestamp).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let mut out = Vec::with_capacity(data.len() + time.len() + 1);
    for line in data.split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(time.as_bytes());
        out.push(b' ');
        out.extend_from_slice(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(time: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(time).map(|t| t.with_timezone(&Utc)).expect("a time")
    }

    #[test]
    fn kubectls_log_queries_parse() {
        let now = at("2026-01-01T00:01:00Z");
        let logs = |f: fn(&mut LogsRequest)| {
            let mut logs = LogsRequest::default();
            f(&mut logs);
            LogQuery { logs, limit_bytes: None }
        };
        let cases = [
            ("", logs(|_| {})),
            ("container=web&follow=true", logs(|l| (l.container, l.follow) = ("web".into(), true))),
            ("tailLines=2&previous=true", logs(|l| (l.tail_lines, l.previous) = (Some(2), true))),
            ("sinceSeconds=10&timestamps=1", logs(|l| (l.since_seconds, l.timestamps) = (Some(10), true))),
            ("sinceTime=2026-01-01T00:00:00Z", logs(|l| l.since_seconds = Some(60))),
            ("sinceTime=2026-01-01T00:00:59.5Z", logs(|l| l.since_seconds = Some(1))),
            ("limitBytes=5", LogQuery { limit_bytes: Some(5), ..logs(|_| {}) }),
            ("insecureSkipTLSVerifyBackend=true", logs(|_| {})),
        ];
        for (query, want) in cases {
            assert_eq!(self::query(Some(query), now), Ok(want), "{query}");
        }
    }

    #[test]
    fn timestamps_go_before_each_line() {
        let at = 1_767_225_600_123_456_789; // 2026-01-01T00:00:00.123456789Z
        let cases: [(&[u8], &str); 3] = [
            (b"one\n", "2026-01-01T00:00:00.123456789Z one\n"),
            (b"one\ntwo\n", "2026-01-01T00:00:00.123456789Z one\n2026-01-01T00:00:00.123456789Z two\n"),
            (b"no newline", "2026-01-01T00:00:00.123456789Z no newline"),
        ];
        for (data, want) in cases {
            assert_eq!(String::from_utf8_lossy(&stamped(data, at)), want);
        }
        assert_eq!(stamped(b"", at), b"");
    }

    #[test]
    fn bad_log_queries_say_what_is_wrong() {
        let cases = [
            ("follow=yes", 400, "follow: \"yes\" is not a boolean (true or false)"),
            ("tailLines=two", 400, "tailLines: \"two\" is not a whole number"),
            (
                "tailLines=-1",
                422,
                "PodLogOptions is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0",
            ),
            ("limitBytes=0", 422, "PodLogOptions is invalid: limitBytes: Invalid value: 0: must be greater than 0"),
            ("sinceSeconds=0", 422, "PodLogOptions is invalid: sinceSeconds: Invalid value: 0: must be greater than 0"),
            (
                "sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z",
                422,
                "PodLogOptions is invalid: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified",
            ),
        ];
        for (query, code, message) in cases {
            let refused = self::query(Some(query), Utc::now()).expect_err(query);
            assert_eq!((refused.code, refused.message.as_str()), (code, message), "{query}");
        }
        let refused = self::query(Some("sinceTime=yesterday"), Utc::now()).expect_err("not a time");
        assert!(refused.message.starts_with("sinceTime: \"yesterday\" is not an RFC 3339 time"), "{}", refused.message);
    }
}
