//! [`KeyStore`]: each project's RSA key pair for its secrets, made on first
//! need and kept under `<state-dir>/keys/` as Zuul keeps them
//! (`secrets/project/<connection>/<project>/0.pem`, the private key in PKCS#1
//! PEM, readable by the owner only). Users encrypt with the public key, served
//! at `/api/tenant/{t}/key/{project}.pub`; the layout loader decrypts with the
//! private one.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use portcullis_config::encryption::{ProjectKeys, RsaPrivateKey};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{EncodePublicKey, LineEnding};

/// Key size of new key pairs, as Zuul makes them.
pub const KEY_BITS: usize = 4096;

/// Environment variable that makes smaller keys, for tests only (generating
/// 4096-bit keys takes seconds each).
pub const TEST_KEY_BITS_VAR: &str = "PORTCULLIS_TEST_KEY_BITS";

/// Why a project's key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The project's name cannot be a path under the key folder.
    #[error("project name {0:?} cannot name a key")]
    BadName(String),
    /// The key file could not be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The key file holds no usable key, or a key could not be made or encoded.
    #[error("key file {path}: {why}")]
    Key {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

/// The project key pairs of one server. Cheap to clone; clones share the keys.
#[derive(Clone)]
pub struct KeyStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// `<state-dir>/keys`.
    dir: PathBuf,
    /// Size of keys made here.
    bits: usize,
    /// Keys read or made so far, by (connection, project). Held while a key
    /// is made, so two callers never make two keys for one project.
    cache: Mutex<HashMap<(String, String), Arc<RsaPrivateKey>>>,
}

impl KeyStore {
    /// The key store under `<state_dir>/keys`, making 4096-bit keys
    /// (or `PORTCULLIS_TEST_KEY_BITS` bits, when set to at least 1024).
    pub fn new(state_dir: &Path) -> KeyStore {
        let bits = std::env::var(TEST_KEY_BITS_VAR)
            .ok()
            .and_then(|b| b.parse::<usize>().ok())
            .filter(|b| *b >= 1024)
            .unwrap_or(KEY_BITS);
        KeyStore::with_bits(state_dir.join("keys"), bits)
    }

    /// A key store in `dir` making keys of `bits` bits.
    pub fn with_bits(dir: PathBuf, bits: usize) -> KeyStore {
        let cache = Mutex::new(HashMap::new());
        KeyStore {
            inner: Arc::new(Inner { dir, bits, cache }),
        }
    }

    /// The project's private key, read from its file or made (and saved) on first need.
    /// Blocking: making a key takes seconds; call it off the async threads.
    pub fn key_of(&self, connection: &str, project: &str) -> Result<Arc<RsaPrivateKey>, KeyError> {
        let path = self.path_of(connection, project)?;
        let id = (connection.to_string(), project.to_string());
        // A poisoned lock only means another caller panicked; the map is still whole.
        let mut cache = self.inner.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(key) = cache.get(&id) {
            return Ok(key.clone());
        }
        let key = match path.exists() {
            true => read_key(&path)?,
            false => make_key(&path, self.inner.bits)?,
        };
        let key = Arc::new(key);
        cache.insert(id, key.clone());
        Ok(key)
    }

    /// The project's public key in PEM (SubjectPublicKeyInfo, `BEGIN PUBLIC KEY`), as Zuul serves it.
    pub fn public_pem(&self, connection: &str, project: &str) -> Result<String, KeyError> {
        let key = self.key_of(connection, project)?;
        let path = self.path_of(connection, project)?;
        key.to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| KeyError::Key {
                path,
                why: e.to_string(),
            })
    }

    /// `<dir>/secrets/project/<connection>/<project>/0.pem`, for names that stay inside `dir`.
    fn path_of(&self, connection: &str, project: &str) -> Result<PathBuf, KeyError> {
        let safe = |name: &str| {
            !name.is_empty()
                && name
                    .split('/')
                    .all(|part| !part.is_empty() && part != "." && part != "..")
        };
        if !safe(connection) || connection.contains('/') {
            return Err(KeyError::BadName(connection.to_string()));
        }
        if !safe(project) {
            return Err(KeyError::BadName(project.to_string()));
        }
        let dir = self.inner.dir.join("secrets/project").join(connection);
        Ok(dir.join(project).join("0.pem"))
    }
}

impl ProjectKeys for KeyStore {
    fn private_key(&self, connection: &str, project: &str) -> Result<Arc<RsaPrivateKey>, String> {
        self.key_of(connection, project).map_err(|e| e.to_string())
    }
}

fn read_key(path: &Path) -> Result<RsaPrivateKey, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let pem = std::fs::read_to_string(path).map_err(io)?;
    RsaPrivateKey::from_pkcs1_pem(&pem).map_err(|e| KeyError::Key {
        path: path.to_path_buf(),
        why: e.to_string(),
    })
}

/// Makes a key and writes it where [`read_key`] finds it: to a temporary file
/// with owner-only rights, then renamed, so a crash never leaves half a key.
fn make_key(path: &Path, bits: usize) -> Result<RsaPrivateKey, KeyError> {
    let fail = |why: String| KeyError::Key {
        path: path.to_path_buf(),
        why,
    };
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let key =
        RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits).map_err(|e| fail(e.to_string()))?;
    let pem = key
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(|e| fail(e.to_string()))?;
    let dir = path.parent().ok_or_else(|| fail("no folder".into()))?;
    std::fs::create_dir_all(dir).map_err(io)?;
    let temp = dir.join(format!(".0.pem.{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temp).map_err(io)?;
    file.write_all(pem.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&temp, path).map_err(io)?;
    Ok(key)
}

#[cfg(test)]
mod tests;
