//! Reads: builds and buildsets by Zuul's filters, newest first.

use diesel::dsl::InnerJoinQuerySource;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::connection::{AnyConnection, MultiBackend};
use super::filter::{BuildFilter, BuildsetFilter};
use super::row::{BuildRow, BuildSql, BuildsetRow, BuildsetSql};
use super::schema::{zuul_build, zuul_buildset};
use super::StoreError;

/// A WHERE condition over the query source `QS`, chosen at run time.
type Cond<QS> = Box<dyn BoxableExpression<QS, MultiBackend, SqlType = Bool>>;
/// The builds query's source: builds joined with their buildsets.
type BuildQs = InnerJoinQuerySource<zuul_build::table, zuul_buildset::table>;

/// Turns a Zuul wildcard (`*`) value into a LIKE pattern escaped with `$`,
/// or None when the value has no wildcard and must match exactly.
fn like_pattern(value: &str) -> Option<String> {
    if !value.contains('*') {
        return None;
    }
    let mut pattern = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '$' | '%' | '_' => {
                pattern.push('$');
                pattern.push(c);
            }
            '*' => pattern.push('%'),
            c => pattern.push(c),
        }
    }
    Some(pattern)
}

/// ANDs onto `$q` a condition that `$col` matches any of `$values`:
/// exactly (`exact`) or with Zuul's `*` wildcards (`fuzzy`).
macro_rules! any_of {
    ($q:ident, $qs:ty, $col:expr, $values:expr, $mode:ident) => {{
        let mut cond: Option<Cond<$qs>> = None;
        for value in $values.iter() {
            let one: Cond<$qs> = any_of!(@one $col, value, $mode);
            cond = Some(match cond {
                None => one,
                Some(c) => Box::new(c.or(one)),
            });
        }
        if let Some(c) = cond {
            $q = $q.filter(c);
        }
    }};
    (@one $col:expr, $value:ident, exact) => {
        Box::new($col.eq($value.clone()))
    };
    (@one $col:expr, $value:ident, fuzzy) => {
        match like_pattern($value) {
            Some(p) => Box::new($col.like(p).escape('$')),
            None => Box::new($col.eq($value.clone())),
        }
    };
}

/// ANDs onto `$q` the filters on a buildset's ref, shared by both queries.
macro_rules! ref_filters {
    ($q:ident, $qs:ty, $f:expr) => {{
        use zuul_buildset as bs;
        any_of!($q, $qs, bs::project, $f.project, fuzzy);
        any_of!($q, $qs, bs::pipeline, $f.pipeline, fuzzy);
        any_of!($q, $qs, bs::change.assume_not_null(), $f.change, exact);
        any_of!($q, $qs, bs::branch.assume_not_null(), $f.branch, fuzzy);
        any_of!($q, $qs, bs::patchset.assume_not_null(), $f.patchset, exact);
        any_of!($q, $qs, bs::ref_.assume_not_null(), $f.r#ref, exact);
        any_of!($q, $qs, bs::newrev.assume_not_null(), $f.newrev, exact);
    }};
}

/// Builds of `tenant` that match `f`, newest first.
pub fn builds(
    conn: &mut AnyConnection,
    tenant: &str,
    f: &BuildFilter,
) -> Result<Vec<BuildRow>, StoreError> {
    use zuul_build as b;
    let mut q = b::table
        .inner_join(zuul_buildset::table)
        .filter(zuul_buildset::tenant.eq(tenant.to_string()))
        .into_boxed::<MultiBackend>();
    ref_filters!(q, BuildQs, f);
    any_of!(q, BuildQs, b::uuid, f.uuid, exact);
    any_of!(q, BuildQs, b::job_name, f.job_name, fuzzy);
    any_of!(q, BuildQs, b::nodeset.assume_not_null(), f.nodeset, exact);
    any_of!(q, BuildQs, b::result.assume_not_null(), f.result, exact);
    for excluded in &f.exclude_result {
        q = q.filter(b::result.ne(excluded.clone()));
    }
    if let Some(voting) = f.voting {
        q = q.filter(b::voting.eq(voting));
    }
    if let Some(fin) = f.r#final {
        q = q.filter(b::final_.eq(fin));
    }
    if let Some(held) = f.held {
        q = q.filter(b::held.eq(held));
    }
    match f.complete {
        Some(true) => q = q.filter(b::result.is_not_null()),
        Some(false) => q = q.filter(b::result.is_null()),
        None => {}
    }
    if let Some(min) = f.idx_min {
        q = q.filter(b::id.ge(min));
    }
    if let Some(max) = f.idx_max {
        q = q.filter(b::id.le(max));
    }
    let rows = q
        .order(b::id.desc())
        .limit(f.limit())
        .offset(f.skip())
        .load::<(BuildSql, BuildsetSql)>(conn)?;
    Ok(rows
        .into_iter()
        .map(|(build, set)| build.with_buildset(set.into()))
        .collect())
}

