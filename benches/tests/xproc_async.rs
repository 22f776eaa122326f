//! `xproc_async`, the real binary: a quick run measures asyncmsg and both rings between two
//! real processes on every placement and prints the table and the ratios; bad options are
//! refused with status 2; a peer killed in the middle of a run ends the program with status 1
//! and leaves neither a process nor a file behind. Every program run here is bounded in time
//! and killed if it outlasts its bound. Not a speed test: no rate or ratio is bounded.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_xproc_async");

/// A quick run takes well under a second here; this bound only catches a hang.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// A program under test: killed and reaped on drop if still running; its output in files of a
/// directory removed on drop.
struct Bounded {
    child: Option<Child>,
    dir: PathBuf,
}

impl Bounded {
    fn start(tag: &str, args: &[&str]) -> Bounded {
        let dir =
            std::env::temp_dir().join(format!("xproc-async-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        let child = Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("out")).expect("stdout file"))
            .stderr(std::fs::File::create(dir.join("err")).expect("stderr file"))
            .spawn()
            .expect("running xproc_async");
        Bounded {
            child: Some(child),
            dir,
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Waits for the program to exit within `limit` (else kills it and fails the test);
    /// returns its status, stdout and stderr.
    fn wait(mut self, limit: Duration) -> (ExitStatus, String, String) {
        let mut child = self.child.take().expect("a child");
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().expect("waiting for xproc_async") {
                break s;
            }
            if start.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "xproc_async still running after {limit:?}: killed\n{}",
                    self.read("err")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        (status, self.read("out"), self.read("err"))
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }
}

impl Drop for Bounded {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The peers `parent` started that are still running: processes whose command line is
/// `... --xproc-peer ROLE PARENT ...` with `parent`'s pid.
fn peers_of(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmd.split(|&b| b == 0).collect();
        let at = args.iter().position(|a| *a == b"--xproc-peer");
        if let Some(i) = at {
            if args.get(i + 2).copied() == Some(parent.to_string().as_bytes()) {
                // A zombie is not running: its parent has not reaped it yet.
                let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
                let state = stat
                    .rsplit(')')
                    .next()
                    .and_then(|s| s.split_whitespace().next());
                if state != Some("Z") {
                    out.push(pid);
                }
            }
        }
    }
    out
}

/// The run directories `pid` left, on `/dev/shm` or in the temporary directory.
fn files_left_by(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("qnxsim-xproc-{pid}-");
    let mut out = Vec::new();
    for base in [Path::new("/dev/shm").to_path_buf(), std::env::temp_dir()] {
        if let Ok(d) = std::fs::read_dir(&base) {
            out.extend(
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                    .map(|e| e.path()),
            );
        }
    }
    out
}

#[test]
fn a_quick_run_measures_asyncmsg_and_both_rings_between_two_processes() {
    let run = Bounded::start("quick", &["--quick"]);
    let pid = run.pid();
    let (status, out, err) = run.wait(RUN_LIMIT);
    assert!(status.success(), "{status}\n{out}\n{err}");
    let placements = ["same-cpu", "cross-cpu", "unpinned"];
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    for model in [
        "asyncmsg/64",
        "spsc-ring",
        "spsc-batch",
        "asyncmsg/64 (threads)",
    ] {
        for place in placements {
            if place == "cross-cpu" && cpus < 2 {
                continue;
            }
            // A table row: the model, the placement, then a rate above zero.
            let row = out.lines().find(|l| {
                l.starts_with(&format!("{model} "))
                    && l[model.len()..].trim_start().starts_with(place)
            });
            let row = row.unwrap_or_else(|| panic!("no {model} row on {place}:\n{out}"));
            let rate: f64 = row[model.len()..]
                .split_whitespace()
                .nth(1)
                .and_then(|r| r.parse().ok())
                .unwrap_or_else(|| panic!("no rate in {row:?}"));
            assert!(rate > 0.0, "{row}");
        }
    }
    // The ratios of asyncmsg to each ring, per placement, each with a value.
    for place in placements {
        if place == "cross-cpu" && cpus < 2 {
            continue;
        }
        for ring in ["spsc-ring", "spsc-batch"] {
            let line = out
                .lines()
                .find(|l| {
                    l.trim_start().starts_with(place)
                        && l.contains(&format!("asyncmsg/64 / {ring} "))
                })
                .unwrap_or_else(|| panic!("no asyncmsg/64 / {ring} ratio on {place}:\n{out}"));
            let value = line
                .split(&format!("asyncmsg/64 / {ring} "))
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .and_then(|v| v.parse::<f64>().ok());
            assert!(value.is_some_and(|v| v > 0.0), "{line}");
        }
    }
    assert!(
        !out.contains("NOT INTACT") && !err.contains("NOT INTACT"),
        "{err}"
    );
    assert!(peers_of(pid).is_empty(), "peers left running");
    assert!(files_left_by(pid).is_empty(), "{:?}", files_left_by(pid));
}

#[test]
fn bad_options_are_refused_with_status_2() {
    for args in [
        &["--runs", "0"][..],
        &["--runs", "101"],
        &["--msgs", "999"],
        &["--msgs", "x"],
        &["--batch", "0"],
        &["--batch", "257"],
        &["--size", "15"],
        &["--size", "65537"],
        &["--size"],
        &["--bogus"],
        // The peer's own arguments are checked too: a role that does not exist, and a
        // measuring process that is not its parent.
        &["--xproc-peer", "nonsense", "1", "-"],
        &[
            "--xproc-peer",
            "ring-producer",
            "1",
            "-",
            "/nonexistent",
            "1024",
            "1",
        ],
    ] {
        let (status, out, err) = Bounded::start("options", args).wait(RUN_LIMIT);
        assert_eq!(status.code(), Some(2), "{args:?}: {out}{err}");
        assert!(!err.is_empty(), "{args:?}: no word on stderr");
        assert!(!out.contains("msgs/s"), "{args:?} measured: {out}");
    }
}

#[test]
fn a_peer_killed_mid_run_ends_the_program_with_status_1_and_leaves_nothing() {
    // One long run: asyncmsg between processes on one CPU comes first.
    let run = Bounded::start("killed", &["--runs", "1", "--msgs", "100000000"]);
    let pid = run.pid();
    let until = Instant::now() + Duration::from_secs(30);
    let peer = loop {
        if let Some(&p) = peers_of(pid).first() {
            break p;
        }
        assert!(Instant::now() < until, "no peer started");
        std::thread::sleep(Duration::from_millis(10));
    };
    // Let it get going (its timed part lasts many seconds), then kill the peer as a crash
    // would. Whichever wait notices first, the program ends the same way.
    std::thread::sleep(Duration::from_secs(1));
    // SAFETY: kill with integer arguments, on a process this test saw running.
    unsafe {
        libc::kill(peer as i32, libc::SIGKILL);
    }
    // The watchdog's grace (5 s) plus slack: far below a run of 100 M messages.
    let (status, _, err) = run.wait(Duration::from_secs(30));
    assert_eq!(status.code(), Some(1), "{status}: {err}");
    assert!(
        err.contains("the peer ended before the run was done"),
        "{err}"
    );
    assert!(peers_of(pid).is_empty(), "peers left running");
    assert!(files_left_by(pid).is_empty(), "{:?}", files_left_by(pid));
}
