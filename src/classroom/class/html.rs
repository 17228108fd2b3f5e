//! The HTML class report: one self-contained file (inline style, no script, no external asset,
//! nothing fetched), a heat map of learners × stages where each cell links to that learner's
//! verdict and failing test output further down the page, the class's numbers per stage, and
//! where the class needed most hints (self-reported, and marked so).
//!
//! Everything a learner could have written (names, test output) is escaped.

use super::render::file_stem;
use super::results::{CellStatus, ClassGrades, LearnerGrades, StageGrade};
use super::stats::{most_hints, stage_stats};
use crate::classroom::table::number;
use crate::runner::TestStatus;

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;color:#1b1b1b;max-width:100rem}
h1{font-size:1.6rem;margin-bottom:.2rem}.meta{color:#555;margin-top:0}
table.heat{border-collapse:collapse;margin:1rem 0}
.heat th,.heat td{border:1px solid #fff;padding:.3rem .5rem;text-align:center}
.heat thead th{background:#f0f0f0;font-weight:600;font-size:.85rem;vertical-align:bottom}
.heat tbody th{text-align:left;background:#f7f7f7;font-weight:500;white-space:nowrap}
.heat tfoot th{text-align:left;background:#f7f7f7;font-weight:500}.heat tfoot td{background:#fafafa}
.cell a{display:block;color:inherit;text-decoration:none;min-width:1.6rem;font-weight:700}
.passed{background:#2e7d32;color:#fff}.failed{background:#c62828;color:#fff}
.tampered{background:#6a1b9a;color:#fff}.not_reached{background:#e3e3e3;color:#555}
.error{background:#ef6c00;color:#fff}
.legend span{display:inline-block;padding:.1rem .5rem;margin-right:.4rem;border-radius:.2rem}
.self{color:#7a5c00;font-size:.85rem}
.detail{border-left:.3rem solid #ccc;padding:.2rem .8rem;margin:.6rem 0}
.detail:target{background:#fff8d6;border-left-color:#f9a825}
.detail h4{margin:.3rem 0}pre{background:#f4f4f4;padding:.5rem;overflow-x:auto;white-space:pre-wrap;font-size:.8rem}
";

/// The report, a whole HTML document.
pub fn html(grades: &ClassGrades) -> String {
    let stats = stage_stats(grades);
    let n = grades.learners.len();
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
    out.push_str(&format!(
        "<title>{}: class report</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        esc(&grades.course)
    ));
    out.push_str(&format!(
        "<h1>{}: class report</h1>\n<p class=\"meta\">{} learner(s), {} stage(s); graded with \
         {} (<code>{}</code>) by katas {}, {}.</p>\n",
        esc(&grades.course),
        n,
        grades.stages.len(),
        esc(&grades.reference.source),
        esc(&grades.reference.fingerprint),
        env!("CARGO_PKG_VERSION"),
        sandbox_words(grades.sandboxed)
    ));
    out.push_str("<p class=\"legend\">");
    for status in CellStatus::ALL {
        out.push_str(&format!(
            "<span class=\"{}\">{} {}</span>",
            status.id(),
            status.mark(),
            status.word()
        ));
    }
    out.push_str("</p>\n");

    // The heat map.
    out.push_str(
        "<table class=\"heat\" id=\"heatmap\">\n<thead><tr><th>Learner</th><th>Passed</th>",
    );
    for s in &grades.stages {
        out.push_str(&format!(
            "<th scope=\"col\" title=\"{}\">{}<br/>{}</th>",
            esc(&s.title),
            esc(&s.track),
            esc(&s.stage)
        ));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for learner in &grades.learners {
        out.push_str(&format!(
            "<tr><th scope=\"row\"><a href=\"#{}\">{}</a></th><td>{}/{}</td>",
            learner_id(learner),
            esc(&learner.learner),
            learner.passed(),
            grades.stages.len()
        ));
        for (j, v) in learner.verdicts.iter().enumerate() {
            out.push_str(&format!(
                "<td class=\"cell {}\"><a href=\"#{}\" title=\"{}: {}\">{}</a></td>",
                v.status.id(),
                cell_id(learner, j),
                esc(&v.key()),
                esc(v.status.word()),
                v.status.mark()
            ));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n<tfoot>\n<tr><th>passed</th><td></td>");
    for s in &stats {
        out.push_str(&format!("<td>{}/{n}</td>", s.count(CellStatus::Passed)));
    }
    out.push_str(
        "</tr>\n<tr><th>median attempts <span class=\"self\">self-reported</span></th><td></td>",
    );
    for s in &stats {
        out.push_str(&format!(
            "<td>{}</td>",
            s.median_attempts.map(number).unwrap_or_else(|| "-".into())
        ));
    }
    out.push_str(
        "</tr>\n<tr><th>learners hinted <span class=\"self\">self-reported</span></th><td></td>",
    );
    for s in &stats {
        out.push_str(&format!("<td>{}</td>", s.hinted));
    }
    out.push_str("</tr>\n</tfoot>\n</table>\n");

    // Where the class needed most hints.
    out.push_str(
        "<h2>Where the class needed most hints <span class=\"self\">self-reported</span></h2>\n\
         <p class=\"self\">From the learners' own progress files (<code>katas-report.json</code> \
         or <code>.katas/state.toml</code> in their repositories): what they say of themselves, \
         for teaching, never graded.</p>\n",
    );
    let most = most_hints(&stats);
    let reporting = grades
        .learners
        .iter()
        .filter(|l| l.self_reported.is_some())
        .count();
    if most.is_empty() {
        out.push_str("<p>No learner's progress file shows a hint.</p>\n");
    } else {
        out.push_str("<ol id=\"most-hints\">\n");
        for s in most {
            out.push_str(&format!(
                "<li><strong>{}</strong> ({}): {} of the {} learner(s) with a progress file asked \
                 for hints ({} rungs), {} took the final nudge; median {} attempts; {} of {n} \
                 passed.</li>\n",
                esc(&s.key),
                esc(&s.title),
                s.hinted,
                reporting,
                s.hint_rungs,
                s.nudged,
                s.median_attempts.map(number).unwrap_or_else(|| "-".into()),
                s.count(CellStatus::Passed)
            ));
        }
        out.push_str("</ol>\n");
    }

    let problems: Vec<&LearnerGrades> = grades
        .learners
        .iter()
        .filter(|l| l.problem.is_some())
        .collect();
    if !problems.is_empty() {
        out.push_str("<h2>Not graded, or not to the end</h2>\n<ul id=\"problems\">\n");
        for l in problems {
            out.push_str(&format!(
                "<li><a href=\"#{}\">{}</a> ({}): {}</li>\n",
                learner_id(l),
                esc(&l.learner),
                esc(&l.source),
                esc(l.problem.as_deref().unwrap_or_default())
            ));
        }
        out.push_str("</ul>\n");
    }

    out.push_str("<h2>Each learner</h2>\n");
    for learner in &grades.learners {
        details(&mut out, learner);
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn details(out: &mut String, learner: &LearnerGrades) {
    out.push_str(&format!(
        "<section id=\"{}\">\n<h3>{}</h3>\n<p class=\"meta\">{} · commit <code>{}</code>{} · JUnit: \
         <code>junit/{}.xml</code></p>\n",
        learner_id(learner),
        esc(&learner.learner),
        esc(&learner.source),
        esc(learner.commit.as_deref().unwrap_or("-")),
        if learner.cached {
            " · from an earlier run (same commit, same reference)"
        } else {
            ""
        },
        esc(&file_stem(learner))
    ));
    for (j, v) in learner.verdicts.iter().enumerate() {
        stage_detail(out, learner, j, v);
    }
    out.push_str("</section>\n");
}

fn stage_detail(out: &mut String, learner: &LearnerGrades, j: usize, v: &StageGrade) {
    out.push_str(&format!(
        "<div class=\"detail\" id=\"{}\">\n<h4><span class=\"{}\">&#160;{}&#160;</span> {}: {} \
         ({} passed, {} failed, {} ms)</h4>\n",
        cell_id(learner, j),
        v.status.id(),
        v.status.mark(),
        esc(&v.key()),
        esc(v.status.word()),
        v.tests_passed,
        v.tests_failed,
        v.duration_ms
    ));
    if let Some(reason) = &v.reason {
        out.push_str(&format!("<pre>{}</pre>\n", esc(reason)));
    }
    for t in v
        .tests
        .iter()
        .filter(|t| matches!(t.status, TestStatus::Failed | TestStatus::DidNotFinish))
    {
        out.push_str(&format!(
            "<p><strong>{}</strong> {}</p>\n<pre>{}</pre>\n",
            esc(&t.name),
            if t.status == TestStatus::Failed {
                "failed"
            } else {
                "did not finish"
            },
            esc(&t.output)
        ));
    }
    out.push_str("</div>\n");
}

/// How the learners' code ran, in words.
pub(super) fn sandbox_words(sandboxed: bool) -> &'static str {
    if sandboxed {
        "every learner's build and tests in the sandbox"
    } else {
        "WITHOUT the sandbox (--no-sandbox): learner code ran with the grader's rights"
    }
}

fn learner_id(learner: &LearnerGrades) -> String {
    format!("learner-{}", learner.index + 1)
}

fn cell_id(learner: &LearnerGrades, stage: usize) -> String {
    format!("cell-{}-{}", learner.index + 1, stage + 1)
}

/// Text made safe inside HTML elements and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_learners_wrote_cannot_become_markup() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\"\u{1b}[2J"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;\u{fffd}[2J"
        );
    }
}
