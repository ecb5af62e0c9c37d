//! The server config: `portcullis serve --config FILE`.
//!
//! Relative paths in it are relative to the folder of the file itself, so a
//! config can be moved together with its state and tenant config.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::ConfigError;

mod auth;
mod node_provider;

pub use auth::{default_realm, AuthKey, Authenticator};
pub use node_provider::{
    KubernetesProvider, NamespacePolicy, NodeProvider, PodLabel, DEFAULT_KUBECTL,
};

/// The whole server config, with every path resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// The file this was read from.
    pub path: PathBuf,
    /// Where the server keeps repos, logs, the SQLite database and the Ansible venv.
    pub state_dir: PathBuf,
    /// Database URL: `sqlite://PATH` (resolved to an absolute path) or `postgres://...`.
    pub database_url: String,
    /// Address the web server listens on.
    pub listen: SocketAddr,
    /// Public root URL of the web server (for log URLs); defaults to `http://{listen}/`.
    pub web_root: String,
    /// The tenant config file (Zuul's main.yaml).
    pub tenant_config: PathBuf,
    /// Connections by name.
    pub connections: BTreeMap<String, Connection>,
    /// How jobs are run.
    pub executor: ExecutorConfig,
    /// Authenticators of bearer tokens on the admin API, in file order; empty: no admin API.
    pub auth: Vec<Authenticator>,
    /// Where builds get nodes besides the executor's machine, in file order.
    pub node_providers: Vec<NodeProvider>,
}

/// A connection to a source of projects and events.
#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    /// Plain git repos, polled for ref updates.
    Git(GitConnection),
}

impl Connection {
    /// The driver name as written in the config (`git`, ...).
    pub fn driver(&self) -> &'static str {
        match self {
            Connection::Git(_) => "git",
        }
    }
}

/// A git connection: repos under a base URL or folder.
#[derive(Debug, Clone, PartialEq)]
pub struct GitConnection {
    /// URL prefix or (resolved, absolute) folder; a project's repo is `{baseurl}/{project}`.
    pub baseurl: String,
    /// Seconds between two polls of every project.
    pub poll_delay: f64,
    /// A folder of example projects: a project missing under a local `baseurl`
    /// is created from the subfolder of its name on first start (the quickstart).
    pub seed: Option<PathBuf>,
    /// Branches under this prefix are proposed changes, not branches (`review/`).
    pub review_prefix: String,
}

impl GitConnection {
    /// A connection to the repos in folder `baseurl`, with the config's defaults
    /// besides the poll delay (no seed, `review/` changes).
    pub fn folder(baseurl: &Path, poll_delay: f64) -> GitConnection {
        GitConnection {
            baseurl: baseurl.display().to_string(),
            poll_delay,
            seed: None,
            review_prefix: default_review_prefix(),
        }
    }
}

/// How the executor finds `ansible-playbook`.
#[derive(Debug, Clone, PartialEq)]
pub enum AnsiblePlaybook {
    /// Install ansible-core into a venv under the state dir on first use.
    Auto,
    /// Use this executable.
    Path(PathBuf),
}

/// Executor settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutorConfig {
    /// Where `ansible-playbook` comes from.
    pub ansible_playbook: AnsiblePlaybook,
    /// Host paths the build sandbox shows besides the build's own dirs.
    pub sandbox_paths: SandboxPaths,
    /// Bytes a build's work and log dirs may hold (Zuul's `disk-limit-per-job`).
    pub disk_limit: u64,
    /// Bytes of output a build may print before it is ended.
    pub output_limit: u64,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            ansible_playbook: AnsiblePlaybook::Auto,
            sandbox_paths: SandboxPaths::default(),
            disk_limit: DEFAULT_DISK_LIMIT_MIB * MIB,
            output_limit: DEFAULT_OUTPUT_LIMIT_MIB * MIB,
        }
    }
}

/// Zuul's default `disk-limit-per-job`, in MiB.
pub const DEFAULT_DISK_LIMIT_MIB: u64 = 250;

/// The default `output-limit-per-job`, in MiB.
pub const DEFAULT_OUTPUT_LIMIT_MIB: u64 = 100;

const MIB: u64 = 1024 * 1024;

