//! Building and running C and C++ programs against libqnxsim, for the tests of the C API: the
//! system's compiler (`CC`, else `cc`; `CXX`, else `c++`) with the strict flags the project
//! promises (`-Wall -Wextra -Werror`, C99 or C++17), the headers from `capi/include`, and the
//! library cargo built for this test (`libqnxsim.so` beside the test binary, or `.a`).
//! Every program runs bounded in time and is killed on every exit path.
#![allow(dead_code)]

use super::WITHIN;
use crate::procs::TempDir;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// The C API's headers.
pub fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../capi/include")
}

/// The C sources of the tests.
pub fn c_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../capi/tests/c")
}

/// Where cargo put libqnxsim for this test (the test binary's own directory).
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent().expect("its directory").to_path_buf()
}

/// Which language and standard to compile as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// `cc -std=c99`.
    C99,
    /// `c++ -std=c++17` (the same source, compiled as C++).
    Cxx17,
}

/// How to link libqnxsim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// `-lqnxsim` against `libqnxsim.so`, found at run time through an rpath.
    Shared,
    /// `libqnxsim.a` and the system libraries Rust's standard library needs.
    Static,
}

/// The flags `pkg-config --cflags qnxsim` gives, with the include directory of the source
/// tree: POSIX's declarations (as QNX's headers make them visible by default) and the headers.
pub fn cflags() -> Vec<String> {
    vec![
        "-D_DEFAULT_SOURCE".into(),
        format!("-I{}", include_dir().display()),
    ]
}

