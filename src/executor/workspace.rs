//! A build's work dir: the item's checkout, each playbook's repo, the
//! inventory, the zuul vars file and ansible.cfg.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use futures_util::future::BoxFuture;
use portcullis_actors::BuildRequest;
use portcullis_config::PlaybookRef;

use super::vars::{self, BuildPaths};
use super::{untrusted, ExecutorError};
use crate::merger::Merger;

/// Checks out a project's repo at a commit as a work tree in a folder.
pub trait Checkout: Send + Sync + 'static {
    /// Creates `dest` as a work tree of `project` (on `connection`) at `commit`.
    fn checkout<'a>(
        &'a self,
        connection: &'a str,
        project: &'a str,
        commit: &'a str,
        dest: &'a Path,
    ) -> BoxFuture<'a, Result<(), String>>;
}

impl Checkout for Merger {
    fn checkout<'a>(
        &'a self,
        connection: &'a str,
        project: &'a str,
        commit: &'a str,
        dest: &'a Path,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            Merger::checkout(self, connection, project, commit, dest)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// A playbook ready to run: where its file is and how Zuul names it in banners.
#[derive(Debug, Clone)]
pub struct PreparedPlaybook {
    /// The playbook file inside its checkout.
    pub path: PathBuf,
    /// `trusted` or `untrusted`, then `connection/project/path@branch`.
    pub banner: String,
    /// The secrets this playbook sees, as variables (decrypted); written for
    /// its run only (see `phase.rs`).
    pub secrets: portcullis_config::job::Vars,
    /// Whether it comes from a config project (Zuul's trusted context).
    pub trusted: bool,
}

/// The prepared playbooks of a build, by phase.
#[derive(Debug, Clone, Default)]
pub struct Phases {
    /// Pre-run playbooks in order.
    pub pre_run: Vec<PreparedPlaybook>,
    /// Run playbooks in order.
    pub run: Vec<PreparedPlaybook>,
    /// Post-run playbooks in order.
    pub post_run: Vec<PreparedPlaybook>,
}

/// Files the ansible-playbook invocations read.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The build's folders.
    pub paths: BuildPaths,
    /// `{ansible dir}/ansible.cfg`.
    pub ansible_cfg: PathBuf,
    /// `{ansible dir}/zuul-vars.yaml`: `zuul` again as extra vars, so it reaches the
    /// implicit localhost and wins over any job variable.
    pub zuul_vars_file: PathBuf,
    /// The playbooks to run.
    pub phases: Phases,
}

/// Checks out everything the build needs and writes its config files.
pub async fn prepare(
    request: &BuildRequest,
    paths: BuildPaths,
    checkout: &dyn Checkout,
) -> Result<Workspace, ExecutorError> {
    let work = &paths.work_root;
    create_dir(work).await?;
    create_dir(&super::console::local_log_dir(work)).await?;
    // Ansible's home, read-only in the sandbox (see `console::ansible_cfg_lines`).
    create_dir(&paths.ansible_dir.join("home")).await?;
    create_dir(&paths.log_root).await?;
    for (connection, project, commit) in src_checkouts(request) {
        let src = work.join(vars::src_dir(project));
        checkout_into(checkout, connection, project, commit, &src).await?;
    }

    let mut repos = PlaybookRepos::new(request, &paths.build_dir);
    let mut phases = Phases::default();
    for (refs, out) in [
        (&request.job.pre_run, &mut phases.pre_run),
        (&request.job.run, &mut phases.run),
        (&request.job.post_run, &mut phases.post_run),
    ] {
        for playbook in refs {
            out.push(repos.prepare(playbook, checkout).await?);
        }
    }

    let zuul = vars::zuul_vars(request, &paths, &hostname().await);
    write_yaml(&paths.inventory_file, &vars::inventory(request, &zuul)).await?;
    let zuul_vars_file = paths.ansible_dir.join("zuul-vars.yaml");
    write_yaml(&zuul_vars_file, &serde_json::json!({ "zuul": zuul })).await?;
    let ansible_cfg = paths.ansible_dir.join("ansible.cfg");
    write_file(&ansible_cfg, ansible_cfg_text(&paths)).await?;
    Ok(Workspace {
        paths,
        ansible_cfg,
        zuul_vars_file,
        phases,
    })
}

