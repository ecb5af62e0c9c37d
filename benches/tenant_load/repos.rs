//! The bench's repos, written in-process as bare repos of one commit with loose
//! objects (a git process per repo would take longer than the load measured).

use std::io::Write;
use std::path::Path;

use flate2::write::ZlibEncoder;
use flate2::Compression;
use portcullis_config::ConfigFile;
use sha1::{Digest, Sha1};

/// The pipelines, a nodeset, `base` and the shared parent every project job inherits.
const CONFIG: &str = "\
- pipeline:
    name: check
    manager: independent
    trigger:
      local:
        - event: patchset-created
- pipeline:
    name: gate
    manager: dependent
    post-review: true
    trigger:
      local:
        - event: patchset-created
    success:
      local:
        merge: true
- nodeset:
    name: ubuntu
    nodes:
      - name: ubuntu
        label: local
- job:
    name: base
    parent: null
    pre-run: playbooks/base/pre.yaml
    post-run: playbooks/base/post.yaml
    nodeset: ubuntu
    timeout: 600
- job:
    name: shared-parent
    parent: base
    vars:
      site: {region: east, mirror: https://mirror.example.com}
      retries: 2
";

/// The name of the `i`th project.
pub fn project(i: usize) -> String {
    format!("project-{i:05}")
}

/// The `.zuul.yaml` of the `i`th project: 5 jobs and its stanza in check and gate.
fn project_config(i: usize) -> String {
    let name = project(i);
    let suites = ["unit", "lint", "docs", "integration", "build"];
    let mut text = String::new();
    for (k, suite) in suites.iter().enumerate() {
        let matcher = match k % 2 {
            0 => "files:\n      - ^src/.*$\n      - ^tests/.*$",
            _ => "irrelevant-files:\n      - ^doc/.*$\n      - ^.*\\.md$",
        };
        text.push_str(&format!(
            "- job:\n    name: {name}-{suite}\n    parent: shared-parent\n    \
             description: The {suite} job of {name}.\n    run: playbooks/{suite}.yaml\n    \
             vars:\n      suite: {suite}\n      project_index: {i}\n      \
             options: {{verbose: true, shard: {k}}}\n    {matcher}\n"
        ));
    }
    text.push_str("- project:\n");
    for pipeline in ["check", "gate"] {
        text.push_str(&format!("    {pipeline}:\n      jobs:\n"));
        for suite in suites {
            text.push_str(&format!("        - {name}-{suite}\n"));
        }
    }
    text
}

/// Bare repos `config` and `project-00000` .. under `dir`, each one commit on master.
pub fn generate(dir: &Path, n: usize) {
    write_repo(&dir.join("config"), "zuul.yaml", CONFIG);
    for i in 0..n {
        write_repo(&dir.join(project(i)), ".zuul.yaml", &project_config(i));
    }
}

/// The files a load reads, for building the layout without the repos.
pub fn config_files(n: usize) -> Vec<ConfigFile> {
    let file = |project: String, path: &str, trusted, text: String| ConfigFile {
        connection: "local".into(),
        project,
        branch: "master".into(),
        commit: "0".repeat(40),
        path: path.into(),
        trusted,
        text: text.into(),
    };
    let mut files = vec![file("config".into(), "zuul.yaml", true, CONFIG.into())];
    files.extend((0..n).map(|i| file(project(i), ".zuul.yaml", false, project_config(i))));
    files
}

/// A bare repo whose master holds `path` (with `text`) and a README.
fn write_repo(repo: &Path, path: &str, text: &str) {
    for sub in ["objects", "refs/heads", "refs/tags"] {
        std::fs::create_dir_all(repo.join(sub)).expect("repo folders");
    }
    std::fs::write(repo.join("HEAD"), "ref: refs/heads/master\n").expect("HEAD");
    std::fs::write(
        repo.join("config"),
        "[core]\n\trepositoryformatversion = 0\n\tbare = true\n",
    )
    .expect("config");
    let config = write_object(repo, "blob", text.as_bytes());
    let readme = write_object(repo, "blob", b"A generated project.\n");
    // Tree entries sorted by name: `.zuul.yaml` and `zuul.yaml` both sort around README.
    let mut entries = [(path, config), ("README", readme)];
    entries.sort();
    let mut tree = Vec::new();
    for (name, sha) in entries {
        tree.extend_from_slice(format!("100644 {name}\0").as_bytes());
        tree.extend_from_slice(&sha);
    }
    let tree = write_object(repo, "tree", &tree);
    let who = "Bench <bench@example.com> 1700000000 +0000";
    let commit = format!(
        "tree {}\nauthor {who}\ncommitter {who}\n\nGenerated\n",
        hex(&tree)
    );
    let commit = write_object(repo, "commit", commit.as_bytes());
    std::fs::write(
        repo.join("refs/heads/master"),
        format!("{}\n", hex(&commit)),
    )
    .expect("master");
}

/// Writes a loose object; returns its id.
fn write_object(repo: &Path, kind: &str, body: &[u8]) -> [u8; 20] {
    let mut raw = format!("{kind} {}\0", body.len()).into_bytes();
    raw.extend_from_slice(body);
    let id: [u8; 20] = Sha1::digest(&raw).into();
    let name = hex(&id);
    let folder = repo.join("objects").join(&name[..2]);
    std::fs::create_dir_all(&folder).expect("object folder");
    let mut zlib = ZlibEncoder::new(Vec::new(), Compression::fast());
    zlib.write_all(&raw).expect("deflate");
    std::fs::write(folder.join(&name[2..]), zlib.finish().expect("deflate")).expect("object");
    id
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
