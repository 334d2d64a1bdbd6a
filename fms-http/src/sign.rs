//! Standard Webhooks `v1` signatures: base64 HMAC-SHA256 over `{id}.{timestamp}.{body}`, one
//! per secret of a space-separated rotation list.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix Standard Webhooks secrets carry; it is stripped before base64-decoding.
pub const SECRET_PREFIX: &str = "whsec_";

/// A signing secret that cannot be used. The secret itself is never echoed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The secret list is empty or blank.
    #[error("no signing secret given")]
    NoSecret,
    /// A secret is not base64 after its `whsec_` prefix.
    #[error("signing secret #{index} is not base64 after the whsec_ prefix")]
    NotBase64 {
        /// 1-based position in the space-separated list.
        index: usize,
    },
    /// A secret decodes to zero bytes.
    #[error("signing secret #{index} is empty")]
    EmptyKey {
        /// 1-based position in the space-separated list.
        index: usize,
    },
}

/// The `webhook-signature` header value for `body`: `v1,<base64 HMAC-SHA256>` for each secret
/// in `secrets` (space-separated, `whsec_` prefix optional), joined by spaces.
///
/// ```
/// // The Standard Webhooks specification's published test vector.
/// let signature = fms_http::sign(
///     "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
///     "msg_p5jXN8AQM9LWM0D4loKWxJek",
///     1614265330,
///     br#"{"test": 2432232314}"#,
/// )?;
/// assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
/// # Ok::<(), fms_http::SignError>(())
/// ```
pub fn sign(
    secrets: &str,
    webhook_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SignError> {
    let mut signatures = Vec::new();
    for (i, secret) in secrets.split_ascii_whitespace().enumerate() {
        let index = i + 1;
        let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| SignError::NotBase64 { index })?;
        if key.is_empty() {
            return Err(SignError::EmptyKey { index });
        }
        // HMAC takes keys of any length; the error arm is unreachable in practice.
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&key).map_err(|_| SignError::EmptyKey { index })?;
        mac.update(webhook_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        let digest = mac.finalize().into_bytes();
        signatures.push(format!("v1,{}", STANDARD.encode(digest)));
    }
    if signatures.is_empty() {
        return Err(SignError::NoSecret);
    }
    Ok(signatures.join(" "))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const EXPECTED: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn published_test_vector() {
        assert_eq!(sign(SECRET, ID, TS, BODY).unwrap(), EXPECTED);
        // The prefix is optional; surrounding whitespace is ignored.
        assert_eq!(
            sign("  MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ", ID, TS, BODY).unwrap(),
            EXPECTED
        );
    }

    #[test]
    fn rotation_signs_with_every_secret() {
        let other = "whsec_c2VjcmV0LWtleS1udW1iZXItdHdv";
        let both = sign(&format!("{SECRET} {other}"), ID, TS, BODY).unwrap();
        let second = sign(other, ID, TS, BODY).unwrap();
        assert_eq!(both, format!("{EXPECTED} {second}"));
    }

    #[test]
    fn any_change_changes_the_signature() {
        assert_ne!(sign(SECRET, "msg_other", TS, BODY).unwrap(), EXPECTED);
        assert_ne!(sign(SECRET, ID, TS + 1, BODY).unwrap(), EXPECTED);
        assert_ne!(sign(SECRET, ID, TS, b"{}").unwrap(), EXPECTED);
    }

    #[test]
    fn bad_secrets_are_clear_errors() {
        assert_eq!(sign("", ID, TS, BODY), Err(SignError::NoSecret));
        assert_eq!(sign("   ", ID, TS, BODY), Err(SignError::NoSecret));
        assert_eq!(
            sign("whsec_not*base64", ID, TS, BODY),
            Err(SignError::NotBase64 { index: 1 })
        );
        assert_eq!(
            sign(&format!("{SECRET} whsec_"), ID, TS, BODY),
            Err(SignError::EmptyKey { index: 2 })
        );
        let message = sign("whsec_hunter2!", ID, TS, BODY)
            .unwrap_err()
            .to_string();
        assert!(!message.contains("hunter2"), "{message}");
    }
}
