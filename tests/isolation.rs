//! What a script can reach, through the real binary: `import` reads only from the script's own
//! folder tree and `--module-path` folders (symlinks and `..` followed), and no file, process or
//! network function exists beyond dactl's host functions.
//!
//! Every refused import here names a file that really exists and would load without the rule:
//! `refused_imports_load_with_module_path` runs the same scripts with `--module-path` and sees the
//! module's output, so a refusal cannot pass by the file being missing.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::{TempDir, dactl_cmd, stderr, stdout, temp_dir};

const FAILURE: i32 = 1;
const USAGE: i32 = 2;

/// What the outside module prints when it is loaded: it must never show up unless allowed.
const LOADED: &str = "outside module loaded";

/// A temporary tree:
///
/// ```text
/// outside/lib.rhai          prints LOADED, exports SECRET = 42
/// jobs/lib/common.rhai      exports LIMIT = 21, fn double(x)
/// jobs/lib/nest.rhai        imports "deep/x" (relative to lib/), exports X = x::Y
/// jobs/lib/deep/x.rhai      exports Y = 7
/// jobs/link -> ../outside   a folder symlink leaving the tree
/// jobs/lib/alias.rhai -> ../../outside/lib.rhai   a file symlink leaving the tree
/// ```
struct Tree {
    /// `folder`, canonicalized.
    root: PathBuf,
    /// Removed with the tree.
    _folder: TempDir,
}

