//! `index.html`: the report as one XHTML page — the headline, the SVG plots (files under
//! `plots/`, shown with `<img>`) and the tables of [`tables`].
//!
//! The page is well-formed XML (every element closed, text escaped), so tools — and the tests —
//! can parse it.

use std::fmt::Write;

use super::markdown::headline;
use super::plots::Plot;
use super::tables::{self, Table};
use super::Report;

/// Renders the page; `plots` are the figures written beside it.
pub fn render(report: &Report, plots: &[Plot]) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n");
    out.push_str("<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n");
    out.push_str("<meta charset=\"utf-8\"/>\n<title>gclab comparison report</title>\n");
    out.push_str(STYLE);
    out.push_str("</head>\n<body>\n<h1>gclab comparison report</h1>\n");
    let _ = writeln!(out, "<p>{}</p>", escape(&headline(report)));
    let _ = writeln!(
        out,
        "<p>Data: <a href=\"report.json\">report.json</a> (every run), \
         <a href=\"report.md\">report.md</a> (these tables).</p>"
    );
    if !plots.is_empty() {
        out.push_str("<h2 id=\"plots\">Plots</h2>\n");
        for plot in plots {
            let _ = writeln!(
                out,
                "<figure><img src=\"{}\" alt=\"{}\"/><figcaption>{}</figcaption></figure>",
                escape(&plot.file),
                escape(&plot.title),
                escape(&plot.caption)
            );
        }
    }
    for table in tables::all(report) {
        render_table(&mut out, &table);
    }
    if !report.unsupported.is_empty() {
        out.push_str("<h2 id=\"not-run\">Not run</h2>\n<ul>\n");
        for pair in &report.unsupported {
            let _ = writeln!(
                out,
                "<li><code>{}</code> on <code>{}</code>: {}</li>",
                escape(&pair.workload),
                escape(&pair.config),
                escape(&pair.reason)
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("<h2 id=\"failures\">Failures</h2>\n");
    if report.all_passed() {
        out.push_str("<p>None: every run produced a record and passed the drop check.</p>\n");
    } else {
        out.push_str("<ul>\n");
        for failure in &report.failures {
            let _ = writeln!(
                out,
                "<li><code>{}</code> on <code>{}</code>, repetition {}: {}</li>",
                escape(&failure.workload),
                escape(&failure.config),
                failure.rep,
                escape(&failure.message)
            );
        }
        for run in report.drop_check_failures() {
            let _ = writeln!(
                out,
                "<li><code>{}</code> on <code>{}</code>, repetition {}: drop check failed</li>",
                escape(&run.workload),
                escape(&run.config),
                run.rep
            );
        }
        for run in report.runs_with_errors() {
            let _ = writeln!(
                out,
                "<li><code>{}</code> on <code>{}</code>, repetition {}: {}</li>",
                escape(&run.workload),
                escape(&run.config),
                run.rep,
                escape(&run.errors.join("; "))
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

const STYLE: &str = "<style>\n\
body { font-family: sans-serif; margin: 2em; max-width: 80em; }\n\
table { border-collapse: collapse; margin-bottom: 1.5em; font-size: 90%; }\n\
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }\n\
td:first-child, th:first-child { text-align: left; }\n\
figure { display: inline-block; margin: 0.5em; }\n\
figcaption { font-size: 85%; max-width: 40em; }\n\
</style>\n";

fn render_table(out: &mut String, table: &Table) {
    let _ = writeln!(out, "<h2 id=\"{}\">{}</h2>", table.id, escape(&table.title));
    let _ = writeln!(out, "<p>{}</p>", escape(&table.intro));
    out.push_str("<table>\n<thead><tr>");
    for heading in &table.header {
        let _ = write!(out, "<th>{}</th>", escape(heading));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// Escapes text for XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}
