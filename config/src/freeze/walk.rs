//! Collecting the variants of a job, parents first, as Zuul matches them:
//! a variant applies when its branch matcher (explicit, implied, or none)
//! matches the item's branch, or the branch an `override-checkout` names for
//! the variant's project.

use std::collections::BTreeMap;

use crate::job::{JobVariant, Source};
use crate::layout::Layout;
use crate::ConfigError;

/// Branch overrides gathered on the way up: per project, and for all (`None`).
pub type Overrides = BTreeMap<Option<String>, String>;

/// Adds the overrides a matching variant sets, as Zuul's `_updateOverrideCheckouts`.
pub fn add_overrides(overrides: &mut Overrides, variant: &JobVariant) {
    if let Some(branch) = &variant.override_checkout {
        overrides.insert(None, branch.clone());
    }
    for required in variant.required_projects.iter().flatten() {
        if let Some(branch) = &required.override_checkout {
            overrides.insert(Some(required.name.clone()), branch.clone());
        }
    }
}

/// The walk up a job's parents.
pub struct Walk<'a> {
    /// The layout.
    pub layout: &'a Layout,
    /// The item's branch.
    pub branch: &'a str,
    /// Job names examined so far; a parent shared by two variants is collected once.
    pub path: Vec<String>,
    /// Variants collected, parents first.
    pub chain: Vec<&'a JobVariant>,
}

/// Why collecting stopped.
pub enum Stop {
    /// No variant of some job in the chain matches: the job does not run.
    NoMatch,
    /// The configuration is broken.
    Error(ConfigError),
}

impl From<ConfigError> for Stop {
    fn from(e: ConfigError) -> Self {
        Stop::Error(e)
    }
}

impl<'a> Walk<'a> {
    /// Collects the matching variants of `name` after their parents'.
    pub fn collect(
        &mut self,
        name: &str,
        referrer: &Source,
        stack: &[String],
        overrides: &Overrides,
    ) -> Result<(), Stop> {
        let Some(all) = self.layout.jobs.get(name) else {
            let message = format!("job {name} is not defined");
            return Err(ConfigError::at(referrer, message).into());
        };
        self.path.push(name.to_string());
        let mut local = overrides.clone();
        let mut matched = false;
        for variant in all {
            let branch = self.branch_for(&variant.source.project, overrides);
            if !self.layout.variant_applies(variant, branch) {
                continue;
            }
            let default = self.layout.default_parent.as_deref().unwrap_or("base");
            let parent = match (&variant.parent, self.chain.is_empty()) {
                (Some(explicit), _) => explicit.as_deref(),
                (None, true) => variant.parent_or(Some(default)),
                (None, false) => None,
            };
            add_overrides(&mut local, variant);
            if let Some(parent) = parent {
                if stack.iter().any(|s| s == parent) || parent == name {
                    let cycle: Vec<&str> = stack.iter().map(String::as_str).collect();
                    let cycle = [cycle.as_slice(), &[name, parent]].concat().join(" -> ");
                    let message = format!("job {}: parent cycle {cycle}", variant.name);
                    return Err(ConfigError::at(&variant.source, message).into());
                }
            }
            if let Some(parent) = parent.filter(|p| !self.path.iter().any(|s| s == p)) {
                let mut up = stack.to_vec();
                up.push(name.to_string());
                self.collect(parent, &variant.source, &up, &local)?;
            }
            matched = true;
            if !self.chain.iter().any(|v| std::ptr::eq(*v, variant)) {
                self.chain.push(variant);
            }
        }
        if matched {
            Ok(())
        } else {
            Err(Stop::NoMatch)
        }
    }

    /// The branch to match a project's variants on: an override when that project has it.
    fn branch_for(&self, project: &str, overrides: &Overrides) -> &'a str {
        let wanted = overrides
            .get(&Some(project.to_string()))
            .or_else(|| overrides.get(&None));
        let known = self.layout.branches.get(project);
        match (wanted, known) {
            (Some(branch), Some(branches)) => match branches.get(branch) {
                Some(known) => known.as_str(),
                None => self.branch,
            },
            _ => self.branch,
        }
    }
}
