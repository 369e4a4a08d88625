//! Text from the org made safe to draw: the one place control characters are made visible.
//!
//! Names, categories, ids and the platform's error messages are typed by other people. Drawn raw,
//! an escape sequence in one of them acts on the terminal instead of being read: `ESC ] 0 ; x BEL`
//! sets the window's title, `ESC [ 1 A ESC [ 2 K` erases the line above (a row of a change
//! review), a carriage return draws over the start of a line. So every text dactl prints for a
//! person goes through here on its way out (`Printer`, `output::error`, the table renderer), and
//! each such character is shown as an escape a person can read: ESC as `\e`, a line break inside
//! a table cell as `\n`, a tab as `\t`, a carriage return as `\r`, any other control character
//! as `\u{7}` (its code point in hex, as Rust writes it). `--json` output does not come here: it
//! keeps the exact text (JSON escapes C0 controls itself).
//!
//! Escaped: the C0 controls, DEL and the C1 controls (Unicode's `Cc`), and the bidirectional
//! formatting characters (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069), which
//! reorder what follows them so that a row reads differently from what it holds. A backslash is
//! left as it is: the escaped text is for reading, not for parsing back (`--json` is for that).

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as it is.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every character `escape` picks shown as a readable escape; borrowed when there is
/// none (the usual case).
fn escaped(text: &str, escape: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !escape(c) {
            out.push(c);
            continue;
        }
        match c {
            '\u{1b}' => out.push_str("\\e"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            other => out.push_str(&format!("\\u{{{:x}}}", u32::from(other))),
        }
    }
    Cow::Owned(out)
}

/// One line of text (a table cell, a name): every control character visible, line breaks and
/// tabs included, so the text stays on its line and in its column.
pub fn visible(text: &str) -> Cow<'_, str> {
    escaped(text, hidden)
}

/// Text of several lines (a message, a table already drawn): every control character visible
/// but the line break and the tab, which keep their meaning.
pub fn visible_lines(text: &str) -> Cow<'_, str> {
    escaped(text, |c| hidden(c) && c != '\n' && c != '\t')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_sequences_become_readable_text() {
        assert_eq!(visible("T\x1b]0;x\x07"), "T\\e]0;x\\u{7}");
        assert_eq!(visible("S\x1b[1A\x1b[2K"), "S\\e[1A\\e[2K");
        assert_eq!(visible("a\rb\u{7f}c\u{9b}d"), "a\\rb\\u{7f}c\\u{9b}d");
        assert_eq!(visible("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(visible("two\nlines\tand a tab"), "two\\nlines\\tand a tab");
    }

    #[test]
    fn lines_keep_their_breaks_and_tabs_only() {
        assert_eq!(visible_lines("one\n\ttwo\x1b[2K\r"), "one\n\ttwo\\e[2K\\r");
    }

    #[test]
    fn plain_text_is_borrowed_as_it_is() {
        for text in ["Lookup Data Table Row", "naïve 表格 ✓ C:\\path", ""] {
            assert!(matches!(visible(text), Cow::Borrowed(t) if t == text));
            assert!(matches!(visible_lines(text), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn escaping_twice_changes_nothing_more() {
        let once = visible("T\x1b]0;x\x07\n").into_owned();
        assert_eq!(visible(&once), once);
        assert_eq!(visible_lines(&once), once);
    }
}
