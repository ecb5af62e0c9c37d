//! [`LocalRepo`]: a repo on this machine read in-process: its HEAD, branch
//! heads, and the Zuul config files at a commit.
//!
//! A layout load reads every project of a tenant; with the git CLI that is
//! several processes per project (1–3 ms each here), seconds for a thousand
//! projects. For a connection whose repos are a local folder we read the
//! upstream repo's files directly instead: loose and packed refs, loose
//! objects, pack files (version-2 index, deltas). Anything else (alternates,
//! reftable, SHA-256, linked work trees, symbolic branch refs, tag-valued
//! branches) is [`Unreadable`], and the caller falls back to the git CLI,
//! which stays the reference for every kind of repo and remote.

mod pack;
#[cfg(test)]
mod tests;

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::ZlibDecoder;

use super::config_files::{self, ROOTS};
use pack::Pack;

/// Why the in-process reader cannot answer; the git CLI can.
#[derive(Debug)]
pub(crate) struct Unreadable(pub(crate) String);

impl Unreadable {
    fn io(path: &Path, e: std::io::Error) -> Unreadable {
        Unreadable(format!("{}: {e}", path.display()))
    }
}

/// The kind of a git object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Commit,
    Tree,
    Blob,
    Tag,
}

impl Kind {
    fn from_pack(code: u8) -> Kind {
        match code {
            1 => Kind::Commit,
            2 => Kind::Tree,
            3 => Kind::Blob,
            _ => Kind::Tag,
        }
    }

    fn from_name(name: &[u8]) -> Option<Kind> {
        Some(match name {
            b"commit" => Kind::Commit,
            b"tree" => Kind::Tree,
            b"blob" => Kind::Blob,
            b"tag" => Kind::Tag,
            _ => return None,
        })
    }
}

/// An object's kind and body.
type Object = (Kind, Vec<u8>);

/// A plain repo (bare, or a work tree's `.git` folder) read without git.
pub(crate) struct LocalRepo {
    git_dir: PathBuf,
    /// Its packs, read on the first object not found loose.
    packs: Option<Vec<Pack>>,
}

impl LocalRepo {
    /// The repo at `path` (bare, or with a `.git` folder), when it is one we can read.
    pub(crate) fn open(path: &Path) -> Result<LocalRepo, Unreadable> {
        let dotgit = path.join(".git");
        let git_dir = if dotgit.is_dir() {
            dotgit
        } else {
            path.to_path_buf()
        };
        let config = std::fs::read_to_string(git_dir.join("config"))
            .map_err(|e| Unreadable::io(&git_dir.join("config"), e))?;
        // Extensions change how refs or objects are stored (reftable, SHA-256, ...).
        if config.to_ascii_lowercase().contains("[extensions") {
            return Err(Unreadable(format!(
                "{}: repo extensions",
                git_dir.display()
            )));
        }
        for other in ["commondir", "objects/info/alternates"] {
            if git_dir.join(other).exists() {
                return Err(Unreadable(format!("{}: has {other}", git_dir.display())));
            }
        }
        Ok(LocalRepo {
            git_dir,
            packs: None,
        })
    }

    /// The branch HEAD names, if it names one (it may not exist).
    pub(crate) fn head_branch(&self) -> Result<Option<String>, Unreadable> {
        let path = self.git_dir.join("HEAD");
        let head = std::fs::read_to_string(&path).map_err(|e| Unreadable::io(&path, e))?;
        Ok(head
            .trim_end()
            .strip_prefix("ref: refs/heads/")
            .filter(|b| safe_branch(b))
            .map(str::to_string))
    }

