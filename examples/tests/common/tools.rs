//! The workspace's other programs (`procnto-sim`, `pidin-sim`, `intr-sim`, the benches,
//! `qnxsim-install`) for the tests that run them as a user would: found in this test's target
//! directory, and built there with cargo when missing or older than this test (one older may
//! be of an older kernel layout than the examples just built, which would refuse to share a
//! kernel with them; cargo brings it up to date, or finds it is).

use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/<profile>`: where cargo puts the workspace's programs for this test.
pub fn profile_dir() -> PathBuf {
    let me = std::env::current_exe().expect("this test's path");
    // target/<profile>/deps/TEST-HASH
    me.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

/// The program `bin` of package `package`, built into this test's target directory if it is
/// not there yet, or older than this test.
pub fn tool(package: &str, bin: &str) -> PathBuf {
    static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let dir = profile_dir();
    let path = dir.join(bin);
    let _one_at_a_time = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let me = std::env::current_exe().ok();
    if path.is_file() && modified(&path) >= me.as_deref().and_then(modified) {
        return path;
    }
    let target = dir.parent().expect("the target directory");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--quiet",
        "-p",
        package,
        "--bin",
        bin,
        "--target-dir",
    ])
    .arg(target)
    .current_dir(env!("CARGO_MANIFEST_DIR"));
    match dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(other) => {
            cmd.args(["--profile", other]);
        }
        None => {}
    }
    let status = cmd.status().expect("running cargo build");
    assert!(
        status.success() && path.is_file(),
        "cannot build {bin} ({status}): build it first with `cargo build -p {package}`"
    );
    path
}
