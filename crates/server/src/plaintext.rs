//! A plaintext client on a TLS port gets an answer it can show its user,
//! not a broken pipe.
//!
//! A client configured with `http://` where the server serves TLS sends the
//! HTTP/2 connection preface (gRPC) or an HTTP/1 request line (a scrape,
//! curl) where a TLS ClientHello belongs. rustls can only fail the handshake
//! and close the socket, which the client reports as "broken pipe" or
//! "connection reset". So before the handshake the first bytes are peeked:
//! - the HTTP/2 preface: every gRPC call on the connection is answered with
//!   a trailers-only response, status UNAVAILABLE and [`PLAINTEXT_ON_TLS`]
//!   (the few HTTP/2 frames this takes are written by hand; HPACK literals
//!   need no table), then GOAWAY;
//! - an HTTP/1 request: `400 Bad Request` with Go's words for it (what
//!   kube-apiserver answers), then close;
//! - anything else goes to the TLS handshake, which refuses garbage.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What a plaintext gRPC client is told.
pub const PLAINTEXT_ON_TLS: &str =
    "this port serves TLS, but the client spoke plaintext HTTP/2: use an https:// server URL with the cluster's CA";

/// Go's answer (and so Kubernetes') to an HTTP/1 request on a TLS port.
const HTTP1_ANSWER: &[u8] =
    b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const HTTP1_METHODS: [&[u8]; 7] = [b"GET ", b"POST ", b"PUT ", b"HEAD ", b"DELETE ", b"PATCH ", b"OPTIONS "];
/// How long a plaintext HTTP/2 connection is served its refusals.
const PLAINTEXT_LINGER: Duration = Duration::from_secs(5);
/// The largest frame read from a plaintext client (HTTP/2's default maximum).
const MAX_FRAME: usize = 16_384;

const FRAME_HEADERS: u8 = 0x1;
const FRAME_SETTINGS: u8 = 0x4;
const FRAME_GOAWAY: u8 = 0x7;
const FLAG_ACK: u8 = 0x1;
const FLAG_END_STREAM: u8 = 0x1;
const FLAG_END_HEADERS: u8 = 0x4;

/// What the first bytes of a connection are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opening {
    /// a ClientHello, garbage, or too few bytes to tell: the handshake decides
    Tls,
    Http2,
    Http1,
}

/// Classifies a connection's first bytes (as many as have arrived).
pub(crate) fn classify(first: &[u8]) -> Opening {
    let seen = first.len().min(PREFACE.len());
    if seen >= 4 && PREFACE.starts_with(&first[..seen]) {
        Opening::Http2
    } else if HTTP1_METHODS.iter().any(|method| first.starts_with(method)) {
        Opening::Http1
    } else {
        Opening::Tls
    }
}

/// Peeks at `stream`'s first bytes: `true` when it spoke plaintext HTTP and
/// has been answered (the socket is then done), `false` when the TLS
/// handshake should go ahead.
pub(crate) async fn answer_plaintext(stream: &mut TcpStream) -> bool {
    let mut first = [0u8; 8];
    let Ok(read) = stream.peek(&mut first).await else { return false };
    match classify(&first[..read]) {
        Opening::Tls => false,
        Opening::Http1 => {
            let _ = stream.write_all(HTTP1_ANSWER).await;
            let _ = stream.shutdown().await;
            true
        }
        Opening::Http2 => {
            let _ = tokio::time::timeout(PLAINTEXT_LINGER, refuse_http2(stream)).await;
            true
        }
    }
}

/// Reads the preface, then answers each request's HEADERS frame with a
/// trailers-only UNAVAILABLE until the client goes away, then GOAWAY.
async fn refuse_http2(stream: &mut TcpStream) -> std::io::Result<()> {
    let mut preface = [0u8; PREFACE.len()];
    stream.read_exact(&mut preface).await?;
    stream.write_all(&frame(FRAME_SETTINGS, 0, 0, &[])).await?;
    let mut last_stream = 0;
    let mut payload = vec![0u8; MAX_FRAME];
    loop {
        let mut header = [0u8; 9];
        if stream.read_exact(&mut header).await.is_err() {
            break;
        }
        let length = usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
        let (kind, flags) = (header[3], header[4]);
        let stream_id = u32::from_be_bytes([header[5], header[6], header[7], header[8]]) & 0x7fff_ffff;
        if length > MAX_FRAME {
            break;
        }
        stream.read_exact(&mut payload[..length]).await?;
        match kind {
            FRAME_SETTINGS if flags & FLAG_ACK == 0 => {
                stream.write_all(&frame(FRAME_SETTINGS, FLAG_ACK, 0, &[])).await?
            }
            FRAME_HEADERS if stream_id > last_stream => {
                last_stream = stream_id;
                let block = refusal_headers(PLAINTEXT_ON_TLS);
                stream.write_all(&frame(FRAME_HEADERS, FLAG_END_STREAM | FLAG_END_HEADERS, stream_id, &block)).await?;
            }
            _ => {}
        }
    }
    let mut goaway = last_stream.to_be_bytes().to_vec();
    goaway.extend_from_slice(&0u32.to_be_bytes());
    stream.write_all(&frame(FRAME_GOAWAY, 0, 0, &goaway)).await?;
    stream.shutdown().await
}

