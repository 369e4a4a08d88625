//! Where `import` may read from: the one rule that keeps scripts inside their own folder.
//!
//! This module owns the rule and both places that apply it:
//! - `Confined`, the engine's module resolver, which applies it when a script runs (it wraps
//!   Rhai's `FileModuleResolver`, which still does the reading, compiling and caching);
//! - `locate`, which `dactl check` calls for each `import` it reads without running anything.
//!
//! **The rule.** An import is resolved as Rhai resolves it (relative to the importing file's
//! folder, `.rhai` added; an absolute path as written), then made real the way the OS would open
//! it: symlinks followed, `..` applied. The real path must lie inside one of the *roots*:
//! - the folder of the script being run or checked (`dactl run FILE`, `dactl check FILE`, the
//!   REPL's `:load FILE`);
//! - for `dactl eval` and REPL entries, which have no file, the current directory (where a
//!   relative import of theirs resolves anyway);
//! - each folder given with `--module-path DIR`.
//!
//! Anything else is refused before a byte of it is read, with an error that names the import as
//! written, the real path it led to, the roots, and the fix (`--module-path`). A module is then
//! loaded by its real path, so its own relative imports resolve against the folder it really sits
//! in (the same folder `dactl check` reads them from) and are held to the same rule.
//!
//! `--module-path` only widens the rule; it is not a search path: imports are still written
//! relative to the importing script, or as absolute paths.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, RwLock};

use rhai::module_resolvers::FileModuleResolver;
use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Shared};

use super::errors::ErrorMap;

/// The folders of `--module-path`, checked and made real once, before anything runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModulePaths(Vec<PathBuf>);

impl ModulePaths {
    /// Each folder must exist; a typo would otherwise show up only as a refused import later.
    pub fn new(dirs: &[PathBuf]) -> Result<ModulePaths, String> {
        let mut real = Vec::with_capacity(dirs.len());
        for dir in dirs {
            let shown = dir.display();
            match dir.canonicalize() {
                Ok(path) if path.is_dir() => real.push(path),
                Ok(_) => {
                    return Err(format!(
                        "`--module-path {shown}` is a file, not a folder; give the folder that \
                         holds the `.rhai` modules."
                    ));
                }
                Err(e) => {
                    return Err(format!(
                        "`--module-path {shown}`: {e}. Give an existing folder of `.rhai` modules."
                    ));
                }
            }
        }
        Ok(ModulePaths(real))
    }

    pub fn folders(&self) -> &[PathBuf] {
        &self.0
    }
}

/// The folders imports may come from right now: the running script's (or the current directory)
/// and the `--module-path` ones. All real paths.
#[derive(Debug, Clone, Default)]
pub struct Roots {
    script: Option<PathBuf>,
    modules: ModulePaths,
}

impl Roots {
    pub fn new(script_folder: Option<PathBuf>, modules: ModulePaths) -> Roots {
        Roots {
            script: script_folder,
            modules,
        }
    }

    /// Roots for a script file: its own folder (made real) and the module paths.
    pub fn for_file(file: &Path, modules: ModulePaths) -> Roots {
        Roots::new(folder_of(file).canonicalize().ok(), modules)
    }

    /// Roots for an entry without a file (`eval`, the REPL): the current directory.
    pub fn for_entry(modules: ModulePaths) -> Roots {
        Roots::new(
            std::env::current_dir().and_then(|d| d.canonicalize()).ok(),
            modules,
        )
    }

    pub fn modules(&self) -> &ModulePaths {
        &self.modules
    }

    fn all(&self) -> impl Iterator<Item = &PathBuf> {
        self.script.iter().chain(self.modules.0.iter())
    }

    fn contain(&self, real: &Path) -> bool {
        self.all().any(|root| real.starts_with(root))
    }
}

/// Why an import was not loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The import leads outside every root.
    #[error("{}", outside_message(.import, .real, .roots))]
    Outside {
        import: String,
        real: PathBuf,
        roots: Vec<PathBuf>,
    },
    /// Inside the roots, but there is no such file.
    #[error(
        "`import \"{import}\"`: there is no file `{}`. Import paths are relative to the importing \
         script's folder, and `.rhai` is added.",
        .file.display()
    )]
    Missing { import: String, file: PathBuf },
    /// The real path cannot be handed to Rhai, which takes paths as text.
    #[error(
        "`import \"{import}\"` leads to `{}`, which is not UTF-8 text; rename the file or its \
         folder.",
        .real.display()
    )]
    NotUtf8 { import: String, real: PathBuf },
}

