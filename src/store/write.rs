//! Writes: one engine record at a time, each in its own transaction.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use portcullis_actors::event::ItemRef;
use portcullis_actors::port::StoreRecord;

use super::connection::AnyConnection;
use super::schema::{zuul_build, zuul_buildset};
use super::StoreError;

/// The fields of [`StoreRecord::BuildsetStarted`].
struct BuildsetStarted {
    uuid: String,
    tenant: String,
    pipeline: String,
    item: ItemRef,
    event_id: String,
    event_timestamp: DateTime<Utc>,
}

/// The fields of [`StoreRecord::BuildStarted`].
struct BuildStarted {
    buildset_uuid: String,
    uuid: String,
    job_name: String,
    voting: bool,
    nodeset: String,
    start_time: DateTime<Utc>,
}

/// How a build ended, as its row keeps it.
struct Outcome<'a> {
    result: &'a str,
    end_time: DateTime<Utc>,
    log_url: Option<String>,
    error_detail: Option<String>,
    held: bool,
}

fn naive(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
}

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// Writes `record`; a record about a buildset or build never started is an error.
pub fn record(conn: &mut AnyConnection, record: StoreRecord) -> Result<(), StoreError> {
    write_transaction(conn, |conn| match record {
        StoreRecord::BuildsetStarted {
            uuid,
            tenant,
            pipeline,
            item,
            event_id,
            event_timestamp,
        } => {
            let started = BuildsetStarted {
                uuid,
                tenant,
                pipeline,
                item,
                event_id,
                event_timestamp,
            };
            buildset_started(conn, started)
        }
        StoreRecord::BuildStarted {
            buildset_uuid,
            uuid,
            job_name,
            voting,
            nodeset,
            start_time,
        } => {
            let started = BuildStarted {
                buildset_uuid,
                uuid,
                job_name,
                voting,
                nodeset,
                start_time,
            };
            build_started(conn, started)
        }
        StoreRecord::BuildFinished {
            uuid,
            result,
            end_time,
            log_url,
            error_detail,
            held,
        } => {
            let outcome = Outcome {
                result: result.as_str(),
                end_time,
                log_url,
                error_detail,
                held,
            };
            build_finished(conn, &uuid, outcome)
        }
        StoreRecord::BuildsetFinished {
            uuid,
            result,
            message,
            end_time,
        } => buildset_finished(conn, &uuid, result.as_str(), message, end_time),
        StoreRecord::QueueSaved(queue) => super::restart::save_queue(conn, queue),
    })
}

/// Runs `work` in a transaction that holds the write lock from its start.
fn write_transaction<T>(
    conn: &mut AnyConnection,
    work: impl FnOnce(&mut AnyConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let AnyConnection::Sqlite(lite) = conn else {
        return conn.transaction(work);
    };
    // SQLite's deferred transaction that reads before it writes fails at once
    // when another writer holds the lock, without waiting out the busy
    // timeout; taking the write lock first makes it wait instead.
    AnsiTransactionManager::begin_transaction_sql(&mut *lite, "BEGIN IMMEDIATE")?;
    let result = work(conn);
    if let AnyConnection::Sqlite(lite) = conn {
        match &result {
            Ok(_) => AnsiTransactionManager::commit_transaction(lite)?,
            Err(_) => AnsiTransactionManager::rollback_transaction(lite)?,
        }
    }
    result
}

fn buildset_started(conn: &mut AnyConnection, r: BuildsetStarted) -> Result<(), StoreError> {
    let BuildsetStarted {
        uuid,
        tenant,
        pipeline,
        item,
        event_id,
        event_timestamp,
    } = r;
    use zuul_buildset as bs;
    let change = item.change.as_ref();
    diesel::insert_into(bs::table)
        .values((
            bs::uuid.eq(uuid),
            bs::tenant.eq(tenant),
            bs::pipeline.eq(pipeline),
            bs::project.eq(item.project),
            bs::branch.eq(item.branch),
            bs::ref_.eq(Some(item.ref_name)),
            bs::oldrev.eq(Some(item.oldrev)),
            bs::newrev.eq(Some(item.newrev)),
            bs::change.eq(change.map(|c| c.number as i64)),
            bs::patchset.eq(change.map(|c| c.patchset.clone())),
            bs::ref_url.eq(change.and_then(|c| c.url.clone())),
            bs::event_id.eq(Some(event_id)),
            bs::event_timestamp.eq(Some(naive(event_timestamp))),
            bs::updated.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

fn build_started(conn: &mut AnyConnection, r: BuildStarted) -> Result<(), StoreError> {
    let BuildStarted {
        buildset_uuid,
        uuid,
        job_name,
        voting,
        nodeset,
        start_time,
    } = r;
    use zuul_buildset as bs;
    let buildset_id = bs::table
        .filter(bs::uuid.eq(&buildset_uuid))
        .select(bs::id)
        .first::<i64>(conn)
        .optional()?
        .ok_or(StoreError::UnknownBuildset(buildset_uuid))?;
    use zuul_build as b;
    diesel::insert_into(b::table)
        .values((
            b::buildset_id.eq(buildset_id),
            b::uuid.eq(uuid),
            b::job_name.eq(job_name),
            b::voting.eq(voting),
            b::nodeset.eq(Some(nodeset)),
            b::start_time.eq(Some(naive(start_time))),
        ))
        .execute(conn)?;
    // Only the first build to start sets the buildset's start.
    diesel::update(
        bs::table
            .find(buildset_id)
            .filter(bs::first_build_start_time.is_null()),
    )
    .set(bs::first_build_start_time.eq(Some(naive(start_time))))
    .execute(conn)?;
    touch_buildset(conn, buildset_id)
}

fn build_finished(
    conn: &mut AnyConnection,
    uuid: &str,
    outcome: Outcome<'_>,
) -> Result<(), StoreError> {
    let Outcome {
        result,
        end_time,
        log_url,
        error_detail,
        held,
    } = outcome;
    use zuul_build as b;
    let buildset_id = b::table
        .filter(b::uuid.eq(uuid))
        .select(b::buildset_id)
        .first::<i64>(conn)
        .optional()?
        .ok_or_else(|| StoreError::UnknownBuild(uuid.to_string()))?;
    diesel::update(b::table.filter(b::uuid.eq(uuid)))
        .set((
            b::result.eq(Some(result)),
            b::end_time.eq(Some(naive(end_time))),
            b::log_url.eq(log_url),
            b::error_detail.eq(error_detail),
            b::held.eq(held),
            b::final_.eq(true),
        ))
        .execute(conn)?;
    touch_buildset(conn, buildset_id)
}

fn buildset_finished(
    conn: &mut AnyConnection,
    uuid: &str,
    result: &str,
    message: String,
    end_time: DateTime<Utc>,
) -> Result<(), StoreError> {
    use zuul_buildset as bs;
    let changed = diesel::update(bs::table.filter(bs::uuid.eq(uuid)))
        .set((
            bs::result.eq(Some(result)),
            bs::message.eq(Some(message)),
            bs::last_build_end_time.eq(Some(naive(end_time))),
            bs::updated.eq(now()),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Err(StoreError::UnknownBuildset(uuid.to_string()));
    }
    Ok(())
}

/// Marks the buildset as changed now, for Zuul's `updated` column.
fn touch_buildset(conn: &mut AnyConnection, id: i64) -> Result<(), StoreError> {
    diesel::update(zuul_buildset::table.find(id))
        .set(zuul_buildset::updated.eq(now()))
        .execute(conn)?;
    Ok(())
}
