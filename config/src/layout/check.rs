//! Checks that need the whole layout: named nodesets, parents and pipelines exist,
//! and no job inherits from itself. Offending objects are removed and reported.

use std::collections::BTreeSet;

use super::Layout;
use crate::job::{JobVariant, NodesetRef};
use crate::ConfigError;

impl Layout {
    pub(super) fn check_references(&mut self) {
        self.check_job_nodesets();
        self.check_parents();
        self.check_job_names();
        self.check_projects();
    }

    fn check_job_nodesets(&mut self) {
        let nodesets = self.nodeset_names();
        let mut errors = Vec::new();
        for variants in self.jobs.values_mut() {
            variants.retain(|v| match unknown_nodeset(v, &nodesets) {
                Some(name) => {
                    let message = format!("job {}: nodeset {name} is not defined", v.name);
                    errors.push(ConfigError::at(&v.source, message));
                    false
                }
                None => true,
            });
        }
        self.jobs.retain(|_, variants| !variants.is_empty());
        self.errors.extend(errors);
    }

    /// Removes variants whose parent is missing or that inherit from themselves.
    /// Repeats, since removing a job can leave its children without a parent.
    fn check_parents(&mut self) {
        loop {
            let mut bad: Vec<(String, usize, String)> = Vec::new();
            for (name, variants) in &self.jobs {
                for (i, variant) in variants.iter().enumerate() {
                    if let Some(problem) = self.parent_problem(variant) {
                        bad.push((name.clone(), i, problem));
                    }
                }
            }
            if bad.is_empty() {
                return;
            }
            for (name, i, problem) in &bad {
                if let Some(variant) = self.jobs.get(name).and_then(|v| v.get(*i)) {
                    self.errors
                        .push(ConfigError::at(&variant.source, problem.clone()));
                }
            }
            // Backwards, so earlier indexes stay valid while removing.
            for (name, i, _) in bad.iter().rev() {
                if let Some(variants) = self.jobs.get_mut(name) {
                    variants.remove(*i);
                }
            }
            self.jobs.retain(|_, variants| !variants.is_empty());
        }
    }

    fn parent_problem(&self, variant: &JobVariant) -> Option<String> {
        let parent = variant.parent_name()?;
        if !self.jobs.contains_key(parent) {
            return Some(format!(
                "job {}: parent job {parent} is not defined",
                variant.name
            ));
        }
        self.reaches(parent, &variant.name).then(|| {
            format!(
                "job {}: inheriting from {parent} makes a cycle back to {}",
                variant.name, variant.name
            )
        })
    }

    /// True when some chain of parents (through any variant) leads from `from` to `to`.
    fn reaches(&self, from: &str, to: &str) -> bool {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(job) = todo.pop() {
            if job == to {
                return true;
            }
            if !seen.insert(job.clone()) {
                continue;
            }
            for variant in self.jobs.get(&job).into_iter().flatten() {
                todo.extend(variant.parent_name().map(str::to_string));
            }
        }
        false
    }

    fn check_projects(&mut self) {
        let pipelines: BTreeSet<String> = self.pipelines.iter().map(|p| p.name.clone()).collect();
        let nodesets = self.nodeset_names();
        let mut errors = Vec::new();
        let templates = self.templates.values_mut();
        for stanzas in self.projects.values_mut().chain(templates) {
            stanzas.retain(|stanza| {
                let problem = stanza.pipelines.iter().find_map(|(name, entry)| {
                    if !pipelines.contains(name) {
                        return Some(format!("project stanza names unknown pipeline {name}"));
                    }
                    entry.jobs.iter().find_map(|job| {
                        let missing = unknown_nodeset(job, &nodesets)?;
                        Some(format!(
                            "job {}: nodeset {missing} is not defined",
                            job.name
                        ))
                    })
                });
                match problem {
                    Some(message) => {
                        errors.push(ConfigError::at(&stanza.source, message));
                        false
                    }
                    None => true,
                }
            });
        }
        self.projects.retain(|_, stanzas| !stanzas.is_empty());
        self.errors.extend(errors);
    }
}

fn unknown_nodeset<'a>(variant: &'a JobVariant, known: &BTreeSet<String>) -> Option<&'a str> {
    variant.nodeset.as_ref().and_then(|n| unknown_in(n, known))
}

fn unknown_in<'a>(nodeset: &'a NodesetRef, known: &BTreeSet<String>) -> Option<&'a str> {
    match nodeset {
        NodesetRef::Named(name) if !known.contains(name) => Some(name),
        NodesetRef::Alternatives(all) => all.iter().find_map(|n| unknown_in(n, known)),
        _ => None,
    }
}

impl Layout {
    fn nodeset_names(&self) -> BTreeSet<String> {
        let plain = self.nodesets.keys();
        plain
            .chain(self.nodeset_alternatives.keys())
            .cloned()
            .collect()
    }
}