/// One HTTP/2 frame.
fn frame(kind: u8, flags: u8, stream_id: u32, payload: &[u8]) -> Vec<u8> {
    let length = payload.len() as u32;
    let mut out = Vec::with_capacity(9 + payload.len());
    out.extend_from_slice(&length.to_be_bytes()[1..]);
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&(stream_id & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The HPACK block of a trailers-only gRPC response: `:status 200`,
/// `content-type application/grpc`, `grpc-status 14` (UNAVAILABLE) and
/// `grpc-message`, all as literals that touch no dynamic table.
fn refusal_headers(message: &str) -> Vec<u8> {
    let mut block = vec![0x88]; // indexed: static entry 8, ":status: 200"
                                // literal without indexing, name from static entry 31 (content-type)
    hpack_integer(&mut block, 0x00, 4, 31);
    hpack_string(&mut block, "application/grpc");
    for (name, value) in [("grpc-status", "14".to_string()), ("grpc-message", percent_encode(message))] {
        block.push(0x00); // literal without indexing, new name
        hpack_string(&mut block, name);
        hpack_string(&mut block, &value);
    }
    block
}

/// HPACK's prefixed integer (RFC 7541 §5.1) after the `pattern` bits.
fn hpack_integer(out: &mut Vec<u8>, pattern: u8, prefix_bits: u32, value: usize) {
    let max = (1usize << prefix_bits) - 1;
    if value < max {
        out.push(pattern | value as u8);
        return;
    }
    out.push(pattern | max as u8);
    let mut rest = value - max;
    while rest >= 128 {
        out.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.push(rest as u8);
}

/// An HPACK string literal, not Huffman-coded (RFC 7541 §5.2).
fn hpack_string(out: &mut Vec<u8>, text: &str) {
    hpack_integer(out, 0x00, 7, text.len());
    out.extend_from_slice(text.as_bytes());
}

/// gRPC's percent-encoding of `grpc-message`: printable ASCII but `%` as is.
fn percent_encode(message: &str) -> String {
    message
        .bytes()
        .map(|b| match b {
            b' '..=b'~' if b != b'%' => char::from(b).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_are_told_apart() {
        let cases: [(&[u8], Opening); 7] = [
            (b"PRI * HT", Opening::Http2),
            (b"PRI ", Opening::Http2),
            (b"GET /met", Opening::Http1),
            (b"POST /ca", Opening::Http1),
            (&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01], Opening::Tls),
            (b"PR", Opening::Tls),
            (b"\x00\xffgarbag", Opening::Tls),
        ];
        for (bytes, expected) in cases {
            assert_eq!(classify(bytes), expected, "{bytes:?}");
        }
    }

    #[test]
    fn hpack_integers_follow_rfc_7541() {
        // RFC 7541 C.1.1 and C.1.2: 10 and 1337 with a 5-bit prefix
        let mut out = Vec::new();
        hpack_integer(&mut out, 0, 5, 10);
        assert_eq!(out, [10]);
        out.clear();
        hpack_integer(&mut out, 0, 5, 1337);
        assert_eq!(out, [31, 154, 10]);
    }

    #[test]
    fn the_refusal_is_a_trailers_only_unavailable() {
        let block = refusal_headers("100% plain");
        assert_eq!(block[0], 0x88);
        let text = String::from_utf8_lossy(&block);
        assert!(text.contains("application/grpc"));
        assert!(text.contains("grpc-status") && text.contains("14"));
        assert!(text.contains("100%25 plain"), "{text}");
    }
}
