//! The text of a report, laid out as Zuul's reporters lay it out: the
//! pipeline's message for the result, the link to the buildset's page, one
//! line per job (its log URL, result, run time, and `(non-voting)` where so).
//! Sections are parted by a blank line; an empty one is left out.

use chrono::Duration;

use crate::result::BuildResult;

/// One job of a buildset, as its report line tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobLine {
    /// The job's name.
    pub name: String,
    /// Where its logs are, when it ran.
    pub log_url: Option<String>,
    /// How it ended; `None` when it never got a result.
    pub result: Option<BuildResult>,
    /// How long it ran, when it started and ended.
    pub duration: Option<Duration>,
    /// Whether its result counts.
    pub voting: bool,
    /// Why it ended in error, when it did.
    pub error: Option<String>,
}

/// The page of buildset `uuid` of `tenant` under the web root (which ends in `/`).
pub fn buildset_url(web_root: &str, tenant: &str, uuid: &str) -> String {
    format!("{web_root}t/{tenant}/buildset/{uuid}")
}

/// The report: `message`, the buildset's page, the jobs.
pub fn report_text(message: &str, buildset_url: &str, jobs: &[JobLine]) -> String {
    let sections = [
        message.trim_end().to_string(),
        buildset_url.to_string(),
        job_lines(jobs),
    ];
    let kept: Vec<String> = sections.into_iter().filter(|s| !s.is_empty()).collect();
    kept.join("\n\n")
}

/// A line per job with a result; jobs skipped because a job they depend on
/// failed are only counted, and jobs that never got a result are left out.
fn job_lines(jobs: &[JobLine]) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut skipped = 0;
    for job in jobs {
        let Some(result) = job.result else { continue };
        if result == BuildResult::Skipped {
            skipped += 1;
            continue;
        }
        let url = job.log_url.as_ref().map(|u| format!(" {u}"));
        let took = job.duration.map(|d| format!(" in {}", elapsed(d)));
        let non_voting = if job.voting { "" } else { " (non-voting)" };
        let error = job.error.as_ref().map(|e| format!(" ({e})"));
        lines.push(format!(
            "- {}{} : {result}{}{non_voting}{}",
            job.name,
            url.unwrap_or_default(),
            took.unwrap_or_default(),
            error.unwrap_or_default(),
        ));
    }
    if skipped > 0 {
        let noun = if skipped == 1 { "job" } else { "jobs" };
        lines.push(format!("Skipped {skipped} {noun}"));
    }
    lines.join("\n")
}

/// A run time as `1h 02m 03s`, `2m 03s` or `3s`.
fn elapsed(d: Duration) -> String {
    let total = d.num_seconds().max(0);
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, _) => format!("{minutes}m {seconds:02}s"),
        _ => format!("{hours}h {minutes:02}m {seconds:02}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(name: &str, result: Option<BuildResult>, seconds: i64, voting: bool) -> JobLine {
        JobLine {
            name: name.into(),
            log_url: result.map(|_| format!("https://logs.test/{name}/")),
            result,
            duration: result.map(|_| Duration::seconds(seconds)),
            voting,
            error: None,
        }
    }

    #[test]
    fn a_report_gives_the_message_the_buildset_page_and_a_line_per_job() {
        let jobs = [
            job("unit", Some(BuildResult::Success), 62, true),
            job("lint", Some(BuildResult::Failure), 5, false),
            job("docs", Some(BuildResult::Skipped), 0, true),
            job("never", None, 0, true),
        ];
        let url = buildset_url("https://ci.test/", "example", "abc");

        let text = report_text("Build succeeded.", &url, &jobs);

        let expected = "Build succeeded.\n\n\
                        https://ci.test/t/example/buildset/abc\n\n\
                        - unit https://logs.test/unit/ : SUCCESS in 1m 02s\n\
                        - lint https://logs.test/lint/ : FAILURE in 5s (non-voting)\n\
                        Skipped 1 job";
        assert_eq!(text, expected);
    }

    #[test]
    fn a_report_without_jobs_leaves_their_section_out() {
        let text = report_text("Merge Failed.", "https://ci.test/t/x/buildset/1", &[]);

        assert_eq!(text, "Merge Failed.\n\nhttps://ci.test/t/x/buildset/1");
    }

    #[test]
    fn run_times_count_hours_minutes_and_seconds_and_an_error_says_why() {
        assert_eq!(elapsed(Duration::seconds(3)), "3s");
        assert_eq!(elapsed(Duration::seconds(3723)), "1h 02m 03s");
        let broken = JobLine {
            error: Some("no nodes".into()),
            log_url: None,
            ..job("unit", Some(BuildResult::Error), 0, true)
        };
        assert_eq!(job_lines(&[broken]), "- unit : ERROR in 0s (no nodes)");
    }
}
