//! How the receiver answers one request.

use std::time::Duration;

/// One scripted answer: status, extra headers, body bytes, and an optional pause before it is
/// sent; or no answer at all ([`Reply::hang`]).
///
/// ```
/// use std::time::Duration;
/// use fms_test_receiver::Reply;
///
/// let throttled = Reply::status(429).with_header("Retry-After", "120");
/// let binary = Reply::status(500).with_body(b"\0not text\xff".to_vec());
/// let slow = Reply::status(200).with_delay(Duration::from_millis(300));
/// let silent = Reply::hang();
/// # let _ = (throttled, binary, slow, silent);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) delay: Duration,
    pub(crate) hang: bool,
}

impl Reply {
    /// `status` with the body `ok` and no extra headers. A code outside `100..=999` is sent
    /// as 500.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: b"ok".to_vec(),
            delay: Duration::ZERO,
            hang: false,
        }
    }

    /// Never answers: the request is recorded, then the connection stays silent until the
    /// client gives up or the receiver shuts down.
    pub fn hang() -> Self {
        Self {
            hang: true,
            ..Self::status(200)
        }
    }

    /// With one more header (`Retry-After`, `Location`, ...). A name or value that is not
    /// valid HTTP is left out.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// With these exact body bytes (any bytes: NUL, invalid UTF-8, empty, megabytes).
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Waits `delay` after the request arrived before answering.
    #[must_use]
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// The status code.
    pub fn code(&self) -> u16 {
        self.status
    }

    /// Whether this reply never answers.
    pub fn hangs(&self) -> bool {
        self.hang
    }
}

impl Default for Reply {
    /// `200 ok`.
    fn default() -> Self {
        Self::status(200)
    }
}
