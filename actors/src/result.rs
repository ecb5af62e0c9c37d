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
    /// The item could not be merged onto the items ahead (no jobs ran).
    MergeConflict,
    /// Every job succeeded but the change did not merge when reported.
    MergeFailure,
    /// The job did not run because a job it depends on did not succeed.
    Skipped,
    /// No nodes could be had for the build.
    NodeFailure,
    /// The build's dirs grew past the executor's disk limit; it was ended.
    DiskFull,
    /// The build was retried as often as the job allows and never finished.
    RetryLimit,
    /// The item left the pipeline before it reported (dequeued, superseded).
    Dequeued,
    /// The item's job graph could not be frozen (a broken config); no jobs ran.
    ConfigError,
    /// The item left without running any jobs (its file matchers took none).
    NoJobs,
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
            BuildResult::MergeConflict => "MERGE_CONFLICT",
            BuildResult::MergeFailure => "MERGE_FAILURE",
            BuildResult::Skipped => "SKIPPED",
            BuildResult::NodeFailure => "NODE_FAILURE",
            BuildResult::DiskFull => "DISK_FULL",
            BuildResult::RetryLimit => "RETRY_LIMIT",
            BuildResult::Dequeued => "DEQUEUED",
            BuildResult::ConfigError => "CONFIG_ERROR",
            BuildResult::NoJobs => "NO_JOBS",
        }
    }
}

impl std::fmt::Display for BuildResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of a buildset, as Zuul decides it: SUCCESS when every voting
/// build succeeded or was skipped, and at least one build was not skipped.
pub fn buildset_result(builds: impl IntoIterator<Item = (bool, BuildResult)>) -> BuildResult {
    let mut all_skipped = true;
    let mut failed = false;
    for (voting, result) in builds {
        all_skipped &= result == BuildResult::Skipped;
        failed |= voting && !matches!(result, BuildResult::Success | BuildResult::Skipped);
    }
    if failed || all_skipped {
        BuildResult::Failure
    } else {
        BuildResult::Success
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_builds_do_not_fail_a_buildset_unless_every_build_was_skipped() {
        use BuildResult::*;
        assert_eq!(buildset_result([(true, Success), (true, Skipped)]), Success);
        assert_eq!(buildset_result([(true, Skipped), (true, Skipped)]), Failure);
        assert_eq!(
            buildset_result([(false, Failure), (true, Success)]),
            Success
        );
        assert_eq!(
            buildset_result([(true, NodeFailure), (true, Success)]),
            Failure
        );
    }

    #[test]
    fn new_results_are_spelled_as_zuul_spells_them() {
        let spelled = serde_json::to_string(&BuildResult::MergeConflict).unwrap();
        assert_eq!(spelled, "\"MERGE_CONFLICT\"");
        assert_eq!(BuildResult::RetryLimit.as_str(), "RETRY_LIMIT");
    }
}