/// The build `uuid` of `tenant`, if there is one.
pub fn build(
    conn: &mut AnyConnection,
    tenant: &str,
    uuid: &str,
) -> Result<Option<BuildRow>, StoreError> {
    let row = zuul_build::table
        .inner_join(zuul_buildset::table)
        .filter(zuul_buildset::tenant.eq(tenant))
        .filter(zuul_build::uuid.eq(uuid))
        .first::<(BuildSql, BuildsetSql)>(conn)
        .optional()?;
    Ok(row.map(|(build, set)| build.with_buildset(set.into())))
}

/// The tenant whose buildset holds build `uuid`, if any holds it.
pub fn build_tenant(conn: &mut AnyConnection, uuid: &str) -> Result<Option<String>, StoreError> {
    let tenant = zuul_build::table
        .inner_join(zuul_buildset::table)
        .filter(zuul_build::uuid.eq(uuid))
        .select(zuul_buildset::tenant)
        .first::<String>(conn)
        .optional()?;
    Ok(tenant)
}

/// Buildsets of `tenant` that match `f`, newest first.
pub fn buildsets(
    conn: &mut AnyConnection,
    tenant: &str,
    f: &BuildsetFilter,
) -> Result<Vec<BuildsetRow>, StoreError> {
    use zuul_buildset as bs;
    let mut q = bs::table
        .filter(bs::tenant.eq(tenant.to_string()))
        .into_boxed::<MultiBackend>();
    ref_filters!(q, bs::table, f);
    any_of!(q, bs::table, bs::uuid, f.uuid, exact);
    any_of!(q, bs::table, bs::result.assume_not_null(), f.result, exact);
    for excluded in &f.exclude_result {
        q = q.filter(bs::result.ne(excluded.clone()));
    }
    match f.complete {
        Some(true) => q = q.filter(bs::result.is_not_null()),
        Some(false) => q = q.filter(bs::result.is_null()),
        None => {}
    }
    if let Some(min) = f.idx_min {
        q = q.filter(bs::id.ge(min));
    }
    if let Some(max) = f.idx_max {
        q = q.filter(bs::id.le(max));
    }
    let rows = q
        .order(bs::id.desc())
        .limit(f.limit())
        .offset(f.skip())
        .load::<BuildsetSql>(conn)?;
    Ok(rows.into_iter().map(BuildsetRow::from).collect())
}

/// The buildset `uuid` of `tenant` with its builds, oldest build first.
pub fn buildset(
    conn: &mut AnyConnection,
    tenant: &str,
    uuid: &str,
) -> Result<Option<(BuildsetRow, Vec<BuildRow>)>, StoreError> {
    let Some(set) = zuul_buildset::table
        .filter(zuul_buildset::tenant.eq(tenant))
        .filter(zuul_buildset::uuid.eq(uuid))
        .first::<BuildsetSql>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let set = BuildsetRow::from(set);
    let builds = zuul_build::table
        .filter(zuul_build::buildset_id.eq(set.id))
        .order(zuul_build::id.asc())
        .load::<BuildSql>(conn)?;
    let builds = builds
        .into_iter()
        .map(|b| b.with_buildset(set.clone()))
        .collect();
    Ok(Some((set, builds)))
}
