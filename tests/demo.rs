//! The README's first Quickstart command, `scripts/demo.sh`, as a user
//! runs it: it brings up labs/quickstart.clab.yml, every one of its 20
//! requests is answered (by both reals), the echo check passes, both
//! directors list the service; then every command its closing lines
//! suggest runs and succeeds. The lab is taken down at the end, also when
//! an assertion fails.

use std::path::Path;
use xlvs_tests::{run, text, workspace, Lab};

#[test]
fn the_demo_runs_and_every_command_it_suggests_works() {
    let root = workspace();
    let lab = Lab::take(&root.join("labs/quickstart.clab.yml"));
    let out = run(&root.join("scripts/demo.sh"), &[]);
    let printed = text(&out);
    assert!(out.status.success(), "{printed}");

    // 20 answers, counted by `uniq -c`, from both reals.
    let answers: Vec<(u32, &str)> = printed
        .lines()
        .filter_map(|l| {
            let (n, who) = l.trim().split_once(' ')?;
            Some((n.parse().ok()?, who))
        })
        .filter(|(_, who)| who.starts_with("web"))
        .collect();
    assert_eq!(
        answers.iter().map(|(n, _)| n).sum::<u32>(),
        20,
        "{answers:?}\n{printed}"
    );
    assert_eq!(answers.len(), 2, "both reals answer: {answers:?}");
    assert!(!printed.contains("(failed)"), "{printed}");
    assert!(printed.contains("192.0.2.10:80"), "the listings: {printed}");

    // The commands the demo suggests, in its order, the last (down) last.
    let suggested: Vec<Vec<String>> = printed
        .lines()
        .filter(|l| l.starts_with("  target/debug/xlvs-lab "))
        .map(|l| {
            let command = l.split("  #").next().unwrap_or(l);
            shlex::split(command).unwrap_or_else(|| panic!("unbalanced quotes: {l}"))
        })
        .collect();
    assert!(suggested.len() >= 8, "{suggested:?}\n{printed}");
    for words in &suggested {
        // Paths as the demo prints them, relative to the checkout.
        let args: Vec<String> = words[1..]
            .iter()
            .map(|a| match root.join(a) {
                p if a.contains('/') && p.exists() => p.display().to_string(),
                _ => a.clone(),
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&root.join(&words[0]), &args);
        assert!(out.status.success(), "{}: {}", words.join(" "), text(&out));
    }
    let last = suggested.last().unwrap();
    assert_eq!(last[1], "down", "the demo ends with how to take it down");
    assert!(
        !Path::new("/run/netns/clab-quickstart-r1").exists(),
        "the lab is down"
    );
    drop(lab);
}
