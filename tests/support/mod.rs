//! A small HTTP/1.1 webhook receiver on 127.0.0.1 for the delivery tests and benchmarks: it
//! records every request (exact body bytes, headers, arrival time) and answers each with a
//! scripted reply. Connections are kept alive, as a real receiver's would be.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// One request as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request target.
    pub path: String,
    /// Header names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The exact body bytes.
    pub body: Vec<u8>,
    /// When the whole request had arrived.
    pub at: Instant,
}

impl Received {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A status with extra headers.
    Answer {
        /// Status code.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
    },
    /// Say nothing for a long time (the sender times out).
    Hang,
    /// Wait, then answer 200.
    Slow(Duration),
}

impl Reply {
    /// A status without extra headers.
    pub fn status(status: u16) -> Self {
        Self::Answer {
            status,
            headers: Vec::new(),
        }
    }

    /// A status with one extra header.
    pub fn with_header(status: u16, name: &str, value: &str) -> Self {
        Self::Answer {
            status,
            headers: vec![(name.to_owned(), value.to_owned())],
        }
    }
}

/// Decides the reply to a request; the second argument counts requests from 0.
pub type Script = Arc<dyn Fn(&Received, usize) -> Reply + Send + Sync>;

/// A running receiver.
#[derive(Clone)]
pub struct Receiver {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The port.
    pub port: u16,
    requests: Arc<Mutex<Vec<Received>>>,
    arrived: Arc<Notify>,
}

impl Receiver {
    /// Starts a receiver answering every request with `reply`.
    pub async fn start(reply: Reply) -> Self {
        Self::scripted(Arc::new(move |_, _| reply.clone())).await
    }

    /// Starts a receiver answering with `script`.
    pub async fn scripted(script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let arrived = Arc::new(Notify::new());
        let (log, notify) = (Arc::clone(&requests), Arc::clone(&arrived));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (log, notify, script) =
                    (Arc::clone(&log), Arc::clone(&notify), Arc::clone(&script));
                tokio::spawn(async move {
                    let _ = serve(stream, log, notify, script).await;
                });
            }
        });
        Self {
            base: format!("http://127.0.0.1:{port}"),
            port,
            requests,
            arrived,
        }
    }

    /// A URL on this receiver.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything received so far.
    pub fn requests(&self) -> Vec<Received> {
        self.requests.lock().unwrap().clone()
    }

    /// How many requests arrived so far.
    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// Waits until at least `n` requests arrived, or `limit` passed; returns the count.
    pub async fn wait_for(&self, n: usize, limit: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.arrived.notified();
            let count = self.count();
            if count >= n {
                return count;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.count();
            }
        }
    }
}

async fn serve(
    mut stream: TcpStream,
    log: Arc<Mutex<Vec<Received>>>,
    arrived: Arc<Notify>,
    script: Script,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let path = lines
            .next()
            .unwrap_or("")
            .split(' ')
            .nth(1)
            .unwrap_or("")
            .to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        buf.drain(..head_end + 4);
        while buf.len() < length {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body: Vec<u8> = buf.drain(..length).collect();
        let received = Received {
            path,
            headers,
            body,
            at: Instant::now(),
        };
        let index = {
            let mut log = log.lock().unwrap();
            log.push(received.clone());
            log.len() - 1
        };
        arrived.notify_waiters();
        let (status, extra) = match script(&received, index) {
            Reply::Hang => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                return Ok(());
            }
            Reply::Slow(pause) => {
                tokio::time::sleep(pause).await;
                (200, Vec::new())
            }
            Reply::Answer { status, headers } => (status, headers),
        };
        let mut out = format!("HTTP/1.1 {status} Scripted\r\nContent-Length: 2\r\n");
        for (n, v) in extra {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        out.push_str("\r\nok");
        stream.write_all(out.as_bytes()).await?;
    }
}
