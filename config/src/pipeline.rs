//! Pipelines: when items are enqueued, how they are managed, and where results go.
//!
//! [`RawPipeline`] is the stanza as written; [`RawPipeline::check`] turns it
//! into a [`Pipeline`] once the connections and their drivers are known.

use std::collections::BTreeMap;

use regex::Regex;
use serde::Deserialize;

use crate::form::{OrderedMap, StringList};
use crate::job::Source;
use crate::ConfigError;

/// How a pipeline manages its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    /// Every item on its own; no order between items.
    Independent,
}

/// A pipeline of a tenant's layout.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Pipeline name.
    pub name: String,
    /// Free text shown in the UI.
    pub description: Option<String>,
    /// The manager.
    pub manager: Manager,
    /// Triggers: an event matching any of them enqueues an item.
    pub triggers: Vec<Trigger>,
    /// Reporters when an item starts.
    pub start: Vec<Reporter>,
    /// Reporters when every voting job succeeded.
    pub success: Vec<Reporter>,
    /// Reporters when a voting job did not succeed.
    pub failure: Vec<Reporter>,
}

/// One trigger of a pipeline on a git connection.
#[derive(Debug, Clone)]
pub struct Trigger {
    /// Connection whose events this trigger takes.
    pub connection: String,
    /// Event types (`ref-updated`).
    pub events: Vec<String>,
    /// Ref regexes; empty matches every ref.
    pub refs: Vec<Regex>,
    /// Ignore ref deletions (newrev all zeros).
    pub ignore_deletes: bool,
}

/// One reporter of a pipeline action: the connection and its (driver-specific) settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Reporter {
    /// Connection name.
    pub connection: String,
    /// The reporter's settings as written.
    pub settings: serde_json::Value,
}

/// The facts of an event that triggers match on.
#[derive(Debug, Clone, Copy)]
pub struct EventFacts<'a> {
    /// Connection the event came from.
    pub connection: &'a str,
    /// Event type, e.g. `ref-updated`.
    pub event_type: &'a str,
    /// Full ref name, e.g. `refs/heads/main`.
    pub ref_name: &'a str,
    /// True when the ref was deleted.
    pub deleted: bool,
}

impl Trigger {
    /// True when the event matches this trigger.
    pub fn matches(&self, event: &EventFacts<'_>) -> bool {
        event.connection == self.connection
            && self.events.iter().any(|e| e == event.event_type)
            && (self.refs.is_empty() || self.refs.iter().any(|r| r.is_match(event.ref_name)))
            && !(self.ignore_deletes && event.deleted)
    }
}

impl Pipeline {
    /// True when any trigger matches the event.
    pub fn is_triggered_by(&self, event: &EventFacts<'_>) -> bool {
        self.triggers.iter().any(|t| t.matches(event))
    }
}

/// A `- pipeline:` stanza as written, before its connections are checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawPipeline {
    /// Pipeline name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Manager name as written.
    pub manager: String,
    /// `low`, `normal` or `high`; accepted and checked, not used yet.
    pub precedence: Option<String>,
    /// Per connection, its trigger filters.
    #[serde(default)]
    pub trigger: OrderedMap<Vec<RawTrigger>>,
    /// Per connection, reporter settings when an item starts.
    #[serde(default)]
    pub start: OrderedMap<serde_yaml::Value>,
    /// Per connection, reporter settings on success.
    #[serde(default)]
    pub success: OrderedMap<serde_yaml::Value>,
    /// Per connection, reporter settings on failure.
    #[serde(default)]
    pub failure: OrderedMap<serde_yaml::Value>,
    /// Where it was defined (set after parsing).
    #[serde(skip)]
    pub source: Source,
}

/// One trigger filter of a git connection, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawTrigger {
    /// Event types.
    pub event: StringList,
    /// Ref regexes.
    #[serde(default, rename = "ref")]
    pub refs: StringList,
    /// Ignore deletions; Zuul's git driver defaults to true.
    #[serde(default = "yes")]
    pub ignore_deletes: bool,
}

fn yes() -> bool {
    true
}

impl RawPipeline {
    /// Checks the manager, triggers and reporters against `drivers` (connection → driver).
    pub fn check(self, drivers: &BTreeMap<String, String>) -> Result<Pipeline, ConfigError> {
        let at = |m: String| ConfigError::at(&self.source, format!("pipeline {}: {m}", self.name));
        let manager = match self.manager.as_str() {
            "independent" => Manager::Independent,
            "dependent" | "serial" | "supercedent" => {
                return Err(at(format!(
                    "manager `{}` is not supported yet",
                    self.manager
                )))
            }
            other => return Err(at(format!("unknown manager `{other}`"))),
        };
        if let Some(p) = self
            .precedence
            .as_deref()
            .filter(|p| !["low", "normal", "high"].contains(p))
        {
            return Err(at(format!(
                "precedence `{p}` is not one of low, normal, high"
            )));
        }
        let mut triggers = Vec::new();
        for (connection, filters) in &self.trigger.0 {
            match drivers.get(connection).map(String::as_str) {
                None => return Err(at(format!("trigger: unknown connection `{connection}`"))),
                Some("git") => {}
                Some(driver) => {
                    return Err(at(format!(
                        "trigger: connection `{connection}` uses driver `{driver}`; only git triggers are supported yet"
                    )))
                }
            }
            for filter in filters {
                triggers.push(check_trigger(connection, filter).map_err(at)?);
            }
        }
        Ok(Pipeline {
            manager,
            triggers,
            start: reporters(&self.start, drivers).map_err(at)?,
            success: reporters(&self.success, drivers).map_err(at)?,
            failure: reporters(&self.failure, drivers).map_err(at)?,
            name: self.name.clone(),
            description: self.description.clone(),
        })
    }
}

fn check_trigger(connection: &str, raw: &RawTrigger) -> Result<Trigger, String> {
    if let Some(event) = raw.event.0.iter().find(|e| *e != "ref-updated") {
        return Err(format!(
            "trigger: event `{event}` is not a git event (only ref-updated is)"
        ));
    }
    // Zuul matches refs from their start (Python's re.match), so we anchor too.
    let refs = raw
        .refs
        .0
        .iter()
        .map(|r| {
            Regex::new(&format!("^(?:{r})"))
                .map_err(|e| format!("trigger: ref `{r}` is not a regex: {e}"))
        })
        .collect::<Result<_, _>>()?;
    Ok(Trigger {
        connection: connection.to_string(),
        events: raw.event.0.clone(),
        refs,
        ignore_deletes: raw.ignore_deletes,
    })
}

fn reporters(
    raw: &OrderedMap<serde_yaml::Value>,
    drivers: &BTreeMap<String, String>,
) -> Result<Vec<Reporter>, String> {
    raw.0
        .iter()
        .map(|(connection, settings)| {
            if !drivers.contains_key(connection) {
                return Err(format!("reporter: unknown connection `{connection}`"));
            }
            let settings = serde_json::to_value(settings)
                .map_err(|e| format!("reporter {connection}: {e}"))?;
            Ok(Reporter {
                connection: connection.clone(),
                settings,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