fn outside_message(import: &str, real: &Path, roots: &[PathBuf]) -> String {
    let mut listed = String::new();
    for (i, root) in roots.iter().enumerate() {
        let _ = write!(
            listed,
            "{}`{}`",
            if i == 0 { "" } else { ", " },
            root.display()
        );
    }
    if listed.is_empty() {
        listed.push_str("none");
    }
    format!(
        "`import \"{import}\"` is refused: it leads to `{}`, outside the folders scripts may import \
         from ({listed}). A script imports only from its own folder and the folders below it \
         (for `eval` and the REPL, the current directory), and from folders given with \
         `--module-path DIR`; to use this module, run with `--module-path {}`.",
        real.display(),
        folder_of(real).display()
    )
}

impl ImportError {
    fn code(&self) -> &'static str {
        match self {
            ImportError::Outside { .. } => "import.outside",
            ImportError::Missing { .. } => "import.missing",
            ImportError::NotUtf8 { .. } => "import.path",
        }
    }

    /// The error thrown into the script, an error map like every other dactl error, at the
    /// import's position.
    fn into_rhai(self, pos: Position) -> Box<EvalAltResult> {
        let map = ErrorMap::local(self.code(), self.to_string());
        EvalAltResult::ErrorRuntime(map.to_dynamic(), pos).into()
    }
}

/// The file `import "{import}"` in a file of folder `from` (None or empty: the current
/// directory) would read, as a real path, when the roots allow it.
pub fn locate(import: &str, from: Option<&Path>, roots: &Roots) -> Result<PathBuf, ImportError> {
    locate_with(&FileModuleResolver::new(), import, from, roots)
}

fn locate_with(
    files: &FileModuleResolver,
    import: &str,
    from: Option<&Path>,
    roots: &Roots,
) -> Result<PathBuf, ImportError> {
    // Rhai's own join and extension rule, so this is the file it would have opened.
    let file = files.get_file_path(import, from);
    let real = real_path(&file);
    if !roots.contain(&real) {
        return Err(ImportError::Outside {
            import: import.to_owned(),
            real,
            roots: roots.all().cloned().collect(),
        });
    }
    if !real.is_file() {
        return Err(ImportError::Missing {
            import: import.to_owned(),
            file: real,
        });
    }
    Ok(real)
}

