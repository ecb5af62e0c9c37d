//! The `- pipeline:` stanza as written, and its check against the connections.

use std::collections::BTreeMap;

use regex::Regex;
use serde::Deserialize;

use super::{
    ActionReporters, Manager, Messages, Pipeline, Precedence, Reporter, Requirement, Trigger,
    Window, WindowChange, WindowChangeKind,
};
use crate::form::{OrderedMap, StringList};
use crate::job::Source;
use crate::ConfigError;

/// Per connection, the settings of one reporter action as written.
type RawReporters = OrderedMap<serde_yaml::Value>;

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
    /// `low`, `normal` or `high`.
    pub precedence: Option<String>,
    /// Per connection, its trigger filters.
    #[serde(default)]
    pub trigger: OrderedMap<Vec<RawTrigger>>,
    /// Per connection, requirements as the driver reads them.
    #[serde(default)]
    pub require: OrderedMap<serde_yaml::Value>,
    /// Per connection, rejections as the driver reads them.
    #[serde(default)]
    pub reject: OrderedMap<serde_yaml::Value>,
    /// Pipelines this one supercedes.
    #[serde(default)]
    pub supercedes: StringList,
    /// See [`Pipeline::post_review`].
    pub post_review: Option<bool>,
    /// See [`Pipeline::dequeue_on_new_patchset`].
    pub dequeue_on_new_patchset: Option<bool>,
    /// See [`Pipeline::ignore_dependencies`].
    pub ignore_dependencies: Option<bool>,
    /// See [`Pipeline::allow_other_connections`].
    pub allow_other_connections: Option<bool>,
    /// See [`Pipeline::allow_parameters`].
    pub allow_parameters: Option<bool>,
    /// See [`Pipeline::disable_after_consecutive_failures`].
    pub disable_after_consecutive_failures: Option<u32>,
    // Reporters per action.
    /// `enqueue` as written.
    #[serde(default)]
    pub enqueue: RawReporters,
    /// `start` as written.
    #[serde(default)]
    pub start: RawReporters,
    /// `success` as written.
    #[serde(default)]
    pub success: RawReporters,
    /// `failure` as written.
    #[serde(default)]
    pub failure: RawReporters,
    /// `merge-conflict` as written.
    #[serde(default)]
    pub merge_conflict: RawReporters,
    /// `config-error` as written.
    #[serde(default)]
    pub config_error: RawReporters,
    /// `no-jobs` as written.
    #[serde(default)]
    pub no_jobs: RawReporters,
    /// `disabled` as written.
    #[serde(default)]
    pub disabled: RawReporters,
    /// `dequeue` as written.
    #[serde(default)]
    pub dequeue: RawReporters,
    // Window attributes.
    /// `window` as written.
    pub window: Option<u32>,
    /// `window-floor` as written.
    pub window_floor: Option<u32>,
    /// `window-ceiling` as written.
    #[serde(default, deserialize_with = "crate::form::explicit_null")]
    pub window_ceiling: Option<Option<u32>>,
    /// `window-increase-type` as written.
    pub window_increase_type: Option<String>,
    /// `window-increase-factor` as written.
    pub window_increase_factor: Option<u32>,
    /// `window-decrease-type` as written.
    pub window_decrease_type: Option<String>,
    /// `window-decrease-factor` as written.
    pub window_decrease_factor: Option<u32>,
    // Report texts.
    /// `success-message` as written.
    pub success_message: Option<String>,
    /// `failure-message` as written.
    pub failure_message: Option<String>,
    /// `start-message` as written.
    pub start_message: Option<String>,
    /// `enqueue-message` as written.
    pub enqueue_message: Option<String>,
    /// `merge-conflict-message` as written.
    pub merge_conflict_message: Option<String>,
    /// `no-jobs-message` as written.
    pub no_jobs_message: Option<String>,
    /// `dequeue-message` as written.
    pub dequeue_message: Option<String>,
    /// `footer-message` as written.
    pub footer_message: Option<String>,
    /// Free text shown per variant in the UI; accepted, not used.
    pub variant_description: Option<String>,
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
        let manager = manager(&self.manager).map_err(at)?;
        let precedence = precedence(self.precedence.as_deref()).map_err(at)?;
        let triggers = self.triggers(drivers).map_err(at)?;
        let reporters = |raw: &RawReporters| reporters(raw, drivers).map_err(at);
        let a = &self;
        let actions = ActionReporters {
            enqueue: reporters(&a.enqueue)?,
            merge_conflict: reporters(&a.merge_conflict)?,
            config_error: reporters(&a.config_error)?,
            no_jobs: reporters(&a.no_jobs)?,
            disabled: reporters(&a.disabled)?,
            dequeue: reporters(&a.dequeue)?,
        };
        if self.disable_after_consecutive_failures == Some(0) {
            return Err(at(
                "disable-after-consecutive-failures must be at least 1".into()
            ));
        }
        Ok(Pipeline {
            manager,
            triggers,
            start: reporters(&a.start)?,
            success: reporters(&a.success)?,
            failure: reporters(&a.failure)?,
            reporters: actions,
            require: requirements("require", &self.require, drivers).map_err(at)?,
            reject: requirements("reject", &self.reject, drivers).map_err(at)?,
            precedence,
            supercedes: self.supercedes.0.clone(),
            post_review: self.post_review.unwrap_or(false),
            dequeue_on_new_patchset: self.dequeue_on_new_patchset.unwrap_or(true),
            ignore_dependencies: self.ignore_dependencies.unwrap_or(false),
            allow_other_connections: self.allow_other_connections.unwrap_or(true),
            allow_parameters: self.allow_parameters.unwrap_or(false),
            disable_after_consecutive_failures: self.disable_after_consecutive_failures,
            window: self.window_settings().map_err(at)?,
            messages: self.messages(),
            name: self.name.clone(),
            description: self.description.clone(),
        })
    }

    fn triggers(&self, drivers: &BTreeMap<String, String>) -> Result<Vec<Trigger>, String> {
        let mut triggers = Vec::new();
        for (connection, filters) in &self.trigger.0 {
            match drivers.get(connection).map(String::as_str) {
                None => return Err(format!("trigger: unknown connection `{connection}`")),
                Some("git") => {}
                Some(driver) => {
                    return Err(format!(
                        "trigger: connection `{connection}` uses driver `{driver}`; only git triggers are supported yet"
                    ))
                }
            }
            for filter in filters {
                triggers.push(check_trigger(connection, filter)?);
            }
        }
        Ok(triggers)
    }
}

