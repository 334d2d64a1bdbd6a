//! A webhook receiver on loopback for fms's tests and benchmarks (dev-only, not published).
//!
//! [`Receiver`] is a real HTTP/1.1 server (hyper) on `127.0.0.1` and an ephemeral port. It
//! keeps connections alive, as a real receiver would (reqwest reuses them), records every
//! request ([`Received`]: method, target, headers, exact body bytes, arrival and answer
//! time) and answers each with a [`Reply`]:
//!
//! 1. the next reply of the script, while there is one ([`ReceiverBuilder::with_script`],
//!    [`Receiver::enqueue`]);
//! 2. else the responder's decision, if there is one ([`ReceiverBuilder::with_responder`]: a
//!    closure of the request, whose [`Received::index`] counts requests from 0);
//! 3. else the default reply ([`Receiver::start`], [`Receiver::set_default`]; `200 ok`
//!    unless set).
//!
//! A test waits for requests without polling ([`Receiver::wait_for`],
//! [`Receiver::wait_until`], [`Receiver::wait_answered`]), reads them
//! ([`Receiver::requests`], [`Receiver::take`], [`Receiver::answered`]) and checks their
//! JSON ([`Received::json`]) and Standard Webhooks signature
//! ([`Received::verify_signature`]). The server stops when the last clone of the receiver is
//! dropped, or at [`Receiver::shutdown`]; connections still open (a [`Reply::hang`] among
//! them) are closed then.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use fms_test_receiver::{Receiver, Reply};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The first request is throttled, every later one accepted.
//! let receiver = Receiver::builder()
//!     .with_script([Reply::status(429).with_header("Retry-After", "120")])
//!     .start()
//!     .await?;
//! let client = reqwest::Client::new();
//! for _ in 0..2 {
//!     client
//!         .post(receiver.url("/hook"))
//!         .header("webhook-id", "msg_1")
//!         .body(r#"{"sequence":1}"#)
//!         .send()
//!         .await?;
//! }
//! let got = receiver.wait_for(2, Duration::from_secs(5)).await;
//! assert_eq!(got.len(), 2);
//! assert_eq!((got[1].index, got[1].path.as_str()), (1, "/hook"));
//! assert_eq!(got[1].webhook_id(), "msg_1");
//! assert_eq!(got[1].json()?["sequence"], 1);
//! receiver.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod received;
mod reply;
mod server;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use received::Received;
pub use reply::Reply;

/// Decides the reply to one request.
pub type Responder = Arc<dyn Fn(&Received) -> Reply + Send + Sync>;

/// How a receiver starts: its default reply, script and responder.
#[derive(Clone, Default)]
pub struct ReceiverBuilder {
    default: Reply,
    script: VecDeque<Reply>,
    responder: Option<Responder>,
}

impl ReceiverBuilder {
    /// The reply when neither the script nor a responder decides (`200 ok` unless set).
    #[must_use]
    pub fn with_default(mut self, reply: Reply) -> Self {
        self.default = reply;
        self
    }

    /// Replies for the next requests, one each, in order; after them the responder or the
    /// default answers.
    #[must_use]
    pub fn with_script(mut self, replies: impl IntoIterator<Item = Reply>) -> Self {
        self.script.extend(replies);
        self
    }

    /// Decides every reply the script does not (instead of the default).
    #[must_use]
    pub fn with_responder(
        mut self,
        responder: impl Fn(&Received) -> Reply + Send + Sync + 'static,
    ) -> Self {
        self.responder = Some(Arc::new(responder));
        self
    }

    /// Binds `127.0.0.1:0` and starts serving.
    pub async fn start(self) -> std::io::Result<Receiver> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            log: Mutex::new(Log {
                requests: Vec::new(),
                answered: Vec::new(),
                taken: 0,
                default: self.default,
                script: self.script,
                responder: self.responder,
            }),
            changed: watch::Sender::new(0),
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(server::accept(listener, Arc::clone(&state), stopped));
        Ok(Receiver {
            addr,
            state,
            control: Arc::new(Control {
                stop,
                task: Mutex::new(Some(task)),
            }),
        })
    }
}

/// A running receiver. Clones share the server and its record; it stops when the last clone
/// is dropped.
#[derive(Clone)]
pub struct Receiver {
    addr: SocketAddr,
    state: Arc<State>,
    control: Arc<Control>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("addr", &self.addr)
            .field("requests", &self.count())
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// A receiver answering every request with `reply`.
    pub async fn start(reply: Reply) -> std::io::Result<Self> {
        Self::builder().with_default(reply).start().await
    }