/// The folder of `file`, `.` when it has none (`main.rhai`).
fn folder_of(file: &Path) -> &Path {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// `path` as the OS would open it: absolute, with symlinks and `..` followed. A path that does
/// not exist (yet) is its deepest existing ancestor made real, with the rest appended and `..`
/// applied to the text, so a missing file is still judged by the folder it would be in.
fn real_path(path: &Path) -> PathBuf {
    let absolute = match std::env::current_dir() {
        Ok(cwd) if path.is_relative() => cwd.join(path),
        _ => path.to_path_buf(),
    };
    let mut rest = Vec::new();
    let mut base = absolute.as_path();
    loop {
        if let Ok(mut real) = base.canonicalize() {
            for part in rest.iter().rev() {
                match part {
                    Component::ParentDir => {
                        real.pop();
                    }
                    Component::Normal(name) => real.push(name),
                    _ => {}
                }
            }
            return real;
        }
        match (base.parent(), base.components().next_back()) {
            (Some(parent), Some(last)) => {
                rest.push(last);
                base = parent;
            }
            _ => return absolute,
        }
    }
}

/// The engine's module resolver: Rhai's file resolver behind the rule above.
pub struct Confined {
    files: FileModuleResolver,
    roots: Arc<RwLock<Roots>>,
}

impl Confined {
    /// A resolver that reads the roots from `roots` at each import (the host updates them for
    /// each script it runs).
    pub fn new(roots: Arc<RwLock<Roots>>) -> Confined {
        Confined {
            files: FileModuleResolver::new(),
            roots,
        }
    }
}

impl ModuleResolver for Confined {
    /// `source` is the importing script's or module's name: its file path (modules are loaded by
    /// their real path, so theirs is absolute), or `<eval>`/`<repl>` for entries without a file.
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let from = source.map(Path::new).and_then(Path::parent);
        let roots = self.roots.read().unwrap_or_else(|e| e.into_inner()).clone();
        let real = locate_with(&self.files, path, from, &roots).map_err(|e| e.into_rhai(pos))?;
        let Some(text) = real.to_str() else {
            return Err(ImportError::NotUtf8 {
                import: path.to_owned(),
                real,
            }
            .into_rhai(pos));
        };
        self.files.resolve(engine, source, text, pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_tree(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "dactl-imports-{name}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(dir.join("jobs/lib")).unwrap();
        std::fs::create_dir_all(dir.join("outside")).unwrap();
        std::fs::write(dir.join("jobs/lib/common.rhai"), "export const X = 1;\n").unwrap();
        std::fs::write(dir.join("outside/lib.rhai"), "export const X = 2;\n").unwrap();
        dir.canonicalize().unwrap()
    }

    #[test]
    fn inside_the_scripts_folder_is_allowed_and_outside_is_not() {
        let tree = temp_tree("rule");
        let jobs = tree.join("jobs");
        let roots = Roots::for_file(&jobs.join("main.rhai"), ModulePaths::default());
        assert_eq!(
            locate("lib/common", Some(&jobs), &roots).unwrap(),
            jobs.join("lib/common.rhai")
        );
        // `..` that stays inside is fine; `..` that leaves is not, nor an absolute path outside.
        assert!(locate("lib/../lib/common", Some(&jobs), &roots).is_ok());
        for import in ["../outside/lib", tree.join("outside/lib").to_str().unwrap()] {
            match locate(import, Some(&jobs), &roots) {
                Err(ImportError::Outside { real, .. }) => {
                    assert_eq!(real, tree.join("outside/lib.rhai"), "{import}")
                }
                other => panic!("{import}: {other:?}"),
            }
        }
        // A module path lets the same import through.
        let modules = ModulePaths::new(&[tree.join("outside")]).unwrap();
        let roots = Roots::for_file(&jobs.join("main.rhai"), modules);
        assert!(locate("../outside/lib", Some(&jobs), &roots).is_ok());
        let _ = std::fs::remove_dir_all(tree);
    }

    #[test]
    fn a_missing_file_is_judged_by_the_folder_it_would_be_in() {
        let tree = temp_tree("missing");
        let jobs = tree.join("jobs");
        let roots = Roots::for_file(&jobs.join("main.rhai"), ModulePaths::default());
        assert!(matches!(
            locate("lib/nothing", Some(&jobs), &roots),
            Err(ImportError::Missing { .. })
        ));
        // `nowhere/..` does not exist, so the OS cannot follow it; the text still leaves the tree.
        assert!(matches!(
            locate("nowhere/../../outside/none", Some(&jobs), &roots),
            Err(ImportError::Outside { .. })
        ));
        let _ = std::fs::remove_dir_all(tree);
    }

    #[test]
    fn the_refusal_names_the_import_the_real_path_the_roots_and_the_fix() {
        let error = ImportError::Outside {
            import: "../x/lib".into(),
            real: PathBuf::from("/srv/x/lib.rhai"),
            roots: vec![PathBuf::from("/srv/jobs"), PathBuf::from("/srv/shared")],
        };
        let text = error.to_string();
        for needle in [
            "`import \"../x/lib\"`",
            "`/srv/x/lib.rhai`",
            "`/srv/jobs`, `/srv/shared`",
            "`--module-path /srv/x`",
        ] {
            assert!(text.contains(needle), "`{needle}` missing from: {text}");
        }
    }

    #[test]
    fn module_paths_must_be_existing_folders() {
        let tree = temp_tree("modules");
        let missing = tree.join("no-such-folder");
        let e = ModulePaths::new(std::slice::from_ref(&missing)).unwrap_err();
        assert!(
            e.contains(&format!("`--module-path {}`", missing.display())),
            "{e}"
        );
        let file = tree.join("outside/lib.rhai");
        let e = ModulePaths::new(&[file]).unwrap_err();
        assert!(e.contains("not a folder"), "{e}");
        let _ = std::fs::remove_dir_all(tree);
    }
}
