//! Container output: from the task's FIFOs into a log file, and from the log file
//! to ContainerLogs.
//!
//! containerd's runc shim copies a task's stdout and stderr into FIFOs the client
//! names; the shim reads them and appends each line to the container's log file in
//! the CRI format (`<RFC 3339 time> <stream> <F|P> <text>`, P for a partial line),
//! which keeps the two streams apart and every line stamped. One copier task per
//! container does this; it ends when the task's output closes (it exited). runc's
//! shim keeps a FIFO open for reading itself, so output a restarting shim misses
//! waits in the FIFO until [`ContainerdRuntime::adopt`] re-attaches a copier.
//!
//! ContainerLogs reads the file: the backlog (after `since_time`, the last
//! `tail_lines`), then, when following, new lines as the copier writes them, ending
//! once the copier is done.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use capstan_proto::runtime::v1::{ContainerLogsRequest, ContainerState, LogChunk};
use capstan_shim_common::LogStream;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::stream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::sync::{mpsc, watch};

use crate::lookup::{label, LOG_FILE};
use crate::{error, ContainerdError, ContainerdRuntime};

/// How often a follower without a copier to wait on looks for new output.
const POLL: Duration = Duration::from_millis(200);

/// The live copiers by container ID: each publishes whether it is done.
#[derive(Default)]
pub struct Copiers {
    live: Mutex<HashMap<String, watch::Receiver<bool>>>,
}

impl Copiers {
    fn get(&self, id: &str) -> Option<watch::Receiver<bool>> {
        self.live.lock().ok()?.get(id).cloned()
    }

    fn insert(&self, id: &str, done: watch::Receiver<bool>) {
        if let Ok(mut live) = self.live.lock() {
            live.insert(id.to_string(), done);
        }
    }

    fn remove(&self, id: &str) {
        if let Ok(mut live) = self.live.lock() {
            live.remove(id);
        }
    }

    pub(crate) fn is_live(&self, id: &str) -> bool {
        self.get(id).is_some_and(|done| !*done.borrow())
    }
}

/// A new FIFO at `path` (an old one is replaced).
pub fn make_fifo(path: &Path) -> Result<(), ContainerdError> {
    if path.exists() {
        std::fs::remove_file(path).map_err(error::io("removing the old FIFO", path))?;
    }
    rustix::fs::mkfifoat(rustix::fs::CWD, path, rustix::fs::Mode::from_raw_mode(0o600))
        .map_err(|e| error::io("creating the FIFO", path)(e.into()))
}

/// Opens the FIFO at `path` for reading without waiting for a writer.
pub fn open_fifo(path: &Path) -> Result<pipe::Receiver, ContainerdError> {
    pipe::OpenOptions::new().open_receiver(path).map_err(error::io("opening the FIFO", path))
}

/// One line of a CRI log file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub timestamp: i64,
    pub stream: String,
    /// The text, with its newline unless the line was partial.
    pub data: Vec<u8>,
}

/// Formats one line (`data` without its newline) as a CRI log record.
pub fn format_record(at: DateTime<Utc>, stream: &str, data: &[u8], partial: bool) -> Vec<u8> {
    let mut line =
        format!("{} {stream} {} ", at.to_rfc3339_opts(SecondsFormat::Nanos, true), if partial { "P" } else { "F" })
            .into_bytes();
    line.extend_from_slice(data);
    line.push(b'\n');
    line
}

/// Parses one record (a line of the file, without its newline).
pub fn parse_record(line: &[u8]) -> Option<Record> {
    let mut parts = line.splitn(4, |b| *b == b' ');
    let time = std::str::from_utf8(parts.next()?).ok()?;
    let stream = std::str::from_utf8(parts.next()?).ok()?.to_string();
    let tag = parts.next()?;
    let mut data = parts.next().unwrap_or_default().to_vec();
    let timestamp = DateTime::parse_from_rfc3339(time).ok()?.timestamp_nanos_opt()?;
    if tag != b"P" {
        data.push(b'\n');
    }
    Some(Record { timestamp, stream, data })
}

