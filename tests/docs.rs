//! The documentation's own checks: README.md stays short enough to read in a few minutes, every
//! relative link in README.md, ARCHITECTURE.md and docs/*.md leads to a file (and a heading) that
//! exists, as a code host resolves it, and a code block that says it is a copy of a file is that file.
//!
//! The Markdown reading here is deliberately small, not a full CommonMark parser: fenced code blocks,
//! code spans and HTML comments are skipped; inline links `[text](target)`, images and reference
//! definitions `[label]: target` are read; headings are ATX headings (`## Title`), the only kind
//! these files use. Anchors follow GitHub's rule: the heading's text, lowercased, without
//! punctuation other than `-` and `_`, each space a `-`, and `-1`, `-2`, ... on repeats.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

/// The most README.md may weigh, in bytes: what a newcomer reads before the links onward.
const README_LIMIT: usize = 25_000;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Markdown files whose links are checked, relative to `root`: README.md, ARCHITECTURE.md
/// and every `.md` file in docs/.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["README.md", "ARCHITECTURE.md"]
        .into_iter()
        .map(PathBuf::from)
        .filter(|file| root.join(file).is_file())
        .collect();
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .into_iter()
        .flatten()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .map(|path| Path::new("docs").join(path.file_name().unwrap()))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

#[test]
fn the_readme_is_at_most_25_000_bytes() {
    let size = std::fs::metadata(root().join("README.md")).unwrap().len() as usize;
    assert!(
        size <= README_LIMIT,
        "README.md is {size} bytes, {} over the limit of {README_LIMIT}: move detail into a page of \
         docs/ (runs.md, scripting.md, ...) and link to it from README.md",
        size - README_LIMIT
    );
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let files = documents(root());
    assert!(
        files.len() >= 3,
        "expected README.md, ARCHITECTURE.md and docs/*.md, found {files:?}"
    );
    // A reader that found no link would pass: make sure it sees the links the docs have.
    let relative = files
        .iter()
        .flat_map(|file| links(&std::fs::read_to_string(root().join(file)).unwrap()))
        .filter(|link| !is_external(&link.target))
        .count();
    assert!(
        relative >= 40,
        "only {relative} relative links found: is the reader broken?"
    );
    let problems = broken_links(root(), &files);
    assert!(
        problems.is_empty(),
        "{} broken link(s) in the docs:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_readme_links_to_every_page_of_docs() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let linked: BTreeSet<String> = links(&readme)
        .into_iter()
        .map(|link| split_target(&link.target).0.to_owned())
        .collect();
    for file in documents(root()) {
        let name = file.to_str().unwrap();
        if name.starts_with("docs/") {
            assert!(
                linked.contains(name),
                "README.md does not link to `{name}`: add it to the README's links onward \
                 (\"Further reading\"), e.g. `- [Title]({name}): what it holds`"
            );
        }
    }
}

/// The marker that makes the code block after it a checked copy of a file (path relative to the
/// repository root).
const COPY_MARKER: &str = "<!-- copy of ";

#[test]
fn code_blocks_that_copy_a_file_are_that_file() {
    let mut copies = 0;
    for file in documents(root()) {
        let text = std::fs::read_to_string(root().join(&file)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            let Some(rest) = line.trim().strip_prefix(COPY_MARKER) else {
                continue;
            };
            let source = rest.split([';', ' ']).next().unwrap();
            let fence = (index + 1..lines.len())
                .find(|&i| !lines[i].trim().is_empty())
                .filter(|&i| lines[i].starts_with("```"))
                .unwrap_or_else(|| {
                    panic!(
                        "{}:{}: `{COPY_MARKER}{source}` is not followed by a fenced code block: \
                         put the block right after the marker",
                        file.display(),
                        index + 1
                    )
                });
            let end = (fence + 1..lines.len())
                .find(|&i| lines[i].starts_with("```"))
                .unwrap();
            let block = lines[fence + 1..end].join("\n");
            let original = std::fs::read_to_string(root().join(source)).unwrap_or_else(|e| {
                panic!(
                    "{}:{}: the copied file `{source}` cannot be read ({e}): fix the marker's path",
                    file.display(),
                    index + 1
                )
            });
            assert!(
                block == original.trim_end_matches('\n'),
                "{}:{}: the code block is no longer a copy of `{source}`: paste the file's text \
                 into the block again",
                file.display(),
                fence + 1
            );
            copies += 1;
        }
    }
    assert!(copies >= 1, "no code block is marked as a copy of a file");
}

/// The checker itself, on a planted tree: each kind of break is found and named with its fix, and
/// what is not a link (code, comments, external addresses) is left alone.
#[test]
fn the_link_checker_finds_planted_breaks_and_only_those() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("docs")).unwrap();
    std::fs::write(
        root.join("README.md"),
        "# Title\n\n## Quick start\n\n## Quick start\n\n\
         [ok](docs/guide.md) [ok](docs/guide.md#the-flows-api-version-2) [ok](#quick-start-1)\n\
         [ok](https://example.com/x.md) [ok](mailto:a@example.com) `[code](missing.md)`\n\
         <!-- [comment](missing.md) -->\n\
         ```\n[fenced](missing.md)\n```\n\
         [missing file](docs/nope.md)\n\
         [missing anchor](docs/guide.md#nope) [same file](#title-2)\n\
         [wrapped\nlink](docs/gone.md) [outside](../shared/notes.md)\n\
         [ref]: docs/also-gone.md\n",
    )
    .unwrap();
    std::fs::write(
        root.join("docs/guide.md"),
        "# Guide\n\n## The `flows` API, version 2\n\n[back](../README.md#quick-start)\n",
    )
    .unwrap();
    let problems = broken_links(
        root,
        &[PathBuf::from("README.md"), PathBuf::from("docs/guide.md")],
    );
    let expected = [
        ("README.md:13:", "docs/nope.md", "does not exist"),
        ("README.md:14:", "docs/guide.md#nope", "no heading"),
        ("README.md:14:", "#title-2", "no heading"),
        ("README.md:15:", "docs/gone.md", "does not exist"),
        (
            "README.md:16:",
            "../shared/notes.md",
            "outside the repository",
        ),
        ("README.md:17:", "docs/also-gone.md", "does not exist"),
    ];
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    for (problem, (place, target, what)) in problems.iter().zip(expected) {
        assert!(problem.starts_with(place), "{problem}");
        assert!(problem.contains(&format!("({target})")), "{problem}");
        assert!(problem.contains(what), "{problem}");
        assert!(problem.contains("fix:"), "{problem}");
    }
    assert!(
        problems[1].contains("#the-flows-api-version-2"),
        "{}",
        problems[1]
    );
}

