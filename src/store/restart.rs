//! What a restart needs from the store: the queues each pipeline saved, and
//! the history rows a stopped run left without a result.

use chrono::Utc;
use diesel::prelude::*;
use portcullis_actors::event::TriggerEvent;
use portcullis_actors::port::SavedQueue;

use super::connection::AnyConnection;
use super::schema::{portcullis_queue_item as qi, zuul_build, zuul_buildset};
use super::StoreError;

/// The result a build or buildset cut off by a stop of the server gets.
pub const ABORTED: &str = "ABORTED";

/// Replaces the saved items of the queue's pipeline (in the caller's transaction).
pub fn save_queue(conn: &mut AnyConnection, queue: SavedQueue) -> Result<(), StoreError> {
    let of_pipeline = qi::tenant
        .eq(&queue.tenant)
        .and(qi::pipeline.eq(&queue.pipeline));
    diesel::delete(qi::table.filter(of_pipeline)).execute(conn)?;
    for (position, event) in queue.events.iter().enumerate() {
        let event = serde_json::to_string(event).map_err(|e| StoreError::Worker(e.to_string()))?;
        diesel::insert_into(qi::table)
            .values((
                qi::tenant.eq(&queue.tenant),
                qi::pipeline.eq(&queue.pipeline),
                qi::position.eq(position as i64),
                qi::event.eq(event),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Every pipeline's saved items, in order. A row that no longer reads as an
/// event (written by another version) is skipped with a warning.
pub fn saved_queues(conn: &mut AnyConnection) -> Result<Vec<SavedQueue>, StoreError> {
    let rows: Vec<(String, String, String)> = qi::table
        .order((qi::tenant, qi::pipeline, qi::position))
        .select((qi::tenant, qi::pipeline, qi::event))
        .load(conn)?;
    let mut queues: Vec<SavedQueue> = Vec::new();
    for (tenant, pipeline, event) in rows {
        let event: TriggerEvent = match serde_json::from_str(&event) {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(%tenant, %pipeline, %error, "a saved item does not read as an event; skipped");
                continue;
            }
        };
        match queues.last_mut() {
            Some(q) if q.tenant == tenant && q.pipeline == pipeline => q.events.push(event),
            _ => queues.push(SavedQueue {
                tenant,
                pipeline,
                events: vec![event],
            }),
        }
    }
    Ok(queues)
}

/// Ends the builds and buildsets a stopped run left without a result, as
/// ABORTED, now; answers how many builds. Only a starting server may call
/// it: no build of its own runs yet.
pub fn end_unfinished(conn: &mut AnyConnection) -> Result<usize, StoreError> {
    let now = Utc::now().naive_utc();
    use zuul_build as b;
    let builds = diesel::update(b::table.filter(b::result.is_null()))
        .set((
            b::result.eq(Some(ABORTED)),
            b::end_time.eq(Some(now)),
            b::error_detail.eq(Some("The server stopped while the build ran.")),
            b::final_.eq(true),
        ))
        .execute(conn)?;
    use zuul_buildset as bs;
    diesel::update(bs::table.filter(bs::result.is_null()))
        .set((
            bs::result.eq(Some(ABORTED)),
            bs::message.eq(Some("The server stopped before this buildset finished; a saved item runs again in a new one.")),
            bs::updated.eq(now),
        ))
        .execute(conn)?;
    Ok(builds)
}

/// The uuids of builds an autohold kept: their work dirs stay.
pub fn held_builds(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    use zuul_build as b;
    Ok(b::table
        .filter(b::held.eq(true))
        .select(b::uuid)
        .load(conn)?)
}
