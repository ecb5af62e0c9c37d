//! Encrypted secret values, as Zuul writes them: a value tagged
//! `!encrypted/pkcs1-oaep` holding one base64 string or a list of them, each
//! a chunk encrypted with RSA PKCS#1 OAEP (SHA-1) under the public key of the
//! project that defines the secret. The chunks' plaintexts, joined, are the
//! value.
//!
//! The crate stays pure: the caller owns the keys and hands them in through
//! [`ProjectKeys`]; here we only decrypt (and, for tests and tools, encrypt).

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rsa::Oaep;
pub use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::Value;

/// The tag of an encrypted value. serde_yaml turns a tagged value into a
/// one-key mapping from the tag to the value once the data is JSON.
pub const ENCRYPTED_TAG: &str = "!encrypted/pkcs1-oaep";

/// SHA-1's output length, which OAEP's padding takes twice from each chunk.
const SHA1_LEN: usize = 20;

/// Where a layout gets a project's private key to decrypt the project's secrets.
pub trait ProjectKeys {
    /// The private key of `project` on `connection`, or why there is none.
    fn private_key(&self, connection: &str, project: &str) -> Result<Arc<RsaPrivateKey>, String>;
}

impl<F> ProjectKeys for F
where
    F: Fn(&str, &str) -> Result<Arc<RsaPrivateKey>, String>,
{
    fn private_key(&self, connection: &str, project: &str) -> Result<Arc<RsaPrivateKey>, String> {
        self(connection, project)
    }
}

/// Why an encrypted value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot decrypt {path}: {why}")]
pub struct DecryptError {
    /// Where the value sits in the secret's data (`data.password`, `data.keys[1]`).
    pub path: String,
    /// What went wrong.
    pub why: String,
}

/// A copy of `data` with every encrypted value replaced by its plaintext.
pub fn decrypt_data(data: &Value, key: &RsaPrivateKey) -> Result<Value, DecryptError> {
    decrypt_at(data, key, "data")
}

fn decrypt_at(data: &Value, key: &RsaPrivateKey, path: &str) -> Result<Value, DecryptError> {
    match data {
        Value::Object(map) if map.len() == 1 && map.contains_key(ENCRYPTED_TAG) => {
            let fail = |why: String| DecryptError {
                path: path.to_string(),
                why,
            };
            decrypt_value(&map[ENCRYPTED_TAG], key)
                .map(Value::String)
                .map_err(fail)
        }
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| Ok((k.clone(), decrypt_at(v, key, &format!("{path}.{k}"))?)))
            .collect::<Result<_, _>>()
            .map(Value::Object),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| decrypt_at(v, key, &format!("{path}[{i}]")))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// The plaintext of one tagged value: a base64 string or a list of them.
fn decrypt_value(value: &Value, key: &RsaPrivateKey) -> Result<String, String> {
    let chunks: Vec<&str> = match value {
        Value::String(one) => vec![one.as_str()],
        Value::Array(all) => all
            .iter()
            .map(|c| c.as_str().ok_or("expected base64 strings"))
            .collect::<Result<_, _>>()?,
        _ => return Err("expected a base64 string or a list of them".into()),
    };
    let mut plain = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        // Folded YAML scalars may carry line breaks inside a chunk.
        let compact: String = chunk.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = STANDARD
            .decode(compact)
            .map_err(|e| format!("chunk {i} is not base64 ({e})"))?;
        // One message for every failure, so the answer tells nothing about the padding.
        let part = key
            .decrypt(Oaep::new::<sha1::Sha1>(), &bytes)
            .map_err(|_| format!("chunk {i} does not decrypt with the project's key"))?;
        plain.extend(part);
    }
    String::from_utf8(plain).map_err(|_| "the plaintext is not UTF-8".to_string())
}

/// Reads a public key as `/api/tenant/{t}/key/{project}.pub` serves it (SubjectPublicKeyInfo PEM).
pub fn public_key_from_pem(pem: &str) -> Result<RsaPublicKey, String> {
    use rsa::pkcs8::DecodePublicKey;
    RsaPublicKey::from_public_key_pem(pem).map_err(|e| e.to_string())
}

/// Encrypts `plaintext` for `key` as Zuul's tools do: base64 chunks small enough for OAEP.
pub fn encrypt(key: &RsaPublicKey, plaintext: &str) -> Result<Vec<String>, rsa::Error> {
    use rsa::traits::PublicKeyParts;
    let room = key.size().saturating_sub(2 * SHA1_LEN + 2).max(1);
    let mut rng = rsa::rand_core::OsRng;
    let bytes = plaintext.as_bytes();
    let pieces: Vec<&[u8]> = match bytes.is_empty() {
        true => vec![bytes],
        false => bytes.chunks(room).collect(),
    };
    pieces
        .into_iter()
        .map(|piece| {
            let sealed = key.encrypt(&mut rng, Oaep::new::<sha1::Sha1>(), piece)?;
            Ok(STANDARD.encode(sealed))
        })
        .collect()
}

#[cfg(test)]
mod tests;