    /// A builder, for a script or a responder.
    pub fn builder() -> ReceiverBuilder {
        ReceiverBuilder::default()
    }

    /// The address the server listens on (`127.0.0.1:<port>`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:<port>` followed by `path` (`/hook`, `/hook?token=abc`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Replaces the default reply, for the requests from now on.
    pub fn set_default(&self, reply: Reply) {
        self.state.log().default = reply;
    }

    /// Appends a reply to the script.
    pub fn enqueue(&self, reply: Reply) {
        self.state.log().script.push_back(reply);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Received> {
        self.state.log().requests.clone()
    }

    /// How many requests arrived so far.
    pub fn count(&self) -> usize {
        self.state.log().requests.len()
    }

    /// The requests that arrived since the last `take` (all of them the first time), in
    /// arrival order. [`Receiver::requests`] still lists them.
    pub fn take(&self) -> Vec<Received> {
        let mut log = self.state.log();
        let from = log.taken;
        log.taken = log.requests.len();
        log.requests[from..].to_vec()
    }

    /// The requests answered so far, in the order of their answers.
    pub fn answered(&self) -> Vec<Received> {
        let log = self.state.log();
        log.answered
            .iter()
            .map(|&i| log.requests[i].clone())
            .collect()
    }

    /// Runs `look` on the requests so far (arrival order) without copying them.
    pub fn inspect<T>(&self, look: impl FnOnce(&[Received]) -> T) -> T {
        look(&self.state.log().requests)
    }

    /// Waits until `done` holds for the requests so far (arrival order, answer times
    /// included), or `within` passed; returns whether it holds. Woken by every arrival and
    /// every answer, never polling.
    pub async fn wait_until(
        &self,
        within: Duration,
        mut done: impl FnMut(&[Received]) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        let mut changes = self.state.changed.subscribe();
        loop {
            if self.inspect(&mut done) {
                return true;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => return self.inspect(&mut done),
            }
        }
    }

    /// Waits until at least `n` requests arrived, or `within` passed; returns every request
    /// so far (fewer than `n` after a timeout: the caller asserts).
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        self.wait_until(within, |got| got.len() >= n).await;
        self.requests()
    }

    /// Waits until at least `n` requests were answered, or `within` passed; returns the
    /// answered requests in the order of their answers.
    pub async fn wait_answered(&self, n: usize, within: Duration) -> Vec<Received> {
        self.wait_until(within, |got| {
            got.iter().filter(|r| r.is_answered()).count() >= n
        })
        .await;
        self.answered()
    }

    /// Stops the server and waits until it stopped: the listener is closed and every open
    /// connection (a hanging one too) is dropped. The record stays readable on other clones.
    pub async fn shutdown(self) {
        self.control.stop.send_replace(true);
        let task = self
            .control
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

/// The record and the decision rules, shared by the server's connections and the handles.
struct State {
    log: Mutex<Log>,
    /// Bumped on every arrival and answer; waiters watch it.
    changed: watch::Sender<u64>,
}

struct Log {
    requests: Vec<Received>,
    /// Indexes into `requests`, in the order of the answers.
    answered: Vec<usize>,
    /// How many requests `take` handed out.
    taken: usize,
    default: Reply,
    script: VecDeque<Reply>,
    responder: Option<Responder>,
}

impl State {
    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a request that arrived and decides its reply.
    fn arrived(&self, mut request: Received) -> (usize, Reply) {
        // A reply, or the responder to ask (outside the lock: it may look at the receiver).
        let decision: Result<Reply, Responder> = {
            let mut log = self.log();
            request.index = log.requests.len();
            request.at = Instant::now();
            log.requests.push(request.clone());
            match (log.script.pop_front(), &log.responder) {
                (Some(reply), _) => Ok(reply),
                (None, Some(responder)) => Err(Arc::clone(responder)),
                (None, None) => Ok(log.default.clone()),
            }
        };
        self.changed.send_modify(|n| *n += 1);
        let reply = decision.unwrap_or_else(|responder| responder(&request));
        (request.index, reply)
    }

    /// Records that request `index` is being answered now.
    fn answering(&self, index: usize) {
        {
            let mut log = self.log();
            if let Some(request) = log.requests.get_mut(index) {
                request.answered_at = Some(Instant::now());
            }
            log.answered.push(index);
        }
        self.changed.send_modify(|n| *n += 1);
    }
}

/// Stops the server when the last handle goes.
struct Control {
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Control {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}