#[test]
fn anchors_follow_githubs_slugs() {
    let cases = [
        ("Quick start", "quick-start"),
        (
            "What the popular tutorials get wrong",
            "what-the-popular-tutorials-get-wrong",
        ),
        (
            "Flows can override an action's timeout",
            "flows-can-override-an-actions-timeout",
        ),
        ("Faults, listing, start-up", "faults-listing-start-up"),
        ("`--json` and `dry_run()`", "--json-and-dry_run"),
        ("At Genesys Cloud's defaults", "at-genesys-clouds-defaults"),
        ("[Linked](other.md) heading", "linked-heading"),
    ];
    for (heading, slug) in cases {
        assert_eq!(github_slug(heading), slug, "{heading}");
    }
}

/// Every broken relative link in `files` (paths relative to `root`), one line each: where it is,
/// the link, what is wrong and how to fix it.
fn broken_links(root: &Path, files: &[PathBuf]) -> Vec<String> {
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(root.join(file))
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let dir = file.parent().unwrap_or(Path::new(""));
        for link in links(&text) {
            if is_external(&link.target) {
                continue;
            }
            let (path, anchor) = split_target(&link.target);
            let place = format!(
                "{}:{}: link [{}]({})",
                file.display(),
                link.line,
                link.text.split_whitespace().collect::<Vec<_>>().join(" "),
                link.target
            );
            let target = if path.is_empty() {
                file.clone()
            } else {
                match normalize(&dir.join(percent_decode(path))) {
                    Some(target) => target,
                    None => {
                        problems.push(format!(
                            "{place}: leads outside the repository, which a clone does not \
                             have; fix: link to a file inside the repository, or name the file in \
                             backticks instead of linking it"
                        ));
                        continue;
                    }
                }
            };
            let full = root.join(&target);
            if !full.exists() {
                problems.push(format!(
                    "{place}: `{}` does not exist; fix: point the link at an existing file \
                     (relative to {}), or remove it",
                    target.display(),
                    if dir.as_os_str().is_empty() {
                        "the repository root".to_owned()
                    } else {
                        format!("`{}/`", dir.display())
                    }
                ));
                continue;
            }
            let Some(anchor) = anchor else { continue };
            if full.extension().is_none_or(|e| e != "md") {
                let line_anchor = anchor
                    .strip_prefix('L')
                    .is_some_and(|rest| rest.split("-L").all(|n| n.parse::<u32>().is_ok()));
                if !line_anchor {
                    problems.push(format!(
                        "{place}: `{}` is not Markdown, so it has no heading `#{anchor}`; fix: \
                         drop the anchor, or use a line anchor such as `#L10`",
                        target.display()
                    ));
                }
                continue;
            }
            let slugs = heading_slugs(&std::fs::read_to_string(&full).unwrap());
            if !slugs.iter().any(|slug| slug == anchor) {
                let known: Vec<String> = slugs.iter().map(|s| format!("#{s}")).collect();
                problems.push(format!(
                    "{place}: `{}` has no heading whose anchor is `#{anchor}` (its anchors: {}); \
                     fix: link to one of those, or rename the heading it meant",
                    target.display(),
                    known.join(", ")
                ));
            }
        }
    }
    problems
}