/// The complete records in `bytes`, and how many bytes they took (a trailing
/// half-written line is left for later).
pub fn parse_records(bytes: &[u8]) -> (Vec<Record>, usize) {
    let Some(end) = bytes.iter().rposition(|b| *b == b'\n') else { return (Vec::new(), 0) };
    let records = bytes[..end].split(|b| *b == b'\n').filter_map(parse_record).collect();
    (records, end + 1)
}

/// The backlog a request asks for: after `since_time`, then the last `tail_lines`
/// (negative: all).
pub fn select(records: Vec<Record>, since_time: i64, tail_lines: i64) -> Vec<Record> {
    let recent: Vec<Record> = records.into_iter().filter(|r| since_time <= 0 || r.timestamp >= since_time).collect();
    let skip = usize::try_from(tail_lines).map_or(0, |tail| recent.len().saturating_sub(tail));
    recent.into_iter().skip(skip).collect()
}

fn chunk(record: Record) -> Result<LogChunk, tonic::Status> {
    Ok(LogChunk { stream: record.stream, data: record.data, timestamp: record.timestamp })
}

impl ContainerdRuntime {
    /// Starts copying the task's FIFOs into `log_file` (appending).
    pub(crate) fn start_copier(&self, id: &str, stdout: pipe::Receiver, stderr: pipe::Receiver, log_file: PathBuf) {
        let (done, watcher) = watch::channel(false);
        self.inner.copiers.insert(id, watcher);
        let (lines, mut incoming) = mpsc::channel::<Vec<u8>>(256);
        for (name, pipe) in [("stdout", stdout), ("stderr", stderr)] {
            tokio::spawn(read_lines(name, pipe, lines.clone()));
        }
        drop(lines);
        let id = id.to_string();
        let copiers = Arc::clone(&self.inner);
        tokio::spawn(async move {
            let file = async {
                if let Some(dir) = log_file.parent() {
                    tokio::fs::create_dir_all(dir).await?;
                }
                tokio::fs::OpenOptions::new().create(true).append(true).open(&log_file).await
            };
            let mut file = match file.await {
                Ok(file) => Some(file),
                Err(error) => {
                    tracing::warn!(container = %id, path = %log_file.display(), %error, "opening the log file");
                    None
                }
            };
            while let Some(line) = incoming.recv().await {
                if let Some(out) = file.as_mut() {
                    if let Err(error) = out.write_all(&line).await {
                        tracing::warn!(container = %id, %error, "writing the log file");
                        file = None;
                    }
                }
                done.send_modify(|_| {});
            }
            let _ = done.send(true);
            copiers.copiers.remove(&id);
        });
    }

    pub(crate) async fn logs(&self, request: ContainerLogsRequest) -> Result<LogStream, ContainerdError> {
        let record = self.container(&request.container_id).await?;
        let path = PathBuf::from(label(&record, LOG_FILE));
        let bytes = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(error::io("reading the log", &path)(error)),
        };
        let (records, offset) = parse_records(&bytes);
        let backlog = select(records, request.since_time, request.tail_lines).into_iter().map(chunk);
        let backlog = stream::iter(backlog.collect::<Vec<_>>());
        if !request.follow {
            return Ok(Box::pin(backlog));
        }
        let follow = Follow {
            runtime: self.clone(),
            id: request.container_id,
            path,
            offset: offset as u64,
            copier: self.inner.copiers.get(&record.id),
        };
        let new_records = stream::unfold(follow, |mut f| async move {
            f.next_batch().await.map(|batch| (stream::iter(batch.into_iter().map(chunk)), f))
        });
        Ok(Box::pin(futures::StreamExt::chain(backlog, futures::StreamExt::flatten(new_records))))
    }
}

struct Follow {
    runtime: ContainerdRuntime,
    id: String,
    path: PathBuf,
    offset: u64,
    copier: Option<watch::Receiver<bool>>,
}

