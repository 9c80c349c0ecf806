//! Events: LAST SEEN TYPE REASON OBJECT MESSAGE, the object written as
//! `pod/web-1`.

use super::age::age;
use capstan_proto::core::v1::Event;
use capstan_proto::meta::v1::Time;
use capstan_proto::Resource;
use chrono::{DateTime, Utc};

pub const HEADER: [&str; 5] = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"];

pub fn row(event: &Event, now: DateTime<Utc>) -> Vec<String> {
    let object = event.involved_object.clone().unwrap_or_default();
    vec![
        age(last_seen(event).as_ref(), now),
        event.r#type.clone(),
        event.reason.clone(),
        format!("{}/{}", object.kind.to_ascii_lowercase(), object.name),
        event.message.clone(),
    ]
}

/// When the event last happened: lastTimestamp, else eventTime, else
/// firstTimestamp, else when it was recorded.
pub fn last_seen(event: &Event) -> Option<Time> {
    event
        .last_timestamp
        .or_else(|| event.event_time.as_ref().map(|t| Time { seconds: t.seconds, nanos: 0 }))
        .or(event.first_timestamp)
        .or(event.meta().creation_timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::object::parse_manifests;

    #[test]
    fn rows_name_the_involved_object() {
        let obj = parse_manifests(
            "t",
            "apiVersion: v1\nkind: Event\nmetadata: {name: web-1.17a}\n\
             involvedObject: {kind: Pod, name: web-1}\nreason: Scheduled\ntype: Normal\n\
             message: Successfully assigned default/web-1 to n1\neventTime: \"2023-11-14T22:13:20.000000Z\"\n",
        )
        .expect("event")
        .remove(0);
        let e = Event::try_from_object(obj).expect("an event");
        let now = DateTime::from_timestamp(1_700_000_000 + 42, 0).expect("time");
        assert_eq!(
            row(&e, now),
            ["42s", "Normal", "Scheduled", "pod/web-1", "Successfully assigned default/web-1 to n1"]
        );
    }
}