fn manager(name: &str) -> Result<Manager, String> {
    Ok(match name {
        "independent" => Manager::Independent,
        "dependent" => Manager::Dependent,
        "serial" => Manager::Serial,
        "supercedent" => Manager::Supercedent,
        other => {
            return Err(format!(
                "unknown manager `{other}`, expected independent, dependent, serial or supercedent"
            ))
        }
    })
}

fn precedence(name: Option<&str>) -> Result<Precedence, String> {
    Ok(match name {
        None | Some("normal") => Precedence::Normal,
        Some("low") => Precedence::Low,
        Some("high") => Precedence::High,
        Some(p) => return Err(format!("precedence `{p}` is not one of low, normal, high")),
    })
}

impl RawPipeline {
    fn window_settings(&self) -> Result<Window, String> {
        let default = Window::default();
        let floor = self.window_floor.unwrap_or(default.floor);
        let ceiling = self.window_ceiling.flatten();
        for (name, value) in [
            ("window-floor", Some(floor)),
            ("window-ceiling", ceiling),
            ("window-increase-factor", self.window_increase_factor),
            ("window-decrease-factor", self.window_decrease_factor),
        ] {
            if value == Some(0) {
                return Err(format!("{name} must be at least 1"));
            }
        }
        if ceiling.is_some_and(|c| c < floor) {
            return Err("window-ceiling may not be less than window-floor".into());
        }
        let change = |kind: &Option<String>, factor: Option<u32>, default: WindowChange| {
            let kind = match kind.as_deref() {
                None => default.kind,
                Some("linear") => WindowChangeKind::Linear,
                Some("exponential") => WindowChangeKind::Exponential,
                Some(other) => {
                    return Err(format!(
                        "window change type `{other}` is not linear or exponential"
                    ))
                }
            };
            let factor = factor.unwrap_or(default.factor);
            Ok(WindowChange { kind, factor })
        };
        Ok(Window {
            initial: self.window.unwrap_or(default.initial),
            floor,
            ceiling,
            increase: change(
                &self.window_increase_type,
                self.window_increase_factor,
                default.increase,
            )?,
            decrease: change(
                &self.window_decrease_type,
                self.window_decrease_factor,
                default.decrease,
            )?,
        })
    }
}

impl RawPipeline {
    fn messages(&self) -> Messages {
        let d = Messages::default();
        Messages {
            success: self.success_message.clone().unwrap_or(d.success),
            failure: self.failure_message.clone().unwrap_or(d.failure),
            start: self.start_message.clone().unwrap_or(d.start),
            enqueue: self.enqueue_message.clone().unwrap_or(d.enqueue),
            merge_conflict: self
                .merge_conflict_message
                .clone()
                .unwrap_or(d.merge_conflict),
            no_jobs: self.no_jobs_message.clone().unwrap_or(d.no_jobs),
            dequeue: self.dequeue_message.clone().unwrap_or(d.dequeue),
            footer: self.footer_message.clone().unwrap_or(d.footer),
        }
    }
}

/// The events a git connection emits: pushes, and the proposed changes of its
/// review branches, named as Zuul's Gerrit driver names them.
const GIT_EVENTS: [&str; 4] = [
    "ref-updated",
    "patchset-created",
    "change-abandoned",
    "change-merged",
];

fn check_trigger(connection: &str, raw: &RawTrigger) -> Result<Trigger, String> {
    if let Some(event) = raw
        .event
        .0
        .iter()
        .find(|e| !GIT_EVENTS.contains(&e.as_str()))
    {
        return Err(format!(
            "trigger: event `{event}` is not a git event (those are {})",
            GIT_EVENTS.join(", ")
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
    raw: &RawReporters,
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

/// Requirements are the driver's to read; git has none, as in Zuul.
fn requirements(
    what: &str,
    raw: &OrderedMap<serde_yaml::Value>,
    drivers: &BTreeMap<String, String>,
) -> Result<Vec<Requirement>, String> {
    raw.0
        .iter()
        .map(|(connection, settings)| {
            match drivers.get(connection).map(String::as_str) {
                None => return Err(format!("{what}: unknown connection `{connection}`")),
                Some("git") => {
                    return Err(format!(
                    "{what}: connection `{connection}` is git, which has no pipeline requirements"
                ))
                }
                Some(_) => {}
            }
            let settings =
                serde_json::to_value(settings).map_err(|e| format!("{what} {connection}: {e}"))?;
            Ok(Requirement {
                connection: connection.clone(),
                settings,
            })
        })
        .collect()
}
