//! A `--processes` run ended from outside leaves nothing behind. SIGINT (Ctrl-C), SIGTERM and
//! SIGHUP: the launcher kills its programs, removes its kernel's directory and exits with
//! 128 + the signal's number. SIGKILL: the launcher can do nothing, its programs die with it
//! (`PR_SET_PDEATHSIG`), and the next launcher removes the directory it left, and only such
//! directories. A program killed in the middle of a run is named as the first to end, before
//! the programs that failed because of it. Every program is bounded in time and killed on
//! every exit path.

#[allow(dead_code)] // (this binary uses a part of it)
mod common;

use common::launcher::{alive, all_gone, dead_pid, kernel_dir, Launcher};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::PathBuf;

const SRR: &str = env!("CARGO_BIN_EXE_srr-demo");
const SENSORS: &str = env!("CARGO_BIN_EXE_sensors");
const EVENT_LOOP: &str = env!("CARGO_BIN_EXE_event-loop");

/// Starts `srr-demo --processes` with part 2 long enough never to end by itself, and waits
/// until its part 2 runs; returns it with its server's and part-2 client's pids.
fn srr_demo_in_part_2() -> (Launcher, [i32; 2]) {
    let mut l = Launcher::start(
        SRR,
        &["--processes", "--clients", "1", "--rounds", "1000000000"],
    );
    let server = l.program_pid("server program pid ");
    let part2 = l.program_pid("(part 2: client program pid ");
    (l, [server, part2])
}

/// Sends `sig` to a launcher whose `programs` run, and checks that it ends with 128 + `sig`,
/// its programs gone and its kernel's directory removed.
fn ends_cleanly(mut l: Launcher, tag: &str, programs: &[i32], sig: Signal) {
    let dir = kernel_dir(tag, l.pid());
    assert!(
        dir.exists(),
        "{} is not there during the run",
        dir.display()
    );
    assert!(programs.iter().all(|&p| alive(p)), "{programs:?} run");
    l.signal(sig);
    let (status, _, stderr) = l.wait();
    assert_eq!(
        status.code(),
        Some(128 + sig as i32),
        "{tag} on {sig}: {status}\nstderr:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("{tag}: {sig}: ended the run's")),
        "{stderr}"
    );
    assert!(!dir.exists(), "{} was left behind", dir.display());
    assert!(
        all_gone(programs),
        "programs {programs:?} of the {tag} run outlived it"
    );
}

#[test]
fn srr_demo_ended_by_sigint_kills_its_programs_and_removes_its_kernel() {
    let (l, programs) = srr_demo_in_part_2();
    ends_cleanly(l, "srr-demo", &programs, Signal::SIGINT);
}

#[test]
fn srr_demo_ended_by_sigterm_kills_its_programs_and_removes_its_kernel() {
    let (l, programs) = srr_demo_in_part_2();
    ends_cleanly(l, "srr-demo", &programs, Signal::SIGTERM);
}

#[test]
fn sensors_ended_by_sigterm_kills_its_programs_and_removes_its_kernel() {
    let mut l = Launcher::start(SENSORS, &["--processes", "--duration-ms", "3600000"]);
    let consumer = l.program_pid("consumer program pid ");
    let line = l.seen.last().cloned().unwrap_or_default();
    let producer = common::number_after(&line, "producer program pid ") as i32;
    l.programs.push(producer);
    ends_cleanly(l, "sensors", &[consumer, producer], Signal::SIGTERM);
}

#[test]
fn event_loop_ended_by_sighup_kills_its_programs_and_removes_its_kernel() {
    // A 1 s tick and a request held 100 ticks: the run goes on for minutes.
    let mut l = Launcher::start(
        EVENT_LOOP,
        &["--processes", "--period-ms", "1000", "--slow-ticks", "100"],
    );
    let server = l.program_pid("server program pid ");
    // (Client 1 echoes and ends at once; the other two wait for the server.)
    l.program_pid("client 1 (echo): program pid ");
    let slow = l.program_pid("client 2 (slow request): program pid ");
    let notified = l.program_pid("client 3 (notification): program pid ");
    ends_cleanly(l, "event-loop", &[server, slow, notified], Signal::SIGHUP);
}

/// A directory under the temporary directory, removed when dropped (if still there).
struct Made(PathBuf);

