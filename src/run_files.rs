//! `RunFiles`: the files one command reads and writes, and the one check, made before anything
//! is sent, that no file it writes is a file it reads or another file it writes.
//!
//! A journal is the only record of what a run changed, and undo needs it whole; a script or a
//! plan is the user's work. So the journal (`--journal`, appended to), the report (`--report`)
//! and the plan (`--plan-out`), both written whole, must each be their own file, and none may
//! be the script being run, the plan being applied or the journal being undone. Two paths name
//! the same file when their canonical forms are equal (the file's folder is resolved for a file
//! that does not exist yet, so `x`, `./x` and `/abs/x` agree) or, for files that exist, when they
//! have the same device and inode (symlinks, hard links). A report or a plan is also never
//! written over an existing dactl journal, wherever it lies (in the default journal folder under
//! the XDG state dir too): a file whose first line is a JSON object with `run_id` and `kind`.
//!
//! The default journal (`<state dir>/dactl/journal/<run-id>.jsonl`) needs no comparison: its run
//! id is new, so no flag can name it before the run starts.

use std::io::BufRead;
use std::path::{Path, PathBuf};

/// What a file is to the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `--journal`: appended to.
    Journal,
    /// `--report`: written whole.
    Report,
    /// `--plan-out`: written whole.
    PlanOut,
    /// `dactl run FILE`.
    Script,
    /// `dactl apply PLAN`.
    Plan,
    /// `dactl undo JOURNAL`.
    UndoneJournal,
}

impl Role {
    /// The flag or argument that names it, for messages.
    fn named_by(self) -> &'static str {
        match self {
            Role::Journal => "`--journal`",
            Role::Report => "`--report`",
            Role::PlanOut => "`--plan-out`",
            Role::Script => "the script of `run`",
            Role::Plan => "the plan of `apply`",
            Role::UndoneJournal => "the journal of `undo`",
        }
    }

    /// What the file holds, for messages.
    fn holds(self) -> &'static str {
        match self {
            Role::Journal => "the journal",
            Role::Report => "the report",
            Role::PlanOut => "the plan",
            Role::Script => "the script being run",
            Role::Plan => "the plan being applied",
            Role::UndoneJournal => "the journal being undone",
        }
    }
}

/// The files one command names: the ones it writes and the one it reads.
#[derive(Debug, Default)]
pub struct RunFiles {
    pub journal: Option<PathBuf>,
    pub report: Option<PathBuf>,
    pub plan_out: Option<PathBuf>,
    /// What the command reads and must not lose: the script run, the plan applied or the
    /// journal undone (`Role::Script`, `Role::Plan`, `Role::UndoneJournal`).
    pub input: Option<(Role, PathBuf)>,
}

impl RunFiles {
    /// `Err`: a usage error naming both flags, the path and the fix.
    pub fn check(&self) -> Result<(), String> {
        let written: Vec<(Role, &Path)> = [
            (Role::Journal, &self.journal),
            (Role::Report, &self.report),
            (Role::PlanOut, &self.plan_out),
        ]
        .into_iter()
        .filter_map(|(role, path)| Some((role, path.as_deref()?)))
        .collect();
        let mut all = written.clone();
        all.extend(
            self.input
                .as_ref()
                .map(|(role, path)| (*role, path.as_path())),
        );
        for (i, a) in written.iter().enumerate() {
            for b in &all[i + 1..] {
                if same_file(a.1, b.1) {
                    return Err(collision(*a, *b));
                }
            }
        }
        for (role, path) in written.iter().filter(|(role, _)| *role != Role::Journal) {
            if is_journal(path) {
                let flag = role.named_by();
                return Err(format!(
                    "{flag} names `{}`, an existing dactl journal, which undo needs: {} would \
                     overwrite it. Give {flag} a path of its own.",
                    path.display(),
                    role.holds(),
                ));
            }
        }
        Ok(())
    }
}

/// The message for `written`, a file the command writes, naming the same file as `other`.
fn collision(written: (Role, &Path), other: (Role, &Path)) -> String {
    let (role, path) = written;
    let harm = match (role, other.0) {
        (Role::Journal, Role::Report | Role::PlanOut) => {
            format!("{} would overwrite the journal", other.0.holds())
        }
        (Role::Journal, _) => format!("the journal would be appended to {}", other.0.holds()),
        (_, Role::Journal) => format!("{} would overwrite the journal", role.holds()),
        _ => format!("{} would overwrite {}", role.holds(), other.0.holds()),
    };
    let same = if path == other.1 {
        format!("`{}`", path.display())
    } else {
        format!(
            "`{}` and `{}` are the same file",
            path.display(),
            other.1.display()
        )
    };
    format!(
        "{} and {} name one file ({same}): {harm}. Give each its own path.",
        role.named_by(),
        other.0.named_by()
    )
}

/// Whether two paths name one file (see the module doc).
fn same_file(a: &Path, b: &Path) -> bool {
    if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b))
        && same_inode(&x, &y)
    {
        return true;
    }
    match (canonical(a), canonical(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

#[cfg(unix)]
fn same_inode(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_inode(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    false
}

/// The canonical path: of the file when it exists, else (through a symlink that points at
/// nothing yet, too) of its folder joined with its name.
fn canonical(path: &Path) -> Option<PathBuf> {
    canonical_within(path, 40)
}

fn canonical_within(path: &Path, links: u32) -> Option<PathBuf> {
    if let Ok(path) = std::fs::canonicalize(path) {
        return Some(path);
    }
    if let Ok(target) = std::fs::read_link(path)
        && links > 0
    {
        let target = match path.parent() {
            Some(folder) if target.is_relative() => folder.join(target),
            _ => target,
        };
        return canonical_within(&target, links - 1);
    }
    let name = path.file_name()?;
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Some(std::fs::canonicalize(folder).ok()?.join(name))
}

/// Whether `path` is an existing dactl journal: its first line is a JSON object with `run_id`
/// and `kind`.
fn is_journal(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut first = String::new();
    // A journal line is one action with its templates: generous, but bounded.
    let mut reader = std::io::BufReader::new(std::io::Read::take(file, 16 << 20));
    if reader.read_line(&mut first).is_err() {
        return false;
    }
    serde_json::from_str::<serde_json::Value>(&first).is_ok_and(|line| {
        line.get("run_id").is_some_and(|v| v.is_string())
            && line.get("kind").is_some_and(|v| v.is_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "dactl-run-files-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_file_that_does_not_exist_yet_is_named_the_same_through_dot_and_dot_dot() {
        let dir = dir();
        let a = dir.join("new.md");
        let b = dir.join("sub/../new.md");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        assert!(same_file(&a, &b));
        assert!(!same_file(&a, &dir.join("other.md")));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn only_a_journal_line_makes_a_journal() {
        let dir = dir();
        let journal = dir.join("j.md");
        std::fs::write(
            &journal,
            "{\"time\":\"t\",\"run_id\":\"r\",\"kind\":\"intent\"}\n",
        )
        .unwrap();
        let report = dir.join("r.md");
        std::fs::write(&report, "# Data Action timeout change plan\n").unwrap();
        let json = dir.join("p.json");
        std::fs::write(&json, "{\"kind\": \"plan\"}\n").unwrap();
        assert!(is_journal(&journal));
        assert!(!is_journal(&report));
        assert!(!is_journal(&json));
        assert!(!is_journal(&dir.join("missing")));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
