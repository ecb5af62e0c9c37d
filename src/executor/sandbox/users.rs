//! A user of its own for each running build: a uid no other live build has,
//! far above the host's users, so builds cannot touch each other or the host.
//!
//! "No other live build" holds across processes too (several executors, or
//! test binaries, on one machine): a uid is held by an flock on a file named
//! after it, which the kernel releases when its holder dies.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The first uid given to builds.
const FIRST_UID: u32 = 2_000_000_000;

/// How many builds may hold a user at once.
const SLOTS: u32 = 1 << 16;

/// The name builds run as (in the sandbox's /etc/passwd).
pub const USER_NAME: &str = "zuul";

/// Where the machine-wide uid locks live.
const LOCK_DIR: &str = "/run/portcullis/build-uids";

/// Hands out build users. Cheap to clone; clones share the pool.
#[derive(Debug, Clone)]
pub struct UserPool {
    taken: Arc<Mutex<Taken>>,
    lock_dir: PathBuf,
}

impl Default for UserPool {
    fn default() -> Self {
        UserPool {
            taken: Arc::default(),
            lock_dir: PathBuf::from(LOCK_DIR),
        }
    }
}

#[derive(Debug, Default)]
struct Taken {
    slots: BTreeSet<u32>,
    next: u32,
}

/// A build's user, given back to the pool when dropped.
#[derive(Debug)]
pub struct BuildUser {
    /// The uid (and gid).
    pub uid: u32,
    pool: UserPool,
    _lock: File,
}

impl UserPool {
    /// A user no live build on this machine holds; `None` when every slot
    /// is taken or the lock dir cannot be made.
    pub fn take(&self) -> Option<BuildUser> {
        std::fs::create_dir_all(&self.lock_dir).ok()?;
        let mut taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        for _ in 0..SLOTS {
            let slot = taken.next;
            taken.next = (taken.next + 1) % SLOTS;
            if taken.slots.contains(&slot) {
                continue;
            }
            if let Some(lock) = self.lock(FIRST_UID + slot) {
                taken.slots.insert(slot);
                return Some(BuildUser {
                    uid: FIRST_UID + slot,
                    pool: self.clone(),
                    _lock: lock,
                });
            }
        }
        None
    }

    /// Ends the processes of build users whose holder is gone (a server that
    /// died leaves its builds' workers behind); answers how many users had any.
    /// A user a live build holds is left alone, on this server or another.
    pub fn end_orphans(&self) -> usize {
        let users = crate::executor::process::users_among(FIRST_UID..FIRST_UID + SLOTS);
        let mut ended = 0;
        for uid in users {
            // Held while the processes die, so no new build takes the user meanwhile.
            if let Some(_lock) = self.lock(uid) {
                crate::executor::process::kill_user(uid);
                ended += 1;
            }
        }
        ended
    }

    /// The lock on `uid`, if no other process holds it.
    fn lock(&self, uid: u32) -> Option<File> {
        let file = File::create(self.lock_dir.join(uid.to_string())).ok()?;
        file.try_lock().ok()?;
        Some(file)
    }
}

impl Drop for BuildUser {
    fn drop(&mut self) {
        let mut taken = self.pool.taken.lock().unwrap_or_else(|e| e.into_inner());
        taken.slots.remove(&(self.uid - FIRST_UID));
    }
}

impl BuildUser {
    /// The host's passwd file with this user added, home `home`.
    pub fn passwd(&self, host: &str, home: &str) -> String {
        let line = format!(
            "{USER_NAME}:x:{0}:{0}:Portcullis build:{home}:/bin/sh",
            self.uid
        );
        with_line(host, USER_NAME, &line)
    }

    /// The host's group file with this user's group added.
    pub fn group(&self, host: &str) -> String {
        with_line(host, USER_NAME, &format!("{USER_NAME}:x:{}:", self.uid))
    }
}

/// `file` without any entry named `name`, and `line` at its end.
fn with_line(file: &str, name: &str, line: &str) -> String {
    let mut out: String = file
        .lines()
        .filter(|l| l.split(':').next() != Some(name))
        .flat_map(|l| [l, "\n"])
        .collect();
    out.push_str(line);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_builds_never_share_a_user_and_a_finished_one_gives_its_back() {
        let dir = tempfile::tempdir().unwrap();
        let pool = UserPool {
            lock_dir: dir.path().to_owned(),
            ..UserPool::default()
        };
        let other_process = UserPool {
            lock_dir: dir.path().to_owned(),
            ..UserPool::default()
        };
        let first = pool.take().unwrap();
        let second = pool.take().unwrap();
        assert_ne!(first.uid, second.uid);
        assert!(first.uid >= FIRST_UID);
        let elsewhere = other_process.take().unwrap();
        assert!(
            ![first.uid, second.uid].contains(&elsewhere.uid),
            "a pool of another process skips held users"
        );
        drop(elsewhere);

        let uid = first.uid;
        drop(first);
        let taken: Vec<u32> = (0..SLOTS - 1).map(|_| pool.take().unwrap().uid).collect();

        assert!(
            !taken.contains(&second.uid),
            "a live build's user is never handed out"
        );
        assert!(taken.contains(&uid), "a returned user is handed out again");
    }

    #[test]
    fn the_sandbox_passwd_names_the_build_user_once() {
        let user = UserPool::default().take().unwrap();
        let host = "root:x:0:0:root:/root:/bin/bash\nzuul:x:1000:1000::/home/zuul:/bin/sh\n";

        let passwd = user.passwd(host, "/w/work");

        assert!(passwd.starts_with("root:x:0:0"));
        let zuul: Vec<&str> = passwd.lines().filter(|l| l.starts_with("zuul:")).collect();
        assert_eq!(
            zuul,
            [format!(
                "zuul:x:{0}:{0}:Portcullis build:/w/work:/bin/sh",
                user.uid
            )]
        );
    }
}
