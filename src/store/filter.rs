//! The query filters of Zuul's `builds` and `buildsets` endpoints, parsed
//! from query strings with Zuul's parameter names.
//!
//! Every text parameter may repeat (any value matches); `project`,
//! `pipeline`, `branch` and `job_name` treat `*` as a wildcard, as Zuul does.

use serde::Deserialize;

use super::StoreError;

/// How many rows a query returns when the caller does not say (Zuul's default).
pub const DEFAULT_LIMIT: i64 = 50;
/// The most rows one query returns, whatever the caller asks for.
pub const MAX_LIMIT: i64 = 1000;

/// Which builds to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Vec<(String, String)>")]
pub struct BuildFilter {
    /// Project names (wildcards allowed).
    pub project: Vec<String>,
    /// Pipeline names (wildcards allowed).
    pub pipeline: Vec<String>,
    /// Change numbers.
    pub change: Vec<i64>,
    /// Branch names (wildcards allowed).
    pub branch: Vec<String>,
    /// Patchsets.
    pub patchset: Vec<String>,
    /// Full ref names.
    pub r#ref: Vec<String>,
    /// Revisions under test.
    pub newrev: Vec<String>,
    /// Build uuids.
    pub uuid: Vec<String>,
    /// Job names (wildcards allowed).
    pub job_name: Vec<String>,
    /// Only voting (true) or non-voting (false) builds.
    pub voting: Option<bool>,
    /// Nodeset names.
    pub nodeset: Vec<String>,
    /// Results to include.
    pub result: Vec<String>,
    /// Only final (true) or retried (false) builds.
    pub r#final: Option<bool>,
    /// Only held (true) or not held (false) builds.
    pub held: Option<bool>,
    /// Only ended (true) or still running (false) builds.
    pub complete: Option<bool>,
    /// At most this many rows (default 50, capped at 1000).
    pub limit: Option<i64>,
    /// Rows to skip before the first returned.
    pub skip: Option<i64>,
    /// Lowest build id to return.
    pub idx_min: Option<i64>,
    /// Highest build id to return.
    pub idx_max: Option<i64>,
    /// Results to leave out.
    pub exclude_result: Vec<String>,
}

/// Which buildsets to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Vec<(String, String)>")]
pub struct BuildsetFilter {
    /// Project names (wildcards allowed).
    pub project: Vec<String>,
    /// Pipeline names (wildcards allowed).
    pub pipeline: Vec<String>,
    /// Change numbers.
    pub change: Vec<i64>,
    /// Branch names (wildcards allowed).
    pub branch: Vec<String>,
    /// Patchsets.
    pub patchset: Vec<String>,
    /// Full ref names.
    pub r#ref: Vec<String>,
    /// Revisions under test.
    pub newrev: Vec<String>,
    /// Buildset uuids.
    pub uuid: Vec<String>,
    /// Results to include.
    pub result: Vec<String>,
    /// Only finished (true) or running (false) buildsets.
    pub complete: Option<bool>,
    /// At most this many rows (default 50, capped at 1000).
    pub limit: Option<i64>,
    /// Rows to skip before the first returned.
    pub skip: Option<i64>,
    /// Lowest buildset id to return.
    pub idx_min: Option<i64>,
    /// Highest buildset id to return.
    pub idx_max: Option<i64>,
    /// Results to leave out.
    pub exclude_result: Vec<String>,
}

impl BuildFilter {
    /// Parses a query string such as `project=org/*&result=FAILURE&limit=10`.
    pub fn from_query(query: &str) -> Result<Self, StoreError> {
        Self::try_from(pairs(query))
    }

    /// The row limit to apply.
    pub fn limit(&self) -> i64 {
        effective_limit(self.limit)
    }

    /// The rows to skip.
    pub fn skip(&self) -> i64 {
        self.skip.unwrap_or(0)
    }
}

impl BuildsetFilter {
    /// Parses a query string such as `pipeline=gate&complete=true`.
    pub fn from_query(query: &str) -> Result<Self, StoreError> {
        Self::try_from(pairs(query))
    }

