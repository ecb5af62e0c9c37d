//! Running the git CLI without blocking the async runtime.
//!
//! We drive the `git` executable rather than a git library: the CLI works
//! with every kind of remote a user can name (a local path, file://, ssh,
//! https with their credential helpers), and what it does is exactly what
//! an operator reproduces by hand when debugging a repo. The one exception
//! is the layout load's read of local-folder repos (`local_repo`), where a
//! process per project cost seconds per thousand projects; it falls back to
//! this CLI for anything it does not know.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Stdio;

use tokio::process::Command;

use super::MergerError;

/// One git invocation being assembled.
pub(crate) struct Git {
    command: Command,
    shown: Vec<String>,
}

impl Git {
    /// `git` run in `dir` (or the current directory).
    pub(crate) fn new(dir: Option<&Path>) -> Git {
        let mut command = Command::new("git");
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        // A git asking for a password on a terminal would hang a poll forever.
        command
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        Git {
            command,
            shown: Vec::new(),
        }
    }

    /// Adds an argument.
    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Git {
        self.shown
            .push(redact(&arg.as_ref().to_string_lossy()).into_owned());
        self.command.arg(arg);
        self
    }

    /// Adds several arguments.
    pub(crate) fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(self, args: I) -> Git {
        args.into_iter().fold(self, Git::arg)
    }

    /// Sets an environment variable for this run.
    pub(crate) fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Git {
        self.command.env(key, value);
        self
    }

    /// Runs it; its stdout when it exits 0, else an error with its stderr.
    pub(crate) async fn output(self) -> Result<Vec<u8>, MergerError> {
        let (ok, stdout, error) = self.run().await?;
        match ok {
            true => Ok(stdout),
            false => Err(error),
        }
    }

    /// Runs it; its stdout as text when it exits 0.
    pub(crate) async fn text(self) -> Result<String, MergerError> {
        let bytes = self.output().await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Runs a yes/no question (`cat-file -e`, `rev-parse --verify`): a non-zero exit means no.
    pub(crate) async fn succeeds(self) -> Result<bool, MergerError> {
        Ok(self.run().await?.0)
    }

    async fn run(mut self) -> Result<(bool, Vec<u8>, MergerError), MergerError> {
        let command = format!("git {}", self.shown.join(" "));
        let output = self
            .command
            .output()
            .await
            .map_err(|source| MergerError::Spawn {
                command: command.clone(),
                source,
            })?;
        let error = MergerError::Git {
            command,
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        };
        Ok((output.status.success(), output.stdout, error))
    }
}

/// Hides the password or token in a URL's user info (`https://user:token@host`).
fn redact(arg: &str) -> std::borrow::Cow<'_, str> {
    let Some(scheme_end) = arg.find("://") else {
        return arg.into();
    };
    let rest = &arg[scheme_end + 3..];
    let host_start = rest.find('/').unwrap_or(rest.len());
    match rest[..host_start].rfind('@') {
        Some(at) => format!("{}***{}", &arg[..scheme_end + 3], &rest[at..]).into(),
        None => arg.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_a_url_are_hidden_from_error_messages() {
        assert_eq!(
            redact("https://bot:s3cret@example.com/org/repo"),
            "https://***@example.com/org/repo"
        );
        assert_eq!(redact("/srv/repos/demo"), "/srv/repos/demo");
        assert_eq!(redact("https://example.com/a@b"), "https://example.com/a@b");
    }

    #[tokio::test]
    async fn a_failing_command_reports_its_arguments_status_and_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let err = Git::new(Some(dir.path()))
            .args(["rev-parse", "--verify", "no-such-ref"])
            .output()
            .await
            .unwrap_err();
        let MergerError::Git {
            command,
            status,
            stderr,
        } = &err
        else {
            panic!("unexpected error {err:?}");
        };
        assert_eq!(command, "git rev-parse --verify no-such-ref");
        assert!(status.contains("exit status"), "{status}");
        assert!(!stderr.is_empty());
    }
}
