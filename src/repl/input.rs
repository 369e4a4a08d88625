//! Reading the text being typed: whether it is complete (brackets closed, strings and block
//! comments ended), and the word under the cursor. Pure functions, shared by the core and the
//! rustyline helper.

/// `true` while brackets are open or a string or block comment is unfinished: Enter then adds a
/// line instead of running the entry. Unbalanced closers count as complete, so the parser can
/// report them.
pub fn is_incomplete(input: &str) -> bool {
    if input.trim_start().starts_with(':') {
        return false;
    }
    let chars: Vec<char> = input.chars().collect();
    let mut depth: i64 = 0;
    let mut i = 0;
    let mut comment_depth = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if comment_depth > 0 {
            match (c, next) {
                ('*', Some('/')) => {
                    comment_depth -= 1;
                    i += 1;
                }
                ('/', Some('*')) => {
                    comment_depth += 1;
                    i += 1;
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        match (c, next) {
            ('/', Some('/')) => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            ('/', Some('*')) => {
                comment_depth = 1;
                i += 1;
            }
            ('"', _) | ('`', _) | ('\'', _) => match closing(&chars, i + 1, c) {
                Some(end) => i = end,
                None => return true,
            },
            ('(' | '[' | '{', _) => depth += 1,
            (')' | ']' | '}', _) => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    comment_depth > 0 || depth > 0
}

/// Index of the quote closing a literal that opened just before `start`, honouring `\` escapes.
fn closing(chars: &[char], start: usize, quote: char) -> Option<usize> {
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            c if c == quote => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Whether the cursor at `pos` (a byte index) is inside a string literal.
pub fn in_string(line: &str, pos: usize) -> bool {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in line[..pos].chars() {
        match quote {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '`' => quote = Some(c),
            None => {}
        }
    }
    quote.is_some()
}

/// Start (byte index) of the identifier-like word that ends at `pos`. Inside a string, ids and
/// names may hold `-`, `.` and spaces are not allowed: the word runs back to the opening quote.
pub fn word_start(line: &str, pos: usize, inside_string: bool) -> usize {
    let before = &line[..pos];
    if inside_string {
        return before.rfind(['"', '`']).map_or(0, |i| i + 1);
    }
    before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
        .last()
        .map_or(pos, |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_brackets_and_strings_continue() {
        assert!(is_incomplete("fn f(x) {"));
        assert!(is_incomplete("let a = [1, 2,"));
        assert!(is_incomplete("let s = \"abc"));
        assert!(is_incomplete("/* note"));
        assert!(!is_incomplete("let s = \"a { b\";"));
        assert!(!is_incomplete("fn f(x) { x } // {"));
        assert!(!is_incomplete("let m = #{a: 1};"));
        assert!(!is_incomplete("}"));
        assert!(!is_incomplete(":help fn"));
    }

    #[test]
    fn words_and_strings() {
        assert_eq!(word_start("let a = fetch_a", 15, false), 8);
        assert!(in_string("fetch_action(\"c0f", 17));
        assert_eq!(word_start("fetch_action(\"c0f", 17, true), 14);
    }
}
