//! The secrets in e-mailed links (password reset, e-mail confirmation):
//! 256 random bits, of which the database keeps only a SHA-256, so a copy of
//! it cannot be used to act on anyone's account.

use sha2::{Digest, Sha256};

/// A new token for a link, and the hash to store for it.
pub fn issue() -> (String, String) {
    let token = hex::encode(rand::random::<[u8; 32]>());
    let hash = hash(&token);
    (token, hash)
}

/// The stored form of `token`, to look a link up by.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}
