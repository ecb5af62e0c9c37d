//! [`TestServer`]: the real `portcullis serve` process over a scenario's repos.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;
use tempfile::TempDir;

use crate::{ansible, wait, Repo};

/// The tenant every scenario defines.
pub const TENANT: &str = "example";

/// The config project's zuul.yaml: a `post` pipeline on every branch and a
/// `base` job on one node, `node`, run on the executor's machine (untrusted
/// playbooks may run commands there, never on `localhost`).
pub const BASE_CONFIG: &str = r#"
- pipeline:
    name: post
    description: Runs after every push to a branch.
    manager: independent
    trigger:
      local:
        - event: ref-updated
          ref: ^refs/heads/.*$
- job:
    name: base
    parent: null
    description: The base job every job inherits from.
    nodeset: {nodes: [{name: node, label: local}]}
"#;

/// A variable of every test server's environment, and its value: no build may see it.
pub const SERVER_CANARY: (&str, &str) = ("PORTCULLIS_TEST_CANARY", "canary-9d1f3e");

/// A `base` job as [`BASE_CONFIG`]'s, on one line for configs of their own.
pub const BASE_JOB: &str =
    "- job: {name: base, parent: null, nodeset: {nodes: [{name: node, label: local}]}}\n";

/// What a test server starts with.
pub struct Scenario {
    /// The database URL; `None`: SQLite in the state dir.
    pub database: Option<String>,
    /// Seconds between polls of the repos.
    pub poll_delay: f64,
    /// Extra untrusted projects (each gets an empty first commit).
    pub extra_projects: Vec<String>,
    /// The config project's zuul.yaml.
    pub config_yaml: String,
    /// YAML appended to the server config (e.g. an `auth:` section).
    pub server_extra: String,
    /// Lines added to the tenant's mapping, indented by 4 (e.g. `admin-rules`).
    pub tenant_options: String,
    /// Top-level items appended to the tenant file (e.g. `- admin-rule:`).
    pub tenant_items: String,
    /// Folders only trusted playbooks may write, besides the shared one.
    pub trusted_rw: Vec<PathBuf>,
    /// The bearer token the harness's own reads carry (readiness, waiting for
    /// builds): one that may read a read-protected tenant.
    pub reader_token: Option<String>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            database: None,
            poll_delay: 0.1,
            extra_projects: Vec::new(),
            config_yaml: BASE_CONFIG.to_string(),
            server_extra: String::new(),
            tenant_options: String::new(),
            tenant_items: String::new(),
            trusted_rw: Vec::new(),
            reader_token: None,
        }
    }
}

/// A running server, its temp dir and the repos it polls.
pub struct TestServer {
    dir: TempDir,
    shared: TempDir,
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    /// The config project.
    pub config: Repo,
    /// The demo project, where tests push their jobs.
    pub demo: Repo,
    http: reqwest::Client,
    reader_token: Option<String>,
}

impl TestServer {
    /// Creates the repos and config of `scenario` and starts the server.
    pub async fn start(scenario: Scenario) -> TestServer {
        let mut server = TestServer::prepare(scenario).await;
        server.launch().await;
        server
    }