/// Compiles `sources` into `out` (an executable), with warnings as errors. Panics with the
/// compiler's messages if it fails.
pub fn build(sources: &[PathBuf], out: &Path, lang: Lang, link: Link) {
    let (compiler, std) = match lang {
        Lang::C99 => (
            std::env::var("CC").unwrap_or_else(|_| "cc".into()),
            "-std=c99",
        ),
        Lang::Cxx17 => (
            std::env::var("CXX").unwrap_or_else(|_| "c++".into()),
            "-std=c++17",
        ),
    };
    let mut cmd = Command::new(&compiler);
    cmd.args([std, "-Wall", "-Wextra", "-Werror", "-g", "-pthread"]);
    if lang == Lang::Cxx17 {
        cmd.args(["-x", "c++"]);
    }
    cmd.args(cflags()).args(sources);
    if lang == Lang::Cxx17 {
        cmd.args(["-x", "none"]);
    }
    cmd.arg("-o").arg(out);
    let lib = lib_dir();
    match link {
        Link::Shared => {
            cmd.arg(format!("-L{}", lib.display()))
                .arg(format!("-Wl,-rpath,{}", lib.display()))
                // An rpath, not a runpath: it wins over LD_LIBRARY_PATH, which `cargo test`
                // points at target/debug, where an older libqnxsim.so may lie.
                .arg("-Wl,--disable-new-dtags")
                .arg("-lqnxsim");
        }
        Link::Static => {
            cmd.arg(lib.join("libqnxsim.a")).args([
                "-lgcc_s",
                "-lutil",
                "-lrt",
                "-lpthread",
                "-lm",
                "-ldl",
                "-lc",
            ]);
        }
    }
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {compiler}: {e}"));
    assert!(
        output.status.success(),
        "{compiler} failed on {sources:?}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A running program, killed and reaped on drop. Its stdout is read line by line as it runs
/// (`line`, `ready`), its stderr collected for the end (`finish`).
pub struct Running {
    child: std::process::Child,
    lines: Receiver<String>,
    out: Vec<String>,
    err: Receiver<String>,
    what: String,
}

impl Running {
    /// Starts `exe ARGS` with `env` added, its output captured.
    pub fn start<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        exe: &Path,
        args: &[&str],
        env: &[(K, V)],
    ) -> Running {
        let mut child = Command::new(exe)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", exe.display()));
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (etx, err) = mpsc::channel();
        let mut stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            let _ = etx.send(s);
        });
        Running {
            child,
            lines,
            out: Vec::new(),
            err,
            // (With its arguments: the programs in roles share one executable.)
            what: std::iter::once(exe.display().to_string())
                .chain(args.iter().map(|a| a.to_string()))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its next line of output (within `WITHIN`, else the test fails).
    pub fn line(&mut self) -> String {
        match self.lines.recv_timeout(WITHIN) {
            Ok(l) => {
                self.out.push(l.clone());
                l
            }
            Err(e) => panic!(
                "{}: no line within {WITHIN:?} ({e}); so far:\n{}",
                self.what,
                self.out.join("\n")
            ),
        }
    }

    /// Waits for its `ready` line.
    pub fn ready(&mut self) {
        let line = self.line();
        assert_eq!(line, "ready", "{}: {line:?}", self.what);
    }

    /// Waits at most `within` for it to exit (killing it after, and failing the test with where
    /// its threads were waiting), and returns its status, all its stdout and its stderr.
    pub fn finish(mut self, within: Duration) -> (ExitStatus, String, String) {
        let until = Instant::now() + within;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("waiting") {
                break s;
            }
            if Instant::now() > until {
                // Where each of its threads waits, for the failure message (a hang's cause).
                let threads = threads_of(self.child.id());
                // And its signals (pending, blocked, ignored, caught), for a signal that
                // should have ended it.
                let signals: String =
                    std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
                        .unwrap_or_default()
                        .lines()
                        .filter(|l| {
                            l.starts_with("Sig")
                                || l.starts_with("ShdPnd")
                                || l.starts_with("State")
                        })
                        .map(|l| format!("  {l}\n"))
                        .collect();
                let _ = self.child.kill();
                let s = self.child.wait().expect("reaping");
                let err = self.drain();
                panic!(
                    "{} did not finish within {within:?} (killed: {s})\nits threads then:\n{threads}\nits signals then:\n{signals}stdout:\n{}\nstderr:\n{err}",
                    self.what,
                    self.out.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let err = self.drain();
        (status, self.out.join("\n"), err)
    }

    /// The rest of its output once it ended: stdout into `out`, stderr returned.
    fn drain(&mut self) -> String {
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.out.push(l);
        }
        self.err
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_default()
    }

    /// SIGKILL, and its status once reaped.
    pub fn kill(mut self) -> ExitStatus {
        let _ = self.child.kill();
        self.child.wait().expect("reaping")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Builds `capi/tests/c/NAME.c` into `dir/NAME` (C99, libqnxsim shared).
pub fn build_shared(dir: &TempDir, name: &str) -> PathBuf {
    let exe = dir.join(name);
    build(
        &[c_dir().join(format!("{name}.c"))],
        &exe,
        Lang::C99,
        Link::Shared,
    );
    exe
}

/// A C test program's end, as `finish` returns it: it succeeded, passed at least `min` checks
/// and failed none (else the test fails, with its output).
pub fn expect_summary(who: &str, (status, out, err): (ExitStatus, String, String), min: u32) {
    let (passed, failed) = summary(&out);
    assert!(
        status.success() && failed == 0 && passed >= min,
        "{who}: {status}, {passed} passed, {failed} failed (at least {min} expected)\n\
         stdout:\n{out}\nstderr:\n{err}"
    );
}

/// The `N passed, M failed` line a C test program prints last: `(N, M)`.
pub fn summary(stdout: &str) -> (u32, u32) {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" passed, ") && l.ends_with(" failed"))
        .unwrap_or_else(|| panic!("no 'N passed, M failed' line in:\n{stdout}"));
    let mut words = line.split_whitespace();
    let passed = words.next().and_then(|w| w.parse().ok());
    let failed = line
        .rsplit_once(", ")
        .and_then(|(_, f)| f.split_whitespace().next())
        .and_then(|w| w.parse().ok());
    match (passed, failed) {
        (Some(p), Some(f)) => (p, f),
        _ => panic!("unreadable summary {line:?}"),
    }
}

/// Runs a C test program to its end (bounded) and checks it passed at least `min` checks and
/// failed none, printing its output on failure.
pub fn expect_pass(exe: &Path, args: &[&str], env: &[(&str, &str)], min: u32, within: Duration) {
    let who = exe.display().to_string();
    expect_summary(&who, Running::start(exe, args, env).finish(within), min);
}

/// Each thread of process `pid`: its name, the kernel function it sleeps in (`wchan`) and its
/// system call (`/proc/PID/task/TID/syscall`: number and arguments), one line each; what can
/// be read of it.
pub fn threads_of(pid: u32) -> String {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return "(no /proc entry)".to_string();
    };
    let mut lines = Vec::new();
    for t in tasks.flatten() {
        let dir = t.path();
        let read = |f: &str| {
            std::fs::read_to_string(dir.join(f))
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "?".to_string())
        };
        lines.push(format!(
            "  tid {} {}: wchan {}, syscall {}",
            t.file_name().to_string_lossy(),
            read("comm"),
            read("wchan"),
            read("syscall")
        ));
    }
    lines.sort();
    lines.join("\n")
}

/// Runs `exe` (linked static, in `dir`: the directory is opened to everyone for it) as an
/// unprivileged user, uid and gid 65534 with no supplementary groups, through `setpriv`, to its
/// end (bounded by `within`): its status and output. `None` when the test does not run as root
/// (it runs unprivileged already) or the machine has no `setpriv`.
pub fn as_nobody(
    dir: &TempDir,
    exe: &Path,
    args: &[&str],
    within: Duration,
) -> Option<(ExitStatus, String, String)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let setpriv = Path::new("/usr/bin/setpriv");
    if !setpriv.exists() {
        eprintln!("setpriv not found: the unprivileged run is left out");
        return None;
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join(""), std::fs::Permissions::from_mode(0o711))
        .expect("opening the directory");
    let exe_arg = exe.display().to_string();
    let mut all = vec![
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        exe_arg.as_str(),
    ];
    all.extend_from_slice(args);
    Some(Running::start(setpriv, &all, &[] as &[(&str, &str)]).finish(within))
}

