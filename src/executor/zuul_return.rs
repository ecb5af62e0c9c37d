//! Data a job returns to its children, as Zuul's `zuul_return` module does.
//!
//! A playbook task `zuul_return: {data: {...}}` runs the action plugin
//! `plugins/action/zuul_return.py`, which merges the data into
//! `{work}/results.json`; the executor reads it once the playbooks are done
//! and hands it to the engine as `BuildOutcome.data`. The engine gives the
//! merged data of a build's parents back as `BuildRequest.parent_data`,
//! whose keys (but `zuul`, which is Zuul's own) become the child's variables
//! at the lowest precedence, as in Zuul: a job variable of the same name wins.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::console;

/// The plugin, written into each build's action plugin folder.
const PLUGIN: &str = include_str!("plugins/action/zuul_return.py");

/// Why returned data could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ZuulReturnError {
    /// The results file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The results file is not what the plugin writes.
    #[error("{path}: not zuul_return results: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: serde_json::Error,
    },
}

/// Where the plugin writes a build's returned data.
pub fn results_file(work_root: &Path) -> PathBuf {
    work_root.join("results.json")
}

/// Writes the `zuul_return` action plugin into the build's plugin folder.
pub async fn install(ansible_dir: &Path) -> Result<(), ZuulReturnError> {
    let path = console::plugin_dir(ansible_dir)
        .join("action")
        .join("zuul_return.py");
    let io = |source| ZuulReturnError::Io {
        path: path.clone(),
        source,
    };
    if let Some(folder) = path.parent() {
        tokio::fs::create_dir_all(folder).await.map_err(io)?;
    }
    tokio::fs::write(&path, PLUGIN).await.map_err(io)
}

/// The data the build returned; `Value::Null` when it returned none.
///
/// The file is the job's to write, so it is read only as a plain file of at
/// most [`MAX_RESULTS`] bytes, never through a symlink the job put there.
pub async fn read(work_root: &Path) -> Result<Value, ZuulReturnError> {
    let path = results_file(work_root);
    let bytes = match read_plain_file(&path).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Value::Null),
        Err(source) => return Err(ZuulReturnError::Io { path, source }),
    };
    let mut results: Value =
        serde_json::from_slice(&bytes).map_err(|source| ZuulReturnError::Parse { path, source })?;
    Ok(results
        .get_mut("data")
        .map(Value::take)
        .unwrap_or(Value::Null))
}

/// The most returned data a build may leave.
const MAX_RESULTS: u64 = 16 * 1024 * 1024;

async fn read_plain_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut options = tokio::fs::OpenOptions::new();
    options
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits() | nix::fcntl::OFlag::O_NONBLOCK.bits());
    let file = options.open(path).await?;
    let meta = file.metadata().await?;
    if !meta.is_file() || meta.len() > MAX_RESULTS {
        return Err(std::io::Error::other(format!(
            "not a plain file of at most {MAX_RESULTS} bytes"
        )));
    }
    let mut bytes = Vec::new();
    file.take(MAX_RESULTS).read_to_end(&mut bytes).await?;
    Ok(bytes)
}

/// The variables a build gets from its parents' returned data: every key but `zuul`.
pub fn parent_vars(parent_data: &Value) -> Map<String, Value> {
    let Some(data) = parent_data.as_object() else {
        return Map::new();
    };
    let mut vars = data.clone();
    vars.remove("zuul");
    vars
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn a_build_that_returned_nothing_has_no_data_and_garbage_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).await.unwrap(), Value::Null);

        std::fs::write(results_file(dir.path()), "{not json").unwrap();

        let err = read(dir.path()).await.unwrap_err();
        assert!(err.to_string().contains("results.json"), "{err}");
    }

    #[test]
    fn parents_data_becomes_variables_except_zuul_s_own() {
        let data = json!({"image": "abc", "zuul": {"artifacts": []}, "n": 1});

        let vars = parent_vars(&data);

        assert_eq!(Value::Object(vars), json!({"image": "abc", "n": 1}));
        assert!(parent_vars(&Value::Null).is_empty());
    }
}