/// Playbook checkouts, one per (context, project, commit), shared by
/// playbooks, under `{build}/trusted` and `{build}/untrusted`.
struct PlaybookRepos<'r> {
    request: &'r BuildRequest,
    build_dir: &'r Path,
    dirs: HashMap<(bool, String, String, String), PathBuf>,
}

impl<'r> PlaybookRepos<'r> {
    fn new(request: &'r BuildRequest, build_dir: &'r Path) -> Self {
        PlaybookRepos {
            request,
            build_dir,
            dirs: HashMap::new(),
        }
    }

    async fn prepare(
        &mut self,
        playbook: &PlaybookRef,
        checkout: &dyn Checkout,
    ) -> Result<PreparedPlaybook, ExecutorError> {
        if !is_inside(&playbook.path) {
            return Err(ExecutorError::Workspace(format!(
                "playbook path `{}` of {} leaves its repo",
                playbook.path, playbook.project
            )));
        }
        let commit = playbook_commit(self.request, playbook).to_string();
        let context = if playbook.trusted {
            "trusted"
        } else {
            "untrusted"
        };
        let key = (
            playbook.trusted,
            playbook.connection.clone(),
            playbook.project.clone(),
            commit.clone(),
        );
        let dir = match self.dirs.get(&key) {
            Some(dir) => dir.clone(),
            None => {
                let dir = self
                    .build_dir
                    .join(context)
                    .join(format!("project_{}", self.dirs.len()))
                    .join(&playbook.project);
                checkout_into(
                    checkout,
                    &playbook.connection,
                    &playbook.project,
                    &commit,
                    &dir,
                )
                .await?;
                self.dirs.insert(key, dir.clone());
                dir
            }
        };
        let path = dir.join(&playbook.path);
        if !playbook.trusted {
            untrusted::refuse_plugins(&dir, &path).await?;
        }
        Ok(PreparedPlaybook {
            secrets: playbook.secrets.clone(),
            trusted: playbook.trusted,
            path,
            banner: format!(
                "{context} : {}/{}/{}@{}",
                playbook.connection, playbook.project, playbook.path, playbook.branch
            ),
        })
    }
}

/// The repos checked out under `src/`, as (connection, project, commit): every
/// project of the item's speculative state, the item's own first; without a
/// state (a plain ref), the item's project at its new revision. A project name
/// two connections share gets the first one's.
fn src_checkouts(request: &BuildRequest) -> Vec<(&str, &str, &str)> {
    let item = &request.item;
    let own = (item.connection.as_str(), item.project.as_str());
    let own_commit = state_commit(request, own.0, own.1).unwrap_or(&item.newrev);
    let mut checkouts = vec![(own.0, own.1, own_commit)];
    for ((connection, project), commit) in &request.state.commits {
        if !checkouts.iter().any(|(_, p, _)| p == project) {
            checkouts.push((connection, project, commit));
        }
    }
    checkouts
}

/// The commit of (connection, project) in the item's speculative state.
fn state_commit<'r>(request: &'r BuildRequest, connection: &str, project: &str) -> Option<&'r str> {
    let key = (connection.to_string(), project.to_string());
    request.state.commits.get(&key).map(String::as_str)
}

/// The commit a playbook runs from. An untrusted playbook of a project in the
/// speculative state runs as the state has it, so a change is tested with its
/// own playbooks (and those of the changes ahead). A trusted playbook never
/// runs from an unmerged change: it runs as the config was read.
fn playbook_commit<'r>(request: &'r BuildRequest, playbook: &'r PlaybookRef) -> &'r str {
    let item = &request.item;
    if playbook.trusted && item.change.is_some() {
        return &playbook.commit;
    }
    if let Some(commit) = state_commit(request, &playbook.connection, &playbook.project) {
        return commit;
    }
    if playbook.connection == item.connection && playbook.project == item.project {
        // A pushed ref is tested with its own playbooks.
        return &item.newrev;
    }
    &playbook.commit
}

/// True when `path` is relative and never climbs out with `..`.
fn is_inside(path: &str) -> bool {
    Path::new(path).components().all(|c| {
        matches!(
            c,
            std::path::Component::Normal(_) | std::path::Component::CurDir
        )
    })
}

async fn checkout_into(
    checkout: &dyn Checkout,
    connection: &str,
    project: &str,
    commit: &str,
    dest: &Path,
) -> Result<(), ExecutorError> {
    if let Some(parent) = dest.parent() {
        create_dir(parent).await?;
    }
    checkout
        .checkout(connection, project, commit, dest)
        .await
        .map_err(|reason| ExecutorError::Checkout {
            project: project.to_string(),
            commit: commit.to_string(),
            reason,
        })
}