impl Tree {
    fn new(name: &str) -> Tree {
        let folder = temp_dir(&format!("isolation-{name}"));
        let root = folder.to_path_buf();
        std::fs::create_dir_all(root.join("outside")).unwrap();
        std::fs::create_dir_all(root.join("jobs/lib/deep")).unwrap();
        // Real paths, as the error messages show them (the temp dir may be behind a symlink).
        let root = root.canonicalize().unwrap();
        let write = |path: &str, text: &str| std::fs::write(root.join(path), text).unwrap();
        write(
            "outside/lib.rhai",
            &format!("print(\"{LOADED}\");\nexport const SECRET = 42;\n"),
        );
        write(
            "jobs/lib/common.rhai",
            "fn double(x) { x * 2 }\nexport const LIMIT = 21;\n",
        );
        write(
            "jobs/lib/nest.rhai",
            "import \"deep/x\" as x;\nexport const X = x::Y;\n",
        );
        write("jobs/lib/deep/x.rhai", "export const Y = 7;\n");
        std::os::unix::fs::symlink("../outside", root.join("jobs/link")).unwrap();
        std::os::unix::fs::symlink("../../outside/lib.rhai", root.join("jobs/lib/alias.rhai"))
            .unwrap();
        Tree {
            root,
            _folder: folder,
        }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// `jobs/{name}` with `source`, returned as a path.
    fn script(&self, name: &str, source: &str) -> PathBuf {
        let path = self.path("jobs").join(name);
        std::fs::write(&path, source).unwrap();
        path
    }
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `dactl [flags] --sandbox run FILE` and `dactl [flags] check FILE`.
fn run_and_check(flags: &[&str], script: &Path) -> [(&'static str, Output); 2] {
    let run = dactl_cmd()
        .args(flags)
        .args(["--sandbox", "run", text(script)])
        .output()
        .unwrap();
    let check = dactl_cmd()
        .args(flags)
        .args(["check", text(script)])
        .output()
        .unwrap();
    [("run", run), ("check", check)]
}

/// The scripts whose import leaves the tree, each to a file that exists: (case, script source).
fn leaving(tree: &Tree) -> Vec<(&'static str, String)> {
    let absolute = tree.path("outside/lib");
    vec![
        (
            "`..` out of the tree",
            "import \"../outside/lib\" as lib;".to_owned(),
        ),
        (
            "an absolute path outside the tree",
            format!("import \"{}\" as lib;", text(&absolute)),
        ),
        (
            "a folder symlink inside the tree pointing out",
            "import \"link/lib\" as lib;".to_owned(),
        ),
        (
            "a file symlink inside the tree pointing out",
            "import \"lib/alias\" as lib;".to_owned(),
        ),
    ]
}

#[test]
fn imports_that_leave_the_scripts_folder_are_refused_with_the_path_and_the_rule() {
    let tree = Tree::new("refused");
    let real = tree.path("outside/lib.rhai");
    let jobs = tree.path("jobs");
    for (case, import) in leaving(&tree) {
        let script = tree.script(
            "main.rhai",
            &format!("{import}\nprint(`got ${{lib::SECRET}}`);\n"),
        );
        let quoted = import.split('"').nth(1).unwrap();
        for (command, out) in run_and_check(&[], &script) {
            let err = stderr(&out);
            let what = format!("{case}, {command}");
            // Without the rule the module loads: exit 0 and its output (the import resolver
            // handing any path to Rhai's file resolver, or the check only testing existence).
            assert_eq!(out.status.code(), Some(FAILURE), "{what}: {err}");
            assert!(
                !stdout(&out).contains(LOADED) && !stdout(&out).contains("got 42"),
                "{what}: the module ran: {}",
                stdout(&out)
            );
            for needle in [
                // The import as written, so the user finds the line.
                format!("`import \"{quoted}\"`"),
                // Where it really led: a message naming only the typed path would hide that a
                // symlink took it out of the tree.
                format!("`{}`", real.display()),
                // The roots and the fix, so the user can allow it on purpose.
                format!("`{}`", jobs.display()),
                "its own folder".to_owned(),
                format!("--module-path {}", tree.path("outside").display()),
                // The line of the import, with the caret.
                format!("{}:1:8", script.display()),
            ] {
                assert!(
                    err.contains(&needle),
                    "{what}: `{needle}` missing from: {err}"
                );
            }
        }
    }
}

#[test]
fn refused_imports_load_with_module_path() {
    let tree = Tree::new("allowed");
    let outside = tree.path("outside");
    for (case, import) in leaving(&tree) {
        let script = tree.script(
            "main.rhai",
            &format!("{import}\nprint(`got ${{lib::SECRET}}`);\n"),
        );
        for (command, out) in run_and_check(&["--module-path", text(&outside)], &script) {
            // A `--module-path` that is parsed but never reaches the resolver (or `check`) fails.
            assert_eq!(
                out.status.code(),
                Some(0),
                "{case}, {command}: {}",
                stderr(&out)
            );
            if command == "run" {
                assert!(
                    stdout(&out).contains(LOADED) && stdout(&out).contains("got 42"),
                    "{case}: {}",
                    stdout(&out)
                );
            }
        }
    }
    // A folder that does not exist is a usage error naming it, before anything runs.
    let missing = tree.path("no-such-folder");
    let script = tree.script("plain.rhai", "print(\"ran\");\n");
    for (command, out) in run_and_check(&["--module-path", text(&missing)], &script) {
        assert_eq!(
            out.status.code(),
            Some(USAGE),
            "{command}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains(&format!("`--module-path {}`", missing.display())),
            "{command}: {}",
            stderr(&out)
        );
        assert!(!stdout(&out).contains("ran"), "{command}: the script ran");
    }
}

#[test]
fn imports_inside_the_tree_still_work_from_any_current_directory() {
    let tree = Tree::new("inside");
    let script = tree.script(
        "main.rhai",
        "import \"lib/common\" as common;\nimport \"lib/nest\" as nest;\n\
         print(`value ${common::double(common::LIMIT) + nest::X}`);\n",
    );
    // From the crate's folder, from the script's folder and from `/`: a module's own relative
    // import (`deep/x` in `lib/nest.rhai`) resolves against the module's folder, not the current
    // directory (Rhai's resolver alone names a module by its import text, so `deep/x` would be
    // looked for at `./lib/deep/x.rhai`).
    for cwd in [
        PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        tree.path("jobs"),
        PathBuf::from("/"),
    ] {
        for command in ["run", "check"] {
            let mut cmd = dactl_cmd();
            if command == "run" {
                cmd.arg("--sandbox");
            }
            let out = cmd
                .args([command, text(&script)])
                .current_dir(&cwd)
                .output()
                .unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "{command} from {}: {}",
                cwd.display(),
                stderr(&out)
            );
            if command == "run" {
                assert!(stdout(&out).contains("value 49"), "{}", stdout(&out));
            }
        }
    }
}

#[test]
fn eval_imports_only_from_the_current_directory() {
    let tree = Tree::new("eval");
    let eval = |source: &str, flags: &[&str]| {
        dactl_cmd()
            .args(flags)
            .args(["--sandbox", "eval", source])
            .current_dir(tree.path("jobs"))
            .output()
            .unwrap()
    };
    // Relative to the current directory, as documented.
    let out = eval("import \"lib/common\" as c; c::LIMIT", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "21");
    // Out of it: refused (an eval without roots, or with `/` as its root, would load it).
    let absolute = format!(
        "import \"{}\" as l; l::SECRET",
        text(&tree.path("outside/lib"))
    );
    for source in [
        "import \"../outside/lib\" as l; l::SECRET",
        absolute.as_str(),
    ] {
        let out = eval(source, &[]);
        assert_eq!(
            out.status.code(),
            Some(FAILURE),
            "{source}: {}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("is refused"), "{}", stderr(&out));
        assert!(!stdout(&out).contains(LOADED), "{source}: the module ran");
        // And allowed with the module path.
        let outside = tree.path("outside");
        let out = eval(source, &["--module-path", text(&outside)]);
        assert_eq!(out.status.code(), Some(0), "{source}: {}", stderr(&out));
        assert!(stdout(&out).contains("42"), "{source}: {}", stdout(&out));
    }
}

/// Whether anything connected to `listener` (non-blocking, so this does not wait).
fn connected(listener: &TcpListener) -> bool {
    listener.set_nonblocking(true).unwrap();
    listener.accept().is_ok()
}

#[test]
fn scripts_reach_no_file_process_or_network_beyond_the_host_functions() {
    let tree = Tree::new("functions");
    let canary = tree.path("outside/canary.txt");
    std::fs::write(&canary, "canary-7d1e").unwrap();
    let made = tree.path("outside/made-by-a-script");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/data.csv", listener.local_addr().unwrap());
    // Each is a function a real Rhai package provides, so the case fails the day that package
    // (or a host function of the same name) is registered: the call would succeed, exit 0, and
    // read the canary, create the folder or connect to the listener.
    // (source, what the error must name)
    let cases: Vec<(String, &str)> = vec![
        // Core Rhai: `eval` compiles and runs text at run time; dactl disables the symbol.
        ("eval(\"40 + 2\")".into(), "eval"),
        // rhai-fs (`FilesystemPackage`): `open_file(path, mode)` and `File.read_string()`.
        (
            format!("open_file(\"{}\", \"r\").read_string()", text(&canary)),
            "open_file",
        ),
        // rhai-fs: `create_dir(path)` creates a folder and its parents.
        (format!("create_dir(\"{}\")", text(&made)), "create_dir"),
        // rhai-sci (`SciPackage`): `read_matrix(path_or_url)` reads a CSV file or downloads one.
        (format!("read_matrix(\"{url}\")"), "read_matrix"),
        // rhai-http (`HttpPackage`): `http::client()` and `Client.request(#{method, url})`.
        (
            format!("http::client().request(#{{method: \"GET\", url: \"{url}\"}})"),
            "http",
        ),
        // Import of a file that is not a module: outside the current directory, refused before
        // it is read (and it is no `.rhai` file anyway).
        ("import \"/etc/passwd\" as p; p".into(), "/etc/passwd"),
    ];
    for (source, named) in &cases {
        let out = dactl_cmd()
            .args(["--sandbox", "eval", source])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(FAILURE), "{source}: {err}");
        assert!(
            err.contains(named) && err.contains("<eval>:1:"),
            "{source}: `{named}` missing from: {err}"
        );
        assert!(
            !stdout(&out).contains("canary-7d1e") && !stdout(&out).contains("42"),
            "{source}: {}",
            stdout(&out)
        );
    }
    // The eval case: the engine refuses the keyword itself, not some later step.
    let out = dactl_cmd()
        .args(["--sandbox", "eval", "eval(\"40 + 2\")"])
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("'eval' is disabled"),
        "{}",
        stderr(&out)
    );
    assert!(!made.exists(), "a script created {}", made.display());
    assert!(!connected(&listener), "a script opened a connection");
}
