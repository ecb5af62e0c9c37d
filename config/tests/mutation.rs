//! A bounded property test on stable Rust, beside the cargo-fuzz target in
//! config/fuzz: thousands of deterministic mutations of the corpus's config
//! files (lines dropped, swapped, re-indented, values replaced) must parse,
//! assemble and freeze into objects or located errors, never a panic, and
//! every error must point at a line of its file.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use portcullis_config::{ConfigFile, Layout, TenantConfig};

const TENANT: &str = "- tenant:\n    name: t\n    source:\n      local:\n        config-projects: [config]\n        untrusted-projects: [demo]\n";
const ROUNDS_PER_SEED: usize = 60;

/// xorshift64*: deterministic, so a failure names a seed that reproduces it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const VALUES: &[&str] = &[
    "null",
    "[]",
    "{}",
    "-1",
    "true",
    "'['",
    "*alias",
    "&anchor x",
    "!encrypted/pkcs1-oaep [a]",
    "[{name: x}]",
    "{regex: '(', negate: true}",
    "base",
    "^.*$",
    "'\\t'",
    "99999999999999999999",
];

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for _ in 0..1 + rng.below(3) {
        if lines.is_empty() {
            break;
        }
        let i = rng.below(lines.len());
        match rng.below(5) {
            0 => {
                lines.remove(i);
            }
            1 => {
                let j = rng.below(lines.len());
                lines.swap(i, j);
            }
            2 => lines[i] = format!("  {}", lines[i]),
            3 => lines[i] = lines[i].trim_start().to_string(),
            _ => {
                let value = VALUES[rng.below(VALUES.len())];
                lines[i] = match lines[i].split_once(": ") {
                    Some((key, _)) => format!("{key}: {value}"),
                    None => format!("{}{value}", lines[i]),
                };
            }
        }
    }
    lines.join("\n") + "\n"
}

fn seeds() -> Vec<String> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut out = Vec::new();
    for case in fs::read_dir(corpus).unwrap() {
        let repos = case.unwrap().path().join("repos");
        for repo in fs::read_dir(&repos).into_iter().flatten() {
            let repo = repo.unwrap().path();
            for name in [".zuul.yaml", "zuul.yaml"] {
                if let Ok(text) = fs::read_to_string(repo.join(name)) {
                    out.push(text);
                }
            }
        }
    }
    out.sort();
    out
}

fn check(text: &str, what: &str) {
    let tenant = TenantConfig::parse("main.yaml", TENANT)
        .unwrap()
        .tenants
        .remove(0);
    let files: Vec<ConfigFile> = ["config", "demo"]
        .into_iter()
        .map(|project| ConfigFile {
            connection: "local".into(),
            project: project.into(),
            branch: "master".into(),
            commit: "0".into(),
            path: "zuul.yaml".into(),
            trusted: project == "config",
            text: text.into(),
        })
        .collect();
    let drivers = BTreeMap::from([("local".to_string(), "git".to_string())]);
    let layout = Layout::build(&tenant, &drivers, &files);
    let last_line = text.lines().count().max(1) + 1;
    for error in &layout.errors {
        assert!(
            (1..=last_line).contains(&error.line),
            "{what}: {error} is past the end\n{text}"
        );
    }
    for pipeline in &layout.pipelines {
        for project in ["config", "demo"] {
            let files = ["src/a".to_string()];
            let _ = layout.job_graph_for_files(&pipeline.name, project, "master", Some(&files));
        }
    }
}

#[test]
fn mutated_corpus_files_give_located_errors_never_panics() {
    let seeds = seeds();
    assert!(seeds.len() >= 30, "{} seed files", seeds.len());
    for (s, seed) in seeds.iter().enumerate() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (s as u64 + 1));
        for round in 0..ROUNDS_PER_SEED {
            let text = mutate(seed, &mut rng);
            check(&text, &format!("seed {s} round {round}"));
        }
    }
}
