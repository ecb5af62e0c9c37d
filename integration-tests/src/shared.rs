//! Folders a test shares with the jobs it runs: the server's sandbox shows
//! a build nothing of the host but what the config names, so every test
//! server names [`shared_root`] as a writable path for its playbooks.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::ansible::target_dir;

/// The folder every test server shows its builds, writable by anyone:
/// builds run as users of their own.
pub fn shared_root() -> PathBuf {
    let root = target_dir().join("test-shared");
    std::fs::create_dir_all(&root).expect("create the shared test dir");
    // Sticky, as /tmp: each build's user may add files but not remove others'.
    let perms = std::fs::Permissions::from_mode(0o1777);
    std::fs::set_permissions(&root, perms).expect("open the shared test dir");
    root
}

/// A fresh folder under [`shared_root`] that builds may read and write.
pub fn shared_tempdir() -> TempDir {
    let dir = tempfile::tempdir_in(shared_root()).expect("temp dir");
    open(dir.path());
    dir
}

/// Makes the folder `path` that builds may read and write.
pub fn shared_dir(path: &Path) {
    std::fs::create_dir(path).expect("create a shared dir");
    open(path);
}

fn open(path: &Path) {
    let perms = std::fs::Permissions::from_mode(0o777);
    std::fs::set_permissions(path, perms).expect("open a shared dir");
}
