//! The sandbox with real namespaces: a shell inside sees what it lists and
//! nothing else (the server runs as root, and so do these tests).

use std::path::Path;

use tempfile::TempDir;
use tokio::process::Command;

use super::*;

/// A host folder with a writable dir (the test user's), a read-only dir
/// and a secret beside them.
struct Host {
    dir: TempDir,
}

impl Host {
    fn new() -> Host {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["root", "rw", "ro"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        std::fs::write(dir.path().join("ro/readme"), "shown\n").unwrap();
        std::fs::write(dir.path().join("secret"), "hidden\n").unwrap();
        let uid = Some(TEST_UID);
        std::os::unix::fs::chown(dir.path().join("rw"), uid, uid).unwrap();
        Host { dir }
    }

    fn path(&self, sub: &str) -> std::path::PathBuf {
        self.dir.path().join(sub)
    }

    /// Runs `script` with `sh` in a sandbox showing `rw` writable and `ro`
    /// read-only: its exit status and output.
    async fn run(&self, script: &str) -> (bool, String) {
        let sandbox = Sandbox {
            root: self.path("root"),
            uid: TEST_UID,
            mounts: vec![
                Mount::Writable(self.path("rw")),
                Mount::ReadOnly(self.path("ro")),
                Mount::Tmpfs {
                    at: "/tmp".into(),
                    size: 1 << 20,
                },
            ],
            cwd: self.path("rw"),
        };
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(script)
            .env_clear()
            .env("PATH", "/usr/bin:/bin");
        sandbox.apply(&mut command).unwrap();
        let out = command.output().await.unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    }
}

/// The uid the tests run their shells as.
const TEST_UID: u32 = 2_100_000_123;

#[tokio::test]
async fn a_sandboxed_shell_runs_as_the_build_user_and_writes_only_its_writable_dir() {
    let host = Host::new();
    let rw = host.path("rw");
    let ro = host.path("ro");

    let (ok, out) = host
        .run(&format!(
            "id -u; echo made > {rw}/made && cat {ro}/readme && ! touch {ro}/new 2>/dev/null",
            rw = rw.display(),
            ro = ro.display()
        ))
        .await;

    assert!(ok, "{out}");
    assert!(out.starts_with(&format!("{TEST_UID}\n")), "{out}");
    assert!(out.contains("shown"), "{out}");
    assert_eq!(std::fs::read_to_string(rw.join("made")).unwrap(), "made\n");
    assert!(!ro.join("new").exists());
}

#[tokio::test]
async fn what_the_sandbox_does_not_list_does_not_exist_inside() {
    let host = Host::new();
    let secret = host.path("secret");

    let (_, out) = host
        .run(&format!(
            "cat {} /etc/shadow /root/.bashrc; ls /home; echo procs=$(ls /proc | grep -c '^[0-9]')",
            secret.display()
        ))
        .await;

    assert!(!out.contains("hidden"), "{out}");
    assert!(out.contains("No such file"), "{out}");
    assert!(out.contains("/etc/shadow: Permission denied"), "{out}");
    assert!(out.contains("cannot access '/home'"), "{out}");
    let procs = out
        .split("procs=")
        .nth(1)
        .and_then(|s| s.lines().next())
        .unwrap();
    let processes: u32 = procs.parse().unwrap();
    assert!(
        processes <= 4,
        "only the shell's own processes in /proc: {out}"
    );
}

#[tokio::test]
async fn a_sandboxed_shell_has_no_privileges_left() {
    let host = Host::new();

    let (ok, out) = host
        .run("grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; mount -t tmpfs x /tmp 2>&1; kill -0 1 2>&1; true")
        .await;

    assert!(ok, "{out}");
    assert!(out.contains("CapEff:\t0000000000000000"), "{out}");
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
    assert!(
        out.contains("must be superuser")
            || out.contains("not permitted")
            || out.contains("denied"),
        "{out}"
    );
}

#[test]
fn the_python_of_a_venv_is_its_folder_and_the_installation_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("venv");
    let home = dir.path().join("python/bin");
    std::fs::create_dir_all(venv.join("bin")).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(venv.join("bin/ansible-playbook"), "#!x\n").unwrap();
    std::fs::write(
        venv.join("pyvenv.cfg"),
        format!("home = {}\n", home.display()),
    )
    .unwrap();

    let dirs = python_dirs(&venv.join("bin/ansible-playbook"));

    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap();
    assert_eq!(
        dirs,
        [canonical(&venv), canonical(&dir.path().join("python"))]
    );
}