/// A link as written: the line it starts on (1-based), its text and its target.
#[derive(Debug)]
struct Link {
    line: usize,
    text: String,
    target: String,
}

/// The links of a Markdown text, outside code and HTML comments.
fn links(markdown: &str) -> Vec<Link> {
    let original: Vec<char> = markdown.chars().collect();
    let prose = prose_only(markdown);
    let chars: Vec<char> = prose.chars().collect();
    assert_eq!(
        chars.len(),
        original.len(),
        "prose_only must keep every position"
    );
    let line_at = |index: usize| 1 + chars[..index].iter().filter(|&&c| c == '\n').count();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' {
            i += 2;
            continue;
        }
        if chars[i] != '[' {
            i += 1;
            continue;
        }
        // A reference definition: `[label]: target` at the start of a line.
        let at_line_start = i == 0 || chars[i - 1] == '\n';
        let Some(close) = matching(&chars, i, '[', ']') else {
            i += 1;
            continue;
        };
        let text: String = original[i + 1..close].iter().collect();
        if chars.get(close + 1) == Some(&'(') {
            if let Some(end) = matching(&chars, close + 1, '(', ')') {
                let inside: String = chars[close + 2..end].iter().collect();
                let inside = inside.trim();
                let target = match inside.strip_prefix('<') {
                    Some(rest) => rest.split('>').next().unwrap_or(""),
                    None => inside.split_whitespace().next().unwrap_or(""),
                };
                found.push(Link {
                    line: line_at(i),
                    text,
                    target: target.to_owned(),
                });
                i = end + 1;
                continue;
            }
        } else if at_line_start && chars.get(close + 1) == Some(&':') {
            let rest: String = chars[close + 2..]
                .iter()
                .take_while(|&&c| c != '\n')
                .collect();
            if let Some(target) = rest.split_whitespace().next() {
                found.push(Link {
                    line: line_at(i),
                    text,
                    target: target.trim_matches(['<', '>']).to_owned(),
                });
            }
            i = close + 1;
            continue;
        }
        i += 1;
    }
    found
}

