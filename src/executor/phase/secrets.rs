//! A playbook's secrets, as an extra-vars file that exists only while that
//! playbook runs: readable by the build's user alone, outside the work dir
//! (in `{build}/secrets`, which no playbook can write or even see but for
//! this one file, shown in its sandbox alone), removed when it ends, so a
//! later playbook (which Zuul does not give them) cannot read them.

use std::path::{Path, PathBuf};

use super::super::workspace::PreparedPlaybook;
use super::super::ExecutorError;

/// Writes the playbook's secrets to `{build}/secrets/secrets.json`, for
/// user `uid`; `None` when it has none.
pub async fn write(
    build_dir: &Path,
    playbook: &PreparedPlaybook,
    uid: u32,
) -> Result<Option<PathBuf>, ExecutorError> {
    if playbook.secrets.is_empty() {
        return Ok(None);
    }
    let dir = build_dir.join("secrets");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| ExecutorError::Workspace(format!("creating {}: {e}", dir.display())))?;
    let path = dir.join("secrets.json");
    let text = serde_json::Value::Object(playbook.secrets.clone()).to_string();
    let fail =
        |e: std::io::Error| ExecutorError::Workspace(format!("writing {}: {e}", path.display()));
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true).mode(0o400);
    let mut file = options.open(&path).await.map_err(fail)?;
    tokio::io::AsyncWriteExt::write_all(&mut file, text.as_bytes())
        .await
        .map_err(fail)?;
    std::os::unix::fs::lchown(&path, Some(uid), Some(uid)).map_err(fail)?;
    Ok(Some(path))
}

/// Removes a secrets file [`write`] made.
pub async fn remove(file: Option<PathBuf>) {
    if let Some(file) = file {
        if let Err(e) = tokio::fs::remove_file(&file).await {
            tracing::warn!(file = %file.display(), %e, "secrets file not removed");
        }
    }
}
