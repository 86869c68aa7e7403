//! Password hashing with argon2id (the argon2 crate's default algorithm and parameters).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

pub const MIN_PASSWORD_CHARS: usize = 10;

/// Why a new password is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NewPasswordError {
    #[error("the password must have at least {min} characters")]
    TooShort { min: usize },
    #[error("the two passwords differ")]
    Mismatch,
}

/// The rules every new password follows (sign-up, reset, change).
pub fn check_new(password: &str, confirm: &str) -> Result<(), NewPasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(NewPasswordError::TooShort {
            min: MIN_PASSWORD_CHARS,
        });
    }
    if password != confirm {
        return Err(NewPasswordError::Mismatch);
    }
    Ok(())
}

pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing with a fresh salt cannot fail")
        .to_string()
}

pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the account does not exist, so both paths cost the same.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("no-such-account-placeholder"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = super::hash("correct horse battery");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(super::verify("correct horse battery", &h));
        assert!(!super::verify("wrong", &h));
        assert!(!super::verify("x", "not a hash"));
    }
}
