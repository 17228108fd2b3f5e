//! The class report as a person or a spreadsheet reads it: learners as rows, stages as
//! columns, the class's numbers per stage below them, then the stages where it needed most help.

use super::{ClassReport, StageSummary};
use crate::classroom::report::TableFormat;
use crate::classroom::table::{self, Table};

impl ClassReport {
    /// The class report in a format, ending with a newline.
    pub fn render(&self, format: TableFormat) -> Result<String, serde_json::Error> {
        let n = self.learners.len();
        let legend = "✓ passed · … started, not passed · blank: not started";
        Ok(match format {
            TableFormat::Json => serde_json::to_string_pretty(self)? + "\n",
            TableFormat::Csv => self.table(false).csv(),
            TableFormat::Text => format!(
                "{}: {}, {}. {legend}\n\n{}\nWhere the class needed most help:\n{}\n\
                 The idioms clippy questioned most (after passes):\n{}\n\
                 Where hints did not help:\n{}",
                self.course,
                table::plural(n as u64, "learner"),
                table::plural(self.stages.len() as u64, "stage"),
                self.table(true).text(),
                self.help_list("  "),
                super::lints::render(&self.lints, n, "  "),
                super::hint_help::render(&self.hints_not_helping, "  ")
            ),
            TableFormat::Markdown => format!(
                "# {}: class report\n\n{}, {}. {legend}.\n\n{}\n\
                 ## Where the class needed most help\n\n{}\n\
                 ## The idioms clippy questioned most\n\n{}\n\
                 ## Where hints did not help\n\n{}",
                self.course,
                table::plural(n as u64, "learner"),
                table::plural(self.stages.len() as u64, "stage"),
                self.table(true).markdown(),
                self.help_list(""),
                super::lints::render(&self.lints, n, ""),
                super::hint_help::render(&self.hints_not_helping, "")
            ),
        })
    }

    /// Learners as rows, stages as columns, the class's numbers per stage below. `marks` uses ✓
    /// and … for people; without it, cells hold the status ids and plain numbers for spreadsheets.
    fn table(&self, marks: bool) -> Table {
        let mut headers = vec!["Learner".to_owned(), "Passed".to_owned()];
        headers.extend(self.stages.iter().map(StageSummary::key));
        let mut table = Table {
            numeric: [false, true]
                .into_iter()
                .chain(self.stages.iter().map(|_| false))
                .collect(),
            headers,
            ..Table::default()
        };
        let of = self.stages.len();
        for learner in &self.learners {
            let mut row = vec![
                learner.learner.clone(),
                if marks {
                    format!("{}/{of}", learner.passed)
                } else {
                    learner.passed.to_string()
                },
            ];
            row.extend(learner.stages.iter().map(|s| {
                if marks {
                    s.status.mark()
                } else {
                    s.status.id()
                }
                .to_owned()
            }));
            table.rows.push(row);
        }
        let n = self.learners.len();
        // In a spreadsheet the class's rows sit among the learners' rows: mark them.
        let prefix = if marks { "" } else { "class: " };
        let footer = |label: &str, cell: &dyn Fn(&StageSummary) -> String| {
            let mut row = vec![format!("{prefix}{label}"), String::new()];
            row.extend(self.stages.iter().map(cell));
            row
        };
        let or_dash = |v: Option<f64>| v.map_or("-".to_owned(), table::number);
        table.footer = vec![
            footer("passed", &|s| {
                if marks {
                    format!("{}/{n}", s.passed)
                } else {
                    s.passed.to_string()
                }
            }),
            footer("median attempts", &|s| or_dash(s.median_attempts)),
            footer("learners hinted", &|s| s.hinted.to_string()),
            footer("hint rungs", &|s| s.hint_rungs.to_string()),
            footer("final nudges", &|s| s.nudges.to_string()),
            if marks {
                footer("median active time", &|s| {
                    s.median_active_secs
                        .map_or("-".to_owned(), |v| table::duration(v.round() as u64))
                })
            } else {
                footer("median active minutes", &|s| {
                    or_dash(
                        s.median_active_secs
                            .map(|v| (v / 60.0 * 10.0).round() / 10.0),
                    )
                })
            },
        ];
        table
    }

    fn help_list(&self, indent: &str) -> String {
        if self.most_help.is_empty() {
            return format!("{indent}No learner asked for a hint.\n");
        }
        let n = self.learners.len();
        let mut out = String::new();
        for (rank, key) in self.most_help.iter().enumerate() {
            let Some(s) = self.stages.iter().find(|s| s.key() == *key) else {
                continue;
            };
            out.push_str(&format!(
                "{indent}{}. {key} ({}): {} of {n} asked for hints ({}), {} took the final \
                 nudge; median {}; {} of {n} passed.\n",
                rank + 1,
                s.title,
                s.hinted,
                table::plural(s.hint_rungs, "rung"),
                s.nudged,
                s.median_attempts.map_or("-".to_owned(), |m| {
                    let m = table::number(m);
                    let word = if m == "1" { "attempt" } else { "attempts" };
                    format!("{m} {word}")
                }),
                s.passed,
            ));
        }
        out
    }
}
