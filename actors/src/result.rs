//! Build and buildset results, spelled as Zuul spells them.

use serde::{Deserialize, Serialize};

/// How a build ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BuildResult {
    /// Every playbook succeeded.
    Success,
    /// A pre-run or run playbook failed.
    Failure,
    /// The run succeeded but a post-run playbook failed.
    PostFailure,
    /// The run phase went over the job's timeout and was killed.
    TimedOut,
    /// The build could not run or its runner died.
    Error,
    /// The build was canceled before it ended.
    Canceled,
}

impl BuildResult {
    /// Zuul's name of the result.
    pub fn as_str(self) -> &'static str {
        match self {
            BuildResult::Success => "SUCCESS",
            BuildResult::Failure => "FAILURE",
            BuildResult::PostFailure => "POST_FAILURE",
            BuildResult::TimedOut => "TIMED_OUT",
            BuildResult::Error => "ERROR",
            BuildResult::Canceled => "CANCELED",
        }
    }
}

impl std::fmt::Display for BuildResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of a buildset: SUCCESS when every voting build succeeded.
pub fn buildset_result(builds: impl IntoIterator<Item = (bool, BuildResult)>) -> BuildResult {
    let failed = builds
        .into_iter()
        .any(|(voting, result)| voting && result != BuildResult::Success);
    if failed {
        BuildResult::Failure
    } else {
        BuildResult::Success
    }
}
