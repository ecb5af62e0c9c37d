//! Finding ansible-playbook: a configured path, or ansible-core installed into
//! a venv under the state dir on first use.

use std::path::{Path, PathBuf};
use std::process::Output;

use portcullis_config::server::AnsiblePlaybook;
use tokio::process::Command;

use super::ExecutorError;

/// How many trailing lines of pip's output an install error carries.
const OUTPUT_TAIL_LINES: usize = 20;

/// The `ansible-playbook` to run: `Path` as is, `Auto` from `{state_dir}/ansible`,
/// installing ansible-core there when it is not yet.
///
/// Callers that may race (many builds starting at once) go through the
/// executor's once-cell; this function itself does not serialise installs.
pub async fn ensure_ansible(
    setting: &AnsiblePlaybook,
    state_dir: &Path,
) -> Result<PathBuf, ExecutorError> {
    match setting {
        AnsiblePlaybook::Path(path) => Ok(path.clone()),
        AnsiblePlaybook::Auto => install_venv(&state_dir.join("ansible")).await,
    }
}

/// Makes `venv` a virtualenv with ansible-core, unless it already has one.
pub async fn install_venv(venv: &Path) -> Result<PathBuf, ExecutorError> {
    let playbook = venv.join("bin").join("ansible-playbook");
    if tokio::fs::try_exists(&playbook).await.unwrap_or(false) {
        return Ok(playbook);
    }
    tracing::info!(venv = %venv.display(), "installing ansible-core");
    let mut create = Command::new("python3");
    create.arg("-m").arg("venv").arg(venv);
    run_step("python3 -m venv", create).await?;
    let mut install = Command::new(venv.join("bin").join("pip"));
    install.args(["install", "--quiet", "ansible-core"]);
    run_step("pip install ansible-core", install).await?;
    if tokio::fs::try_exists(&playbook).await.unwrap_or(false) {
        Ok(playbook)
    } else {
        Err(ExecutorError::AnsibleInstall(format!(
            "pip install ansible-core left no {}",
            playbook.display()
        )))
    }
}

async fn run_step(what: &str, mut command: Command) -> Result<(), ExecutorError> {
    // A cancelled install must not leave pip running behind the executor's back.
    command.kill_on_drop(true);
    let output = command
        .output()
        .await
        .map_err(|e| ExecutorError::AnsibleInstall(format!("{what}: {e}")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(ExecutorError::AnsibleInstall(format!(
            "{what} failed ({}):\n{}",
            output.status,
            tail(&output)
        )))
    }
}

fn tail(output: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(OUTPUT_TAIL_LINES);
    lines[from..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_configured_path_is_used_without_installing_anything() {
        let state = tempfile::tempdir().unwrap();
        let setting = AnsiblePlaybook::Path(PathBuf::from("/opt/ansible/bin/ansible-playbook"));
        let found = ensure_ansible(&setting, state.path()).await.unwrap();
        assert_eq!(found, PathBuf::from("/opt/ansible/bin/ansible-playbook"));
        assert!(!state.path().join("ansible").exists());
    }

    #[tokio::test]
    async fn an_existing_venv_is_reused_without_running_pip() {
        let state = tempfile::tempdir().unwrap();
        let bin = state.path().join("ansible").join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("ansible-playbook"), "#!/bin/sh\n").unwrap();
        let found = ensure_ansible(&AnsiblePlaybook::Auto, state.path())
            .await
            .unwrap();
        assert_eq!(found, bin.join("ansible-playbook"));
        assert!(!bin.join("pip").exists());
    }

    #[tokio::test]
    async fn a_failing_install_reports_the_tail_of_its_output() {
        let state = tempfile::tempdir().unwrap();
        // A file where the venv's folder should be makes `python3 -m venv` fail.
        std::fs::write(state.path().join("ansible"), "not a folder").unwrap();
        let err = ensure_ansible(&AnsiblePlaybook::Auto, state.path())
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("python3 -m venv failed"), "{text}");
    }
}