impl Follow {
    /// The records written since the last batch; `None` once the output is complete.
    async fn next_batch(&mut self) -> Option<Vec<Record>> {
        loop {
            let finished = match &self.copier {
                Some(copier) => *copier.borrow(),
                None => !self.running().await,
            };
            let records = self.read_new().await;
            if !records.is_empty() {
                return Some(records);
            }
            if finished {
                return None;
            }
            match self.copier.as_mut() {
                Some(copier) => {
                    if tokio::time::timeout(POLL * 5, copier.changed()).await.is_ok_and(|r| r.is_err()) {
                        self.copier = None;
                    }
                }
                None => tokio::time::sleep(POLL).await,
            }
        }
    }

    async fn running(&self) -> bool {
        match self.runtime.container_status(&self.id).await {
            Ok(status) => status.state == ContainerState::ContainerRunning as i32,
            Err(_) => false,
        }
    }

    async fn read_new(&mut self) -> Vec<Record> {
        let Ok(mut file) = tokio::fs::File::open(&self.path).await else { return Vec::new() };
        let mut bytes = Vec::new();
        let seeked = tokio::io::AsyncSeekExt::seek(&mut file, std::io::SeekFrom::Start(self.offset)).await;
        if seeked.is_err() || file.read_to_end(&mut bytes).await.is_err() {
            return Vec::new();
        }
        let (records, used) = parse_records(&bytes);
        self.offset += used as u64;
        records
    }
}

/// Reads one FIFO to its end, sending each line as a record; a last line without
/// a newline goes as a partial one.
async fn read_lines(stream: &'static str, mut pipe: pipe::Receiver, lines: mpsc::Sender<Vec<u8>>) {
    let mut pending: Vec<u8> = Vec::new();
    let mut buffer = vec![0u8; 32 * 1024];
    loop {
        let read = match pipe.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        pending.extend_from_slice(&buffer[..read]);
        while let Some(newline) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=newline).collect();
            let record = format_record(Utc::now(), stream, &line[..line.len() - 1], false);
            if lines.send(record).await.is_err() {
                return;
            }
        }
    }
    if !pending.is_empty() {
        let _ = lines.send(format_record(Utc::now(), stream, &pending, true)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_the_cri_format() {
        let at = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.000000006Z").map(|t| t.with_timezone(&Utc));
        let at = at.expect("a time");
        let line = format_record(at, "stderr", b"oops", false);
        assert_eq!(line, b"2026-01-02T03:04:05.000000006Z stderr F oops\n");
        let partial = format_record(at, "stdout", b"no newline", true);
        let mut both = line.clone();
        both.extend(partial);
        both.extend(b"2026-01-02T03:04:05Z stdout F half-wri");
        let (records, used) = parse_records(&both);
        assert_eq!(used, both.len() - "2026-01-02T03:04:05Z stdout F half-wri".len(), "the half line waits");
        assert_eq!(
            records[0],
            Record {
                timestamp: at.timestamp_nanos_opt().unwrap_or_default(),
                stream: "stderr".into(),
                data: b"oops\n".to_vec()
            }
        );
        assert_eq!(records[1].data, b"no newline");
    }

    #[test]
    fn tail_and_since_select_the_backlog() {
        let records: Vec<Record> =
            (1..=4).map(|i| Record { timestamp: i, stream: "stdout".into(), data: vec![b'0' + i as u8] }).collect();
        let stamps = |r: Vec<Record>| r.into_iter().map(|r| r.timestamp).collect::<Vec<_>>();
        assert_eq!(stamps(select(records.clone(), 0, -1)), [1, 2, 3, 4]);
        assert_eq!(stamps(select(records.clone(), 0, 1)), [4]);
        assert!(select(records.clone(), 0, 0).is_empty(), "tail 0 is no lines");
        assert_eq!(stamps(select(records, 3, -1)), [3, 4]);
    }
}
