//! A bounded property test on stable Rust, beside the cargo-fuzz target in
//! config/fuzz: thousands of deterministic mutations of the corpus's config
//! files (lines dropped, swapped, re-indented, values replaced) must parse,
//! assemble and freeze into objects or located errors, never a panic, and
//! every error must point at a line of its file.

use std::fs;
use std::path::Path;

use portcullis_config::fuzzing::{freeze_all, layout_of, Rng};

const ROUNDS_PER_SEED: usize = 60;

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
    let layout = layout_of(text).expect("the fixed tenant parses");
    let last_line = text.lines().count().max(1) + 1;
    for error in &layout.errors {
        assert!(
            (1..=last_line).contains(&error.line),
            "{what}: {error} is past the end\n{text}"
        );
    }
    freeze_all(&layout);
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