async fn hostname() -> String {
    match tokio::fs::read_to_string("/proc/sys/kernel/hostname").await {
        Ok(name) if !name.trim().is_empty() => name.trim().to_string(),
        _ => "localhost".to_string(),
    }
}

fn ansible_cfg_text(paths: &BuildPaths) -> String {
    let work = paths.work_root.display();
    format!(
        "[defaults]\n\
         inventory = {inventory}\n\
         host_key_checking = False\n\
         retry_files_enabled = False\n\
         {console}\
         display_ok_hosts = True\n\
         display_skipped_hosts = True\n\
         interpreter_python = auto_silent\n\
         localhost_warning = False\n\
         nocolor = True\n\
         local_tmp = {work}/.ansible/tmp\n\
         remote_tmp = {work}/.ansible/remote-tmp\n\
         [connection]\n\
         pipelining = True\n",
        inventory = paths.inventory_file.display(),
        console = super::console::ansible_cfg_lines(&paths.ansible_dir),
    )
}

async fn create_dir(dir: &Path) -> Result<(), ExecutorError> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| ExecutorError::Workspace(format!("creating {}: {e}", dir.display())))
}

async fn write_yaml(path: &Path, value: &serde_json::Value) -> Result<(), ExecutorError> {
    let text = serde_yaml::to_string(value)
        .map_err(|e| ExecutorError::Workspace(format!("rendering {}: {e}", path.display())))?;
    write_file(path, text).await
}

async fn write_file(path: &Path, text: String) -> Result<(), ExecutorError> {
    tokio::fs::write(path, text)
        .await
        .map_err(|e| ExecutorError::Workspace(format!("writing {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use portcullis_actors::change::{MergeMode, MergeState};

    use super::*;
    use crate::merger::testing::change_item;

    /// A build of change 7 (patchset `p7`) of `demo`, whose state also holds `lib`.
    fn change_build() -> BuildRequest {
        let key = |project: &str| ("local".to_string(), project.to_string());
        let state = MergeState {
            commits: [(key("demo"), "s-demo".into()), (key("lib"), "s-lib".into())].into(),
        };
        let item = change_item("demo", "master", 7, "p7", MergeMode::Merge).item;
        BuildRequest {
            uuid: "b".into(),
            buildset_uuid: "s".into(),
            tenant: "t".into(),
            pipeline: "gate".into(),
            item,
            job: Default::default(),
            state,
            parent_data: serde_json::Value::Null,
            child_jobs: Vec::new(),
            hold: false,
        }
    }

    fn playbook(project: &str, trusted: bool) -> PlaybookRef {
        PlaybookRef {
            connection: "local".into(),
            project: project.into(),
            commit: format!("{project}-config"),
            path: "run.yaml".into(),
            trusted,
            ..Default::default()
        }
    }

    #[test]
    fn a_build_with_a_speculative_state_checks_out_every_project_of_it() {
        let request = change_build();

        let got = src_checkouts(&request);

        let expected = vec![("local", "demo", "s-demo"), ("local", "lib", "s-lib")];
        assert_eq!(got, expected, "the state, not the patchset alone");
    }

    #[test]
    fn a_build_without_a_state_checks_out_the_item_at_its_new_revision() {
        let mut request = change_build();
        request.state = MergeState::default();

        assert_eq!(src_checkouts(&request), vec![("local", "demo", "p7")]);
    }

    #[test]
    fn untrusted_playbooks_run_from_the_state_and_trusted_ones_never_from_a_change() {
        let request = change_build();

        assert_eq!(
            playbook_commit(&request, &playbook("demo", false)),
            "s-demo"
        );
        assert_eq!(playbook_commit(&request, &playbook("lib", false)), "s-lib");
        assert_eq!(
            playbook_commit(&request, &playbook("other", false)),
            "other-config"
        );
        assert_eq!(
            playbook_commit(&request, &playbook("demo", true)),
            "demo-config"
        );
    }

    #[test]
    fn a_playbook_path_may_not_leave_its_repo() {
        assert!(is_inside("playbooks/run.yaml"));
        assert!(is_inside("./run.yaml"));
        assert!(!is_inside("../other/run.yaml"));
        assert!(!is_inside("playbooks/../../run.yaml"));
        assert!(!is_inside("/etc/run.yaml"));
    }
}
