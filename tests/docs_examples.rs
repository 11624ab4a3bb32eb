//! The console examples of README.md and docs/*.md stay true. Every prompt
//! line (`$ ` or `# `) of a ```console block is either
//! - an `xlvsadm` or `xlvsd` command that needs no running node: it runs
//!   here as written, from the repository root, and what the doc prints
//!   under it must appear in its output, line for line and in order (the
//!   doc may leave lines out, not change them); or
//! - named in [`ELSEWHERE`] with the test that runs it (a running node, a
//!   host change, a file on the operator's machine) or what it is (a
//!   benchmark).
//!
//! A new example that is neither fails here, so no example goes unchecked.

use std::path::Path;
use xlvs_tests::{bin, text, workspace};

/// Examples that cannot run here as written: the start of the command,
/// the file that runs it, and a string that file must hold (so the
/// pointer cannot silently go stale).
const ELSEWHERE: &[(&str, &str, &str)] = &[
    // A node's installed config; every file in configs/ is checked by it.
    (
        "xlvsd --check-config /etc/xlvs/",
        "crates/xlvsd/tests/check_config.rs",
        "--check-config",
    ),
    // The output of import-keepalived for an operator's keepalived.conf.
    (
        "xlvsadm import-keepalived /etc/keepalived/",
        "crates/xlvsadm/tests/cli.rs",
        "--node-template",
    ),
    (
        "xlvsd --check-config lb1.toml",
        "crates/xlvsd/tests/check_warnings.rs",
        "no [cluster] flow sync",
    ),
    // A running node's endpoint, scraped and parsed in a lab.
    (
        "curl -s http://127.0.0.1:9478/metrics",
        "tests/metrics.rs",
        "/metrics",
    ),
    // A running node's health table, as the CLI renders it.
    ("xlvsadm health", "crates/xlvsadm/src/answers.rs", "health"),
    // Changes to the host: run in a lab's real-server namespaces.
    (
        "xlvsadm realserver ",
        "tests/realserver.rs",
        "\"realserver\"",
    ),
    // Benchmarks print figures; CI builds them (--all-targets), people run them.
    (
        "cargo run --release -p xlvs-maglev --example bench",
        "crates/maglev/examples/bench.rs",
        "fn main",
    ),
];

/// One prompt line of a console block and the lines printed under it.
#[derive(Debug)]
struct Example {
    doc: String,
    line: usize,
    command: String,
    output: Vec<String>,
}

fn examples(doc: &Path) -> Vec<Example> {
    let text = std::fs::read_to_string(doc).unwrap();
    let name = doc
        .strip_prefix(workspace())
        .unwrap_or(doc)
        .display()
        .to_string();
    // Blocks as (first line number, lines).
    let mut blocks: Vec<(usize, Vec<&str>)> = Vec::new();
    let mut open: Option<(usize, Vec<&str>)> = None;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("```") {
            match open.take() {
                Some(block) => blocks.push(block),
                None if line.trim() == "```console" => open = Some((i + 2, Vec::new())),
                None => {}
            }
            continue;
        }
        if let Some((_, lines)) = open.as_mut() {
            lines.push(line);
        }
    }
    let mut found: Vec<Example> = Vec::new();
    for (first, lines) in blocks {
        let block_start = found.len();
        // `$ ` prompts; a block without one is a root shell's (`# `), whose
        // output may hold `#` lines of its own.
        let prompt = if lines.iter().any(|l| l.starts_with("$ ")) {
            "$ "
        } else {
            "# "
        };
        for (n, line) in lines.iter().enumerate() {
            if let Some(cmd) = line.strip_prefix(prompt) {
                found.push(Example {
                    doc: name.clone(),
                    line: first + n,
                    command: cmd.trim().to_string(),
                    output: Vec::new(),
                });
            } else if found.len() > block_start {
                let last = found.last_mut().expect("one in this block");
                last.output.push(line.trim_end().to_string());
            }
        }
    }
    found
}

fn all_examples() -> Vec<Example> {
    let root = workspace();
    let mut docs = vec![root.join("README.md")];
    let mut in_docs: Vec<_> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    in_docs.sort();
    docs.extend(in_docs);
    docs.iter().flat_map(|d| examples(d)).collect()
}

/// Whether `want` appears in `got` in order, each line whole.
fn in_order(want: &[String], got: &[&str]) -> bool {
    let mut rest = got.iter();
    want.iter()
        .filter(|w| !w.is_empty())
        .all(|w| rest.any(|g| g.trim_end() == w))
}

#[test]
fn every_console_example_runs_here_or_names_its_test() {
    let root = workspace();
    let all = all_examples();
    assert!(
        all.len() >= 15,
        "the docs' examples were not found: {all:?}"
    );
    let mut ran = 0;
    let mut problems = Vec::new();
    for ex in &all {
        let at = format!("{}:{}: `{}`", ex.doc, ex.line, ex.command);
        if let Some((_, file, needle)) = ELSEWHERE.iter().find(|(p, ..)| ex.command.starts_with(p))
        {
            let held = std::fs::read_to_string(root.join(file)).unwrap_or_default();
            if !held.contains(needle) {
                problems.push(format!("{at}: {file} should run it but has no {needle:?}"));
            }
            continue;
        }
        let words: Vec<&str> = ex.command.split_whitespace().collect();
        let program = match words.first() {
            Some(&p @ ("xlvsadm" | "xlvsd")) => p,
            _ => {
                problems.push(format!(
                    "{at}: not an xlvsadm/xlvsd command: name the test that runs it in ELSEWHERE"
                ));
                continue;
            }
        };
        let out = std::process::Command::new(bin(program))
            .args(&words[1..])
            .current_dir(&root)
            .output()
            .unwrap();
        let printed = text(&out);
        let lines: Vec<&str> = printed.lines().collect();
        if !in_order(&ex.output, &lines) {
            problems.push(format!(
                "{at}: the doc shows\n{}\nbut it printed\n{printed}",
                ex.output.join("\n")
            ));
        }
        ran += 1;
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    assert!(ran >= 6, "only {ran} examples ran here");
    println!(
        "{} examples: {ran} ran here, the rest in the tests named",
        all.len()
    );
}

#[test]
fn in_order_wants_whole_lines_in_order() {
    let want = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(in_order(&want(&["a", "c"]), &["a", "b", "c"]));
    assert!(!in_order(&want(&["c", "a"]), &["a", "b", "c"]));
    assert!(!in_order(&want(&["a b"]), &["a b c"]));
}
