//! Small helpers shared by the cases: awaiting watch items with a generous bound (never a
//! timing assertion — the bound only turns a hang into a readable failure).

use std::time::Duration;

use bytes::Bytes;
use capstan_store::{StoreError, WatchEvent, WatchStream};
use futures::StreamExt;

/// Upper bound on any single wait; far above anything a healthy run needs.
pub const WAIT: Duration = Duration::from_secs(30);

pub fn val(text: &str) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}

/// The next item of a watch, whatever it is.
pub async fn next_item(stream: &mut WatchStream) -> Result<WatchEvent, StoreError> {
    tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("no watch item within the wait bound")
        .expect("the watch stream ended")
}

/// The next Put or Delete, skipping progress notifications.
pub async fn next_change(stream: &mut WatchStream) -> WatchEvent {
    loop {
        match next_item(stream).await.expect("watch failed") {
            WatchEvent::Progress { .. } => continue,
            change => return change,
        }
    }
}

/// The key and revision of a change, for compact assertions on sequences.
pub fn key_rev(event: &WatchEvent) -> (String, i64) {
    (event.key().unwrap_or("<progress>").to_owned(), event.revision())
}
