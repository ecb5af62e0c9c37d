//! Autohold requests: keep the nodes and work dir of the next failing builds of
//! a job, for a human to look at. Kept in the engine, per tenant; a shared
//! registry the items consult when they start a build and tell when a held
//! build failed.

use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::event::ItemRef;

/// Asks to hold the next failing builds of a job (admin API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoholdRequest {
    /// Tenant name.
    pub tenant: String,
    /// Project name.
    pub project: String,
    /// Job name.
    pub job: String,
    /// Only builds of this ref (a regex matched from the start of the ref name).
    pub r#ref: Option<String>,
    /// Only builds of this change (`N` or `N,P`).
    pub change: Option<String>,
    /// Why (shown to admins).
    pub reason: String,
    /// How many failing builds to hold.
    pub count: u32,
    /// Seconds held nodes are kept; `None`: the provider's default.
    pub node_hold_expiration: Option<u64>,
}

/// A held build, as listed in an autohold request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldBuild {
    /// Build uuid.
    pub build: String,
}

/// An autohold request as Zuul's API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AutoholdInfo {
    /// Request id.
    pub id: String,
    /// Tenant name.
    pub tenant: String,
    /// Project name.
    pub project: String,
    /// Job name.
    pub job: String,
    /// The ref filter (a regex; `.*` matches every ref).
    pub ref_filter: String,
    /// The change filter, when the request named a change.
    pub change: Option<String>,
    /// How many builds to hold.
    pub max_count: u32,
    /// How many were held so far.
    pub current_count: u32,
    /// Why.
    pub reason: String,
    /// Seconds held nodes are kept.
    pub node_expiration: Option<u64>,
    /// When the request expired (never, here: a request ends when its count is reached).
    pub expired: Option<f64>,
    /// The held builds.
    pub nodes: Vec<HeldBuild>,
}

struct Entry {
    info: AutoholdInfo,
    ref_filter: Option<regex::Regex>,
}

#[derive(Default)]
struct Registry {
    next: u64,
    requests: Vec<Entry>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadAutohold(pub String);

/// The engine's autohold requests; cheap to clone, shared by every item.
#[derive(Clone, Default)]
pub struct Autoholds(Arc<Mutex<Registry>>);

impl Autoholds {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        // A panic while holding the lock leaves plain data behind; keep going.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a request (tenant and project already checked); returns its id.
    pub fn add(&self, request: AutoholdRequest) -> Result<String, BadAutohold> {
        if request.count == 0 {
            return Err(BadAutohold("count must be at least 1".into()));
        }
        if request.r#ref.is_some() && request.change.is_some() {
            return Err(BadAutohold("give a ref or a change, not both".into()));
        }
        let ref_filter = match &request.r#ref {
            Some(filter) => Some(
                regex::Regex::new(&format!("^(?:{filter})"))
                    .map_err(|e| BadAutohold(format!("bad ref filter {filter}: {e}")))?,
            ),
            None => None,
        };
        let mut registry = self.lock();
        registry.next += 1;
        let id = format!("{:010}", registry.next);
        let info = AutoholdInfo {
            id: id.clone(),
            tenant: request.tenant,
            project: request.project,
            job: request.job,
            ref_filter: request.r#ref.unwrap_or_else(|| ".*".into()),
            change: request.change,
            max_count: request.count,
            current_count: 0,
            reason: request.reason,
            node_expiration: request.node_hold_expiration,
            expired: None,
            nodes: Vec::new(),
        };
        registry.requests.push(Entry { info, ref_filter });
        Ok(id)
    }

    /// The requests of `tenant`, oldest first.
    pub fn list(&self, tenant: &str) -> Vec<AutoholdInfo> {
        let registry = self.lock();
        let of_tenant = registry.requests.iter().filter(|e| e.info.tenant == tenant);
        of_tenant.map(|e| e.info.clone()).collect()
    }

    /// One request by id.
    pub fn get(&self, id: &str) -> Option<AutoholdInfo> {
        let registry = self.lock();
        let found = registry.requests.iter().find(|e| e.info.id == id);
        found.map(|e| e.info.clone())
    }

    /// Deletes a request; false when there was none.
    pub fn delete(&self, id: &str) -> bool {
        let mut registry = self.lock();
        let before = registry.requests.len();
        registry.requests.retain(|e| e.info.id != id);
        registry.requests.len() != before
    }

    /// The id of an open request matching a build of `job` for `item`.
    pub fn matching(&self, tenant: &str, job: &str, item: &ItemRef) -> Option<String> {
        let registry = self.lock();
        let open = registry.requests.iter().filter(|e| {
            let info = &e.info;
            info.current_count < info.max_count
                && info.tenant == tenant
                && info.project == item.project
                && info.job == job
        });
        let mut matching = open.filter(|e| match (&e.info.change, &e.ref_filter) {
            (Some(change), _) => change_matches(change, item),
            (None, Some(filter)) => filter.is_match(&item.ref_name),
            (None, None) => true,
        });
        matching.next().map(|e| e.info.id.clone())
    }

    /// Books a failed build held under request `id`.
    pub fn held(&self, id: &str, build: &str) {
        let mut registry = self.lock();
        if let Some(entry) = registry.requests.iter_mut().find(|e| e.info.id == id) {
            entry.info.current_count += 1;
            entry.info.nodes.push(HeldBuild {
                build: build.to_string(),
            });
        }
    }
}

/// Whether `change` (`N` or `N,P`) names the item's change.
fn change_matches(change: &str, item: &ItemRef) -> bool {
    let Some(theirs) = &item.change else {
        return false;
    };
    let (number, patchset) = match change.split_once(',') {
        Some((n, p)) => (n, Some(p)),
        None => (change, None),
    };
    number.trim().parse() == Ok(theirs.number) && patchset.is_none_or(|p| p == theirs.patchset)
}
