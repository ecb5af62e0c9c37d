//! Gating on plain git, as a developer and a reviewer see it: review
//! branches pushed from a developer's clone, the change numbers the server
//! gives them, a gate pipeline, jobs the test holds and releases, and what
//! the status shows of a queue.
//!
//! | item | what it is |
//! |---|---|
//! | [`Developer`] | a clone of a project that pushes review branches ([`Proposal`]s) |
//! | [`change_number`] | the number the server gave a patchset (from its change book) |
//! | [`gate_config`], [`managers_config`] | the config project's zuul.yaml: `gate`; `deploy` and `promote` |
//! | [`JobGate`] | the `gatekeeper` job: records the tree it tests, waits for release, fails on `FAIL` |
//! | [`queue_items`], [`item_ids`] | a pipeline's items in the status, in queue order |

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::server::{BASE_JOB, TENANT};
use crate::{wait, Repo, TestServer};

/// A project stanza running the gatekeeper job in `pipelines`, in the shared
/// change `queue` when given.
pub fn project_stanza(pipelines: &[&str], queue: Option<&str>) -> String {
    let mut stanza = "- project:\n".to_string();
    if let Some(queue) = queue {
        stanza.push_str(&format!("    queue: {queue}\n"));
    }
    for pipeline in pipelines {
        stanza.push_str(&format!("    {pipeline}:\n      jobs: [gatekeeper]\n"));
    }
    stanza
}

/// How long a gating step may take before the test fails.
pub const STEP: Duration = Duration::from_secs(120);

/// A developer's clone of a project, pushing review branches to it.
pub struct Developer {
    _dir: TempDir,
    clone: Repo,
}

/// A pushed patchset: its review branch and head commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The review branch, e.g. `review/master/a`.
    pub branch: String,
    /// The head commit (the patchset).
    pub sha: String,
}

impl Developer {
    /// Clones `upstream`.
    pub fn clone_of(upstream: &Repo) -> Developer {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("clone");
        let out = std::process::Command::new("git")
            .args(["clone", "-q"])
            .arg(upstream.path())
            .arg(&path)
            .output()
            .expect("run git clone");
        assert!(out.status.success(), "git clone: {out:?}");
        Developer {
            _dir: dir,
            clone: Repo::open(&path),
        }
    }

    /// Proposes `files` to master as `review/master/{topic}`, on master's current head.
    pub fn propose(&self, topic: &str, message: &str, files: &[(&str, &str)]) -> Proposal {
        self.clone.git(&["fetch", "-q", "origin"]);
        self.push_on(
            "origin/master",
            &format!("review/master/{topic}"),
            message,
            files,
        )
    }

    /// Proposes `files` as `review/master/{topic}` on top of `parent`'s patchset,
    /// which becomes the new change's git parent.
    pub fn propose_on(
        &self,
        parent: &Proposal,
        topic: &str,
        message: &str,
        files: &[(&str, &str)],
    ) -> Proposal {
        let branch = format!("review/master/{topic}");
        self.push_on(&parent.sha, &branch, message, files)
    }

    /// Commits `files` on `base` (a commit or `origin/master`) without pushing; answers the commit.
    pub fn commit_on(&self, base: &str, message: &str, files: &[(&str, &str)]) -> String {
        self.clone.git(&["fetch", "-q", "origin"]);
        self.clone.git(&["checkout", "-q", "--detach", base]);
        self.clone.commit(message, files)
    }

    /// Pushes each (topic, commit) to `review/master/{topic}` in one push, so
    /// the server sees them all in one poll.
    pub fn push_together(&self, changes: &[(&str, &str)]) -> Vec<Proposal> {
        let proposals: Vec<Proposal> = changes
            .iter()
            .map(|(topic, sha)| Proposal {
                branch: format!("review/master/{topic}"),
                sha: sha.to_string(),
            })
            .collect();
        let mut args = vec!["push".to_string(), "-q".into(), "origin".into()];
        let refspecs = proposals
            .iter()
            .map(|p| format!("+{}:refs/heads/{}", p.sha, p.branch));
        args.extend(refspecs);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.clone.git(&args);
        proposals
    }

    /// Pushes a new patchset of `proposal`: its parent plus `files`, force-pushed.
    pub fn amend(&self, proposal: &Proposal, message: &str, files: &[(&str, &str)]) -> Proposal {
        let parent = format!("{}^", proposal.sha);
        self.push_on(&parent, &proposal.branch, message, files)
    }

