//! `orb-mock healthcheck`: asks a running orb-mock's health route and reports by exit code.
//! Docker images of orb-mock carry no curl or wget, so the binary checks itself. It speaks just
//! enough HTTP/1.1 over a plain TCP socket for that one request.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Whether `url` (`http://host:port/path`) answers 200 within `timeout`; the error says why not.
pub async fn check(url: &str, timeout: Duration) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url:?}: only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let address = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let exchange = async {
        let mut stream = TcpStream::connect(&address)
            .await
            .map_err(|err| format!("cannot connect to {address}: {err}"))?;
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|err| format!("cannot send the request: {err}"))?;
        let mut head = [0u8; 64];
        let mut read = 0;
        while read < 12 {
            let n = stream
                .read(&mut head[read..])
                .await
                .map_err(|err| format!("cannot read the answer: {err}"))?;
            if n == 0 {
                break;
            }
            read += n;
        }
        let status_line = String::from_utf8_lossy(&head[..read]).into_owned();
        match status_line.split_whitespace().nth(1) {
            Some("200") => Ok(()),
            Some(code) => Err(format!("{url} answered {code}")),
            None => Err(format!("{url} gave no HTTP answer")),
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("{url} did not answer within {timeout:?}"))?
}
