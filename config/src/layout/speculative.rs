//! Speculative layouts: the layout an item's changes would make. As in Zuul,
//! an untrusted project's proposed config takes effect for the item that
//! proposes it (and the items behind it); a config project's proposed config
//! is checked for errors but takes effect only once merged.

use std::collections::BTreeMap;

use super::{ConfigFile, Layout};
use crate::encryption::ProjectKeys;
use crate::{ConfigError, TenantDef};

/// What a speculative layout is built from.
pub struct Speculation<'a> {
    /// The tenant.
    pub tenant: &'a TenantDef,
    /// Connection name to driver name.
    pub drivers: &'a BTreeMap<String, String>,
    /// The files the tenant's layout was built from.
    pub base: &'a [ConfigFile],
    /// The errors the tenant's layout had: not the change's to answer for.
    pub base_errors: &'a [ConfigError],
    /// Decrypts secrets, when the layout does.
    pub keys: Option<&'a dyn ProjectKeys>,
}

impl Speculation<'_> {
    /// The layout with each project of `proposed` (project name, its files in
    /// the item's state) in place of its files in the base: `None` when no
    /// project's files differ; the new errors when the proposed files bring any.
    pub fn layout(
        &self,
        proposed: &[(String, Vec<ConfigFile>)],
    ) -> Result<Option<Layout>, Vec<ConfigError>> {
        let changed: Vec<&(String, Vec<ConfigFile>)> = proposed
            .iter()
            .filter(|(project, files)| !self.same_files(project, files))
            .collect();
        if changed.is_empty() {
            return Ok(None);
        }
        let all = self.build(&changed);
        let new_errors: Vec<ConfigError> = all
            .errors
            .iter()
            .filter(|e| changed.iter().any(|(p, _)| e.project.as_ref() == Some(p)))
            .filter(|e| !self.base_errors.iter().any(|b| same_error(b, e)))
            .cloned()
            .collect();
        if !new_errors.is_empty() {
            return Err(new_errors);
        }
        let untrusted: Vec<_> = changed
            .iter()
            .copied()
            .filter(|(project, _)| !self.trusted(project))
            .collect();
        match untrusted.len() {
            0 => Ok(None),
            n if n == changed.len() => Ok(Some(all)),
            _ => Ok(Some(self.build(&untrusted))),
        }
    }

    /// Whether `project`'s files in the base are `files` (paths and texts).
    fn same_files(&self, project: &str, files: &[ConfigFile]) -> bool {
        let base = self.base.iter().filter(|f| f.project == project);
        let pairs = |f: &ConfigFile| (f.path.clone(), f.text.clone());
        base.map(pairs).eq(files.iter().map(pairs))
    }

    /// Whether `project` is a config project of the tenant.
    fn trusted(&self, project: &str) -> bool {
        let projects = self.tenant.projects();
        projects.iter().any(|p| p.name == project && p.trusted)
    }

    fn build(&self, changed: &[&(String, Vec<ConfigFile>)]) -> Layout {
        let replaced = |f: &&ConfigFile| !changed.iter().any(|(p, _)| *p == f.project);
        let mut files: Vec<ConfigFile> = self.base.iter().filter(replaced).cloned().collect();
        files.extend(changed.iter().flat_map(|(_, f)| f.iter().cloned()));
        // Config projects' files come first, as in every load.
        files.sort_by_key(|f| !f.trusted);
        Layout::build_with_keys(self.tenant, self.drivers, &files, self.keys)
    }
}

/// Whether two errors are the same problem (same place, same words).
fn same_error(a: &ConfigError, b: &ConfigError) -> bool {
    a.project == b.project && a.file == b.file && a.message == b.message
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{drivers, file, tenant, CONFIG};

    const DEMO: &str = "- job: {name: unit}\n- project:\n    post: {jobs: [unit]}\n";

    fn base() -> Vec<ConfigFile> {
        vec![
            file("config", "zuul.yaml", CONFIG),
            file("demo", "zuul.yaml", DEMO),
        ]
    }

    /// The speculative layout of `proposed` (project, path, text) over `base()`.
    fn speculate(
        base_errors: &[ConfigError],
        proposed: &[(&str, &str, &str)],
    ) -> Result<Option<Layout>, Vec<ConfigError>> {
        let (tenant, drivers, base) = (tenant(), drivers(), base());
        let speculation = Speculation {
            tenant: &tenant,
            drivers: &drivers,
            base: &base,
            base_errors,
            keys: None,
        };
        let proposed: Vec<(String, Vec<ConfigFile>)> = proposed
            .iter()
            .map(|(p, path, text)| (p.to_string(), vec![file(p, path, text)]))
            .collect();
        speculation.layout(&proposed)
    }

    fn jobs(layout: &Layout) -> Vec<String> {
        let graph = layout.job_graph("post", "demo", "master").unwrap();
        graph.into_iter().map(|j| j.name).collect()
    }

    #[test]
    fn an_untrusted_change_to_a_project_stanza_runs_its_new_job() {
        let text = format!("{DEMO}- job: {{name: lint}}\n- project:\n    post: {{jobs: [lint]}}\n");

        let layout = speculate(&[], &[("demo", "zuul.yaml", &text)])
            .unwrap()
            .unwrap();

        assert_eq!(jobs(&layout), ["unit", "lint"]);
    }

    #[test]
    fn files_as_in_the_base_make_no_new_layout() {
        assert!(speculate(&[], &[("demo", "zuul.yaml", DEMO)])
            .unwrap()
            .is_none());
    }

    #[test]
    fn an_error_in_the_proposed_config_is_reported_with_its_file_and_line() {
        let broken = format!("{DEMO}- job:\n    name: lint\n    bogus: 1\n");

        let errors = speculate(&[], &[("demo", "zuul.yaml", &broken)]).unwrap_err();

        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!((errors[0].file.as_str(), errors[0].line), ("zuul.yaml", 6));
    }

    #[test]
    fn a_config_project_change_is_checked_but_takes_effect_only_once_merged() {
        let more = format!("{CONFIG}- job: {{name: extra}}\n");
        let broken = format!("{CONFIG}- job: {{name: extra, bogus: 1}}\n");

        assert!(speculate(&[], &[("config", "zuul.yaml", &more)])
            .unwrap()
            .is_none());
        assert!(speculate(&[], &[("config", "zuul.yaml", &broken)]).is_err());
    }

    #[test]
    fn errors_the_base_had_already_are_not_the_changes_to_answer_for() {
        let broken = format!("{DEMO}- job: {{name: lint, bogus: 1}}\n");
        let before = speculate(&[], &[("demo", "zuul.yaml", &broken)]).unwrap_err();
        let fixed_elsewhere = format!("{broken}- job: {{name: docs}}\n");

        let layout = speculate(&before, &[("demo", "zuul.yaml", &fixed_elsewhere)]);

        assert!(layout.unwrap().is_some());
    }
}
