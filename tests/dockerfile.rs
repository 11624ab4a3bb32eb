//! The Dockerfile's text: every image the lab files name is FRR's or a
//! stage of our Dockerfile, and every binary the Dockerfile copies out of
//! the build is one the workspace builds. The images themselves are built
//! and checked inside by scripts/build-images.sh (buildah, no Docker
//! engine), which scripts/test.sh runs.

use std::collections::BTreeSet;
use xlvs_tests::{bin_dir, workspace};

fn dockerfile() -> String {
    std::fs::read_to_string(workspace().join("Dockerfile")).expect("Dockerfile")
}

/// Image names the Dockerfile makes: `xlvs:latest` (the last stage) and
/// each named stage as `<stage>:latest`.
fn our_images(text: &str) -> BTreeSet<String> {
    let mut images: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("FROM "))
        .filter_map(|l| {
            l.split_once(" AS ")
                .map(|(_, stage)| format!("{}:latest", stage.trim()))
        })
        .collect();
    images.insert("xlvs:latest".into());
    images
}

#[test]
fn every_lab_image_is_frr_or_built_by_the_dockerfile() {
    let ours = our_images(&dockerfile());
    assert!(ours.contains("lab-host:latest"), "{ours:?}");
    let mut checked = 0;
    for entry in std::fs::read_dir(workspace().join("labs")).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().ends_with(".clab.yml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for image in text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("image:"))
            .map(str::trim)
        {
            checked += 1;
            assert!(
                image.starts_with("quay.io/frrouting/frr:") || ours.contains(image),
                "{}: image {image} is neither FRR's nor one the Dockerfile builds ({ours:?})",
                path.display()
            );
        }
    }
    assert!(checked > 10, "only {checked} images found in labs/");
}

#[test]
fn the_dockerfile_copies_binaries_the_workspace_builds() {
    let text = dockerfile();
    let copied: BTreeSet<&str> = text
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("target/release/"))
        .collect();
    assert!(
        copied.contains("xlvsd") && copied.contains("xlvs-decap"),
        "{copied:?}"
    );
    for bin in copied {
        assert!(
            bin_dir().join(bin).is_file(),
            "the Dockerfile copies {bin}, which the workspace does not build"
        );
        assert!(
            text.contains(&format!("--bin {bin}")),
            "the Dockerfile copies {bin} but does not build it"
        );
    }
}
