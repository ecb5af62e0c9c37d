//! Test fixtures: a shared real ansible-core, real git repos of playbooks,
//! builds run through the real executor, and a look at /proc.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use portcullis_actors::event::ItemRef;
use portcullis_actors::{BuildLog, BuildRequest, LogHub};
use portcullis_config::nodeset::{Node, Nodeset};
use portcullis_config::{FrozenJob, PlaybookRef};
use tempfile::TempDir;

use crate::executor::{ansible, AnsibleExecutor, ExecutorSettings};
use crate::merger::Merger;
use portcullis_config::server::{
    AnsiblePlaybook, Connection, ExecutorConfig, GitConnection, SandboxPaths,
};

/// The project every test build is for.
pub const PROJECT: &str = "org/widget";
/// The connection it lives on.
pub const CONNECTION: &str = "local";
/// The web root the executor is given.
pub const WEB_ROOT: &str = "http://portcullis.test/";

/// ansible-playbook installed once into `{target}/test-ansible`, shared by
/// every test process; a file lock makes concurrent first installs wait.
pub async fn shared_ansible() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    std::fs::create_dir_all(&target).unwrap();
    let lock_path = target.join("test-ansible.lock");
    let lock = tokio::task::spawn_blocking(move || {
        let file = File::create(lock_path).unwrap();
        file.lock().unwrap();
        file
    })
    .await
    .unwrap();
    let playbook = ansible::install_venv(&target.join("test-ansible"))
        .await
        .unwrap();
    drop(lock);
    playbook
}

// The playbooks the scenarios run.

/// Shows zuul vars.
pub const PASS: &str = "- hosts: localhost
  gather_facts: false
  tasks:
    - name: say where we are
      debug:
        msg: \"project is {{ zuul.project.name }} in {{ zuul.pipeline }}\"
";
/// Fails a task.
pub const FAIL: &str = "- hosts: localhost
  gather_facts: false
  tasks:
    - name: break on purpose
      fail:
        msg: deliberately failing
";
// Untrusted playbooks run no code on the executor itself, so the ones
// with commands run on the build's local node, `node`.

/// Sleeps ten minutes.
pub const SLEEP: &str = "- hosts: node
  gather_facts: false
  tasks:
    - name: sleep long
      shell: sleep 600
";
/// Writes to the `fifo` var, then sleeps ten minutes.
pub const SIGNAL_THEN_SLEEP: &str = "- hosts: node
  gather_facts: false
  tasks:
    - name: signal then sleep
      shell: echo started > {{ fifo }} && sleep 600
";
/// Shows `zuul_success`.
pub const POST: &str = "- hosts: localhost
  gather_facts: false
  tasks:
    - name: report the run
      debug:
        msg: \"run succeeded: {{ zuul_success }}\"
";
/// Waits for the file named by the `release_file` var.
pub const WAIT: &str = "- hosts: node
  gather_facts: false
  tasks:
    - name: wait for the test
      wait_for:
        path: \"{{ release_file }}\"
        timeout: 120
";

/// A fixture with every playbook above under `playbooks/`.
pub fn playbooks() -> Fixture {
    Fixture::with_files(&[
        ("playbooks/pass.yaml", PASS),
        ("playbooks/fail.yaml", FAIL),
        ("playbooks/sleep.yaml", SLEEP),
        ("playbooks/post.yaml", POST),
        ("playbooks/wait.yaml", WAIT),
        ("playbooks/signal.yaml", SIGNAL_THEN_SLEEP),
    ])
}

/// A temp dir with a state dir and a git repo of playbooks for [`PROJECT`].
pub struct Fixture {
    /// Owns every file of the test.
    pub dir: TempDir,
    /// Commits made so far, oldest first.
    pub commits: Vec<String>,
}

impl Fixture {
    /// A repo whose first commit holds `files` (path, text).
    pub fn with_files(files: &[(&str, &str)]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repos").join(PROJECT);
        std::fs::create_dir_all(&repo).unwrap();
        git(&repo, &["init", "--quiet", "--initial-branch=main"]);
        let mut fixture = Fixture {
            dir,
            commits: vec![],
        };
        fixture.commit(files);
        fixture
    }

