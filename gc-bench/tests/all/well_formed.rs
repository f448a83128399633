//! The HTML page and the SVG figures are well-formed XML, and the page shows every figure.

use gc_bench::report::{html, markdown, plots};

use super::support::tiny_report;

#[test]
fn html_and_svg_parse() {
    let report = tiny_report();
    let figures = plots::render_all(&report).unwrap();
    assert!(
        figures.len() >= 10,
        "expected every figure, got {}",
        figures.len()
    );
    for plot in &figures {
        let document = roxmltree::Document::parse(&plot.svg)
            .unwrap_or_else(|e| panic!("{} is not well formed: {e}", plot.file));
        assert_eq!(
            document.root_element().tag_name().name(),
            "svg",
            "{}",
            plot.file
        );
        assert!(plot.svg.contains("<text"), "{} has no labels", plot.file);
    }

    let page = html::render(&report, &figures);
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let document = roxmltree::Document::parse_with_options(&page, options)
        .unwrap_or_else(|e| panic!("index.html is not well formed: {e}"));
    let images: Vec<&str> = document
        .descendants()
        .filter(|n| n.has_tag_name("img"))
        .filter_map(|n| n.attribute("src"))
        .collect();
    for plot in &figures {
        assert!(
            images.contains(&plot.file.as_str()),
            "{} not shown",
            plot.file
        );
    }
    let tables = document
        .descendants()
        .filter(|n| n.has_tag_name("table"))
        .count();
    assert!(tables >= 6, "expected the report's tables, found {tables}");

    let text = markdown::render(&report);
    assert!(text.contains("## Wall time (ms)"));
    assert!(text.contains("| cpython312 |"));
    if cfg!(feature = "peers") {
        // Beside the pause tables: which backends' pauses are their explicit collect calls only.
        let explicit = "Only the explicit collect calls are timed for `bacon_rajan_cc`, \
                        `rust-cc`, `gcmodule`, `dumpster`, `gc` (`explicit`)";
        let longest = text
            .split("## Longest pause (ms)")
            .nth(1)
            .expect("the longest-pause table");
        assert!(longest.contains(explicit), "{longest}");
        assert!(text.contains("`std-rc` has no collector"), "{text}");
        assert!(
            page.contains(explicit),
            "index.html lacks the pause coverage"
        );
    }
}
