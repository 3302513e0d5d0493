//! Hostile input over a real socket against the binary: oversized headers, a 10 MB chunked
//! body, a client trickling its headers, and ids that are huge, carry NUL bytes or climb with
//! `../`. Each gets its documented Orb error or a closed connection, and the server never
//! panics and keeps serving.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{Client, Persistent, Server, HANG_GUARD};
use crate::on_both_persistent_stores;

/// What came back on a raw connection: the status (when a response head arrived), the head and
/// the body bytes read (a `Content-Length` body only; enough for error bodies).
#[derive(Debug)]
struct Raw {
    status: Option<u16>,
    head: String,
    body: Vec<u8>,
}

impl Raw {
    fn closed_without_answer(&self) -> bool {
        self.status.is_none()
    }
}

/// Reads one response (or the connection closing) from `stream`, within the hang-guard.
async fn read_response(stream: &mut tokio::net::tcp::OwnedReadHalf) -> Raw {
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(HANG_GUARD, async {
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(end) = find(&buffer, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
                let length = head
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if buffer.len() >= end + 4 + length {
                    return;
                }
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer and no close within {HANG_GUARD:?}");
    let Some(end) = find(&buffer, b"\r\n\r\n") else {
        assert!(
            buffer.is_empty(),
            "a partial response head: {:?}",
            String::from_utf8_lossy(&buffer)
        );
        return Raw {
            status: None,
            head: String::new(),
            body: Vec::new(),
        };
    };
    let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok());
    Raw {
        status,
        head,
        body: buffer[end + 4..].to_vec(),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Sends `head` (and then `body`, from a task of its own, ignoring write errors: the server may
/// answer and close before reading it all) on a fresh connection and reads the answer.
async fn exchange(addr: SocketAddr, head: Vec<u8>, body: Option<Vec<Vec<u8>>>) -> Raw {
    let stream = TcpStream::connect(addr).await.expect("connects");
    let (mut reader, mut writer) = stream.into_split();
    let sending = tokio::spawn(async move {
        if writer.write_all(&head).await.is_err() {
            return;
        }
        for chunk in body.into_iter().flatten() {
            if writer.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = writer.flush().await;
        // Keep the write half open until the reader is done.
        tokio::time::sleep(HANG_GUARD).await;
    });
    let raw = read_response(&mut reader).await;
    sending.abort();
    raw
}

fn request_head(method: &str, path: &str, extra: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n\
         Authorization: Bearer drill-hostile\r\n{extra}\r\n"
    )
    .into_bytes()
}

/// Asserts an Orb error body of one of `statuses` on a raw answer.
fn assert_orb_error(raw: &Raw, statuses: &[u16]) {
    let status = raw.status.expect("a status");
    assert!(statuses.contains(&status), "status {status}: {}", raw.head);
    let body: serde_json::Value = serde_json::from_slice(&raw.body).unwrap_or_else(|err| {
        panic!(
            "an Orb error body ({err}): {}\n{:?}",
            raw.head,
            String::from_utf8_lossy(&raw.body)
        )
    });
    assert_eq!(body["status"], status, "{body}");
    assert!(body["type"]
        .as_str()
        .is_some_and(|t| t.starts_with("https://docs.withorb.com/reference/error-responses#")));
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
}

async fn oversized_headers(addr: SocketAddr) {
    let big = format!("X-Padding: {}\r\n", "a".repeat(100 * 1024));
    let raw = exchange(addr, request_head("GET", "/v1/customers", &big), None).await;
    assert!(
        raw.closed_without_answer() || raw.status == Some(431),
        "a 100 KB header gets 431 or a closed connection: {raw:?}"
    );
    let many: String = (0..500).map(|i| format!("X-Many-{i}: x\r\n")).collect();
    let raw = exchange(addr, request_head("GET", "/v1/customers", &many), None).await;
    assert!(
        raw.closed_without_answer() || raw.status == Some(431),
        "500 headers get 431 or a closed connection: {raw:?}"
    );
}

async fn ten_megabyte_chunked_body(addr: SocketAddr) {
    let head = request_head(
        "POST",
        "/v1/customers",
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
    );
    let chunk_size = 64 * 1024;
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut first = true;
    for _ in 0..(10 * 1024 * 1024 / chunk_size) {
        let mut data = format!("{chunk_size:x}\r\n").into_bytes();
        let fill = if first { b'[' } else { b' ' };
        first = false;
        data.extend(std::iter::repeat_n(fill, chunk_size));
        data.extend_from_slice(b"\r\n");
        chunks.push(data);
    }
    chunks.push(b"0\r\n\r\n".to_vec());
    let raw = exchange(addr, head, Some(chunks)).await;
    if !raw.closed_without_answer() {
        assert_orb_error(&raw, &[413]);
        let body: serde_json::Value = serde_json::from_slice(&raw.body).expect("JSON");
        assert_eq!(
            body["type"],
            "https://docs.withorb.com/reference/error-responses#413-request-too-large"
        );
    }
}

/// A client sending one header byte every 100 ms is cut off by the 1 s header-read timeout long
/// before it would have finished (about 30 s).
async fn trickled_headers_are_cut_off(addr: SocketAddr) {
    let stream = TcpStream::connect(addr).await.expect("connects");
    let (mut reader, mut writer) = stream.into_split();
    let mut head = request_head("GET", "/v1/customers", "");
    // Padding so that the whole head takes about 30 s at one byte per 100 ms.
    let padding = format!("X-Slow: {}\r\n", "s".repeat(300));
    head.splice(head.len() - 2..head.len() - 2, padding.into_bytes());
    let total = head.len();
    let trickle = tokio::spawn(async move {
        for (sent, byte) in head.into_iter().enumerate() {
            if writer.write_all(&[byte]).await.is_err() {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        total
    });
    let start = Instant::now();
    let raw = read_response(&mut reader).await;
    let elapsed = start.elapsed();
    trickle.abort();
    assert!(
        raw.closed_without_answer() || raw.status == Some(408),
        "the server closes (or answers 408), never serves a trickled request: {raw:?}"
    );
    // A hang-guard, not a timing assertion: the trickle alone would take ~30 s.
    assert!(
        elapsed < Duration::from_secs(total as u64 / 10 - 5),
        "cut off before the trickle finished ({elapsed:?})"
    );
}

/// Two requests on one connection: keep-alive still works with the header-read timeout.
async fn keep_alive_still_works(addr: SocketAddr) {
    let stream = TcpStream::connect(addr).await.expect("connects");
    let (mut reader, mut writer) = stream.into_split();
    for _ in 0..2 {
        writer
            .write_all(&request_head("GET", "/v1/customers?limit=1", ""))
            .await
            .expect("writes");
        let raw = read_response(&mut reader).await;
        assert_eq!(raw.status, Some(200), "{raw:?}");
    }
}

async fn hostile_ids(addr: SocketAddr) {
    let api = Client::socket(addr, "drill-hostile");
    let long = "a".repeat(10_000);
    let ids = [
        long.as_str(),
        "ab%00cd",
        "%00",
        "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "..%2F..%2Fcustomers",
        "%2E%2E",
    ];
    for id in ids {
        for (method, path) in [
            (Method::GET, format!("/v1/customers/{id}")),
            (Method::DELETE, format!("/v1/customers/{id}")),
            (
                Method::GET,
                format!("/v1/customers/external_customer_id/{id}"),
            ),
            (Method::GET, format!("/v1/invoices/{id}")),
            (Method::GET, format!("/v1/subscriptions/{id}")),
        ] {
            let reply = api.call(method.clone(), &path, None).await;
            assert!(
                matches!(reply.status.as_u16(), 400 | 404),
                "{method} {}: {} {}",
                &path[..path.len().min(80)],
                reply.status,
                reply.text()
            );
            reply.assert_orb_error(reply.status.as_u16());
        }
    }
    // Unencoded `../` reaches no route.
    let reply = api
        .call(Method::GET, "/v1/customers/../../etc/passwd", None)
        .await;
    reply.assert_orb_error(404);
    // A raw NUL byte in the request line is not HTTP: 400 or a closed connection.
    let raw = exchange(addr, request_head("GET", "/v1/customers/a\0b", ""), None).await;
    assert!(
        raw.closed_without_answer() || raw.status == Some(400),
        "{raw:?}"
    );
}

on_both_persistent_stores!(
    hostile_input_gets_an_orb_error_or_a_closed_connection_and_never_a_panic
);
/// Oversized headers, a 10 MB chunked body, trickled headers and hostile ids: each gets its
/// Orb error (or 431/408/400 from the HTTP layer, or a closed connection); orb-mock never
/// panics and still answers afterwards.
async fn hostile_input_gets_an_orb_error_or_a_closed_connection_and_never_a_panic(
    store: &Persistent,
) {
    let server = Server::start(&store.url, &["--header-read-timeout", "1s"], &[])
        .healthy()
        .await;
    oversized_headers(server.addr).await;
    ten_megabyte_chunked_body(server.addr).await;
    trickled_headers_are_cut_off(server.addr).await;
    keep_alive_still_works(server.addr).await;
    hostile_ids(server.addr).await;

    let api = Client::socket(server.addr, "drill-hostile");
    let reply = api.call(Method::GET, "/_mock/health", None).await;
    assert_eq!(reply.status, StatusCode::OK, "still serving");
    assert!(!api.customer().await.is_empty());
    server.assert_no_panic();
}