/// Extra host paths in the build sandbox, by execution context, as Zuul's
/// executor options of these names: read-only or writable, for trusted
/// (config project) or untrusted playbooks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SandboxPaths {
    /// `trusted-ro-paths`.
    pub trusted_ro: Vec<PathBuf>,
    /// `trusted-rw-paths`.
    pub trusted_rw: Vec<PathBuf>,
    /// `untrusted-ro-paths`.
    pub untrusted_ro: Vec<PathBuf>,
    /// `untrusted-rw-paths`.
    pub untrusted_rw: Vec<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawServer {
    state_dir: Option<String>,
    #[serde(default)]
    database: RawDatabase,
    #[serde(default)]
    web: RawWeb,
    tenant_config: String,
    #[serde(default)]
    connections: BTreeMap<String, RawConnection>,
    #[serde(default)]
    executor: RawExecutor,
    #[serde(default)]
    auth: Vec<auth::RawAuthenticator>,
    #[serde(default)]
    node_providers: Vec<node_provider::RawNodeProvider>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWeb {
    listen: Option<String>,
    root: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "driver", rename_all = "kebab-case")]
enum RawConnection {
    Git(RawGit),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawGit {
    baseurl: String,
    #[serde(default = "default_poll_delay")]
    poll_delay: f64,
    seed: Option<String>,
    #[serde(default = "default_review_prefix")]
    review_prefix: String,
}

fn default_review_prefix() -> String {
    "review/".to_string()
}

fn default_poll_delay() -> f64 {
    2.0
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawExecutor {
    ansible_playbook: Option<String>,
    #[serde(default)]
    trusted_ro_paths: Vec<String>,
    #[serde(default)]
    trusted_rw_paths: Vec<String>,
    #[serde(default)]
    untrusted_ro_paths: Vec<String>,
    #[serde(default)]
    untrusted_rw_paths: Vec<String>,
    disk_limit_per_job: Option<u64>,
    output_limit_per_job: Option<u64>,
}

impl RawExecutor {
    /// The settings, relative paths taken from `base`.
    fn resolve(self, base: &Path) -> ExecutorConfig {
        let ansible_playbook = match self.ansible_playbook.as_deref() {
            None | Some("auto") => AnsiblePlaybook::Auto,
            Some(p) => AnsiblePlaybook::Path(base.join(p)),
        };
        let paths = |list: Vec<String>| list.iter().map(|p| base.join(p)).collect();
        let mib = |value: Option<u64>, default: u64| value.unwrap_or(default).saturating_mul(MIB);
        ExecutorConfig {
            ansible_playbook,
            sandbox_paths: SandboxPaths {
                trusted_ro: paths(self.trusted_ro_paths),
                trusted_rw: paths(self.trusted_rw_paths),
                untrusted_ro: paths(self.untrusted_ro_paths),
                untrusted_rw: paths(self.untrusted_rw_paths),
            },
            disk_limit: mib(self.disk_limit_per_job, DEFAULT_DISK_LIMIT_MIB),
            output_limit: mib(self.output_limit_per_job, DEFAULT_OUTPUT_LIMIT_MIB),
        }
    }
}

impl ServerConfig {
    /// Parses the text of the server config file at `path`.
    pub fn parse(path: &Path, text: &str) -> Result<ServerConfig, ConfigError> {
        let file = path.display().to_string();
        let raw: RawServer =
            serde_yaml::from_str(text).map_err(|e| ConfigError::from_yaml(&file, &e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let line_of = |key: &str| line_of_key(text, key);
        let state_dir = base.join(raw.state_dir.as_deref().unwrap_or("state"));
        let database_url = match raw.database.url {
            None => format!("sqlite://{}", state_dir.join("portcullis.db").display()),
            Some(url) => resolve_database_url(base, &url).ok_or_else(|| {
                ConfigError::in_file(
                    &file,
                    line_of("url"),
                    format!("database url {url:?} is neither sqlite://PATH nor postgres://..."),
                )
            })?,
        };
        let listen_text = raw.web.listen.as_deref().unwrap_or("127.0.0.1:9000");
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            ConfigError::in_file(
                &file,
                line_of("listen"),
                format!("web listen {listen_text:?} is not an address like 127.0.0.1:9000"),
            )
        })?;
        let web_root = raw.web.root.unwrap_or_else(|| format!("http://{listen}/"));
        let web_root = if web_root.ends_with('/') {
            web_root
        } else {
            format!("{web_root}/")
        };
        let mut connections = BTreeMap::new();
        for (name, raw) in raw.connections {
            let RawConnection::Git(git) = raw;
            if git.poll_delay.is_nan() || git.poll_delay <= 0.0 {
                return Err(ConfigError::in_file(
                    &file,
                    line_of("poll-delay"),
                    format!("connection {name}: poll-delay must be a positive number of seconds"),
                ));
            }
            let baseurl = if is_url(&git.baseurl) {
                git.baseurl
            } else {
                base.join(&git.baseurl).display().to_string()
            };
            let connection = GitConnection {
                baseurl,
                poll_delay: git.poll_delay,
                seed: git.seed.map(|s| base.join(s)),
                review_prefix: git.review_prefix,
            };
            connections.insert(name, Connection::Git(connection));
        }
        let auth = auth::resolve(&file, text, base, raw.auth)?;
        let node_providers = node_provider::resolve(&file, text, base, raw.node_providers)?;
        Ok(ServerConfig {
            path: path.to_path_buf(),
            state_dir,
            database_url,
            listen,
            web_root,
            tenant_config: base.join(raw.tenant_config),
            connections,
            executor: raw.executor.resolve(base),
            auth,
            node_providers,
        })
    }
}

fn is_url(s: &str) -> bool {
    s.contains("://") || s.starts_with("git@")
}

fn resolve_database_url(base: &Path, url: &str) -> Option<String> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return Some(format!("sqlite://{}", base.join(path).display()));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Some(url.to_string());
    }
    None
}

