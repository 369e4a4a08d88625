//! `dactl definitions DIR`: Rhai definition files (`*.d.rhai`) for editors, so that a Rhai
//! language server completes and checks the host functions in a script repository.
//!
//! The files come from the engine itself (`Engine::definitions_with_scope`, rhai's `metadata` and
//! `internals` features), built by `Host` exactly as `dactl run` builds it: the same
//! `engine::build`, the same host-function modules with their doc comments, and the scope with
//! `ARGS`. So they list what a script can really call, never a hand-kept copy; the standard
//! library's functions and operators are included, or an editor would flag `print` or `len`.
//!
//! One change is made to Rhai's text: a host function that can throw is declared in Rust as
//! returning `Result<T, ...>` (or this crate's alias `R<T>`), and its metadata spells that type
//! out; a script sees `T`, so the definition says `T`.

use std::path::{Path, PathBuf};

use super::{Host, returned_type};

/// Why the definitions could not be written: the message names the path and the fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DefinitionsError(String);

impl Host {
    /// The definition files, as (file name, text), in the order Rhai gives them.
    pub fn definitions(&self) -> Vec<(String, String)> {
        self.engine()
            .definitions_with_scope(self.scope())
            .iter_files()
            .map(|(name, text)| (name, plain_return_types(&text)))
            .collect()
    }

    /// Writes `definitions()` into `dir`, creating it (and its parents) when missing; existing
    /// files of the same names are replaced. Returns the paths written.
    pub fn write_definitions(&self, dir: &Path) -> Result<Vec<PathBuf>, DefinitionsError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            let why = match not_a_folder(dir) {
                Some(file) => format!("`{}` is a file, not a folder", file.display()),
                None => e.to_string(),
            };
            DefinitionsError(format!(
                "Cannot create the folder `{}` for the definitions: {why}. Give a folder that \
                 can be created or already exists, e.g. `dactl definitions .dactl/definitions`.",
                dir.display()
            ))
        })?;
        let mut written = Vec::new();
        for (name, text) in self.definitions() {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| {
                DefinitionsError(format!(
                    "Cannot write the definition file `{}`: {e}. Check that the folder `{}` is \
                     writable (and that `{}` is not a folder).",
                    path.display(),
                    dir.display(),
                    path.display()
                ))
            })?;
            written.push(path);
        }
        Ok(written)
    }
}

/// The first part of `dir` (itself or one of its parents) that exists but is not a folder: the
/// usual reason it cannot be created.
fn not_a_folder(dir: &Path) -> Option<&Path> {
    dir.ancestors()
        .filter(|p| !p.as_os_str().is_empty())
        .find(|p| p.exists())
        .filter(|p| !p.is_dir())
}

/// Rewrites each `fn ...) -> Result<T, ...>;` (or `-> R<T >;`) line to `fn ...) -> T;`.
fn plain_return_types(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let rewritten = body
            .strip_prefix("fn ")
            .and_then(|_| body.strip_suffix(';'))
            .and_then(|decl| decl.rsplit_once(") -> "))
            .map(|(head, returns)| format!("{head}) -> {};", returned_type(returns)));
        match rewritten {
            Some(new) => {
                out.push_str(&new);
                out.push_str(&line[body.len()..]);
            }
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_return_types_become_the_value_type() {
        let text = "/// Doc.\nfn a(x: ?) -> Result<Map, Box<EvalAltResult>>;\n\nfn b() -> R<? >;\nfn \
                    c(n: int) -> Iterator<int>;\nconst ARGS: map;";
        assert_eq!(
            plain_return_types(text),
            "/// Doc.\nfn a(x: ?) -> Map;\n\nfn b() -> ?;\nfn c(n: int) -> Iterator<int>;\nconst \
             ARGS: map;"
        );
    }

    #[test]
    fn the_part_that_is_a_file_is_found() {
        let dir = std::env::temp_dir().join(format!("dactl-defs-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("plain");
        std::fs::write(&file, "x").unwrap();
        assert_eq!(not_a_folder(&file.join("a/b")), Some(file.as_path()));
        assert_eq!(not_a_folder(&dir.join("new/folder")), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
