//! The text form of a mutants run: one row per stage, then every failure, then the course's
//! mutation score. (The JSON form is the report serialized as it is.)

use super::{MutantsReport, Outcome, StageResult, VariantKind};

/// The table, the failures and the score.
pub fn to_text(report: &MutantsReport) -> String {
    let rows: Vec<[String; 6]> = report.stages.iter().map(row).collect();
    let header = [
        "stage".to_owned(),
        "mutants".to_owned(),
        "killed".to_owned(),
        "survivors".to_owned(),
        "did not compile".to_owned(),
        "alternatives accepted".to_owned(),
    ];
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (cell, width))| match i {
                0 | 3 => format!("{cell:<width$}"),
                _ => format!("{cell:>width$}"),
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    let failures: Vec<(String, String)> = report
        .stages
        .iter()
        .flat_map(|s| {
            s.failures()
                .into_iter()
                .map(move |f| (format!("{}/{}", s.track, s.stage), f))
        })
        .collect();
    if !failures.is_empty() {
        out.push('\n');
        for (stage, failure) in failures {
            out.push_str(&format!("FAIL {stage}: {failure}\n"));
        }
    }
    let missing: Vec<String> = report
        .stages
        .iter()
        .filter(|s| !s.has_manifest)
        .map(|s| format!("{}/{}", s.track, s.stage))
        .collect();
    if !missing.is_empty() {
        out.push_str(&format!(
            "\nnote: no mutants.toml in {} (see docs/course-format.md, \"Mutants and alternatives\")\n",
            missing.join(", ")
        ));
    }
    let score = report
        .score
        .map_or("no mutants".to_owned(), |s| format!("{s:.1}%"));
    out.push_str(&format!(
        "\nmutation score: {score} ({} of {} mutants killed); alternatives: {} of {} accepted; {:.0}s\n",
        report.killed,
        report.mutants,
        report.accepted,
        report.alternatives,
        report.elapsed_ms as f64 / 1000.0
    ));
    out
}

fn row(stage: &StageResult) -> [String; 6] {
    let name = format!("{}/{}", stage.track, stage.stage);
    if !stage.has_manifest {
        return [
            name,
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
        ];
    }
    let survivors: Vec<&str> = stage
        .variants
        .iter()
        .filter(|v| v.kind == VariantKind::Mutant && v.outcome == Outcome::Survived)
        .map(|v| v.name.as_str())
        .collect();
    let not_compiling = stage
        .variants
        .iter()
        .filter(|v| v.outcome == Outcome::DidNotCompile)
        .count();
    [
        name,
        stage.mutants().to_string(),
        stage.killed().to_string(),
        if survivors.is_empty() {
            "-".to_owned()
        } else {
            survivors.join(", ")
        },
        not_compiling.to_string(),
        format!("{}/{}", stage.accepted(), stage.alternatives()),
    ]
}
