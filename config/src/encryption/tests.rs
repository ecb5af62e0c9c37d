//! Secrets decrypt through the layout with their project's key; a wrong key or
//! a broken ciphertext is an error at the secret's stanza; pass-to-parent
//! reaches the parents' playbooks and nothing else does.

use std::sync::{Arc, OnceLock};

use serde_json::json;

use super::*;
use crate::testing::{drivers, file, tenant, CONFIG};
use crate::{ConfigFile, Layout};

/// Small keys keep the tests fast; the server makes 4096-bit ones.
const TEST_BITS: usize = 1024;

fn key(which: usize) -> Arc<RsaPrivateKey> {
    static KEYS: OnceLock<Vec<Arc<RsaPrivateKey>>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        let mut rng = rsa::rand_core::OsRng;
        (0..2)
            .map(|_| Arc::new(RsaPrivateKey::new(&mut rng, TEST_BITS).unwrap()))
            .collect()
    });
    keys[which].clone()
}

/// `value` encrypted for `demo`'s key, as the YAML of a tagged list of chunks.
fn sealed(value: &str) -> String {
    let chunks = encrypt(&key(0).to_public_key(), value).unwrap();
    let items: Vec<String> = chunks
        .iter()
        .map(|c| format!("\n          - {c}"))
        .collect();
    format!("!encrypted/pkcs1-oaep{}", items.concat())
}

fn build(demo: &str, keys: &dyn ProjectKeys) -> Layout {
    let files: Vec<ConfigFile> = vec![
        // Jobs with secrets are post-review, so they run only in a post-review pipeline.
        file(
            "config",
            "zuul.yaml",
            &CONFIG.replace(
                "manager: independent",
                "manager: independent\n    post-review: true",
            ),
        ),
        file("demo", ".zuul.yaml", demo),
    ];
    Layout::build_with_keys(&tenant(), &drivers(), &files, Some(keys))
}

fn demo_key(_: &str, project: &str) -> Result<Arc<RsaPrivateKey>, String> {
    match project {
        "demo" => Ok(key(0)),
        _ => Err("no such project".into()),
    }
}

fn other_key(_: &str, _: &str) -> Result<Arc<RsaPrivateKey>, String> {
    Ok(key(1))
}

fn with_secret(password: &str, jobs: &str) -> String {
    format!(
        "- secret:\n    name: creds\n    data:\n      user: zuul\n      password: {password}\n{jobs}"
    )
}

const PUBLISH: &str = "\
- job:
    name: publish
    run: publish.yaml
    secrets: [creds]
- project:
    post: {jobs: [publish]}
";

#[test]
fn a_secret_encrypted_with_the_projects_public_key_reaches_the_jobs_playbooks_decrypted() {
    // Given a secret whose password is sealed with demo's public key
    let layout = build(&with_secret(&sealed("s3cret"), PUBLISH), &demo_key);
    assert!(layout.errors.is_empty(), "{:?}", layout.errors);

    // When the job that uses it is frozen
    let jobs = layout.job_graph("post", "demo", "master").unwrap();

    // Then its own playbook sees the plaintext under the secret's name, the base job's do not
    let run = &jobs[0].run[0];
    assert_eq!(
        run.secrets["creds"],
        json!({"user": "zuul", "password": "s3cret"})
    );
    assert!(jobs[0].pre_run.iter().all(|p| p.secrets.is_empty()));
    assert!(jobs[0].post_run.iter().all(|p| p.secrets.is_empty()));
}

#[test]
fn a_value_longer_than_one_chunk_is_joined_from_its_chunks() {
    let long = "x".repeat(300) + "é";
    let layout = build(&with_secret(&sealed(&long), PUBLISH), &demo_key);
    assert!(layout.errors.is_empty(), "{:?}", layout.errors);
    assert_eq!(layout.secrets["creds"].data["password"], json!(long));
}

