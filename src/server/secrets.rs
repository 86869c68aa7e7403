//! Secrets at rest (the Odoo API key): sealed with XChaCha20-Poly1305 under a key from the
//! server's settings (`MILLRACE_SECRET_KEY`), never under anything stored beside them.
//!
//! Each sealed value names the key it was sealed with (the first bytes of the key's
//! SHA-256), so the server key can be rotated without downtime: start every instance with
//! the new key in `MILLRACE_SECRET_KEY` and the old one in `MILLRACE_SECRET_KEY_PREVIOUS`;
//! values sealed under the old key still open and are sealed again under the new one.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::settings::Secret;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// One 32-byte server key.
#[derive(Clone)]
struct ServerKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

/// The key new values are sealed with, and older keys that may still open stored values.
#[derive(Clone)]
pub struct SealingKeys {
    current: ServerKey,
    previous: Vec<ServerKey>,
}

impl std::fmt::Debug for SealingKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SealingKeys(current {}, {} previous)",
            self.current.id,
            self.previous.len()
        )
    }
}

/// A sealed value as stored: which key, the nonce and the ciphertext (both base64).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sealed {
    pub key_id: String,
    pub nonce: String,
    pub ciphertext: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum OpenError {
    /// Sealed under a key this server was not given (rotation not finished everywhere?).
    UnknownKey(String),
    /// The ciphertext, nonce or context does not match: altered, or the wrong row.
    Tampered,
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::UnknownKey(id) => write!(
                f,
                "the stored secret was sealed with server key {id}, which this instance does not have (set it as MILLRACE_SECRET_KEY or MILLRACE_SECRET_KEY_PREVIOUS)"
            ),
            OpenError::Tampered => {
                f.write_str("the stored secret does not open: it was altered or belongs elsewhere")
            }
        }
    }
}

impl ServerKey {
    fn parse(name: &str, text: &str) -> Result<Self, String> {
        let bytes = B64
            .decode(text.trim())
            .map_err(|_| format!("{name}: not base64; make one with `openssl rand -base64 32`"))?;
        if bytes.len() != 32 {
            return Err(format!(
                "{name}: {} bytes, 32 wanted; make one with `openssl rand -base64 32`",
                bytes.len()
            ));
        }
        let digest = Sha256::digest(&bytes);
        Ok(Self {
            id: digest[..4].iter().map(|b| format!("{b:02x}")).collect(),
            cipher: XChaCha20Poly1305::new_from_slice(&bytes).expect("32-byte key"),
        })
    }
}

impl SealingKeys {
    /// `current` and `previous` as base64 of 32 random bytes.
    pub fn parse(current: &str, previous: &[&str]) -> Result<Self, String> {
        Ok(Self {
            current: ServerKey::parse("MILLRACE_SECRET_KEY", current)?,
            previous: previous
                .iter()
                .map(|p| ServerKey::parse("MILLRACE_SECRET_KEY_PREVIOUS", p))
                .collect::<Result<_, _>>()?,
        })
    }

    /// A fresh random key in the form `parse` reads (the demo makes one per data folder).
    pub fn generate() -> String {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        B64.encode(bytes)
    }

    /// Seals `plaintext`; `context` (what the value is, e.g. `odoo_connection.api_key`) must
    /// be given again to open it, so a value copied into another place does not open.
    pub fn seal(&self, plaintext: &str, context: &str) -> Sealed {
        let mut nonce = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .current
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 sealing does not fail on in-memory input");
        Sealed {
            key_id: self.current.id.clone(),
            nonce: B64.encode(nonce),
            ciphertext: B64.encode(ciphertext),
        }
    }

    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<Secret, OpenError> {
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(|| OpenError::UnknownKey(sealed.key_id.clone()))?;
        let nonce = B64
            .decode(&sealed.nonce)
            .ok()
            .filter(|n| n.len() == 24)
            .ok_or(OpenError::Tampered)?;
        let ciphertext = B64
            .decode(&sealed.ciphertext)
            .map_err(|_| OpenError::Tampered)?;
        let plain = key
            .cipher
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| OpenError::Tampered)?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| OpenError::Tampered)
    }

    /// Whether `sealed` is under the current key (else it should be sealed again).
    pub fn is_current(&self, sealed: &Sealed) -> bool {
        sealed.key_id == self.current.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> (String, String) {
        (SealingKeys::generate(), SealingKeys::generate())
    }

    #[test]
    fn a_sealed_value_opens_with_its_key_and_context_only() {
        let (a, b) = keys();
        let k = SealingKeys::parse(&a, &[]).unwrap();
        let sealed = k.seal("odoo-key-123", "odoo_connection.api_key");
        assert!(!sealed.ciphertext.contains("odoo-key-123"));
        assert_eq!(
            k.open(&sealed, "odoo_connection.api_key").unwrap().expose(),
            "odoo-key-123"
        );
        assert_eq!(k.open(&sealed, "smtp.password"), Err(OpenError::Tampered));
        let other = SealingKeys::parse(&b, &[]).unwrap();
        assert_eq!(
            other.open(&sealed, "odoo_connection.api_key"),
            Err(OpenError::UnknownKey(sealed.key_id.clone()))
        );
    }

    #[test]
    fn an_altered_ciphertext_or_nonce_does_not_open() {
        let (a, _) = keys();
        let k = SealingKeys::parse(&a, &[]).unwrap();
        let sealed = k.seal("secret", "c");
        let mut bytes = B64.decode(&sealed.ciphertext).unwrap();
        bytes[0] ^= 1;
        let altered = Sealed {
            ciphertext: B64.encode(bytes),
            ..sealed.clone()
        };
        assert_eq!(k.open(&altered, "c"), Err(OpenError::Tampered));
        let renonced = Sealed {
            nonce: B64.encode([0u8; 24]),
            ..sealed.clone()
        };
        assert_eq!(k.open(&renonced, "c"), Err(OpenError::Tampered));
        // Two seals of one value differ (fresh nonce each time).
        assert_ne!(k.seal("secret", "c").ciphertext, sealed.ciphertext);
    }

    #[test]
    fn after_rotation_old_values_open_and_are_known_as_not_current() {
        let (old, new) = keys();
        let before = SealingKeys::parse(&old, &[]).unwrap();
        let sealed = before.seal("k", "c");
        let after = SealingKeys::parse(&new, &[&old]).unwrap();
        assert_eq!(after.open(&sealed, "c").unwrap().expose(), "k");
        assert!(!after.is_current(&sealed));
        assert!(after.is_current(&after.seal("k", "c")));
    }

    #[test]
    fn a_key_that_is_not_32_bytes_of_base64_is_refused_with_how_to_make_one() {
        let short = B64.encode([1u8; 16]);
        let e = SealingKeys::parse(&short, &[]).unwrap_err();
        assert!(
            e.contains("16 bytes, 32 wanted") && e.contains("openssl rand"),
            "{e}"
        );
        let e = SealingKeys::parse("not base64!", &[]).unwrap_err();
        assert!(e.contains("not base64"), "{e}");
        assert!(!format!(
            "{:?}",
            SealingKeys::parse(&SealingKeys::generate(), &[]).unwrap()
        )
        .contains('='));
    }
}
