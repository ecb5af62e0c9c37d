//! What the poller reads of a new patchset: its message and the commits it
//! brings that its target branch lacks (where its git parents are found).

use super::{check_revision, fetch, Git, Merger, MergerError};

/// At most this many commits of a patchset are listed: a review branch built
/// on an unrelated history must not make a poll walk all of it.
pub const MAX_PATCHSET_COMMITS: usize = 1000;

/// A patchset's head message and commits, as `git log` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatchsetCommits {
    /// The head commit's full message.
    pub message: String,
    /// The head commit, then the commits it builds on that the base lacks, nearest first.
    pub commits: Vec<String>,
}

impl Merger {
    /// The message of `commit` and its commits that `base` lacks (only `commit`
    /// itself when there is no base). One `git log` when the cache holds both
    /// commits; otherwise one fetch and the `git log` again, so a poll that
    /// brings several new patchsets fetches once.
    pub async fn patchset_commits(
        &self,
        connection: &str,
        project: &str,
        commit: &str,
        base: Option<&str>,
    ) -> Result<PatchsetCommits, MergerError> {
        let url = self.repo_url(connection, project)?;
        check_revision(project, commit)?;
        if let Some(base) = base {
            check_revision(project, base)?;
        }
        let lock = self.lock(connection, project);
        let _guard = lock.lock().await;
        let cache = self.ensure_cache(connection, project).await?;
        let log = || {
            let limit = match base {
                Some(_) => format!("--max-count={MAX_PATCHSET_COMMITS}"),
                None => "--max-count=1".to_string(),
            };
            let git = Git::new(Some(&cache)).args([
                "log",
                "-z",
                "--topo-order",
                "--format=%H%n%B",
                &limit,
                commit,
            ]);
            let git = match base {
                Some(base) => git.args(["--not", base]),
                None => git,
            };
            git.arg("--").text()
        };
        let out = match log().await {
            Ok(out) => out,
            Err(MergerError::Git { .. }) => {
                fetch(&cache, &url).await?;
                log().await.map_err(|_| MergerError::CommitNotFound {
                    project: project.to_string(),
                    commit: commit.to_string(),
                })?
            }
            Err(e) => return Err(e),
        };
        Ok(parse_log(&out))
    }
}

/// `git log -z --format=%H%n%B` output: NUL-separated records, each a sha on
/// its first line and the message after it.
fn parse_log(out: &str) -> PatchsetCommits {
    let mut parsed = PatchsetCommits::default();
    for record in out.split('\0').filter(|r| !r.trim().is_empty()) {
        let (sha, message) = record.split_once('\n').unwrap_or((record, ""));
        if parsed.commits.is_empty() {
            parsed.message = message.to_string();
        }
        parsed.commits.push(sha.trim().to_string());
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merger::testing::{merger, TestRepo};

    #[tokio::test]
    async fn a_patchset_lists_its_commits_the_target_lacks_nearest_first() {
        let dir = tempfile::tempdir().unwrap();
        let repos = dir.path().join("repos");
        let demo = TestRepo::init(&repos.join("demo")).await;
        let master = demo.commit(&[("a", "1")], "first").await;
        let below = demo
            .branch_commit("review/b", &master, &[("b", "1")], "B")
            .await;
        let head = demo
            .branch_commit("review/c", &below, &[("c", "1")], "C\n\nDepends-On: x~1")
            .await;
        let merger = merger(&repos, &dir.path().join("cache"));

        let read = merger.patchset_commits("local", "demo", &head, Some(&master));
        let read = read.await.unwrap();
        let alone = merger.patchset_commits("local", "demo", &head, None);
        let alone = alone.await.unwrap();
        let gone = "1".repeat(40);
        let lost = merger.patchset_commits("local", "demo", &head, Some(&gone));

        assert_eq!(read.commits, vec![head.clone(), below]);
        assert_eq!(read.message, "C\n\nDepends-On: x~1\n");
        assert_eq!(alone.commits, vec![head.clone()]);
        assert!(lost.await.is_err(), "a target that is nowhere is an error");
    }

    #[test]
    fn a_log_gives_the_head_message_and_every_sha_in_order() {
        let out = "aaa\nTop\n\nDepends-On: x~1\n\0bbb\nBelow\n\0";

        let parsed = parse_log(out);

        assert_eq!(parsed.message, "Top\n\nDepends-On: x~1\n");
        assert_eq!(parsed.commits, vec!["aaa", "bbb"]);
        assert_eq!(parse_log(""), PatchsetCommits::default());
    }
}
