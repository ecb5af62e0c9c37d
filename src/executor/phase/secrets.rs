//! A playbook's secrets, as an extra-vars file that exists only while that
//! playbook runs: owner-only, in the build's work dir, removed when it ends,
//! so a later playbook (which Zuul does not give them) cannot read them.

use std::path::{Path, PathBuf};

use super::super::workspace::PreparedPlaybook;
use super::super::ExecutorError;

/// Writes the playbook's secrets to `{work}/secrets.json`; `None` when it has none.
pub async fn write(
    work: &Path,
    playbook: &PreparedPlaybook,
) -> Result<Option<PathBuf>, ExecutorError> {
    if playbook.secrets.is_empty() {
        return Ok(None);
    }
    let path = work.join("secrets.json");
    let text = serde_json::Value::Object(playbook.secrets.clone()).to_string();
    let fail =
        |e: std::io::Error| ExecutorError::Workspace(format!("writing {}: {e}", path.display()));
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true).mode(0o600);
    let mut file = options.open(&path).await.map_err(fail)?;
    tokio::io::AsyncWriteExt::write_all(&mut file, text.as_bytes())
        .await
        .map_err(fail)?;
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
