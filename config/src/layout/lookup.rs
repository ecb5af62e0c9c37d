//! Questions freezing asks the layout: does an object apply to a branch, what
//! does a project run in a pipeline, which nodes does a nodeset name.

use super::Layout;
use crate::job::{JobVariant, NodesetRef, Source, Vars};
use crate::nodeset::Nodeset;
use crate::project::ProjectDef;

/// What a project runs in one pipeline on one branch: its stanzas and templates merged.
#[derive(Debug, Default)]
pub struct ProjectPipelineConfig<'a> {
    /// The project.
    pub project: String,
    /// Jobs in the order first listed, each with every local variant listing it.
    pub jobs: Vec<(String, Vec<&'a JobVariant>)>,
    /// Project variables, later stanzas over earlier ones.
    pub vars: Vars,
    /// The shared queue, when a stanza names one.
    pub queue: Option<String>,
    /// Whether the first failing voting job ends the item at once; the first
    /// template or stanza that sets it decides, as Zuul lets no later one override it.
    pub fail_fast: Option<bool>,
}

/// Nodeset alternatives may name nodesets of alternatives; this deep is a loop.
const MAX_NODESET_DEPTH: usize = 8;

impl Layout {
    /// Whether an object defined at `source` applies to items on `branch`, by its
    /// implied branch matcher: as in Zuul, untrusted projects' objects apply to
    /// their own branch once config is read from more than one branch; pragmas
    /// can turn this off, force it, or give the branches.
    pub fn source_applies(&self, source: &Source, branch: &str) -> bool {
        if let Some(branches) = &source.pragma.implied_branches {
            return branches.any(branch);
        }
        let implied = match source.pragma.implied_branch_matchers {
            Some(forced) => forced,
            None => {
                !source.trusted
                    && self
                        .branches
                        .get(&source.project)
                        .is_some_and(|branches| branches.len() > 1)
            }
        };
        !implied || source.branch == branch
    }

    /// Whether a job variant applies to `branch`: its explicit matcher, else its implied one.
    pub fn variant_applies(&self, variant: &JobVariant, branch: &str) -> bool {
        match &variant.branches {
            Some(explicit) => explicit.any(branch),
            None => self.source_applies(&variant.source, branch),
        }
    }

    /// The project stanzas that configure `project`: regex-named ones first, then its own.
    pub fn project_stanzas(&self, project: &str) -> Vec<&ProjectDef> {
        let regex = self
            .projects
            .iter()
            .filter(|(name, _)| name.starts_with('^'))
            .filter(|(name, _)| {
                crate::job::Matcher::new(name, false).is_ok_and(|m| m.matches(project))
            })
            .flat_map(|(_, stanzas)| stanzas);
        regex
            .chain(self.projects.get(project).into_iter().flatten())
            .collect()
    }

    /// What `project` runs in `pipeline` on `branch`, templates before each stanza's own jobs.
    pub fn project_pipeline_config(
        &self,
        project: &str,
        pipeline: &str,
        branch: &str,
    ) -> ProjectPipelineConfig<'_> {
        let mut ppc = ProjectPipelineConfig {
            project: project.to_string(),
            ..ProjectPipelineConfig::default()
        };
        for stanza in self.project_stanzas(project) {
            if !self.source_applies(&stanza.source, branch) {
                continue;
            }
            let templates = stanza.templates.iter().flat_map(|t| self.templates.get(t));
            let applying = templates
                .flatten()
                .filter(|t| self.source_applies(&t.source, branch));
            for def in applying.chain([stanza]) {
                let Some(entry) = def.pipelines.get(pipeline) else {
                    continue;
                };
                for local in &entry.jobs {
                    match ppc.jobs.iter_mut().find(|(name, _)| *name == local.name) {
                        Some((_, locals)) => locals.push(local),
                        None => ppc.jobs.push((local.name.clone(), vec![local])),
                    }
                }
                if entry.queue.is_some() {
                    ppc.queue.clone_from(&entry.queue);
                }
                ppc.fail_fast = ppc.fail_fast.or(entry.fail_fast);
            }
            if let Some(vars) = &stanza.vars {
                crate::freeze::merge_vars(&mut ppc.vars, vars);
            }
            if stanza.queue.is_some() {
                ppc.queue.clone_from(&stanza.queue);
            }
        }
        ppc
    }

    /// Appends the nodesets `nodeset` stands for, alternatives expanded in order.
    pub fn flatten_nodeset(
        &self,
        nodeset: &NodesetRef,
        out: &mut Vec<Nodeset>,
        depth: usize,
    ) -> Result<(), String> {
        if depth > MAX_NODESET_DEPTH {
            return Err("nodeset alternatives nest too deep (a loop?)".into());
        }
        match nodeset {
            NodesetRef::Inline(n) => out.push(n.clone()),
            NodesetRef::Alternatives(all) => {
                for one in all {
                    self.flatten_nodeset(one, out, depth + 1)?;
                }
            }
            NodesetRef::Named(name) => {
                match (self.nodesets.get(name), self.nodeset_alternatives.get(name)) {
                    (Some(n), _) => out.push(n.clone()),
                    (None, Some(all)) => {
                        for one in all {
                            self.flatten_nodeset(one, out, depth + 1)?;
                        }
                    }
                    (None, None) => return Err(format!("nodeset {name} is not defined")),
                }
            }
        }
        Ok(())
    }
}