    /// Commits `files` on `base` and force-pushes the commit to `branch`.
    fn push_on(&self, base: &str, branch: &str, message: &str, files: &[(&str, &str)]) -> Proposal {
        self.clone.git(&["checkout", "-q", "--detach", base]);
        let sha = self.clone.commit(message, files);
        let refspec = format!("+HEAD:refs/heads/{branch}");
        self.clone.git(&["push", "-q", "origin", &refspec]);
        Proposal {
            branch: branch.to_string(),
            sha,
        }
    }
}

/// One change in the server's change book (README: "Changes on plain git").
fn book_number(book: &Value, sha: &str) -> Option<u64> {
    let changes = book["changes"].as_array()?;
    let found = changes.iter().find(|c| c["patchset"] == sha)?;
    found["number"].as_u64()
}

/// Waits until the server has seen `proposal` and answers its change number.
pub async fn change_number(server: &TestServer, proposal: &Proposal) -> u64 {
    let book = server.state_dir().join("git/local.changes.json");
    wait::until(
        &format!("a change number for {}", proposal.branch),
        STEP,
        || async {
            let text = std::fs::read(&book).ok()?;
            book_number(&serde_json::from_slice(&text).ok()?, &proposal.sha)
        },
    )
    .await
}

/// The config project's zuul.yaml: `gate`, a dependent pipeline of changes
/// that merges on success, with `window` as given (e.g. `"    window: 4\n"`),
/// and the change queue `integrated` that projects may share.
pub fn gate_config(window: &str) -> String {
    format!(
        "- pipeline:\n    name: gate\n    manager: dependent\n{window}\
         \x20   trigger: {{local: [{{event: patchset-created}}]}}\n\
         \x20   success: {{local: {{merge: true}}}}\n\
         \x20   failure: {{local: {{comment: failed}}}}\n\
         - queue: {{name: integrated}}\n{BASE_JOB}"
    )
}

/// The config project's zuul.yaml: `deploy` (serial) and `promote`
/// (supercedent), both run on every push to master.
pub fn managers_config() -> String {
    let on_master = "    trigger: {local: [{event: ref-updated, ref: ^refs/heads/master$}]}\n";
    format!(
        "- pipeline:\n    name: deploy\n    manager: serial\n{on_master}\
         - pipeline:\n    name: promote\n    manager: supercedent\n{on_master}{BASE_JOB}"
    )
}

/// The `gatekeeper` job, which the test steers through files: each build
/// writes the names under `changes/` of the tree it tests to
/// `records/{newrev}` (one line per build), waits until `gates/all` or
/// `gates/{newrev}` exists, then fails when the tree holds a file `FAIL`.
pub struct JobGate {
    dir: TempDir,
}

impl Default for JobGate {
    fn default() -> Self {
        let dir = crate::shared::shared_tempdir();
        for sub in ["gates", "records"] {
            crate::shared::shared_dir(&dir.path().join(sub));
        }
        JobGate { dir }
    }
}

impl JobGate {
    fn gates(&self) -> PathBuf {
        self.dir.path().join("gates")
    }

    fn records(&self) -> PathBuf {
        self.dir.path().join("records")
    }

    /// Commits the job, its playbook and `stanza` (see [`project_stanza`]) to
    /// `repo`'s master; answers the commit.
    pub fn install(&self, repo: &Repo, stanza: &str) -> String {
        let config =
            format!("- job:\n    name: gatekeeper\n    run: playbooks/gatekeeper.yaml\n{stanza}");
        let playbook = self.playbook();
        let files = [
            (".zuul.yaml", config.as_str()),
            ("playbooks/gatekeeper.yaml", &playbook),
        ];
        repo.commit("Add the gatekeeper job", &files)
    }

    fn playbook(&self) -> String {
        let tree = "{{ zuul.executor.work_root }}/{{ zuul.project.src_dir }}";
        let (gates, records) = (self.gates(), self.records());
        let (gates, records) = (gates.display(), records.display());
        format!(
            "- hosts: all\n  gather_facts: false\n  tasks:\n\
             \x20   - name: Record the tree under test\n\
             \x20     ansible.builtin.shell: \"umask 0; echo $(ls {tree}/changes 2>/dev/null) >> {records}/{{{{ zuul.newrev }}}}\"\n\
             \x20   - name: Wait for the test to release this change\n\
             \x20     ansible.builtin.shell: \"until [ -e {gates}/all ] || [ -e {gates}/{{{{ zuul.newrev }}}} ]; do sleep 0.05; done\"\n\
             \x20     timeout: 170\n\
             \x20   - name: Fail when the tree says so\n\
             \x20     ansible.builtin.shell: \"test ! -e {tree}/FAIL\"\n"
        )
    }

