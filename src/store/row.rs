//! What the queries return: plain rows, times in UTC.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::Queryable;

/// One buildset: a queue item's run through a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildsetRow {
    /// Database id; paging uses it (`idx_min`, `idx_max`).
    pub id: i64,
    /// Buildset uuid.
    pub uuid: String,
    /// Tenant name.
    pub tenant: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Project name.
    pub project: String,
    /// Branch, when the ref is a branch or a change to one.
    pub branch: Option<String>,
    /// Full ref name.
    pub r#ref: Option<String>,
    /// Revision before.
    pub oldrev: Option<String>,
    /// Revision under test.
    pub newrev: Option<String>,
    /// Change number, for review systems.
    pub change: Option<i64>,
    /// Patchset, for review systems.
    pub patchset: Option<String>,
    /// Web link to the ref or change.
    pub ref_url: Option<String>,
    /// Result, once the buildset finished.
    pub result: Option<String>,
    /// The report message, once the buildset finished.
    pub message: Option<String>,
    /// Id of the triggering event.
    pub event_id: Option<String>,
    /// When the triggering event happened.
    pub event_timestamp: Option<DateTime<Utc>>,
    /// When the first build began.
    pub first_build_start_time: Option<DateTime<Utc>>,
    /// When the last build ended.
    pub last_build_end_time: Option<DateTime<Utc>>,
    /// When the row last changed.
    pub updated: DateTime<Utc>,
}

/// One build: a job run of a buildset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRow {
    /// Database id; paging uses it (`idx_min`, `idx_max`).
    pub id: i64,
    /// Build uuid.
    pub uuid: String,
    /// Job name.
    pub job_name: String,
    /// Result, once the build ended.
    pub result: Option<String>,
    /// When it began.
    pub start_time: Option<DateTime<Utc>>,
    /// When it ended.
    pub end_time: Option<DateTime<Utc>>,
    /// Whether the job votes.
    pub voting: bool,
    /// Where its logs are.
    pub log_url: Option<String>,
    /// Nodeset name.
    pub nodeset: Option<String>,
    /// Why, for errors.
    pub error_detail: Option<String>,
    /// Whether this is the build's last attempt (not to be retried).
    pub r#final: bool,
    /// Whether its nodes were held for debugging.
    pub held: bool,
    /// The buildset it belongs to.
    pub buildset: BuildsetRow,
}

/// A buildset as the database hands it back (naive UTC times).
#[derive(Debug, Queryable)]
pub struct BuildsetSql {
    id: i64,
    uuid: String,
    tenant: String,
    pipeline: String,
    project: String,
    branch: Option<String>,
    ref_: Option<String>,
    oldrev: Option<String>,
    newrev: Option<String>,
    change: Option<i64>,
    patchset: Option<String>,
    ref_url: Option<String>,
    result: Option<String>,
    message: Option<String>,
    event_id: Option<String>,
    event_timestamp: Option<NaiveDateTime>,
    first_build_start_time: Option<NaiveDateTime>,
    last_build_end_time: Option<NaiveDateTime>,
    updated: NaiveDateTime,
}

/// A build as the database hands it back (naive UTC times).
#[derive(Debug, Queryable)]
pub struct BuildSql {
    id: i64,
    _buildset_id: i64,
    uuid: String,
    job_name: String,
    result: Option<String>,
    start_time: Option<NaiveDateTime>,
    end_time: Option<NaiveDateTime>,
    voting: bool,
    log_url: Option<String>,
    nodeset: Option<String>,
    error_detail: Option<String>,
    final_: bool,
    held: bool,
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

impl From<BuildsetSql> for BuildsetRow {
    fn from(s: BuildsetSql) -> Self {
        BuildsetRow {
            id: s.id,
            uuid: s.uuid,
            tenant: s.tenant,
            pipeline: s.pipeline,
            project: s.project,
            branch: s.branch,
            r#ref: s.ref_,
            oldrev: s.oldrev,
            newrev: s.newrev,
            change: s.change,
            patchset: s.patchset,
            ref_url: s.ref_url,
            result: s.result,
            message: s.message,
            event_id: s.event_id,
            event_timestamp: s.event_timestamp.map(utc),
            first_build_start_time: s.first_build_start_time.map(utc),
            last_build_end_time: s.last_build_end_time.map(utc),
            updated: utc(s.updated),
        }
    }
}

impl BuildSql {
    /// The build row, joined with its buildset.
    pub fn with_buildset(self, buildset: BuildsetRow) -> BuildRow {
        BuildRow {
            id: self.id,
            uuid: self.uuid,
            job_name: self.job_name,
            result: self.result,
            start_time: self.start_time.map(utc),
            end_time: self.end_time.map(utc),
            voting: self.voting,
            log_url: self.log_url,
            nodeset: self.nodeset,
            error_detail: self.error_detail,
            r#final: self.final_,
            held: self.held,
            buildset,
        }
    }
}
