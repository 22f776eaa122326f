//! Review of `pidin-sim`'s command line: the output paths of a recording (`--trace`,
//! `--diagram`) are checked before anything is recorded, only regular files are written (a
//! device, FIFO, socket or directory is refused at once with status 2, never opened), a link to
//! a regular file is followed, a failed run leaves the files as they were; and options that
//! mean nothing alone (`--interval` without `--watch`, `--rows` without `--diagram`) are usage
//! errors. The kernel is a plain memory file in a temporary directory (no supervisor); every
//! pidin-sim is bounded in time and killed on every exit path.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PIDIN: &str = env!("CARGO_BIN_EXE_pidin-sim");

/// A temporary directory, removed on every exit path.
struct Dir(PathBuf);

impl Dir {
    fn new(what: &str) -> Dir {
        let d = std::env::temp_dir().join(format!(
            "pidin-cli-review-{what}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }

    /// The names in it, sorted.
    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child killed at the end, whatever happens.
struct Bounded(Option<Child>);

impl Drop for Bounded {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// What a run of pidin-sim did: its exit status (`None`: still running after `within`, then
/// killed), stderr and how long it took.
struct Ran {
    code: Option<i32>,
    stderr: String,
    took: Duration,
}

fn pidin(args: &[&str], within: Duration) -> Ran {
    let start = Instant::now();
    let child = Command::new(PIDIN)
        .args(args)
        .env_remove("QNXSIM_KERNEL")
        .env_remove("QNXSIM_SUPERVISOR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running pidin-sim");
    let mut b = Bounded(Some(child));
    let code = loop {
        if let Some(st) = b.0.as_mut().unwrap().try_wait().unwrap() {
            break st.code();
        }
        if start.elapsed() > within {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = start.elapsed();
    let mut c = b.0.take().unwrap();
    if code.is_none() {
        let _ = c.kill();
    }
    let out = c.wait_with_output().unwrap();
    Ran {
        code,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took,
    }
}

/// A kernel in a plain memory file at `path`.
fn kernel_file(path: &Path) -> userlib::Kernel {
    userlib::Kernel::create_shared(path, userlib::Config::default()).expect("a kernel file")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn special_files_and_links_to_nothing_are_refused_at_once_and_nothing_is_made() {
    let dir = Dir::new("special");
    let k = dir.join("kernel");
    let kernel = kernel_file(&k);
    let fifo = dir.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    std::os::unix::fs::symlink(&fifo, dir.join("to-fifo")).unwrap();
    std::os::unix::fs::symlink(dir.join("nothing"), dir.join("dangling")).unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    let before = dir.names();
    let good = dir.join("good.json");
    for (option, bad, says) in [
        ("--diagram", s(&fifo).to_string(), "is a FIFO"),
        (
            "--diagram",
            s(&dir.join("to-fifo")).into(),
            "leads to a FIFO",
        ),
        ("--diagram", "/dev/null".into(), "is a character device"),
        ("--diagram", s(&dir.join("sub")).into(), "is a directory"),
        (
            "--diagram",
            format!("{}/", s(&dir.join("new"))),
            "directory",
        ),
        (
            "--diagram",
            s(&dir.join("dangling")).into(),
            "symbolic link",
        ),
    ] {
        let args = [
            "--kernel",
            s(&k),
            "--trace",
            s(&good),
            option,
            &bad,
            "--for",
            "5",
        ];
        let r = pidin(&args, Duration::from_secs(10));
        assert_eq!(r.code, Some(2), "{args:?}:\n{}", r.stderr);
        assert!(
            r.took < Duration::from_secs(3),
            "{args:?} took {:?}",
            r.took
        );
        assert!(r.stderr.contains(&bad), "{args:?}:\n{}", r.stderr);
        assert!(r.stderr.contains(says), "{args:?}:\n{}", r.stderr);
        assert_eq!(dir.names(), before, "{args:?} made or removed a file");
    }
    // A refused run did not turn the kernel's trace ring on.
    assert!(!kernel.trace_ring().recording());
}

#[test]
fn a_link_to_a_regular_file_is_followed_and_stays_a_link() {
    let dir = Dir::new("link");
    let k = dir.join("kernel");
    let _kernel = kernel_file(&k);
    let real = dir.join("real.svg");
    std::fs::write(&real, b"old chart").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.join("link.svg");
    std::os::unix::fs::symlink("real.svg", &link).unwrap();
    let trace = dir.join("t.json");
    let args = [
        "--kernel",
        s(&k),
        "--trace",
        s(&trace),
        "--diagram",
        s(&link),
        "--rows",
        "5",
        "--for",
        "0.2",
    ];
    let r = pidin(&args, Duration::from_secs(20));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("wrote {}", s(&link))),
        "{}",
        r.stderr
    );
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let chart = std::fs::read_to_string(&real).unwrap();
    assert!(chart.contains("<svg"), "{chart}");
    let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "the replaced file keeps its permissions");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&trace).unwrap()).unwrap();
    assert!(v["traceEvents"].is_array());
    // No temporary file is left beside them.
    assert_eq!(
        dir.names(),
        ["kernel", "link.svg", "real.svg", "t.json"],
        "{:?}",
        dir.names()
    );
}

#[test]
fn the_kernels_own_memory_file_is_no_output() {
    let dir = Dir::new("kernel-out");
    let k = dir.join("kernel");
    let _kernel = kernel_file(&k);
    let size = std::fs::metadata(&k).unwrap().len();
    let r = pidin(
        &["--kernel", s(&k), "--trace", s(&k), "--for", "0.2"],
        Duration::from_secs(10),
    );
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("kernel's memory file"), "{}", r.stderr);
    assert_eq!(std::fs::metadata(&k).unwrap().len(), size);
    assert_eq!(dir.names(), ["kernel"]);
}

#[test]
fn options_that_mean_nothing_alone_are_usage_errors() {
    for (args, says) in [
        (&["--interval", "2"][..], "--interval"),
        (&["--interval", "2", "--trace", "x.json"], "--interval"),
        (&["--rows", "5"], "--rows"),
        (&["--rows", "5", "--trace", "x.json"], "--rows"),
    ] {
        let r = pidin(args, Duration::from_secs(10));
        assert_eq!(r.code, Some(2), "{args:?}:\n{}", r.stderr);
        assert!(r.stderr.contains(says), "{args:?}:\n{}", r.stderr);
    }
    assert!(!Path::new("x.json").exists());
    let r = pidin(&["--help"], Duration::from_secs(10));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}