#[test]
fn a_secret_sealed_for_another_key_is_an_error_at_its_stanza() {
    let layout = build(&with_secret(&sealed("s3cret"), PUBLISH), &other_key);
    let error = &layout.errors[0];
    assert_eq!((error.file.as_str(), error.line), (".zuul.yaml", 1));
    assert!(
        error
            .message
            .contains("secret creds: cannot decrypt data.password"),
        "{error}"
    );
    // And the job that needs it is an error, not a job without its secret.
    assert!(layout.job_graph("post", "demo", "master").is_err());
}

#[test]
fn a_corrupt_ciphertext_is_an_error_at_its_stanza_naming_the_value() {
    let jobs = format!("- job: {{name: a, run: a.yaml}}\n{PUBLISH}");
    for bad in [
        "!encrypted/pkcs1-oaep not-base64!",
        "!encrypted/pkcs1-oaep [AAAA]",
        "!encrypted/pkcs1-oaep {a: 1}",
    ] {
        let layout = build(&with_secret(bad, &jobs), &demo_key);
        let error = &layout.errors[0];
        assert_eq!(
            (error.file.as_str(), error.line),
            (".zuul.yaml", 1),
            "{bad}"
        );
        assert!(error.message.contains("data.password"), "{bad}: {error}");
        assert!(
            error.snippet.as_deref().unwrap_or("").contains("secret"),
            "{error:?}"
        );
    }
}

#[test]
fn without_keys_secrets_stay_as_written() {
    let text = with_secret(&sealed("s3cret"), PUBLISH);
    let layout = crate::testing::layout(&[file("demo", ".zuul.yaml", &text)]);
    assert!(layout.errors.is_empty(), "{:?}", layout.errors);
    let password = &layout.secrets["creds"].data["password"];
    assert!(password.get(ENCRYPTED_TAG).is_some(), "{password}");
}

const PARENT_AND_CHILD: &str = "\
- job:
    name: upload
    pre-run: upload/pre.yaml
    run: upload/run.yaml
    post-run: upload/post.yaml
- job:
    name: publish
    parent: upload
    pre-run: publish/pre.yaml
    secrets:
      - name: passed
        secret: creds
        pass-to-parent: true
      - name: mine
        secret: creds
- project:
    post: {jobs: [publish]}
";

#[test]
fn a_pass_to_parent_secret_reaches_the_parents_playbooks_and_a_plain_one_does_not() {
    let layout = build(&with_secret(&sealed("pw"), PARENT_AND_CHILD), &demo_key);
    assert!(layout.errors.is_empty(), "{:?}", layout.errors);
    let job = layout
        .job_graph("post", "demo", "master")
        .unwrap()
        .remove(0);
    let names = |p: &crate::PlaybookRef| p.secrets.keys().cloned().collect::<Vec<_>>();
    let pre: Vec<(&str, Vec<String>)> = job
        .pre_run
        .iter()
        .map(|p| (p.path.as_str(), names(p)))
        .collect();
    assert_eq!(
        pre,
        vec![
            ("base/pre.yaml", vec!["passed".to_string()]),
            ("upload/pre.yaml", vec!["passed".to_string()]),
            (
                "publish/pre.yaml",
                vec!["mine".to_string(), "passed".to_string()]
            ),
        ]
    );
    // The parent's run playbook is the one that runs, and it sees the passed secret.
    assert_eq!(job.run[0].path, "upload/run.yaml");
    assert_eq!(job.run[0].secrets["passed"]["password"], json!("pw"));
    assert!(job
        .post_run
        .iter()
        .all(|p| names(p) == vec!["passed".to_string()]));
    // Untrusted playbooks now hold a secret: post-review, and only for demo.
    assert!(job.post_review);
    assert_eq!(job.allowed_projects, None);
}

#[test]
fn an_untrusted_job_with_a_secret_is_allowed_only_for_its_own_project() {
    let layout = build(&with_secret(&sealed("pw"), PUBLISH), &demo_key);
    let job = layout
        .job_graph("post", "demo", "master")
        .unwrap()
        .remove(0);
    assert!(job.post_review);
    assert_eq!(job.allowed_projects, Some(vec!["demo".to_string()]));
}
