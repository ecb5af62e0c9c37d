//! One ansible-core venv shared by every test process, installed on first use.

use std::fs::File;
use std::path::PathBuf;

/// The workspace's target dir, where the shared venv lives.
pub fn target_dir() -> PathBuf {
    match option_env!("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
    }
}

/// The shared `ansible-playbook`, installing ansible-core first if needed.
/// A file lock makes parallel test processes install it once.
pub async fn ansible_playbook() -> PathBuf {
    let dir = target_dir();
    std::fs::create_dir_all(&dir).expect("create target dir");
    let lock = File::create(dir.join("test-ansible.lock")).expect("create lock file");
    // Blocking here is fine: it only waits for another test process's install.
    lock.lock().expect("lock the ansible venv");
    let venv = dir.join("test-ansible");
    let path = portcullis::executor::ansible::install_venv(&venv)
        .await
        .expect("install ansible-core into the test venv");
    drop(lock);
    path
}