impl Made {
    /// `qnxsim-NAME` with `mode`, holding the files `files`.
    fn new(name: &str, mode: u32, files: &[&str]) -> Made {
        use std::os::unix::fs::PermissionsExt;
        let d = std::env::temp_dir().join(format!("qnxsim-{name}"));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).expect("a directory");
        for f in files {
            std::fs::write(d.join(f), b"x").expect("a file");
        }
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode)).expect("its mode");
        Made(d)
    }
}

impl Drop for Made {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// SIGKILL leaves the launcher no chance: its programs die with it, its directory stays; the
/// next launcher removes it, with the other directories of killed launchers it recognises,
/// and nothing else.
#[test]
fn a_launcher_killed_by_sigkill_leaves_a_directory_the_next_run_removes() {
    let (mut l, programs) = srr_demo_in_part_2();
    let killed_dir = kernel_dir("srr-demo", l.pid());
    l.signal(Signal::SIGKILL);
    let (status, _, _) = l.wait();
    assert_eq!(status.code(), None, "{status}");
    assert!(all_gone(&programs), "{programs:?} outlived their launcher");
    drop(l);

    // Like a killed launcher's: a dead pid, mode 0700, a `kernel` file (or nothing).
    let stale = Made::new(&format!("sensors-{}", dead_pid()), 0o700, &["kernel"]);
    let empty = Made::new(&format!("event-loop-{}", dead_pid()), 0o700, &[]);
    // Not to be touched: a launcher that runs (this test's pid), a file we did not make in it,
    // another mode, a name that is not exactly a pid.
    let me = std::process::id();
    let running = Made::new(&format!("srr-demo-{me}"), 0o700, &["kernel"]);
    let dead = dead_pid();
    let other_file = Made::new(&format!("srr-demo-{dead}"), 0o700, &["kernel", "notes"]);
    let other_mode = Made::new(&format!("sensors-{}", dead_pid()), 0o755, &["kernel"]);
    let odd_name = Made::new(&format!("sensors-0{}", dead_pid()), 0o700, &["kernel"]);
    let other_tag = Made::new(&format!("elsewhere-{}", dead_pid()), 0o700, &["kernel"]);

    let r = common::run(SRR, &["--processes", "--clients", "1", "--rounds", "0"]);
    r.assert_success("the next srr-demo --processes");
    for d in [&killed_dir, &stale.0, &empty.0] {
        // (Another test's launcher may have removed it first: it is gone either way.)
        assert!(!d.exists(), "{} was left behind\n{}", d.display(), r.stderr);
    }
    for d in [&running, &other_file, &other_mode, &odd_name, &other_tag] {
        assert!(d.0.exists(), "{} was removed\n{}", d.0.display(), r.stderr);
    }
}

/// A program of the run killed in the middle of it: the launcher's error names it first, then
/// the program that failed because of it (the part-2 client, whose MsgSend got ESRCH), where
/// it used to name only the client.
#[test]
fn a_killed_server_program_is_named_before_the_client_that_failed_because_of_it() {
    let (mut l, [server, part2]) = srr_demo_in_part_2();
    kill(Pid::from_raw(server), Signal::SIGKILL).expect("killing the server program");
    let (status, _, stderr) = l.wait();
    assert_eq!(status.code(), Some(1), "{status}\n{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!(
            "srr-demo: the server program (pid {server}) was killed by SIGKILL; then the part-2 client program (pid {part2}) "
        )),
        "{stderr}"
    );
    assert!(!kernel_dir("srr-demo", l.pid()).exists());
    assert!(all_gone(&[server, part2]));
}

/// `srr-demo | head`: a closed output ends a run quietly, as it ends a C program (status 141,
/// 128 + SIGPIPE, and no panic message), with its programs and its kernel's directory gone.
#[test]
fn a_closed_output_ends_a_run_quietly_leaving_nothing_behind() {
    // In one program.
    let mut l = Launcher::start(SRR, &["--clients", "3", "--rounds", "2000"]);
    l.until("PID");
    l.close_output(); // (the reader stops at its next line: the pipe closes)
    let (status, _, stderr) = l.wait();
    assert_eq!(status.code(), Some(141), "{status:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // As a launcher of programs.
    let mut l = Launcher::start(SRR, &["--processes", "--clients", "2", "--rounds", "200"]);
    let server = l.program_pid("server program pid ");
    let pid = l.pid();
    l.close_output();
    let (status, _, stderr) = l.wait();
    assert_eq!(status.code(), Some(141), "{status:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(all_gone(&[server]), "the server program still runs");
    assert!(
        !kernel_dir("srr-demo", pid).exists(),
        "the kernel's directory was left"
    );
}