/// The 1-based line where `key:` first appears, for errors found after parsing.
fn line_of_key(text: &str, key: &str) -> usize {
    let needle = format!("{key}:");
    text.lines()
        .position(|l| l.trim_start().starts_with(&needle) || l.contains(&format!(" {needle}")))
        .map(|i| i + 1)
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ServerConfig, ConfigError> {
        ServerConfig::parse(Path::new("/srv/p/portcullis.yaml"), text)
    }

    #[test]
    fn relative_paths_are_resolved_against_the_config_folder() {
        let config = parse(
            "state-dir: state\ntenant-config: main.yaml\nconnections:\n  local: {driver: git, baseurl: repos, poll-delay: 0.5}\n",
        )
        .unwrap();
        assert_eq!(config.state_dir, Path::new("/srv/p/state"));
        assert_eq!(config.database_url, "sqlite:///srv/p/state/portcullis.db");
        assert_eq!(config.tenant_config, Path::new("/srv/p/main.yaml"));
        assert_eq!(
            config.connections["local"],
            Connection::Git(GitConnection {
                baseurl: "/srv/p/repos".into(),
                poll_delay: 0.5,
                seed: None,
                review_prefix: "review/".into(),
            })
        );
        assert_eq!(config.web_root, "http://127.0.0.1:9000/");
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line() {
        let err = parse("tenant-config: main.yaml\nstat-dir: x\n").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        assert!(err.message.contains("stat-dir"), "{err}");
        assert!(
            err.to_string().starts_with("/srv/p/portcullis.yaml:2:"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_connection_key_is_named_with_its_line() {
        let err = parse(
            "tenant-config: main.yaml\nconnections:\n  local:\n    driver: git\n    baseurl: r\n    pol-delay: 2\n",
        )
        .unwrap_err();
        assert!(err.message.contains("pol-delay"), "{err}");
        assert!(err.line >= 3, "{err}");
    }

    #[test]
    fn a_wrong_type_is_an_error_with_its_line() {
        let err = parse("tenant-config: main.yaml\nweb:\n  listen: [1, 2]\n").unwrap_err();
        assert_eq!(err.line, 3, "{err}");
    }

    #[test]
    fn the_executors_sandbox_paths_and_limits_are_read_in_zuuls_words() {
        let config = parse(
            "tenant-config: t.yaml\nexecutor:\n  trusted-ro-paths: [/opt/tools]\n  trusted-rw-paths: [artifacts]\n\
             \x20 untrusted-ro-paths: [/srv/cache]\n  untrusted-rw-paths: [/scratch]\n\
             \x20 disk-limit-per-job: 10\n  output-limit-per-job: 2\n",
        )
        .unwrap();
        let executor = config.executor;
        let paths = executor.sandbox_paths;
        assert_eq!(paths.trusted_ro, [Path::new("/opt/tools")]);
        assert_eq!(paths.trusted_rw, [Path::new("/srv/p/artifacts")]);
        assert_eq!(paths.untrusted_ro, [Path::new("/srv/cache")]);
        assert_eq!(paths.untrusted_rw, [Path::new("/scratch")]);
        assert_eq!(executor.disk_limit, 10 * MIB);
        assert_eq!(executor.output_limit, 2 * MIB);
    }

    #[test]
    fn without_an_executor_section_builds_get_zuuls_default_limits() {
        let executor = parse("tenant-config: t.yaml\n").unwrap().executor;
        assert_eq!(executor.disk_limit, 250 * MIB);
        assert_eq!(executor.output_limit, 100 * MIB);
        assert!(executor.sandbox_paths.trusted_rw.is_empty());
    }

    #[test]
    fn a_postgres_url_is_kept_as_is() {
        let config =
            parse("tenant-config: t.yaml\ndatabase: {url: \"postgres://u@127.0.0.1/db\"}\n")
                .unwrap();
        assert_eq!(config.database_url, "postgres://u@127.0.0.1/db");
    }
}
