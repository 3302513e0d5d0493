//! The real `orb-mock` binary as a child process (its stderr kept in a file, to look for
//! panics), and waiting for things that should happen soon without timing them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};

use super::client::{Client, Outcome};

/// How long a drill waits for something that should take well under a second (a hang-guard,
/// not a timing assertion).
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// A running `orb-mock` (killed when dropped).
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    stderr: PathBuf,
}

impl Server {
    /// Starts the debug binary on a free port against `database_url`, with extra flags and
    /// environment variables.
    pub fn start(database_url: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        Server::start_on(addr, database_url, args, env)
    }

    /// Like [`Server::start`], listening on `addr`.
    pub fn start_on(
        addr: SocketAddr,
        database_url: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let stderr = std::env::temp_dir().join(format!(
            "orb-mock-drill-{}.stderr",
            orb_mock::store::new_id()
        ));
        let file = std::fs::File::create(&stderr).expect("a stderr file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_orb-mock"));
        command
            .args(["--listen", &addr.to_string()])
            .args(args)
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", "orb_mock=info,tower_http=warn")
            .env_remove("ORB_MOCK_FAILPOINT")
            .stdout(Stdio::null())
            .stderr(Stdio::from(file));
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command.spawn().expect("the binary starts");
        Server {
            child,
            addr,
            stderr,
        }
    }

    /// Waits until `/_mock/health` answers 200; panics (with the server's stderr) if the
    /// process exits or the guard runs out first.
    pub async fn healthy(mut self) -> Server {
        let client = Client::socket(self.addr, "");
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!(
                    "orb-mock exited ({status}) before it was healthy:\n{}",
                    self.stderr()
                );
            }
            let health = client.send(Method::GET, "/_mock/health", None);
            if let Ok(Outcome::Answered(response)) =
                tokio::time::timeout(Duration::from_secs(5), health).await
            {
                if response.status == StatusCode::OK {
                    return self;
                }
            }
            assert!(
                start.elapsed() < HANG_GUARD,
                "orb-mock never became healthy:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server wrote on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Asserts that nothing panicked in the server.
    pub fn assert_no_panic(&self) {
        let stderr = self.stderr();
        assert!(!stderr.contains("panicked"), "orb-mock panicked:\n{stderr}");
    }

    /// Sends a signal (`-TERM`, `-KILL`, …) to the server.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} {}", self.pid());
    }

    /// Waits for the process to exit by itself and returns how it exited.
    pub async fn exited(&mut self, guard: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                start.elapsed() < guard,
                "orb-mock did not exit within {guard:?}:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.stderr);
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

/// Polls `until` every 50 ms until it holds or `limit` has passed; says whether it held (the
/// caller asserts).
pub async fn poll_until<F, Fut>(limit: Duration, mut until: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if until().await {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `until` every 50 ms until it holds; panics with `what` after `guard`.
pub async fn eventually<F, Fut>(guard: Duration, what: &str, until: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    assert!(
        poll_until(guard, until).await,
        "{what}: not within {guard:?}"
    );
}

/// How many seconds a long drill runs: `ORB_MOCK_DRILL_SECS`, else `default`.
pub fn drill_secs(default: u64) -> Duration {
    Duration::from_secs(
        std::env::var("ORB_MOCK_DRILL_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default),
    )
}
