//! Every table dactl shows, drawn one way: `render` (on comfy-table).
//!
//! The style is plain on purpose: no borders, no box-drawing characters, columns two spaces apart,
//! the header as the first line. Such a table reads the same on a terminal, in a log and in a
//! ticket it was pasted into, and `grep`/`awk` can take it apart (a cell never holds two spaces
//! in a row unless its text does). What changes with the destination is the layout (`Layout`):
//! on a terminal, long cells wrap so a row fits its width, and a caller may cap the rows; into a
//! pipe or a file, every row comes out whole, one line each (a cell with a line break of its
//! own still takes two lines).
//!
//! Cells hold text from the org, so control characters are made visible here, before widths
//! are measured (`escape`): a name cannot move the cursor or erase the row above. A cell of
//! `render` is one line (a line break or a tab in it is shown as `\n`, `\t`), so a row cannot
//! pose as two; a cell of `render_aligned` (the reasons under a report, each with its fix on a
//! line of its own) keeps its line breaks.

use comfy_table::{CellAlignment, ColumnConstraint, ContentArrangement, Table, Width};

use super::escape;

/// How a table is laid out where it is printed; `Printer::layout` gives it for stdout or stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Layout {
    /// A terminal's width: cells wrap so that rows fit it. `None`: a pipe or a file, nothing wraps.
    pub width: Option<u16>,
    /// Rows shown at most; the rest are counted in `Rendered::hidden`. `None`: every row.
    pub max_rows: Option<usize>,
}

impl Layout {
    /// At most `rows` rows, on a terminal only: into a pipe or a file every row is written.
    pub fn capped(self, rows: usize) -> Layout {
        Layout {
            max_rows: self.width.map(|_| rows),
            ..self
        }
    }
}

/// A column's alignment; text columns are left-aligned, counts read best right-aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A drawn table, and how many rows the layout's cap left out (the caller says how to see them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    pub hidden: usize,
}

/// What a cell may hold besides its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cells {
    /// One line each: line breaks and tabs are shown escaped, as other control characters.
    OneLine,
    /// Line breaks of their own (and tabs) are kept; other control characters shown escaped.
    Lines,
}

impl Cells {
    fn show(self, text: &str) -> std::borrow::Cow<'_, str> {
        match self {
            Cells::OneLine => escape::visible(text),
            Cells::Lines => escape::visible_lines(text),
        }
    }
}

/// `headers` over `rows`, laid out for `layout`, one line per cell. An empty `headers` draws no
/// header line.
pub fn render(headers: &[&str], rows: &[Vec<String>], layout: Layout) -> Rendered {
    draw(headers, rows, &[], layout, Cells::OneLine)
}

/// Rows drawn at once into a pipe or a file. comfy-table keeps about 1.5 KB per row while it
/// draws (measured with heaptrack: 15 MB for the 10 000-row report of a bulk run), so a longer
/// table is drawn in slices of this many rows, each with the whole table's column widths: the
/// same text, in bounded memory.
const SLICE_ROWS: usize = 500;

/// Two spaces between columns and none before the first: the padding is all on the right
/// (trailing spaces of the last column are trimmed).
const PADDING: (u16, u16) = (0, 2);

/// A comfy-table of `rows` in dactl's style; `widths`: the content width each column must have
/// at least (a slice of a longer table).
fn table_of(
    headers: &[&str],
    rows: &[Vec<String>],
    align: &[Align],
    layout: Layout,
    widths: &[u16],
    cells: Cells,
) -> Table {
    let mut table = Table::new();
    table.load_style(comfy_table::presets::NOTHING);
    if !headers.is_empty() {
        table.set_header(headers.iter().map(|h| cells.show(h)));
    }
    for row in rows {
        table.add_row(row.iter().map(|cell| cells.show(cell)));
    }
    match layout.width {
        Some(width) => {
            table
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(width);
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    for (index, column) in table.column_iter_mut().enumerate() {
        column.set_padding(PADDING);
        if align.get(index) == Some(&Align::Right) {
            column.set_cell_alignment(CellAlignment::Right);
        }
        if let Some(width) = widths.get(index) {
            let with_padding = width.saturating_add(PADDING.0 + PADDING.1);
            column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(with_padding)));
        }
    }
    table
}

/// `render`, with the alignment of the first columns given (the others are left-aligned).
pub fn render_with(
    headers: &[&str],
    rows: &[Vec<String>],
    align: &[Align],
    layout: Layout,
) -> Rendered {
    draw(headers, rows, align, layout, Cells::OneLine)
}

/// `render`, with the alignment of the first columns given (the others are left-aligned), and
/// cells that may hold line breaks of their own.
pub fn render_aligned(
    headers: &[&str],
    rows: &[Vec<String>],
    align: &[Align],
    layout: Layout,
) -> Rendered {
    draw(headers, rows, align, layout, Cells::Lines)
}

