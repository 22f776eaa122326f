//! The C programs of README.md and docs/c-api.md (their ```c blocks), compiled as written with
//! `-std=c99 -Wall -Wextra -Werror` against libqnxsim and run, bounded in time, and compiled as
//! C++17 with the same flags: what a porter copies first must build and do what the text says.

#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use procs::TempDir;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The ```c blocks of a Markdown file.
fn c_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```c") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Compiles and runs `src` (at most 20 s); returns its standard output.
fn build_and_run(dir: &TempDir, name: &str, src: &str) -> String {
    let c = dir.join(&format!("{name}.c"));
    std::fs::write(&c, src).unwrap();
    let exe = dir.join(name);
    let lib = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let out = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args([
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pthread",
            "-D_DEFAULT_SOURCE",
        ])
        .arg(format!("-I{}", repo().join("capi/include").display()))
        .arg(&c)
        .arg(format!("-L{}", lib.display()))
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        // An rpath, not a runpath: it wins over LD_LIBRARY_PATH, which `cargo test`
        // points at target/debug, where an older libqnxsim.so may lie.
        .arg("-Wl,--disable-new-dtags")
        .arg("-lqnxsim")
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name} does not compile:\n{src}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The same source as C++17, as a porter's C++ program includes the same headers and code
    // (compiled to an object: the C build above is the one run).
    let cxx = Command::new(std::env::var("CXX").unwrap_or_else(|_| "c++".into()))
        .args([
            "-x",
            "c++",
            "-std=c++17",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pthread",
            "-D_DEFAULT_SOURCE",
            "-c",
        ])
        .arg(format!("-I{}", repo().join("capi/include").display()))
        .arg(&c)
        .arg("-o")
        .arg(dir.join(&format!("{name}.cxx.o")))
        .output()
        .unwrap();
    assert!(
        cxx.status.success(),
        "{name} does not compile as C++17:\n{src}\n{}",
        String::from_utf8_lossy(&cxx.stderr)
    );
    let mut child = Command::new(&exe)
        .env_remove("QNXSIM_KERNEL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name} did not finish within 20 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} failed ({}):\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn the_readme_c_program_compiles_as_written_and_does_what_the_text_says() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let blocks = c_blocks(&readme);
    assert_eq!(blocks.len(), 1, "README.md's C programs");
    let dir = TempDir::new("readme-c");
    let out = build_and_run(&dir, "readme", &blocks[0]);
    assert!(out.contains("reply: pong\n"), "{out}");
    assert!(out.contains("tick, code 1 value 7\n"), "{out}");
}

#[test]
fn the_c_api_guide_programs_compile_as_written_and_run() {
    let guide = std::fs::read_to_string(repo().join("docs/c-api.md")).unwrap();
    let blocks = c_blocks(&guide);
    assert!(!blocks.is_empty(), "docs/c-api.md has C programs");
    let dir = TempDir::new("guide-c");
    let outs: Vec<String> = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| build_and_run(&dir, &format!("guide{i}"), b))
        .collect();
    // The event loop: three timer pulses, then the client's event delivered.
    assert!(
        outs[0].contains("client: event, code 2 value 99\n"),
        "{}",
        outs[0]
    );
    assert!(outs[0].ends_with("server: 3 ticks\n"), "{}", outs[0]);
    // The interrupt driver: three raises, each served and unmasked.
    let intr = outs
        .iter()
        .find(|o| o.contains("interrupt 1 served"))
        .expect("the interrupt driver's output");
    assert_eq!(
        intr.as_str(),
        "interrupt 1 served\ninterrupt 2 served\ninterrupt 3 served\n"
    );
}
