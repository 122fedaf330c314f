//! Starting `lathe server` on a free port and talking HTTP to it with std only.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The binary under test.
pub(crate) fn lathe() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lathe"))
}

/// A running `lathe server`, killed on drop.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
}

impl Server {
    /// Starts a server on `backend` with artifacts under `artifacts`, waiting until it answers.
    pub(crate) fn start(backend: &str, artifacts: &Path) -> Server {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = lathe()
            .args(["server", "--backend-store-uri", backend, "--port", &port.to_string()])
            .arg("--artifacts-destination")
            .arg(artifacts)
            .env("LATHE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut server = Server { child, addr };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok((200, _)) = http(addr, "GET", "/health", "") {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("lathe server exited early: {status}");
            }
            assert!(Instant::now() < deadline, "lathe server did not answer /health within 60 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child process (`lathe serve`, `lathe server`) killed when dropped.
pub(crate) struct Killed(pub(crate) Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until `GET path` on `addr` answers 200; panics if `child` exits first or after 60 s.
pub(crate) fn wait_for(addr: SocketAddr, path: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !matches!(http(addr, "GET", path, ""), Ok((200, _))) {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("exited early: {status}");
        }
        assert!(Instant::now() < deadline, "{addr}{path} did not answer within 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One HTTP/1.1 request with `Connection: close`; returns status and body.
pub(crate) fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no HTTP status in {head:?}")))?;
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The Python with the stock mlflow client: `LATHE_TEST_PYTHON`, else the
/// venv `.ci/run` creates; `None` (and the test says it skips) when neither exists.
pub(crate) fn python() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("LATHE_TEST_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var("HOME").ok()?;
    let venv = PathBuf::from(home).join(".cache/lathe/venv/bin/python");
    venv.exists().then_some(venv)
}

/// `../shared` next to the clone, where the shared compat scripts live.
pub(crate) fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// A fresh PostgreSQL database for one test, dropped at the end; `None` without `LATHE_TEST_DATABASE_URL`.
pub(crate) struct PgDatabase {
    admin: String,
    name: String,
    pub(crate) url: String,
}

impl PgDatabase {
    pub(crate) fn create() -> Option<PgDatabase> {
        let admin = std::env::var("LATHE_TEST_DATABASE_URL").ok()?;
        let name = format!("lathe_e2e_{}", lathe_core::new_id());
        psql(&admin, &format!("CREATE DATABASE {name}"));
        let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(admin.clone());
        Some(PgDatabase { url: format!("{base}/{name}"), admin, name })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        psql(&self.admin, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

fn psql(url: &str, sql: &str) {
    let status = Command::new("psql").args([url, "-q", "-c", sql]).status().expect("psql runs");
    assert!(status.success(), "psql failed: {sql}");
}
