//! [`SenderConfig`]: how [`ReqwestSender`](crate::ReqwestSender) guards and reads.

/// Default [`SenderConfig::body_cap`]: 4 KiB of response body are read, the rest is dropped.
pub const DEFAULT_BODY_CAP: usize = 4 * 1024;

/// Options of [`ReqwestSender`](crate::ReqwestSender). `Default` is the secure production
/// setting.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SenderConfig {
    /// Allows `http://` URLs and every address, loopback and private ones included. For tests
    /// and local development only; default `false` (https only, SSRF guard on).
    pub allow_insecure: bool,
    /// At most this many bytes of a response body are read (default
    /// [`DEFAULT_BODY_CAP`]); reading stops there.
    pub body_cap: usize,
}

impl Default for SenderConfig {
    fn default() -> Self {
        Self {
            allow_insecure: false,
            body_cap: DEFAULT_BODY_CAP,
        }
    }
}

impl SenderConfig {
    /// Sets [`SenderConfig::allow_insecure`].
    pub fn with_allow_insecure(mut self, allow_insecure: bool) -> Self {
        self.allow_insecure = allow_insecure;
        self
    }

    /// Sets [`SenderConfig::body_cap`].
    pub fn with_body_cap(mut self, body_cap: usize) -> Self {
        self.body_cap = body_cap;
        self
    }
}
