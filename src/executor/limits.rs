//! What a build may use up before it is ended: disk in its dirs (Zuul's
//! `disk-limit-per-job`, watched the way Zuul's executor does, by summing the
//! dirs' usage every few seconds) and output printed.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often the build's disk usage is summed.
const DISK_POLL: Duration = Duration::from_secs(2);

/// The limits of one build.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Bytes the build's dirs may hold together.
    pub disk: u64,
    /// Bytes of output a playbook may print.
    pub output: u64,
    /// The dirs whose usage counts.
    pub dirs: Vec<PathBuf>,
}

impl Limits {
    /// Resolves once the dirs hold more than [`Limits::disk`]; never otherwise.
    pub async fn disk_exceeded(&self) {
        let mut tick = tokio::time::interval(DISK_POLL);
        loop {
            tick.tick().await;
            let dirs = self.dirs.clone();
            let used = tokio::task::spawn_blocking(move || dirs.iter().map(|d| usage(d)).sum())
                .await
                .unwrap_or(0u64);
            if used > self.disk {
                return;
            }
        }
    }
}

/// Bytes of disk `path` and everything under it take, symlinks not followed.
pub fn usage(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    let own = meta.blocks() * 512;
    if !meta.is_dir() {
        return own;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return own;
    };
    own + entries.flatten().map(|e| usage(&e.path())).sum::<u64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_counts_files_in_nested_dirs_and_not_what_a_symlink_points_to() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(nested.join("big"), vec![1u8; 1 << 20]).unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("huge"), vec![1u8; 4 << 20]).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();

        let used = usage(dir.path());

        assert!(used >= 1 << 20, "{used}");
        assert!(used < 2 << 20, "the linked 4 MiB are not counted: {used}");
    }

    #[tokio::test]
    async fn a_build_over_its_disk_limit_is_told_at_the_first_poll() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), vec![1u8; 64 << 10]).unwrap();
        let limits = Limits {
            disk: 16 << 10,
            output: 0,
            dirs: vec![dir.path().to_path_buf()],
        };

        let told = tokio::time::timeout(Duration::from_secs(30), limits.disk_exceeded()).await;

        assert!(told.is_ok(), "the first poll sees the build over its limit");
    }
}