    /// Commits `files` on top of the last commit.
    pub fn commit(&mut self, files: &[(&str, &str)]) -> String {
        let repo = self.repo();
        for (path, text) in files {
            let file = repo.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        }
        git(&repo, &["add", "."]);
        git(
            &repo,
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "--quiet",
                "-m",
                "c",
            ],
        );
        let sha = git(&repo, &["rev-parse", "HEAD"]);
        self.commits.push(sha.clone());
        sha
    }

    /// The repo of [`PROJECT`].
    pub fn repo(&self) -> PathBuf {
        self.dir.path().join("repos").join(PROJECT)
    }

    /// A folder the host and untrusted playbooks share, writable by both
    /// (given to the sandbox as an `untrusted-rw-paths` entry).
    pub fn shared_dir(&self) -> PathBuf {
        let dir = self.dir.path().join("shared");
        if !dir.exists() {
            std::fs::create_dir(&dir).unwrap();
            let anyone = std::os::unix::fs::PermissionsExt::from_mode(0o777);
            std::fs::set_permissions(&dir, anyone).unwrap();
        }
        dir
    }

    /// The executor's state dir.
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// An executor over this fixture's repos and the shared ansible.
    pub async fn executor(&self) -> AnsibleExecutor {
        let ansible = shared_ansible().await;
        self.executor_with(AnsiblePlaybook::Path(ansible))
    }

    /// An executor with a given ansible setting.
    pub fn executor_with(&self, ansible_playbook: AnsiblePlaybook) -> AnsibleExecutor {
        AnsibleExecutor::new(ExecutorSettings {
            state_dir: self.state_dir(),
            config: ExecutorConfig {
                ansible_playbook,
                sandbox_paths: SandboxPaths {
                    untrusted_rw: vec![self.shared_dir()],
                    ..SandboxPaths::default()
                },
                ..ExecutorConfig::default()
            },
            merger: self.merger(),
            web_root: WEB_ROOT.to_string(),
        })
    }

    /// A merger with one git connection, [`CONNECTION`], over the fixture's repos.
    pub fn merger(&self) -> Merger {
        let connection = Connection::Git(GitConnection {
            baseurl: self.dir.path().join("repos").display().to_string(),
            poll_delay: 60.0,
            seed: None,
            review_prefix: "review/".into(),
        });
        let connections = BTreeMap::from([(CONNECTION.to_string(), connection)]);
        Merger::new(self.dir.path().join("git-cache"), connections)
    }

    /// A playbook of [`PROJECT`] at its first commit.
    pub fn playbook(&self, path: &str) -> PlaybookRef {
        PlaybookRef {
            connection: CONNECTION.into(),
            project: PROJECT.into(),
            branch: "main".into(),
            commit: self.commits[0].clone(),
            path: path.into(),
            trusted: false,
            ..Default::default()
        }
    }

    /// The job-output.txt of build `uuid`.
    pub fn job_output(&self, uuid: &str) -> String {
        let path = self
            .state_dir()
            .join("logs")
            .join(uuid)
            .join("job-output.txt");
        std::fs::read_to_string(path).unwrap()
    }
}

/// A job running `run` with no timeout on one local node, `node`; tests
/// adjust the rest.
pub fn job(run: Vec<PlaybookRef>) -> FrozenJob {
    FrozenJob {
        name: "unit".into(),
        inheritance: vec!["unit".into()],
        description: None,
        pre_run: vec![],
        run,
        post_run: vec![],
        nodeset: Nodeset {
            name: "one".into(),
            nodes: vec![Node {
                name: "node".into(),
                label: "small".into(),
            }],
            groups: vec![],
        },
        timeout: None,
        voting: true,
        vars: serde_json::Map::new(),
        ..Default::default()
    }
}

/// A request for build `uuid` of `job` on the fixture's latest commit.
pub fn request(fixture: &Fixture, uuid: &str, job: FrozenJob) -> BuildRequest {
    BuildRequest {
        uuid: uuid.into(),
        buildset_uuid: format!("{uuid}-set"),
        tenant: "example".into(),
        pipeline: "check".into(),
        item: ItemRef {
            connection: CONNECTION.into(),
            project: PROJECT.into(),
            ref_name: "refs/heads/main".into(),
            branch: Some("main".into()),
            tag: None,
            oldrev: "0".repeat(40),
            newrev: fixture.commits.last().unwrap().clone(),
            change: None,
        },
        job,
        state: Default::default(),
        parent_data: serde_json::Value::Null,
        child_jobs: Vec::new(),
        hold: false,
    }
}

/// An open live log for build `uuid`.
pub fn live_log(hub: &LogHub, uuid: &str) -> BuildLog {
    hub.open(uuid);
    BuildLog::new(hub.clone(), uuid)
}

/// Pids of live processes whose environment carries `PORTCULLIS_BUILD_UUID={uuid}`.
pub fn processes_of_build(uuid: &str) -> Vec<u32> {
    let needle = format!("PORTCULLIS_BUILD_UUID={uuid}");
    let mut found = vec![];
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        // A process may end between listing and reading: unreadable means gone.
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ
            .split(|b| *b == 0)
            .any(|var| var == needle.as_bytes())
        {
            found.push(pid);
        }
    }
    found
}

/// Creates a named pipe: a test blocks reading it until a task writes to it.
pub fn make_fifo(path: &Path) {
    // Anyone may write: the build's user is not the test's.
    let status = Command::new("mkfifo")
        .args(["-m", "0666"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