    /// Lets the builds of the patchset `sha` go on.
    pub fn release(&self, sha: &str) {
        touch(&self.gates().join(sha));
    }

    /// Lets every build go on, now and from now on.
    pub fn release_all(&self) {
        touch(&self.gates().join("all"));
    }

    /// The trees the builds of patchset `sha` tested so far, each as the sorted
    /// names under `changes/`.
    pub fn trees(&self, sha: &str) -> Vec<Vec<String>> {
        let text = std::fs::read_to_string(self.records().join(sha)).unwrap_or_default();
        text.lines()
            .map(|line| line.split_whitespace().map(str::to_string).collect())
            .collect()
    }

    /// Waits until `n` builds of patchset `sha` have started, and answers their trees.
    pub async fn until_runs(&self, sha: &str, n: usize) -> Vec<Vec<String>> {
        wait::until(&format!("{n} builds of {sha}"), STEP, || async {
            let trees = self.trees(sha);
            (trees.len() >= n).then_some(trees)
        })
        .await
    }
}

fn touch(path: &Path) {
    std::fs::write(path, b"").expect("write a gate file");
}

/// The items of `pipeline` in a status document, in queue order.
pub fn queue_items(status: &Value, pipeline: &str) -> Vec<Value> {
    let pipelines = status["pipelines"].as_array().cloned().unwrap_or_default();
    let Some(found) = pipelines.iter().find(|p| p["name"] == pipeline) else {
        return Vec::new();
    };
    let queues = found["change_queues"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let heads = queues
        .iter()
        .flat_map(|q| q["heads"].as_array().cloned().unwrap_or_default());
    heads
        .flat_map(|h| h.as_array().cloned().unwrap_or_default())
        .collect()
}

/// The ids (`N,P` for a change) of `pipeline`'s items, in queue order.
pub fn item_ids(status: &Value, pipeline: &str) -> Vec<String> {
    let items = queue_items(status, pipeline);
    let ids = items.iter().filter_map(|i| i["refs"][0]["id"].as_str());
    ids.map(str::to_string).collect()
}

/// The `N,P` id of change `number` at patchset `sha`.
pub fn change_id(number: u64, proposal: &Proposal) -> String {
    format!("{number},{}", proposal.sha)
}

impl TestServer {
    /// The tenant's status document.
    pub async fn status(&self) -> Value {
        self.get(&format!("/api/tenant/{TENANT}/status")).await.1
    }

    /// Waits until the ids of `pipeline`'s items are `ids`.
    pub async fn until_queue(&self, pipeline: &str, ids: &[String]) {
        let what = format!("{pipeline} to hold {ids:?}");
        wait::until_seen(&what, STEP, || async {
            let path = format!("/api/tenant/{TENANT}/status");
            let Some((_, status)) = self.try_get(&path).await else {
                return Err("no status".to_string());
            };
            let held = item_ids(&status, pipeline);
            match held == ids {
                true => Ok(()),
                false => Err(format!("{held:?}")),
            }
        })
        .await
    }

    /// Waits until the buildset of `pipeline` for `newrev` is complete, and answers its result.
    pub async fn buildset_result(&self, pipeline: &str, newrev: &str) -> String {
        let path = format!(
            "/api/tenant/{TENANT}/buildsets?pipeline={pipeline}&newrev={newrev}&complete=true"
        );
        wait::until(&format!("{pipeline} to report {newrev}"), STEP, || async {
            let (_, sets) = self.try_get(&path).await?;
            let result = sets.as_array()?.first()?["result"].as_str()?;
            Some(result.to_string())
        })
        .await
    }
}

/// What landed on `repo`'s master since `base`, oldest first: the subject
/// of each commit along the first parents, a merge commit's
/// `Merge change N: ` prefix left off (a fast-forward shows the change's own).
pub fn history(repo: &Repo, base: &str) -> Vec<String> {
    let range = format!("{base}..master");
    let log = repo.git(&["log", "--first-parent", "--reverse", "--format=%s", &range]);
    log.lines()
        .map(|s| unmerged_subject(s).to_string())
        .collect()
}

fn unmerged_subject(subject: &str) -> &str {
    let Some(rest) = subject.strip_prefix("Merge change ") else {
        return subject;
    };
    match rest.split_once(": ") {
        Some((number, own)) if number.chars().all(|c| c.is_ascii_digit()) => own,
        _ => subject,
    }
}

/// Whether any job of a status item has started (has a build uuid).
pub fn has_started(item: &Value) -> bool {
    let jobs = item["jobs"].as_array().cloned().unwrap_or_default();
    jobs.iter().any(|j| j["uuid"].is_string())
}