    /// The row limit to apply.
    pub fn limit(&self) -> i64 {
        effective_limit(self.limit)
    }

    /// The rows to skip.
    pub fn skip(&self) -> i64 {
        self.skip.unwrap_or(0)
    }
}

impl TryFrom<Vec<(String, String)>> for BuildFilter {
    type Error = StoreError;

    fn try_from(pairs: Vec<(String, String)>) -> Result<Self, StoreError> {
        let mut f = BuildFilter::default();
        for (key, value) in pairs {
            let v = Value {
                key: &key,
                text: value.clone(),
            };
            match key.as_str() {
                "project" => f.project.push(value),
                "pipeline" => f.pipeline.push(value),
                "change" => f.change.push(v.int()?),
                "branch" => f.branch.push(value),
                "patchset" => f.patchset.push(value),
                "ref" => f.r#ref.push(value),
                "newrev" => f.newrev.push(value),
                "uuid" => f.uuid.push(value),
                "job_name" => f.job_name.push(value),
                "voting" => f.voting = Some(v.boolean()?),
                "nodeset" => f.nodeset.push(value),
                "result" => f.result.push(value),
                "final" => f.r#final = Some(v.boolean()?),
                "held" => f.held = Some(v.boolean()?),
                "complete" => f.complete = Some(v.boolean()?),
                "limit" => f.limit = Some(v.count()?),
                "skip" => f.skip = Some(v.count()?),
                "idx_min" => f.idx_min = Some(v.int()?),
                "idx_max" => f.idx_max = Some(v.int()?),
                "exclude_result" => f.exclude_result.push(value),
                _ => return Err(v.unknown()),
            }
        }
        Ok(f)
    }
}

impl TryFrom<Vec<(String, String)>> for BuildsetFilter {
    type Error = StoreError;

    fn try_from(pairs: Vec<(String, String)>) -> Result<Self, StoreError> {
        let mut f = BuildsetFilter::default();
        for (key, value) in pairs {
            let v = Value {
                key: &key,
                text: value.clone(),
            };
            match key.as_str() {
                "project" => f.project.push(value),
                "pipeline" => f.pipeline.push(value),
                "change" => f.change.push(v.int()?),
                "branch" => f.branch.push(value),
                "patchset" => f.patchset.push(value),
                "ref" => f.r#ref.push(value),
                "newrev" => f.newrev.push(value),
                "uuid" => f.uuid.push(value),
                "result" => f.result.push(value),
                "complete" => f.complete = Some(v.boolean()?),
                "limit" => f.limit = Some(v.count()?),
                "skip" => f.skip = Some(v.count()?),
                "idx_min" => f.idx_min = Some(v.int()?),
                "idx_max" => f.idx_max = Some(v.int()?),
                "exclude_result" => f.exclude_result.push(value),
                _ => return Err(v.unknown()),
            }
        }
        Ok(f)
    }
}

/// The decoded key/value pairs of a query string, in order.
fn pairs(query: &str) -> Vec<(String, String)> {
    let query = query.strip_prefix('?').unwrap_or(query);
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn effective_limit(limit: Option<i64>) -> i64 {
    limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT)
}

/// One parameter's value, read as the type its key wants.
struct Value<'a> {
    key: &'a str,
    text: String,
}

impl Value<'_> {
    fn boolean(&self) -> Result<bool, StoreError> {
        match self.text.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(self.bad("true, false, 1 or 0")),
        }
    }

    fn int(&self) -> Result<i64, StoreError> {
        self.text.trim().parse().map_err(|_| self.bad("an integer"))
    }

    /// A row count: an integer that is not negative.
    fn count(&self) -> Result<i64, StoreError> {
        match self.int()? {
            n if n >= 0 => Ok(n),
            _ => Err(self.bad("an integer of 0 or more")),
        }
    }

    fn bad(&self, wanted: &str) -> StoreError {
        StoreError::BadFilter(format!(
            "{} must be {wanted}, not {:?}",
            self.key, self.text
        ))
    }

    fn unknown(&self) -> StoreError {
        StoreError::BadFilter(format!("unknown query parameter {:?}", self.key))
    }
}
