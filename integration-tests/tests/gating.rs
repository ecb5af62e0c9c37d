//! Gating on plain git through the real server: review branches proposed to
//! a dependent `gate` pipeline, tested speculatively with real Ansible and
//! merged by the server into the real repo; serial and supercedent
//! pipelines; and Zuul's admin API behind bearer tokens.
//!
//! The `gatekeeper` job ([`JobGate`]) records the tree it tests, waits until
//! the test releases it, and fails when the tree holds a file `FAIL`, so
//! each scenario steps its queue by releasing builds and watching the
//! status, never by sleeping. Changes are proposed one at a time, each once
//! the gate holds the one before, so the queue's order is known.

mod admin_api;
mod commands;
mod config_change;
mod conflicts;
mod cycles;
mod depends_on;
mod git_parents;
mod managers;
mod reports;
mod speculative;
mod window;

use portcullis_integration_tests::review::{
    change_id, change_number, gate_config, project_stanza, Developer, JobGate, Proposal,
};
use portcullis_integration_tests::{Repo, Scenario, TestServer};

/// A server with a `gate`, the gatekeeper job on master, and a developer.
pub struct Gate {
    /// The server.
    pub server: TestServer,
    /// The gatekeeper job's gates and records.
    pub jobs: JobGate,
    /// A developer's clone of the demo project.
    pub dev: Developer,
    /// Demo's master before any change merged.
    pub base: String,
}

/// A proposed change in the gate.
pub struct Change {
    /// Its patchset.
    pub proposal: Proposal,
    /// Its number.
    pub number: u64,
    /// Its `N,P` id in the status.
    pub id: String,
}

impl Change {
    /// The patchset's sha.
    pub fn sha(&self) -> &str {
        &self.proposal.sha
    }
}

impl Gate {
    /// Starts `scenario` with a gate of `window` (e.g. `"    window: 4\n"`).
    pub async fn start(window: &str, scenario: Scenario) -> Gate {
        let scenario = Scenario {
            config_yaml: gate_config(window),
            ..scenario
        };
        Gate::start_with(scenario).await
    }

    /// Starts `scenario` as it is (its config project's zuul.yaml included).
    pub async fn start_with(scenario: Scenario) -> Gate {
        let server = TestServer::start(scenario).await;
        let jobs = JobGate::default();
        let base = jobs.install(&server.demo, &project_stanza(&["gate"], Some("integrated")));
        let dev = Developer::clone_of(&server.demo);
        Gate {
            server,
            jobs,
            dev,
            base,
        }
    }

    /// Proposes `topic` (adding `changes/{topic}` and `extra` files) and waits
    /// until the gate holds `queue` and then it.
    pub async fn propose(
        &self,
        topic: &str,
        extra: &[(&str, &str)],
        queue: &mut Vec<String>,
    ) -> Change {
        let path = format!("changes/{topic}");
        let mut files = vec![(path.as_str(), topic)];
        files.extend_from_slice(extra);
        let proposal = self.dev.propose(topic, &format!("Change {topic}"), &files);
        self.enqueued(proposal, queue).await
    }

    /// Waits until `proposal` has a number and the gate holds `queue` and then it.
    pub async fn enqueued(&self, proposal: Proposal, queue: &mut Vec<String>) -> Change {
        let number = change_number(&self.server, &proposal).await;
        let id = change_id(number, &proposal);
        queue.push(id.clone());
        self.server.until_queue("gate", queue).await;
        Change {
            proposal,
            number,
            id,
        }
    }

    /// Waits until the gate reports `change`, and answers the result.
    pub async fn result(&self, change: &Change) -> String {
        self.server.buildset_result("gate", change.sha()).await
    }

    /// The subjects of the commits merged into demo's master since the start.
    pub fn merged(&self) -> Vec<String> {
        merged_into(&self.server.demo, &self.base)
    }
}

/// The subjects of the commits on `repo`'s master since `base`.
pub fn merged_into(repo: &Repo, base: &str) -> Vec<String> {
    portcullis_integration_tests::review::history(repo, base)
}

/// `names` as owned strings, for comparing with trees.
pub fn tree(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}
