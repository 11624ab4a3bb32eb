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
//!
//! The commands of ```sh blocks (no output shown) must each be named in
//! [`SH_COMMANDS`] with what runs them: a test, CI, or, for benchmarks and
//! what this machine cannot run (Docker, systemd as init), the nearest
//! check and why. README's "Run it on a director" steps run here for real,
//! into a scratch root.

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

/// Every command of the ```sh blocks: its start, the file that runs it
/// (or, where noted, the nearest check), and a string that file holds.
const SH_COMMANDS: &[(&str, &str, &str)] = &[
    // README: the Quickstart, the images, containerlab.
    ("scripts/demo.sh", "tests/demo.rs", "scripts/demo.sh"),
    ("scripts/test.sh", ".ci/run", "scripts/test.sh"),
    (
        "scripts/build-images.sh",
        "scripts/test.sh",
        "scripts/build-images.sh",
    ),
    (
        "buildah images",
        "scripts/build-images.sh",
        "buildah images",
    ),
    // No Docker engine here: the same Dockerfile is built with buildah.
    ("docker build", "scripts/build-images.sh", "Dockerfile"),
    // No Docker engine here: xlvs-lab realizes the same file.
    (
        "containerlab deploy -t labs/quickstart.clab.yml",
        "tests/demo.rs",
        "quickstart.clab.yml",
    ),
    // README, "Run it on a director": run below in a scratch root (a
    // debug build stands in for the release one); systemctl needs systemd
    // as init, which this machine lacks: the unit is verified instead.
    (
        "cargo build --release --bin xlvsd --bin xlvsadm",
        "tests/docs_examples.rs",
        "fn the_readme_install_steps",
    ),
    (
        "install ",
        "tests/docs_examples.rs",
        "fn the_readme_install_steps",
    ),
    (
        "xlvsd --check-config /etc/xlvs/lb1.toml",
        "tests/docs_examples.rs",
        "fn the_readme_install_steps",
    ),
    ("systemctl ", "tests/systemd_unit.rs", "systemd-analyze"),
    // Benchmarks print figures and are run by hand (CI builds them).
    (
        "sudo cargo run --release -p xlvs-dataplane --example xdp_bench",
        "crates/dataplane/examples/xdp_bench.rs",
        "fn main",
    ),
    (
        "XLVS_BENCH_ONLY=",
        "crates/dataplane/examples/xdp_bench.rs",
        "XLVS_BENCH_ONLY",
    ),
    (
        "XLVS_BENCH_LOADS=",
        "crates/dataplane/examples/xdp_bench.rs",
        "XLVS_BENCH_LOADS",
    ),
    (
        "sudo cargo run --release -p xlvs-dataplane --example conntrack_capacity",
        "crates/dataplane/examples/conntrack_capacity.rs",
        "fn main",
    ),
    (
        "cargo run --release -p xlvs-sync --example sync_bench",
        "crates/sync/examples/sync_bench.rs",
        "fn main",
    ),
    (
        "taskset -c 1 target/release/examples/sync_bench",
        "crates/sync/examples/sync_bench.rs",
        "fn main",
    ),
    (
        "sudo scripts/bench-sync.sh",
        "scripts/bench-sync.sh",
        "FLOWS",
    ),
    ("sudo FLOWS=", "scripts/bench-sync.sh", "FLOWS"),
    ("sudo FILL=", "scripts/bench-sync.sh", "FILL"),
    (
        "cargo build --release -p xlvsd -p xlvsadm -p xlvs-lab",
        "scripts/bench-sync.sh",
        "BIN_DIR",
    ),
    ("sudo scripts/bench-lab.sh", "scripts/bench-lab.sh", "PARTS"),
    ("sudo PARTS=", "scripts/bench-lab.sh", "PARTS"),
    ("sudo BUILD=0 PARTS=", "scripts/bench-lab.sh", "FAILOVER"),
    (
        "sudo scripts/bench-link-events.sh",
        "scripts/bench-link-events.sh",
        "BIN_DIR",
    ),
    (
        "sudo scripts/bench-host-events.sh",
        "scripts/bench-host-events.sh",
        "BIN_DIR",
    ),
    (
        "git worktree add /tmp/xlvs-before",
        "scripts/bench-link-events.sh",
        "BIN_DIR",
    ),
    (
        "sudo BIN_DIR=/tmp/xlvs-before/target/debug scripts/bench-link-events.sh",
        "scripts/bench-link-events.sh",
        "BIN_DIR",
    ),
    (
        "sudo BIN_DIR=/tmp/xlvs-before/target/debug scripts/bench-host-events.sh",
        "scripts/bench-host-events.sh",
        "BIN_DIR",
    ),
    // Lab tests the docs tell how to run: CI runs them.
    (
        "sudo cargo build --workspace && sudo cargo test -p xlvs-tests --test survival",
        "tests/survival.rs",
        "fn ",
    ),
    (
        "sudo cargo test -p xlvs-tests --test ospf_reload",
        "tests/ospf_reload.rs",
        "a_reload_of_a_thousand",
    ),
    (
        "cargo build --workspace && cargo test -p xlvs-tests --test fullnat_cluster",
        "tests/fullnat_cluster.rs",
        "fn ",
    ),
    // docs/fullnat.md's walk through the FULLNAT lab.
    (
        "xlvs-lab up labs/ecmp-fullnat.clab.yml",
        "tests/cluster.rs",
        "lab: \"ecmp-fullnat\"",
    ),
    (
        "xlvs-lab exec labs/ecmp-fullnat.clab.yml client -- curl",
        "tests/cluster.rs",
        "curl",
    ),
    (
        "xlvs-lab exec labs/ecmp-fullnat.clab.yml r1 -- ip route show",
        "tests/lib.rs",
        "\"route\", \"show\"",
    ),
    (
        "xlvs-lab exec labs/ecmp-fullnat.clab.yml r2 -- vtysh",
        "tests/lib.rs",
        "\"vtysh\", \"-c\"",
    ),
    (
        "xlvsadm --node ecmp-fullnat-lb1 -L -n -c",
        "tests/dataplane_traffic.rs",
        "\"-L\", \"-n\", \"-c\"",
    ),
    (
        "xlvs-lab down labs/ecmp-fullnat.clab.yml",
        "tests/lib.rs",
        "\"down\"",
    ),
    // docs/lab.md's synopsis.
    (
        "xlvs-lab check  FILE",
        "tests/docs_examples.rs",
        "fn every_lab_file_passes_xlvs_lab_check",
    ),
    ("xlvs-lab up     FILE", "tests/lib.rs", "\"up\""),
    (
        "xlvs-lab status FILE",
        "tests/lib.rs",
        "\"status\", \"--json\"",
    ),
    ("xlvs-lab exec   FILE", "tests/lib.rs", "\"exec\""),
    ("xlvs-lab down   FILE", "tests/lib.rs", "\"down\""),
    // docs/dataplane.md: xlvs-decap on a TUN real.
    (
        "xlvs-decap attach eth0 --pin",
        "tests/realserver.rs",
        "[\"attach\", \"eth1\", \"--pin\"",
    ),
    (
        "xlvs-decap attach eth0 --mode generic",
        "tests/realserver.rs",
        "\"attach\", \"eth1\", \"--mode\", \"generic\"",
    ),
    ("xlvs-decap stats --pin", "tests/realserver.rs", "\"stats\""),
    (
        "xlvs-decap detach --pin",
        "tests/realserver.rs",
        "\"detach\"",
    ),
    // docs/ospf.md.
    (
        "xlvsadm --node lb1 restart --graceful",
        "tests/ospf_graceful.rs",
        "\"--graceful\"",
    ),
    (
        "xlvsadm ospf neighbors",
        "tests/lib.rs",
        "\"ospf\", \"neighbors\"",
    ),
    (
        "xlvsadm ospf database",
        "tests/lib.rs",
        "\"ospf\", \"database\"",
    ),
    (
        "xlvsadm ospf interfaces",
        "tests/ospf_link_events.rs",
        "\"ospf\", \"interfaces\"",
    ),
    (
        "xlvsadm ospf stats",
        "tests/ospf_interop.rs",
        "\"ospf\", \"stats\"",
    ),
    (
        "xlvsadm status",
        "tests/dataplane_traffic.rs",
        "\"--json\", \"status\"",
    ),
    (
        "xlvsadm ospf withdraw",
        "tests/lib.rs",
        "\"ospf\", \"withdraw\"",
    ),
    (
        "xlvsadm ospf announce",
        "tests/ospf_interop.rs",
        "\"ospf\", \"announce\"",
    ),
    ("xlvsadm bfd", "tests/bfd_frr.rs", "\"bfd\""),
    (
        "xlvsadm --json bfd",
        "tests/bfd_frr.rs",
        "\"--json\", \"bfd\"",
    ),
    // The fuzzers run by hand; their kept corpora are replayed by tests.
    (
        "cargo install cargo-fuzz",
        "crates/ospf/tests/fuzz_corpus.rs",
        "cargo fuzz run packet",
    ),
    (
        "cd crates/ospf && RUSTC_BOOTSTRAP=1 cargo fuzz run packet",
        "crates/ospf/tests/fuzz_corpus.rs",
        "cargo fuzz run packet",
    ),
    (
        "cd crates/sync && RUSTC_BOOTSTRAP=1 cargo fuzz run decode",
        "crates/sync/tests/fuzz_corpus.rs",
        "fuzz",
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
    docs().iter().flat_map(|d| examples(d)).collect()
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

/// The commands of the ```sh blocks of a doc: (line number, command), a
/// trailing `# comment` and comment lines left out.
fn sh_commands(doc: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(doc).unwrap();
    let mut found = Vec::new();
    let mut in_sh = false;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("```") {
            in_sh = !in_sh && matches!(line.trim(), "```sh" | "```bash" | "```shell");
            continue;
        }
        let command = line.split(" #").next().unwrap_or("").trim();
        if in_sh && !command.is_empty() && !command.starts_with('#') {
            found.push((i + 1, command.to_string()));
        }
    }
    found
}

fn docs() -> Vec<std::path::PathBuf> {
    let root = workspace();
    let mut docs: Vec<_> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    docs.insert(0, root.join("README.md"));
    docs
}

#[test]
fn every_shell_command_in_the_docs_names_what_runs_it() {
    let root = workspace();
    let mut problems = Vec::new();
    let mut count = 0;
    for doc in docs() {
        for (line, command) in sh_commands(&doc) {
            count += 1;
            let at = format!(
                "{}:{line}: `{command}`",
                doc.strip_prefix(&root).unwrap().display()
            );
            match SH_COMMANDS.iter().find(|(p, ..)| command.starts_with(p)) {
                None => problems.push(format!("{at}: not in SH_COMMANDS: name what runs it")),
                Some((_, file, needle)) => {
                    let held = std::fs::read_to_string(root.join(file)).unwrap_or_default();
                    if !held.contains(needle) {
                        problems.push(format!("{at}: {file} should run it but has no {needle:?}"));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(count >= 50, "only {count} commands found");
}

/// README's "Run it under systemd" steps, as written but for three things:
/// a debug build stands in for the release one, the paths under / go to a
/// scratch root, and systemctl (which needs systemd as init) is left out.
#[test]
fn the_readme_install_steps_work_in_a_scratch_root() {
    let root = workspace();
    let readme = root.join("README.md");
    let steps: Vec<String> = sh_commands(&readme)
        .into_iter()
        .map(|(_, c)| c)
        .skip_while(|c| !c.starts_with("cargo build --release"))
        .take_while(|c| !c.starts_with("systemctl"))
        .collect();
    assert!(
        steps.len() >= 6,
        "the install block was not found: {steps:?}"
    );
    let scratch = tempfile::tempdir().unwrap();
    let s = scratch.path().display().to_string();
    for dir in ["usr/local/bin", "etc/systemd/system"] {
        std::fs::create_dir_all(scratch.path().join(dir)).unwrap();
    }
    let path = format!(
        "{s}/usr/local/bin:{}",
        std::env::var("PATH").unwrap_or_default()
    );
    for step in steps.iter().skip(1) {
        let step = step
            .replace("target/release/", &format!("{}/", bin_dir_of("xlvsd")))
            .replace(" /usr/local/bin/", &format!(" {s}/usr/local/bin/"))
            .replace(" /etc/", &format!(" {s}/etc/"));
        let out = std::process::Command::new("sh")
            .args(["-c", &step])
            .current_dir(&root)
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(out.status.success(), "`{step}`: {}", text(&out));
        if step.starts_with("xlvsd --check-config") {
            assert!(
                String::from_utf8_lossy(&out.stdout).contains("OK"),
                "{}",
                text(&out)
            );
        }
    }
    use std::os::unix::fs::PermissionsExt;
    for (file, mode) in [
        ("usr/local/bin/xlvsd", 0o755),
        ("usr/local/bin/xlvsadm", 0o755),
        ("etc/xlvs/lb1.toml", 0o600),
        ("etc/systemd/system/xlvsd@.service", 0o644),
    ] {
        let meta =
            std::fs::metadata(scratch.path().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(meta.permissions().mode() & 0o777, mode, "{file}");
    }
}

fn bin_dir_of(name: &str) -> String {
    bin(name).parent().unwrap().display().to_string()
}

/// docs/lab.md's `xlvs-lab check`, on every lab the repository ships.
#[test]
fn every_lab_file_passes_xlvs_lab_check() {
    let root = workspace();
    let mut labs: Vec<_> = std::fs::read_dir(root.join("labs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".clab.yml"))
        .collect();
    labs.sort();
    assert!(labs.len() >= 10, "{labs:?}");
    for lab in labs {
        let out = std::process::Command::new(bin("xlvs-lab"))
            .arg("check")
            .arg(&lab)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: {}", lab.display(), text(&out));
    }
}