/// Builds the C test suite `capi/tests/c/NAME.c` into `dir` as `NAME-LANG-LINK` (compiled as
/// `lang`, libqnxsim linked `link`): the executable's path.
pub fn build_suite(dir: &TempDir, name: &str, lang: Lang, link: Link) -> PathBuf {
    let exe = dir.join(&format!("{name}-{lang:?}-{link:?}"));
    build(&[c_dir().join(format!("{name}.c"))], &exe, lang, link);
    exe
}

/// The tag of the temporary directory a suite runs in: `clock_suite` runs in `c-clock`,
/// `connect_info_suite` in `c-connect-info`.
fn suite_tag(name: &str) -> String {
    format!("c-{}", name.trim_end_matches("_suite").replace('_', "-"))
}

/// Builds the C test suite `NAME` (as [`build_suite`]) into a temporary directory and runs it
/// with no arguments, to its end within `within`: it must pass at least `min` checks and fail
/// none.
pub fn run_suite(name: &str, lang: Lang, link: Link, min: u32, within: Duration) {
    run_suite_with(name, lang, link, &[], min, within);
}

/// [`run_suite`] with `env` added to the suite's environment.
pub fn run_suite_with(
    name: &str,
    lang: Lang,
    link: Link,
    env: &[(&str, &str)],
    min: u32,
    within: Duration,
) {
    let dir = TempDir::new(&suite_tag(name));
    let exe = build_suite(&dir, name, lang, link);
    expect_pass(&exe, &[], env, min, within);
}

/// The three tests of a C test suite (`capi/tests/c/NAME.c`, run by [`run_suite`]): compiled
/// as C99 linked shared, as C99 linked static, and as C++17 linked shared, each passing at
/// least `MIN` checks within `WITHIN`. The tests are named `suite_c99_linked_shared`,
/// `suite_c99_linked_static` and `suite_cxx17_linked_shared`, or as given after a `;`; an
/// `env = ENV` after `WITHIN` adds `ENV` (a `&[(&str, &str)]`) to the suite's environment.
///
/// ```ignore
/// c_suite_tests!("clock_suite", MIN_CHECKS, RUN_WITHIN);
/// c_suite_tests!("device_suite", MIN_CHECKS, RUN_WITHIN, env = OWN_KERNEL);
/// c_suite_tests!("connect_info_suite", MIN_CHECKS, RUN_WITHIN;
///     connect_info_c99_linked_shared, connect_info_c99_linked_static,
///     connect_info_cxx17_linked_shared);
/// ```
#[macro_export]
macro_rules! c_suite_tests {
    (@test $test:ident, $how:literal, $lang:ident, $link:ident,
     $name:literal, $min:expr, $within:expr) => {
        $crate::c_suite_tests!(@test $test, $how, $lang, $link, $name, $min, $within, &[]);
    };
    (@test $test:ident, $how:literal, $lang:ident, $link:ident,
     $name:literal, $min:expr, $within:expr, $env:expr) => {
        #[doc = concat!(
            "`capi/tests/c/", $name, ".c` compiled as ", $how, ": it passes at least `",
            stringify!($min), "` checks and fails none, within `", stringify!($within), "`."
        )]
        #[test]
        fn $test() {
            $crate::common::cc::run_suite_with(
                $name,
                $crate::common::cc::Lang::$lang,
                $crate::common::cc::Link::$link,
                $env,
                $min,
                $within,
            );
        }
    };
    ($name:literal, $min:expr, $within:expr $(, env = $env:expr)? $(,)?) => {
        $crate::c_suite_tests!(
            $name, $min, $within $(, env = $env)?;
            suite_c99_linked_shared, suite_c99_linked_static, suite_cxx17_linked_shared
        );
    };
    ($name:literal, $min:expr, $within:expr $(, env = $env:expr)?;
     $shared:ident, $static:ident, $cxx:ident $(,)?) => {
        $crate::c_suite_tests!(@test $shared, "C99, libqnxsim linked shared", C99, Shared,
            $name, $min, $within $(, $env)?);
        $crate::c_suite_tests!(@test $static, "C99, libqnxsim linked static", C99, Static,
            $name, $min, $within $(, $env)?);
        $crate::c_suite_tests!(@test $cxx, "C++17, libqnxsim linked shared", Cxx17, Shared,
            $name, $min, $within $(, $env)?);
    };
}