    /// The commit at the head of `branch`; `None` when there is no such branch.
    pub(crate) fn branch_head(&mut self, branch: &str) -> Result<Option<String>, Unreadable> {
        if !safe_branch(branch) {
            return Err(Unreadable(format!("branch name {branch:?}")));
        }
        let name = format!("refs/heads/{branch}");
        let loose = self.git_dir.join(&name);
        let sha = match std::fs::read_to_string(&loose) {
            Ok(text) => Some(text.trim_end().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.packed_ref(&name)?,
            // A folder of that name (refs/heads/a when a/b exists) is no branch,
            // but leave odd cases to git.
            Err(e) => return Err(Unreadable::io(&loose, e)),
        };
        let Some(sha) = sha else { return Ok(None) };
        let id = parse_id(&sha).ok_or_else(|| Unreadable(format!("{name}: {sha:?}")))?;
        match self.object(&id)?.0 {
            Kind::Commit => Ok(Some(sha)),
            other => Err(Unreadable(format!("{name} points to a {other:?}"))),
        }
    }

    fn packed_ref(&self, name: &str) -> Result<Option<String>, Unreadable> {
        let path = self.git_dir.join("packed-refs");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Unreadable::io(&path, e)),
        };
        Ok(text.lines().find_map(|line| {
            let (sha, rest) = line.split_once(' ')?;
            (rest == name).then(|| sha.to_string())
        }))
    }

    /// The Zuul config files at `commit`: (path, text) in load order, as
    /// `config_files::read` gives them through git.
    pub(crate) fn config_files(
        &mut self,
        commit: &str,
    ) -> Result<Vec<(String, String)>, Unreadable> {
        let id = parse_id(commit).ok_or_else(|| Unreadable(format!("commit {commit:?}")))?;
        let body = self.expect(&id, Kind::Commit)?;
        let tree = body
            .strip_prefix(b"tree ")
            .and_then(|rest| parse_id(std::str::from_utf8(rest.get(..40)?).ok()?))
            .ok_or_else(|| Unreadable(format!("commit {commit} has no tree")))?;
        let root = self.expect(&tree, Kind::Tree)?;
        let mut found = Vec::new();
        for entry in tree_entries(&root)? {
            if ROOTS.contains(&entry.name.as_str()) {
                self.collect(entry, String::new(), &mut found)?;
            }
        }
        let paths = found.iter().map(|(path, _)| path.clone()).collect();
        let mut files = Vec::new();
        for path in config_files::select(paths) {
            let Some((_, entry)) = found.iter().find(|(p, _)| *p == path) else {
                continue;
            };
            if entry.mode == "160000" {
                return Err(Unreadable(format!("{path} is a submodule")));
            }
            let blob = self.expect(&entry.id, Kind::Blob)?;
            files.push((path, String::from_utf8_lossy(&blob).into_owned()));
        }
        Ok(files)
    }

    /// Every non-folder entry at and below `entry`, with its path.
    fn collect(
        &mut self,
        entry: TreeEntry,
        prefix: String,
        found: &mut Vec<(String, TreeEntry)>,
    ) -> Result<(), Unreadable> {
        let path = format!("{prefix}{}", entry.name);
        if entry.mode != "40000" {
            found.push((path, entry));
            return Ok(());
        }
        let tree = self.expect(&entry.id, Kind::Tree)?;
        for inner in tree_entries(&tree)? {
            self.collect(inner, format!("{path}/"), found)?;
        }
        Ok(())
    }

    fn expect(&mut self, id: &[u8; 20], kind: Kind) -> Result<Vec<u8>, Unreadable> {
        match self.object(id)? {
            (k, body) if k == kind => Ok(body),
            (k, _) => Err(Unreadable(format!(
                "{} is a {k:?}, not a {kind:?}",
                hex(id)
            ))),
        }
    }

    /// The object `id`, loose or packed.
    fn object(&mut self, id: &[u8; 20]) -> Result<Object, Unreadable> {
        if let Some(found) = read_loose(&self.git_dir, id)? {
            return Ok(found);
        }
        // Packs are read only once an object is not loose.
        if self.packs.is_none() {
            self.packs = Some(Pack::all(&self.git_dir.join("objects"))?);
        }
        let packs = self.packs.as_deref().unwrap_or_default();
        packed(&self.git_dir, packs, id, 0)
    }
}

/// The most by-id delta bases followed for one object; a corrupt pack could
/// make them a cycle.
const MAX_REF_BASES: usize = 64;

/// The object `id` from `packs`, `bases` by-id delta bases deep; a by-id
/// base may be loose or packed.
fn packed(
    git_dir: &Path,
    packs: &[Pack],
    id: &[u8; 20],
    bases: usize,
) -> Result<Object, Unreadable> {
    if bases > MAX_REF_BASES {
        return Err(Unreadable(format!(
            "object {}: delta bases too deep",
            hex(id)
        )));
    }
    let Some((pack, offset)) = packs.iter().find_map(|p| Some((p, p.offset(id)?))) else {
        return Err(Unreadable(format!("object {} not found", hex(id))));
    };
    pack.read(offset, &mut |base| match read_loose(git_dir, base)? {
        Some(found) => Ok(found),
        None => packed(git_dir, packs, base, bases + 1),
    })
}

/// The loose object `id` (zlib of `<kind> <size>\0<body>`), if there is one.
fn read_loose(git_dir: &Path, id: &[u8; 20]) -> Result<Option<Object>, Unreadable> {
    let name = hex(id);
    let path = git_dir.join("objects").join(&name[..2]).join(&name[2..]);
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Unreadable::io(&path, e)),
    };
    let mut raw = Vec::new();
    ZlibDecoder::new(file)
        .read_to_end(&mut raw)
        .map_err(|e| Unreadable::io(&path, e))?;
    let bad = || Unreadable(format!("{}: not a loose object", path.display()));
    let nul = raw.iter().position(|b| *b == 0).ok_or_else(bad)?;
    let (kind, size) = std::str::from_utf8(&raw[..nul])
        .ok()
        .and_then(|h| h.split_once(' '))
        .ok_or_else(bad)?;
    let kind = Kind::from_name(kind.as_bytes()).ok_or_else(bad)?;
    if size.parse::<usize>().ok() != Some(raw.len() - nul - 1) {
        return Err(bad());
    }
    raw.drain(..=nul);
    Ok(Some((kind, raw)))
}

/// One entry of a tree object.
struct TreeEntry {
    mode: String,
    name: String,
    id: [u8; 20],
}

fn tree_entries(mut body: &[u8]) -> Result<Vec<TreeEntry>, Unreadable> {
    let bad = || Unreadable("malformed tree".to_string());
    let mut entries = Vec::new();
    while !body.is_empty() {
        let space = body.iter().position(|b| *b == b' ').ok_or_else(bad)?;
        let nul = body.iter().position(|b| *b == 0).ok_or_else(bad)?;
        let id = body.get(nul + 1..nul + 21).ok_or_else(bad)?;
        entries.push(TreeEntry {
            mode: String::from_utf8_lossy(&body[..space]).into_owned(),
            name: String::from_utf8_lossy(body.get(space + 1..nul).ok_or_else(bad)?).into_owned(),
            id: id.try_into().map_err(|_| bad())?,
        });
        body = &body[nul + 21..];
    }
    Ok(entries)
}

/// A branch name that is a plain path under `refs/heads/` (no `..`, no leading `-`).
fn safe_branch(branch: &str) -> bool {
    !branch.is_empty()
        && !branch.starts_with(['-', '/'])
        && branch
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

fn parse_id(sha: &str) -> Option<[u8; 20]> {
    if sha.len() != 40 {
        return None;
    }
    let mut id = [0; 20];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = u8::from_str_radix(sha.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(id)
}

fn hex(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}
