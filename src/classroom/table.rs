//! One table, three renderings: aligned text for a terminal, Markdown for a slide or an issue, CSV
//! for a spreadsheet. The reports build a [`Table`] once, so the three never disagree.
//!
//! Cells can hold what learners wrote (their names come from report files a teacher collects), so
//! each rendering escapes what its format would otherwise interpret: `|` and line breaks in
//! Markdown, quotes and separators in CSV, and a leading `=`, `+`, `-` or `@` that a spreadsheet
//! would run as a formula.

/// A table with a header row, data rows and summary rows below them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    /// Per column: right-aligned (numbers) or left-aligned (words).
    pub numeric: Vec<bool>,
    pub rows: Vec<Vec<String>>,
    /// Summary rows (totals, medians): bold in Markdown, after a rule in text, plain rows in CSV.
    pub footer: Vec<Vec<String>>,
}

impl Table {
    /// A table with these headers; `numeric` marks the right-aligned columns.
    pub fn new(headers: &[&str], numeric: &[bool]) -> Self {
        Self {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            numeric: numeric.to_vec(),
            ..Self::default()
        }
    }

    /// Aligned columns, two spaces apart, for a terminal.
    pub fn text(&self) -> String {
        let widths = self.widths();
        let line = |cells: &[String]| {
            let mut out = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = one_line(cells.get(i).map_or("", String::as_str));
                let pad = width.saturating_sub(cell.chars().count());
                if i > 0 {
                    out.push_str("  ");
                }
                if self.is_numeric(i) {
                    out.push_str(&" ".repeat(pad));
                    out.push_str(&cell);
                } else {
                    out.push_str(&cell);
                    out.push_str(&" ".repeat(pad));
                }
            }
            out.trim_end().to_owned() + "\n"
        };
        let mut out = line(&self.headers);
        for row in &self.rows {
            out.push_str(&line(row));
        }
        if !self.footer.is_empty() {
            let total: usize = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
            out.push_str(&"-".repeat(total));
            out.push('\n');
            for row in &self.footer {
                out.push_str(&line(row));
            }
        }
        out
    }

    /// A GitHub-flavoured Markdown table.
    pub fn markdown(&self) -> String {
        let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
        let escaped = |cells: &[String]| -> Vec<String> {
            (0..self.headers.len())
                .map(|i| markdown_cell(cells.get(i).map_or("", String::as_str)))
                .collect()
        };
        let mut out = line(escaped(&self.headers));
        let rule = (0..self.headers.len())
            .map(|i| if self.is_numeric(i) { "--:" } else { ":--" }.to_owned())
            .collect();
        out.push_str(&line(rule));
        for row in &self.rows {
            out.push_str(&line(escaped(row)));
        }
        for row in &self.footer {
            let cells = escaped(row)
                .into_iter()
                .map(|c| if c.is_empty() { c } else { format!("**{c}**") })
                .collect();
            out.push_str(&line(cells));
        }
        out
    }

    /// RFC 4180 CSV (comma-separated, CRLF-free, quoted where needed).
    pub fn csv(&self) -> String {
        let line = |cells: &[String]| {
            let cells: Vec<String> = (0..self.headers.len())
                .map(|i| csv_cell(cells.get(i).map_or("", String::as_str)))
                .collect();
            cells.join(",") + "\n"
        };
        let mut out = line(&self.headers);
        for row in self.rows.iter().chain(&self.footer) {
            out.push_str(&line(row));
        }
        out
    }

    fn is_numeric(&self, column: usize) -> bool {
        self.numeric.get(column).copied().unwrap_or(false)
    }

    fn widths(&self) -> Vec<usize> {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in self.rows.iter().chain(&self.footer) {
            for (i, cell) in row.iter().enumerate().take(widths.len()) {
                widths[i] = widths[i].max(one_line(cell).chars().count());
            }
        }
        widths
    }
}

/// Line breaks would break a row apart in every format.
fn one_line(cell: &str) -> String {
    cell.replace(['\r', '\n'], " ")
}

fn markdown_cell(cell: &str) -> String {
    let mut out = String::with_capacity(cell.len());
    for c in one_line(cell).chars() {
        if matches!(c, '|' | '\\' | '*' | '`' | '<' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn csv_cell(cell: &str) -> String {
    // A spreadsheet runs a cell that starts with one of these as a formula: neutralise it.
    let cell = if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    };
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

/// Time as a teacher reads it: `45s`, `12m`, `1h 05m`.
pub fn duration(secs: u64) -> String {
    if secs < 60 {
        return format!("{secs}s");
    }
    let minutes = (secs + 30) / 60;
    if minutes < 60 {
        format!("{minutes}m")
    } else {
        format!("{}h {:02}m", minutes / 60, minutes % 60)
    }
}

/// `1 attempt`, `3 attempts`.
pub fn plural(n: impl Into<u64>, word: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A median or mean for a table: whole numbers without decimals, others with one.
pub fn number(value: f64) -> String {
    if (value - value.round()).abs() < 1e-9 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut table = Table::new(&["Learner", "Passed"], &[false, true]);
        table.rows.push(vec!["Ada".into(), "2".into()]);
        table
            .rows
            .push(vec!["Bo | \"Bobby\", the 2nd".into(), "10".into()]);
        table.footer.push(vec!["median".into(), "6".into()]);
        table
    }

    #[test]
    fn text_aligns_words_left_and_numbers_right() {
        assert_eq!(
            sample().text(),
            "Learner                Passed\n\
             Ada                         2\n\
             Bo | \"Bobby\", the 2nd      10\n\
             -----------------------------\n\
             median                      6\n"
        );
    }

    #[test]
    fn markdown_escapes_what_would_break_the_table() {
        let md = sample().markdown();
        assert!(
            md.starts_with("| Learner | Passed |\n| :-- | --: |\n"),
            "{md}"
        );
        assert!(md.contains(r#"| Bo \| "Bobby", the 2nd | 10 |"#), "{md}");
        assert!(md.contains("| **median** | **6** |"), "{md}");
    }

    #[test]
    fn csv_quotes_separators_and_neutralises_formulas() {
        let mut table = sample();
        table
            .rows
            .push(vec!["=HYPERLINK(\"x\")".into(), "1".into()]);
        let csv = table.csv();
        assert!(
            csv.contains("\"Bo | \"\"Bobby\"\", the 2nd\",10\n"),
            "{csv}"
        );
        assert!(csv.contains("\"'=HYPERLINK(\"\"x\"\")\",1\n"), "{csv}");
        assert!(csv.ends_with("median,6\n"), "{csv}");
    }

    #[test]
    fn durations_and_numbers_read_like_a_person_wrote_them() {
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(12 * 60 + 10), "12m");
        assert_eq!(duration(3600 + 5 * 60), "1h 05m");
        assert_eq!(number(4.0), "4");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(
            (plural(1u32, "rung"), plural(0u32, "rung")),
            ("1 rung".into(), "0 rungs".into())
        );
    }
}
