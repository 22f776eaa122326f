//! Records the commit the benches were built from, for the comparison's provenance
//! (`src/compare/provenance.rs`), which uses it when git cannot be asked at run time.
//!
//! Sets `BENCHES_BUILD_COMMIT` (a full hash, or empty if git cannot say) and
//! `BENCHES_BUILD_DIRTY` (`true`, `false`, or empty). Re-runs when HEAD moves (a commit, a
//! checkout) and when the sources of the workspace's crates change, so the dirty flag describes
//! the sources compiled; a change to files outside them (the docs, say) does not re-run it.

use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let dir = Path::new(&manifest);
    let commit = git(dir, &["rev-parse", "--verify", "HEAD"]).unwrap_or_default();
    let dirty = if commit.is_empty() {
        String::new()
    } else {
        git(dir, &["status", "--porcelain", "--untracked-files=no"])
            .map(|s| (!s.is_empty()).to_string())
            .unwrap_or_default()
    };
    println!("cargo:rustc-env=BENCHES_BUILD_COMMIT={commit}");
    println!("cargo:rustc-env=BENCHES_BUILD_DIRTY={dirty}");

    println!("cargo:rerun-if-changed=build.rs");
    // HEAD, the branch it names and packed-refs: a commit or a checkout moves one of them.
    let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(dir, &["rev-parse", "--symbolic-full-name", "HEAD"]) {
        if branch.starts_with("refs/") {
            watch.push(branch);
        }
    }
    for name in watch {
        if let Some(p) = git(dir, &["rev-parse", "--git-path", &name]) {
            let p = dir.join(p);
            if p.exists() {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
    }
    // The sources compiled into the benches: their own and the workspace crates they use.
    for src in [
        "src",
        "../kernel-sim/src",
        "../userlib/src",
        "Cargo.toml",
        "../Cargo.toml",
    ] {
        if dir.join(src).exists() {
            println!("cargo:rerun-if-changed={src}");
        }
    }
}