fn draw(
    headers: &[&str],
    rows: &[Vec<String>],
    align: &[Align],
    layout: Layout,
    cells: Cells,
) -> Rendered {
    let shown = layout.max_rows.unwrap_or(rows.len()).min(rows.len());
    let hidden = rows.len() - shown;
    if headers.is_empty() && shown == 0 {
        return Rendered {
            text: String::new(),
            hidden,
        };
    }
    let rows = &rows[..shown];
    // On a terminal, wrapping weighs every row against the others: drawn whole (and capped).
    if layout.width.is_some() || rows.len() <= SLICE_ROWS {
        let text = table_of(headers, rows, align, layout, &[], cells).trim_fmt();
        return Rendered { text, hidden };
    }
    let slices = || rows.chunks(SLICE_ROWS).enumerate();
    // The header belongs to the first slice only.
    let header = |index: usize| if index == 0 { headers } else { &[] };
    let mut widths: Vec<u16> = Vec::new();
    for (index, slice) in slices() {
        let table = table_of(header(index), slice, align, layout, &[], cells);
        for (column, width) in table.column_max_content_widths().into_iter().enumerate() {
            match widths.get_mut(column) {
                Some(max) => *max = (*max).max(width),
                None => widths.push(width),
            }
        }
    }
    let text: Vec<String> = slices()
        .map(|(index, slice)| {
            table_of(header(index), slice, align, layout, &widths, cells).trim_fmt()
        })
        .collect();
    Rendered {
        text: text.join("\n"),
        hidden,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(texts: &[[&str; 3]]) -> Vec<Vec<String>> {
        texts
            .iter()
            .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
            .collect()
    }

    #[test]
    fn columns_are_two_spaces_apart_with_no_borders() {
        let table = render(
            &["id", "name", "timeout"],
            &rows(&[["a1", "Lookup", "5"], ["b22", "Get customer", "unset"]]),
            Layout::default(),
        );
        assert_eq!(
            table.text,
            "id   name          timeout\na1   Lookup        5\nb22  Get customer  unset"
        );
        assert_eq!(table.hidden, 0);
    }

    #[test]
    fn a_pipe_gets_whole_lines_and_a_terminal_wrapped_ones() {
        let long = "Genesys Cloud answered 403: the OAuth client's role lacks a permission";
        let data = rows(&[["a1", "Lookup", long]]);
        let piped = render(&["id", "name", "reason"], &data, Layout::default());
        assert_eq!(piped.text.lines().count(), 2, "{}", piped.text);
        assert!(piped.text.lines().nth(1).unwrap().ends_with(long));
        let terminal = Layout {
            width: Some(40),
            max_rows: None,
        };
        let wrapped = render(&["id", "name", "reason"], &data, terminal);
        assert!(wrapped.text.lines().count() > 2, "{}", wrapped.text);
        for line in wrapped.text.lines() {
            assert!(line.chars().count() <= 40, "{line:?} is wider than 40");
        }
        // Wrapping moves words, it loses none.
        let words = |t: &str| t.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        let mut all = words(&wrapped.text);
        all.sort();
        let mut expected = words(&piped.text);
        expected.sort();
        assert_eq!(all, expected);
    }

    #[test]
    fn the_row_cap_holds_on_a_terminal_only() {
        let data: Vec<Vec<String>> = (0..10).map(|n| vec![n.to_string()]).collect();
        let terminal = Layout {
            width: Some(80),
            max_rows: None,
        };
        let capped = render(&["n"], &data, terminal.capped(4));
        assert_eq!(capped.text, "n\n0\n1\n2\n3");
        assert_eq!(capped.hidden, 6);
        let piped = render(&["n"], &data, Layout::default().capped(4));
        assert_eq!(piped.text.lines().count(), 11);
        assert_eq!(piped.hidden, 0);
    }

    /// A long table drawn in slices is the table drawn whole, byte for byte: widths from every
    /// slice, right alignment, multi-line and wide cells, a header only at the top.
    #[test]
    fn a_long_table_drawn_in_slices_is_the_table_drawn_whole() {
        let cell = |n: usize, column: usize| match (n * 7 + column * 3) % 11 {
            0 => String::new(),
            1 => "x".repeat(n % 40),
            2 => format!("line {n}\nsecond line"),
            3 => "naïve 表格 ✓".to_owned(),
            _ => format!("{}", n * (column + 1)),
        };
        for count in [SLICE_ROWS + 1, 3 * SLICE_ROWS + 17] {
            let data: Vec<Vec<String>> = (0..count)
                .map(|n| (0..4).map(|c| cell(n, c)).collect())
                .collect();
            // The widest cell of a column sits in the last slice only.
            let mut data = data;
            data[count - 1][1] = "w".repeat(60);
            for (headers, align) in [
                (&["a", "b", "c", "d"][..], &[Align::Left, Align::Right][..]),
                (&[][..], &[][..]),
            ] {
                let whole = table_of(headers, &data, align, Layout::default(), &[], Cells::Lines)
                    .trim_fmt();
                let sliced = render_aligned(headers, &data, align, Layout::default());
                assert_eq!(sliced.text, whole, "{count} rows, headers {headers:?}");
                assert_eq!(sliced.hidden, 0);
            }
        }
    }

    /// A cell's control characters are shown, and measured, as their escapes: the columns after
    /// a name with an escape sequence still line up, and a line break in a one-line cell does
    /// not start a row of its own.
    #[test]
    fn control_characters_in_cells_are_shown_and_measured_escaped() {
        let table = render(
            &["id", "name", "timeout"],
            &rows(&[["a1", "S\x1b[1A\x1b[2K", "5"], ["b2", "two\nlines", "7"]]),
            Layout::default(),
        );
        assert_eq!(
            table.text,
            "id  name         timeout\na1  S\\e[1A\\e[2K  5\nb2  two\\nlines   7"
        );
        let reasons = render_aligned(
            &[],
            &rows(&[["(1)", "1", "refused\x07\nfix: add the role"]]),
            &[Align::Left, Align::Right],
            Layout::default(),
        );
        assert_eq!(
            reasons.text,
            "(1)  1  refused\\u{7}\n        fix: add the role"
        );
    }

    #[test]
    fn counts_align_right_and_no_header_draws_no_header_line() {
        let table = render_aligned(
            &[],
            &rows(&[["(1)", "7", "skipped"], ["(2)", "12", "failed"]]),
            &[Align::Left, Align::Right],
            Layout::default(),
        );
        assert_eq!(table.text, "(1)   7  skipped\n(2)  12  failed");
        assert_eq!(render(&[], &[], Layout::default()).text, "");
    }
}
