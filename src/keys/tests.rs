//! Key pairs are made once per project, kept owner-only, and read back.

use portcullis_config::encryption::{decrypt_data, encrypt, RsaPublicKey};
use rsa::pkcs8::DecodePublicKey;
use serde_json::json;

use super::*;

fn store(dir: &Path) -> KeyStore {
    KeyStore::with_bits(dir.join("keys"), 1024)
}

#[test]
fn a_projects_key_is_made_once_and_read_back_by_a_new_store() {
    let dir = tempfile::tempdir().unwrap();
    let first = store(dir.path()).key_of("local", "org/demo").unwrap();
    let again = store(dir.path()).key_of("local", "org/demo").unwrap();
    assert_eq!(first, again);
    let file = dir.path().join("keys/secrets/project/local/org/demo/0.pem");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("-----BEGIN RSA PRIVATE KEY-----"),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn projects_get_different_keys() {
    let dir = tempfile::tempdir().unwrap();
    let keys = store(dir.path());
    assert_ne!(
        keys.key_of("local", "a").unwrap(),
        keys.key_of("local", "b").unwrap()
    );
}

#[test]
fn what_is_encrypted_with_the_public_pem_decrypts_with_the_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let keys = store(dir.path());
    let pem = keys.public_pem("local", "demo").unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    let public = RsaPublicKey::from_public_key_pem(&pem).unwrap();
    let chunks = encrypt(&public, "hunter2").unwrap();
    let data = json!({"pw": {"!encrypted/pkcs1-oaep": chunks}});
    let key = keys.key_of("local", "demo").unwrap();
    assert_eq!(decrypt_data(&data, &key).unwrap(), json!({"pw": "hunter2"}));
}

#[test]
fn names_that_would_leave_the_key_folder_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let keys = store(dir.path());
    for (connection, project) in [
        ("local", "../x"),
        ("local", "a/../../b"),
        ("..", "p"),
        ("a/b", "p"),
        ("local", ""),
    ] {
        assert!(
            matches!(keys.key_of(connection, project), Err(KeyError::BadName(_))),
            "{connection} {project}"
        );
    }
}

#[test]
fn a_corrupt_key_file_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys/secrets/project/local/demo/0.pem");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "not a key").unwrap();
    let err = store(dir.path()).key_of("local", "demo").unwrap_err();
    assert!(err.to_string().contains("0.pem"), "{err}");
}
