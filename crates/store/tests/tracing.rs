//! Every store operation is a `store.<op>` span carrying its backend, so one request can be
//! followed from the CLI through the API server into the store.

use std::io::Write;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use capstan_store::{EmbeddedOptions, EmbeddedStore, Store};
use tracing_subscriber::fmt::format::FmtSpan;

/// Collects everything the fmt subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn operations_are_spans_named_by_op_with_the_backend() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path(), EmbeddedOptions::default()).expect("open");
    let rev = store.create("/registry/pods/ns/traced", Bytes::from_static(b"x")).await.expect("create");
    store.get("/registry/pods/ns/traced").await.expect("get");
    store.update("/registry/pods/ns/traced", Bytes::from_static(b"y"), rev).await.expect("update");

    let text = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    for op in ["store.create", "store.get", "store.update"] {
        let line = text.lines().find(|l| l.contains(op)).unwrap_or_else(|| panic!("no {op} span in:\n{text}"));
        assert!(line.contains("backend=\"embedded\""), "{line}");
        assert!(line.contains("key=/registry/pods/ns/traced"), "{line}");
    }
}