    /// Creates the repos and config of `scenario`; [`spawn`](Self::spawn) starts the server.
    pub async fn prepare(scenario: Scenario) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Repo::init(&dir.path().join("repos/config"));
        config.commit(
            "Add pipelines and base job",
            &[("zuul.yaml", &scenario.config_yaml)],
        );
        let demo = Repo::init(&dir.path().join("repos/demo"));
        demo.commit("Start the demo project", &[("README.md", "demo\n")]);
        for name in &scenario.extra_projects {
            Repo::init(&dir.path().join("repos").join(name)).commit("Start", &[("README", "x\n")]);
        }
        let port = free_port();
        write_configs(&dir, &scenario, port).await;
        TestServer {
            dir,
            shared: crate::shared::shared_tempdir(),
            child: None,
            base_url: format!("http://127.0.0.1:{port}"),
            config,
            demo,
            http: reqwest::Client::new(),
            reader_token: scenario.reader_token,
        }
    }

    /// The server config file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("portcullis.yaml")
    }

    /// The repo of project `name` that the server polls.
    pub fn repo(&self, name: &str) -> Repo {
        Repo::open(&self.dir.path().join("repos").join(name))
    }

    /// The path of `name` in a folder of this server's that its builds may read and write.
    pub fn shared_file(&self, name: &str) -> PathBuf {
        self.shared.path().join(name)
    }

    /// The server process's pid, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The state dir.
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Starts the server process, without waiting for it to be ready.
    pub fn spawn(&mut self) {
        let stderr = File::create(self.dir.path().join("server.log")).expect("server log");
        let child = Command::new(server_binary())
            .args(["serve", "--config"])
            .arg(self.config_path())
            .env("RUST_LOG", "info,portcullis=debug,portcullis_actors=debug")
            .env(SERVER_CANARY.0, SERVER_CANARY.1)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start the server");
        self.child = Some(child);
    }

    /// Starts the server process and waits until its tenant's layout is loaded.
    async fn launch(&mut self) {
        self.spawn();
        let status = format!("/api/tenant/{TENANT}/status");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok())
                .flatten();
            if let Some(code) = exited {
                panic!("server exited with {code}:\n{}", self.log());
            }
            if let Some((200, body)) = self.try_get(&status).await {
                if body["pipelines"].as_array().is_some_and(|p| !p.is_empty()) {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "server not ready in 60 s:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the server (SIGTERM, then SIGKILL after 15 s) and waits for it.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Sends the server `signal` and waits up to `deadline` for it to exit:
    /// its status and how long it took, or `None` when it did not exit in
    /// time (it is SIGKILLed then) or was not running. Async, so that fakes
    /// on the test's runtime (e.g. a simulated cluster) can answer the
    /// stopping server. [`restart`](Self::restart) starts it again.
    pub async fn stop_with(
        &mut self,
        signal: Signal,
        deadline: Duration,
    ) -> Option<(ExitStatus, Duration)> {
        let sent = Instant::now();
        self.signal(signal);
        let status = self.exit_within(deadline).await?;
        Some((status, sent.elapsed()))
    }

    /// Sends the server `signal`, if it runs.
    pub fn signal(&self, signal: Signal) {
        if let Some(child) = &self.child {
            let _ = kill(Pid::from_raw(child.id() as i32), signal);
        }
    }

    /// Waits up to `deadline` for the server to exit: its status, or `None`
    /// when it did not exit in time (it is SIGKILLed then) or was not running.
    pub async fn exit_within(&mut self, deadline: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let waiting = Instant::now();
        while waiting.elapsed() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// Stops and starts the server again over the same state.
    pub async fn restart(&mut self) {
        self.stop();
        self.launch().await;
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// A GET of `url`, with the scenario's reader token if it has one.
    fn get_request(&self, url: &str) -> reqwest::RequestBuilder {
        let request = self.http.get(url);
        match &self.reader_token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// GETs an API path; `None` when the server does not answer.
    pub async fn try_get(&self, path: &str) -> Option<(u16, Value)> {
        let url = format!("{}{path}", self.base_url);
        let response = self.get_request(&url).send().await.ok()?;
        let code = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Some((code, body))
    }

    /// GETs an API path; panics when the server does not answer.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        match self.try_get(path).await {
            Some(answer) => answer,
            None => panic!("no answer for {path}; server log:\n{}", self.log()),
        }
    }

    /// GETs a URL as text.
    pub async fn get_text(&self, url: &str) -> (u16, String) {
        let response = self.get_request(url).send().await.expect("GET");
        let code = response.status().as_u16();
        (code, response.text().await.unwrap_or_default())
    }

    /// Waits until the build of `job` for commit `newrev` is complete, and returns it.
    pub async fn finished_build(&self, job: &str, newrev: &str) -> Value {
        let path =
            format!("/api/tenant/{TENANT}/builds?job_name={job}&newrev={newrev}&complete=true");
        wait::until(
            &format!("build of {job} at {newrev}"),
            Duration::from_secs(180),
            || async {
                let (_, builds) = self.try_get(&path).await?;
                builds.as_array()?.first().cloned()
            },
        )
        .await
    }

    /// Waits until a build of `job` for `newrev` runs, and returns its uuid.
    pub async fn running_build(&self, job: &str, newrev: &str) -> String {
        let path = format!("/api/tenant/{TENANT}/status");
        wait::until(
            &format!("{job} at {newrev} to run"),
            Duration::from_secs(180),
            || async {
                let (_, status) = self.try_get(&path).await?;
                running_uuid(&status, job, newrev)
            },
        )
        .await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The uuid of the running build of `job` in an item for `newrev`, from a status document.
fn running_uuid(status: &Value, job: &str, newrev: &str) -> Option<String> {
    let pipelines = status["pipelines"].as_array()?;
    let queues = pipelines
        .iter()
        .flat_map(|p| p["change_queues"].as_array().cloned().unwrap_or_default());
    let items = queues.flat_map(|q| q["heads"].as_array().cloned().unwrap_or_default());
    let items = items.flat_map(|h| h.as_array().cloned().unwrap_or_default());
    items
        .filter(|i| i["refs"][0]["id"] == newrev)
        .flat_map(|i| i["jobs"].as_array().cloned().unwrap_or_default())
        .find(|j| j["name"] == job && j["uuid"].is_string() && j["result"].is_null())
        .and_then(|j| j["uuid"].as_str().map(str::to_string))
}

/// The server binary cargo built beside the running test (or bench) executable:
/// tests run from `target/PROFILE/deps/`, binaries sit in `target/PROFILE/`.
pub fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/PROFILE");
    let binary = profile_dir.join("portcullis-under-test");
    assert!(
        binary.exists(),
        "{} is missing; cargo builds it for this package's tests",
        binary.display()
    );
    binary
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

async fn write_configs(dir: &TempDir, scenario: &Scenario, port: u16) {
    let ansible = ansible::ansible_playbook().await;
    let database = match &scenario.database {
        Some(url) => format!("database: {{url: \"{url}\"}}\n"),
        None => String::new(),
    };
    let shared = format!("{:?}", crate::shared::shared_root());
    let trusted_rw: Vec<String> = std::iter::once(shared.clone())
        .chain(scenario.trusted_rw.iter().map(|p| format!("{p:?}")))
        .collect();
    let trusted_rw = trusted_rw.join(", ");
    let server = format!(
        "state-dir: state\n{database}web: {{listen: \"127.0.0.1:{port}\"}}\ntenant-config: main.yaml\n\
         connections:\n  local: {{driver: git, baseurl: repos, poll-delay: {}}}\n\
         executor: {{ansible-playbook: \"{}\", trusted-rw-paths: [{trusted_rw}], untrusted-rw-paths: [{shared}]}}\n{}",
        scenario.poll_delay,
        ansible.display(),
        scenario.server_extra,
    );
    std::fs::write(dir.path().join("portcullis.yaml"), server).expect("write server config");
    let mut untrusted = vec!["demo".to_string()];
    untrusted.extend(scenario.extra_projects.iter().cloned());
    let tenant = format!(
        "- tenant:\n    name: {TENANT}\n{}    source:\n      local:\n        config-projects: [config]\n        untrusted-projects: [{}]\n{}",
        scenario.tenant_options,
        untrusted.join(", "),
        scenario.tenant_items,
    );
    std::fs::write(dir.path().join("main.yaml"), tenant).expect("write tenant config");
}