/// The index of the bracket that closes the one at `open`, counting nested pairs and skipping
/// escaped characters.
fn matching(chars: &[char], open: usize, left: char, right: char) -> Option<usize> {
    let mut depth = 0;
    let mut i = open;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            c if c == left => depth += 1,
            c if c == right => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The text with fenced code blocks, code spans and HTML comments blanked out: every character
/// but a line break becomes a space, so a position in it is the same position in `markdown`.
fn prose_only(markdown: &str) -> String {
    // Fenced code blocks, line by line.
    let mut fence: Option<(char, usize)> = None;
    let mut text = String::with_capacity(markdown.len());
    for line in markdown.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let run = |c: char| trimmed.chars().take_while(|&x| x == c).count();
        let marker = ['`', '~']
            .into_iter()
            .map(|c| (c, run(c)))
            .find(|&(_, n)| n >= 3 && indent <= 3);
        let code = match (fence, marker) {
            (None, Some(open)) => {
                fence = Some(open);
                true
            }
            (Some((c, n)), Some((m, k))) if c == m && k >= n && trimmed[k..].trim().is_empty() => {
                fence = None;
                true
            }
            (Some(_), _) => true,
            (None, None) => false,
        };
        if code {
            text.extend(line.chars().map(|c| if c == '\n' { c } else { ' ' }));
        } else {
            text.push_str(line);
        }
    }
    // Code spans and comments, paragraph by paragraph (a span may wrap, never across a blank line).
    let chars: Vec<char> = text.chars().collect();
    let mut out = chars.clone();
    let mut i = 0;
    while i < chars.len() {
        if chars[i..].starts_with(&['<', '!', '-', '-']) {
            let end = find(&chars, i + 4, &['-', '-', '>']).map_or(chars.len(), |e| e + 3);
            blank(&mut out[i..end]);
            i = end;
        } else if chars[i] == '`' {
            let n = chars[i..].iter().take_while(|&&c| c == '`').count();
            let mut j = i + n;
            let mut close = None;
            while j < chars.len() {
                if chars[j] == '\n' && chars.get(j + 1) == Some(&'\n') {
                    break;
                }
                if chars[j] == '`' {
                    let m = chars[j..].iter().take_while(|&&c| c == '`').count();
                    if m == n {
                        close = Some(j);
                        break;
                    }
                    j += m;
                } else {
                    j += 1;
                }
            }
            match close {
                Some(j) => {
                    blank(&mut out[i..j + n]);
                    i = j + n;
                }
                None => i += n,
            }
        } else {
            i += 1;
        }
    }
    out.into_iter().collect()
}

fn find(chars: &[char], from: usize, needle: &[char]) -> Option<usize> {
    (from..chars.len()).find(|&i| chars[i..].starts_with(needle))
}

/// Replaces everything but line breaks with spaces.
fn blank(chars: &mut [char]) {
    for c in chars.iter_mut().filter(|c| **c != '\n') {
        *c = ' ';
    }
}

/// Addresses a code host does not resolve inside the repository: any URL with a scheme
/// (`https:`, `mailto:`, ...) or a protocol-relative `//host`.
fn is_external(target: &str) -> bool {
    if target.starts_with("//") {
        return true;
    }
    let Some((scheme, _)) = target.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
}

/// `path#anchor` into the path and the anchor, if any.
fn split_target(target: &str) -> (&str, Option<&str>) {
    match target.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor)),
        None => (target, None),
    }
}

fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A relative path with `.` and `..` taken out, or `None` when it climbs above the root.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::Normal(name) => parts.push(name),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

/// The anchors of a Markdown file's headings, in order, as GitHub makes them.
fn heading_slugs(markdown: &str) -> Vec<String> {
    // `prose_only` keeps every line where it was, so a heading found there (outside code and
    // comments) takes its title from the same line of the original, code spans included.
    let prose = prose_only(markdown);
    let mut bases: Vec<String> = Vec::new();
    let mut slugs = Vec::new();
    for (line, original) in prose.lines().zip(markdown.lines()) {
        let trimmed = line.trim_start();
        let level = trimmed.chars().take_while(|&c| c == '#').count();
        if line.len() - trimmed.len() > 3 || !(1..=6).contains(&level) {
            continue;
        }
        let rest = &trimmed[level..];
        if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t')) {
            continue;
        }
        let original = original.trim_start()[level..].trim();
        // A closing run of `#`s, after a space, is not part of the title.
        let title = match original.trim_end_matches('#') {
            t if t.is_empty() || t.ends_with(' ') => t.trim_end(),
            _ => original,
        };
        let base = github_slug(title);
        let repeats = bases.iter().filter(|b| **b == base).count();
        bases.push(base.clone());
        slugs.push(if repeats == 0 {
            base
        } else {
            format!("{base}-{repeats}")
        });
    }
    slugs
}

/// GitHub's anchor for a heading's text: the text as rendered (link targets and code ticks gone),
/// lowercased, every character but letters, digits, marks, `-`, `_` and spaces dropped, and each
/// space a `-`.
fn github_slug(heading: &str) -> String {
    // `[text](target)` renders as `text`.
    let chars: Vec<char> = heading.chars().collect();
    let mut rendered = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '['
            && let Some(close) = matching(&chars, i, '[', ']')
            && chars.get(close + 1) == Some(&'(')
            && let Some(end) = matching(&chars, close + 1, '(', ')')
        {
            rendered.extend(&chars[i + 1..close]);
            i = end + 1;
            continue;
        }
        rendered.push(chars[i]);
        i += 1;
    }
    rendered
        .to_lowercase()
        .chars()
        .filter(|&c| c.is_alphanumeric() || c == '-' || c == '_' || c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}
