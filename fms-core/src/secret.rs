//! Webhook signing secrets in the Standard Webhooks form: `whsec_` + base64 of 32 random bytes.

use uuid::Uuid;

/// A fresh `whsec_` secret with 32 random bytes (from the OS generator, through UUID v4).
pub fn generate_webhook_secret() -> String {
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(Uuid::new_v4().as_bytes());
    format!("whsec_{}", base64_standard(&bytes))
}

/// Checks the shape of a secret list: one or more space-separated `whsec_` + base64 values.
pub fn validate_secret_list(secrets: &str) -> Result<(), String> {
    let mut any = false;
    for s in secrets.split_ascii_whitespace() {
        any = true;
        let Some(body) = s.strip_prefix("whsec_") else {
            return Err("each secret must start with `whsec_`".into());
        };
        let ok = body.len() >= 16
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
        if !ok {
            return Err("each secret must be `whsec_` + at least 16 base64 characters".into());
        }
    }
    if any {
        Ok(())
    } else {
        Err("must not be blank".into())
    }
}

/// Standard base64 with padding (RFC 4648 section 4).
fn base64_standard(input: &[u8]) -> String {
    base64(
        input,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        true,
    )
}

/// URL-safe base64 without padding (RFC 4648 section 5).
pub(crate) fn base64_url(input: &[u8]) -> String {
    base64(
        input,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        false,
    )
}

fn base64(input: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(alphabet[((n >> (18 - 6 * i)) & 63) as usize]));
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_standard(input.as_bytes()), expected);
            assert_eq!(
                base64_url(input.as_bytes()),
                expected
                    .trim_end_matches('=')
                    .replace('+', "-")
                    .replace('/', "_")
            );
        }
        assert_eq!(base64_url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn generated_secrets_are_valid_and_distinct() {
        let (a, b) = (generate_webhook_secret(), generate_webhook_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), "whsec_".len() + 44);
        assert_eq!(validate_secret_list(&a), Ok(()));
        assert_eq!(validate_secret_list(&format!("{a} {b}")), Ok(()));
        assert!(validate_secret_list("secret").is_err());
        assert!(validate_secret_list("  ").is_err());
    }
}
