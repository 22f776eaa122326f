//! Review: `--processes` runs attacked with kills, as a student or an attacker would, each run
//! in a temporary directory of its own (`TMPDIR`, where the launcher makes its kernel, and
//! where the run's `--trace`/`--diagram` outputs go), so that what it leaves is seen exactly.
//!
//! The launcher of a `--processes` run is its run's supervisor (`examples/src/programs.rs`:
//! the kernel is a plain memory file, no `procnto-sim` is involved): SIGKILL of "the
//! supervisor" is SIGKILL of the launcher. Also: SIGKILL of one server or client program
//! mid-run, SIGTERM/SIGINT of the launcher, SIGSTOP then SIGCONT of a client, a stopped client
//! when the launcher is signalled, a kernel name exported in the environment (as the
//! tutorial's chapter 5 has it), and all of them at random moments over several rounds.
//!
//! For each: the run ends within [`BOUND`], with status 0 if it completed, 1 and a message
//! naming the killed program if a program was killed, 128 + the signal's number if the
//! launcher was signalled; no process whose command line or environment names the run's
//! directory is left; the directory holds the complete outputs and nothing else (after SIGKILL
//! of the launcher: its kernel's directory and its outputs' temporary files, which docs say
//! remain and the next run removes); each output is complete or absent, never truncated.
//!
//! Every launcher runs in a process group of its own, killed whole (and any process of its run
//! found in /proc) on every exit path; every wait is bounded.

#[allow(dead_code)] // (this binary uses a part of it)
mod common;

use common::launcher::{
    alive, children_of, cmdline, processes_naming, stat, Launcher, GONE_WITHIN,
};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SRR: &str = env!("CARGO_BIN_EXE_srr-demo");
const SENSORS: &str = env!("CARGO_BIN_EXE_sensors");
const EVENT_LOOP: &str = env!("CARGO_BIN_EXE_event-loop");

/// How long a run may take to end once attacked (or to complete).
const BOUND: Duration = Duration::from_secs(30);

// ------------------------------------------------------------------------------ helpers

/// Waits (bounded) until no process names `mark`; those still there after [`GONE_WITHIN`].
fn left_running(mark: &Path) -> Vec<i32> {
    let until = Instant::now() + GONE_WITHIN;
    loop {
        let v = processes_naming(mark);
        if v.is_empty() || Instant::now() >= until {
            return v;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A directory of one test's runs (their `TMPDIR` and outputs): on drop, every process that
/// names it is killed and it is removed.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("review-kills-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("a scratch directory");
        Scratch(d)
    }

    fn file(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }

    /// What it holds: names, and `DIR/NAME` one level down.
    fn entries(&self) -> BTreeSet<String> {
        let mut s = BTreeSet::new();
        for e in std::fs::read_dir(&self.0).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                for f in std::fs::read_dir(e.path()).into_iter().flatten().flatten() {
                    s.insert(format!("{name}/{}", f.file_name().to_string_lossy()));
                }
            }
            s.insert(name);
        }
        s
    }

    /// Empties it (between rounds).
    fn clear(&self) {
        let _ = std::fs::remove_dir_all(&self.0);
        std::fs::create_dir_all(&self.0).expect("the scratch directory again");
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for pid in processes_naming(&self.0) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether output `path` is absent (Ok(false)), complete (Ok(true)), or truncated (Err).
fn output(path: &str) -> Result<bool, String> {
    let Ok(bytes) = std::fs::read(path) else {
        return Ok(false);
    };
    let ok = if path.ends_with(".json") {
        serde_json::from_slice::<serde_json::Value>(&bytes).is_ok()
    } else {
        let t = String::from_utf8_lossy(&bytes);
        t.starts_with("<?xml") && t.contains("<svg") && t.trim_end().ends_with("</svg>")
    };
    if ok {
        Ok(true)
    } else {
        Err(format!(
            "{path}: {} bytes, truncated or broken",
            bytes.len()
        ))
    }
}

/// How a run ended, as the test expects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Completed (status 0) or failed because a program was killed (status 1): the outputs
    /// are written whole.
    Ran,
    /// Ended by a signal to the launcher (128 + its number): no output, nothing left.
    Signalled,
    /// The launcher was killed by SIGKILL: its kernel's directory and its outputs'
    /// temporary files may remain (docs), nothing else; an output is whole if there (the kill
    /// may come as the run ends, after it wrote them).
    Killed,
}

/// Checks what a run of `tag` whose launcher was `launcher` left in `dir` (outputs `outs`),
/// given how it ended: processes, directory entries, outputs. Problems, described.
fn leftovers(dir: &Scratch, tag: &str, launcher: i32, outs: &[&str], end: End) -> Vec<String> {
    let mut problems = Vec::new();
    let procs = left_running(&dir.0);
    if !procs.is_empty() {
        let cmds: Vec<String> = procs.iter().map(|&p| cmdline(p)).collect();
        problems.push(format!("processes of the run left: {procs:?} {cmds:?}"));
    }
    let mut allowed = BTreeSet::new();
    for o in outs {
        let name = Path::new(o)
            .file_name()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        match (output(o), end) {
            (Err(e), _) => problems.push(e),
            (Ok(false), End::Ran) => problems.push(format!("{o} was not written")),
            // (A SIGKILL may land after the run wrote its outputs whole, as it was exiting:
            // the round began by removing the previous round's, so a whole one is this run's;
            // a torn one is `output`'s error above.)
            (Ok(true), End::Signalled) => {
                problems.push(format!("{o} was written by a run that did not end"))
            }
            _ => {}
        }
        allowed.insert(name.clone());
        if end == End::Killed {
            allowed.insert(format!(".{name}.tmp-{launcher}"));
        }
    }
    if end == End::Killed {
        let kdir = format!("qnxsim-{tag}-{launcher}");
        allowed.insert(format!("{kdir}/kernel"));
        allowed.insert(kdir);
    }
    let extra: Vec<String> = dir.entries().difference(&allowed).cloned().collect();
    if !extra.is_empty() {
        problems.push(format!("left in {}: {extra:?}", dir.0.display()));
    }
    problems
}

/// The argument list `args` with `--trace` and `--diagram` to `outs` (by their endings).
fn with_outputs<'a>(args: &[&'a str], outs: &'a [String]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    for o in outs {
        v.push(if o.ends_with(".json") {
            "--trace"
        } else {
            "--diagram"
        });
        v.push(o);
    }
    v
}

/// Stops `pid` and checks that Linux shows it stopped.
fn stop(pid: i32) {
    kill(Pid::from_raw(pid), Signal::SIGSTOP).expect("stopping the program");
    let until = Instant::now() + GONE_WITHIN;
    while stat(pid).is_some_and(|(s, _)| s != 'T') {
        assert!(Instant::now() < until, "pid {pid} did not stop");
        std::thread::sleep(Duration::from_millis(5));
    }
}

// -------------------------------------------------------------------------------- tests

/// SIGKILL of a server program mid-run (sensors' consumer, event-loop's server), both outputs
/// recorded: status 1 within the bound, the last line names the killed program first, nothing
/// of the run is left, and both outputs are written whole.
#[test]
fn a_server_program_killed_mid_run_ends_it_with_status_1_naming_it_with_whole_outputs() {
    let d = Scratch::new("server");
    let cases: [(&str, &str, &[&str], &str, &str); 2] = [
        (
            "sensors",
            SENSORS,
            &["--processes", "--duration-ms", "3600000", "--rate", "100"],
            "consumer program pid ",
            "the consumer program",
        ),
        (
            "event-loop",
            EVENT_LOOP,
            &["--processes", "--period-ms", "1000", "--slow-ticks", "100"],
            "server program pid ",
            "the server program",
        ),
    ];
    let mut problems = Vec::new();
    for (tag, bin, args, prefix, name) in cases {
        d.clear();
        let outs = [d.file("o.json"), d.file("o.svg")];
        let mut l = Launcher::in_dir(bin, &with_outputs(args, &outs), &d.0, &[]);
        let server = l.program_pid(prefix);
        std::thread::sleep(Duration::from_millis(300));
        assert!(alive(server), "{tag}: the server program ended by itself");
        kill(Pid::from_raw(server), Signal::SIGKILL).expect("killing the server program");
        let (status, out, err) = l.end(Instant::now(), BOUND, tag);
        assert_eq!(status.code(), Some(1), "{tag}: {status}\n{out}\n{err}");
        let last = err.lines().last().unwrap_or_default();
        let want = format!("{tag}: {name} (pid {server}) was killed by SIGKILL");
        if !last.starts_with(&want) {
            problems.push(format!("{tag}: the last line is not {want:?}:\n{err}"));
        }
        let outs: Vec<&str> = outs.iter().map(String::as_str).collect();
        for p in leftovers(&d, tag, l.pid(), &outs, End::Ran) {
            problems.push(format!("{tag}: {p}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// SIGKILL of a client program mid-run (srr-demo's part-2 client, sensors' producer): status
/// 1 within the bound, the killed client named first, nothing of the run left, the outputs
/// whole.
#[test]
fn a_client_program_killed_mid_run_ends_it_with_status_1_naming_it_with_whole_outputs() {
    let d = Scratch::new("client");
    let cases: [(&str, &str, &[&str], &str, &str); 2] = [
        (
            "srr-demo",
            SRR,
            &["--processes", "--clients", "2", "--rounds", "1000000000"],
            "(part 2: client program pid ",
            "the part-2 client program",
        ),
        (
            "sensors",
            SENSORS,
            &["--processes", "--duration-ms", "3600000", "--rate", "100"],
            "producer program pid ",
            "the producer program",
        ),
    ];
    let mut problems = Vec::new();
    for (tag, bin, args, prefix, name) in cases {
        d.clear();
        // (A long srr-demo run with a timeline would write a large one: the chart only.)
        let outs = if tag == "srr-demo" {
            vec![d.file("o.svg")]
        } else {
            vec![d.file("o.json"), d.file("o.svg")]
        };
        let mut l = Launcher::in_dir(bin, &with_outputs(args, &outs), &d.0, &[]);
        let client = l.program_pid(prefix);
        std::thread::sleep(Duration::from_millis(300));
        assert!(alive(client), "{tag}: the client program ended by itself");
        kill(Pid::from_raw(client), Signal::SIGKILL).expect("killing the client program");
        let (status, out, err) = l.end(Instant::now(), BOUND, tag);
        assert_eq!(status.code(), Some(1), "{tag}: {status}\n{out}\n{err}");
        let last = err.lines().last().unwrap_or_default();
        let want = format!("{tag}: {name} (pid {client}) was killed by SIGKILL");
        if !last.starts_with(&want) {
            problems.push(format!("{tag}: the last line is not {want:?}:\n{err}"));
        }
        let outs: Vec<&str> = outs.iter().map(String::as_str).collect();
        for p in leftovers(&d, tag, l.pid(), &outs, End::Ran) {
            problems.push(format!("{tag}: {p}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// SIGINT and SIGTERM of the launcher mid-run, both outputs asked for: 130 and 143 within the
/// bound with the launcher's message, no process of the run and nothing at all left in its
/// directory (no kernel, no output, no temporary file).
#[test]
fn sigint_and_sigterm_of_the_launcher_leave_nothing_at_all_in_its_directory() {
    let d = Scratch::new("signal");
    let mut problems = Vec::new();
    for (tag, bin, args, prefix, sig) in [
        (
            "event-loop",
            EVENT_LOOP,
            &["--processes", "--period-ms", "1000", "--slow-ticks", "100"][..],
            "client 3 (notification): program pid ",
            Signal::SIGINT,
        ),
        (
            "sensors",
            SENSORS,
            &["--processes", "--duration-ms", "3600000", "--rate", "100"][..],
            "consumer program pid ",
            Signal::SIGTERM,
        ),
    ] {
        d.clear();
        let outs = [d.file("o.json"), d.file("o.svg")];
        let mut l = Launcher::in_dir(bin, &with_outputs(args, &outs), &d.0, &[]);
        l.program_pid(prefix);
        std::thread::sleep(Duration::from_millis(200));
        l.signal(sig);
        let (status, out, err) = l.end(Instant::now(), BOUND, tag);
        assert_eq!(
            status.code(),
            Some(128 + sig as i32),
            "{tag}: {status}\n{out}\n{err}"
        );
        if !err.contains(&format!("{tag}: {sig}: ended the run's")) {
            problems.push(format!("{tag}: no message for {sig}:\n{err}"));
        }
        let outs: Vec<&str> = outs.iter().map(String::as_str).collect();
        for p in leftovers(&d, tag, l.pid(), &outs, End::Signalled) {
            problems.push(format!("{tag}: {p}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// SIGKILL of the launcher, the run's supervisor, with both outputs asked for: its programs
/// die with it within the bound; it leaves only what docs say (its kernel's directory, its
/// outputs' temporary files), no output; the next run in the same directory writing the same
/// outputs removes all of that and completes with its outputs whole.
#[test]
fn sigkill_of_the_launcher_leaves_only_what_docs_say_and_the_next_run_removes_it() {
    let d = Scratch::new("sigkill");
    let outs = [d.file("o.json"), d.file("o.svg")];
    let outs_ref: Vec<&str> = outs.iter().map(String::as_str).collect();
    let args = ["--processes", "--duration-ms", "3600000", "--rate", "100"];
    let mut l = Launcher::in_dir(SENSORS, &with_outputs(&args, &outs), &d.0, &[]);
    l.program_pid("consumer program pid ");
    let programs = children_of(l.pid());
    assert!(!programs.is_empty(), "no program of the run found");
    std::thread::sleep(Duration::from_millis(300));
    l.signal(Signal::SIGKILL);
    let (status, _, _) = l.end(Instant::now(), BOUND, "sensors");
    assert_eq!(status.code(), None, "{status}");
    let problems = leftovers(&d, "sensors", l.pid(), &outs_ref, End::Killed);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        d.entries().contains(&format!("qnxsim-sensors-{}", l.pid())),
        "the killed launcher's kernel directory is not there: {:?}",
        d.entries()
    );
    drop(l);

    let args = ["--processes", "--duration-ms", "300"];
    let mut next = Launcher::in_dir(SENSORS, &with_outputs(&args, &outs), &d.0, &[]);
    let (status, out, err) = next.end(Instant::now(), BOUND, "the next sensors run");
    assert_eq!(status.code(), Some(0), "{status}\n{out}\n{err}");
    let problems = leftovers(&d, "sensors", next.pid(), &outs_ref, End::Ran);
    assert!(problems.is_empty(), "{}\n{err}", problems.join("\n"));
}

/// SIGSTOP of srr-demo's part-2 client for two seconds, then SIGCONT: the run completes with
/// status 0 within the bound, every message answered, nothing of it left, its chart whole.
#[test]
fn a_client_stopped_then_continued_lets_the_run_complete_with_status_0() {
    let d = Scratch::new("stopcont");
    let outs = [d.file("o.svg")];
    let args = ["--processes", "--clients", "2", "--rounds", "20000"];
    let mut l = Launcher::in_dir(SRR, &with_outputs(&args, &outs), &d.0, &[]);
    let client = l.program_pid("(part 2: client program pid ");
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        alive(client),
        "the part-2 client ended before it was stopped"
    );
    stop(client);
    std::thread::sleep(Duration::from_secs(2));
    kill(Pid::from_raw(client), Signal::SIGCONT).expect("continuing the client");
    let (status, out, err) = l.end(Instant::now(), BOUND, "srr-demo");
    assert_eq!(status.code(), Some(0), "{status}\n{out}\n{err}");
    assert!(
        out.contains("40000 sent") && out.contains("40000 received, 40000 replies"),
        "not every message was answered:\n{out}"
    );
    let problems = leftovers(&d, "srr-demo", l.pid(), &[&outs[0]], End::Ran);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A stopped client when the launcher gets SIGTERM: the launcher still ends within the bound
/// with 143, and the stopped program is gone with the others (SIGKILL ends a stopped process).
#[test]
fn a_stopped_client_is_ended_with_the_others_when_the_launcher_gets_sigterm() {
    let d = Scratch::new("stopterm");
    let args = ["--processes", "--period-ms", "1000", "--slow-ticks", "100"];
    let mut l = Launcher::in_dir(EVENT_LOOP, &args, &d.0, &[]);
    let slow = l.program_pid("client 2 (slow request): program pid ");
    l.program_pid("client 3 (notification): program pid ");
    stop(slow);
    l.signal(Signal::SIGTERM);
    let (status, out, err) = l.end(Instant::now(), BOUND, "event-loop");
    assert_eq!(status.code(), Some(143), "{status}\n{out}\n{err}");
    assert!(
        err.contains("event-loop: SIGTERM: ended the run's"),
        "{err}"
    );
    assert!(!alive(slow), "the stopped client outlived the run");
    let problems = leftovers(&d, "event-loop", l.pid(), &[], End::Signalled);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `export QNXSIM_KERNEL=demo` (the tutorial's chapter 5) left in the shell: a `--processes`
/// run still uses a private kernel of its own, starts no supervisor, makes no socket, and
/// completes leaving nothing.
#[test]
fn a_kernel_name_in_the_environment_starts_no_supervisor_and_leaves_nothing() {
    let d = Scratch::new("named");
    let runtime = d.0.join("rt");
    std::fs::create_dir(&runtime).expect("a runtime directory");
    let env = [
        ("QNXSIM_KERNEL", "review-kills-demo".to_string()),
        ("XDG_RUNTIME_DIR", runtime.display().to_string()),
    ];
    let args = ["--processes", "--clients", "1", "--rounds", "5"];
    let mut l = Launcher::in_dir(SRR, &args, &d.0, &env);
    let (status, out, err) = l.end(Instant::now(), BOUND, "srr-demo");
    assert_eq!(status.code(), Some(0), "{status}\n{out}\n{err}");
    assert!(
        out.contains("(a Linux process of its own; the kernel: ")
            && out.contains(&format!("{}/qnxsim-srr-demo-", d.0.display())),
        "not a kernel of its own:\n{out}"
    );
    std::fs::remove_dir(&runtime).expect("the runtime directory left empty: no socket in it");
    let problems = leftovers(&d, "srr-demo", l.pid(), &[], End::Ran);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A small xorshift generator, seeded from the clock (the seed is printed, and
/// `REVIEW_KILLS_SEED` replays a run).
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("REVIEW_KILLS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
                    | 1
            });
        eprintln!("REVIEW_KILLS_SEED={seed}");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// What a round does to its run.
#[derive(Debug, Clone, Copy)]
enum Attack {
    KillProgram,
    Launcher(Signal),
    StopCont,
    StopThenTerm,
}

/// Rounds of runs of the three examples (short enough to complete by themselves), each
/// attacked at a random moment in a random way: every round ends within the bound with a
/// status its attack allows (and, failing, a last line of the example's naming a program),
/// leaves no process, nothing in its directory but what its end allows, and no truncated
/// output; a round after a killed launcher finds its leftovers removed.
#[test]
fn random_kills_over_rounds_never_hang_and_leave_nothing_behind() {
    let d = Scratch::new("random");
    let mut rng = Rng::new();
    let runs: [(&str, &str, &[&str]); 3] = [
        (
            "srr-demo",
            SRR,
            &["--processes", "--clients", "2", "--rounds", "3000"],
        ),
        (
            "sensors",
            SENSORS,
            &["--processes", "--duration-ms", "1500"],
        ),
        (
            "event-loop",
            EVENT_LOOP,
            &["--processes", "--period-ms", "20", "--slow-ticks", "40"],
        ),
    ];
    let attacks = [
        Attack::KillProgram,
        Attack::KillProgram,
        Attack::Launcher(Signal::SIGTERM),
        Attack::Launcher(Signal::SIGINT),
        Attack::Launcher(Signal::SIGKILL),
        Attack::StopCont,
        Attack::StopThenTerm,
    ];
    let mut problems = Vec::new();
    let mut killed_before: Option<(String, i32)> = None;
    for round in 0..12 {
        let (tag, bin, args) = runs[rng.below(3) as usize];
        let attack = attacks[rng.below(attacks.len() as u64) as usize];
        let delay = Duration::from_millis(rng.below(800));
        let what = format!("round {round}: {tag} {attack:?} after {delay:?}");
        // (Only the chart for srr-demo: its timeline is large.)
        let outs = if tag == "srr-demo" {
            vec![d.file("o.svg")]
        } else {
            vec![d.file("o.json"), d.file("o.svg")]
        };
        // The previous round's outputs go (its leftovers after SIGKILL stay: this run must
        // remove them).
        for o in ["o.json", "o.svg"] {
            let _ = std::fs::remove_file(d.0.join(o));
        }
        let mut l = Launcher::in_dir(bin, &with_outputs(args, &outs), &d.0, &[]);
        // Its first program started (or the run ended already).
        let first = l.next_with("program pid ");
        std::thread::sleep(delay);
        let from = Instant::now();
        let programs = children_of(l.pid());
        let victim =
            (!programs.is_empty()).then(|| programs[rng.below(programs.len() as u64) as usize]);
        let mut hit = false;
        match (attack, victim) {
            (Attack::KillProgram, Some(p)) => {
                hit = kill(Pid::from_raw(p), Signal::SIGKILL).is_ok();
            }
            (Attack::Launcher(sig), _) => {
                hit = alive(l.pid());
                let _ = kill(Pid::from_raw(l.pid()), sig);
            }
            (Attack::StopCont, Some(p)) if kill(Pid::from_raw(p), Signal::SIGSTOP).is_ok() => {
                std::thread::sleep(Duration::from_millis(500 + rng.below(1000)));
                let _ = kill(Pid::from_raw(p), Signal::SIGCONT);
            }
            (Attack::StopThenTerm, Some(p)) => {
                let _ = kill(Pid::from_raw(p), Signal::SIGSTOP);
                std::thread::sleep(Duration::from_millis(100));
                hit = alive(l.pid());
                let _ = kill(Pid::from_raw(l.pid()), Signal::SIGTERM);
            }
            // (No program left to attack: the run is ending by itself.)
            _ => {}
        }
        let (status, out, err) = l.end(from, BOUND, &what);
        if err.contains("panicked") {
            problems.push(format!("{what}: a panic:\n{err}"));
        }
        let code = status.code();
        let end = match (attack, code) {
            (_, Some(0)) => End::Ran,
            (Attack::KillProgram, Some(1)) => {
                let last = err.lines().last().unwrap_or_default();
                if !(last.starts_with(&format!("{tag}: the ")) && last.contains("(pid ")) {
                    problems.push(format!("{what}: status 1, unclear last line:\n{err}"));
                }
                End::Ran
            }
            (Attack::Launcher(Signal::SIGKILL), None) if hit => End::Killed,
            (Attack::Launcher(sig), Some(c)) if hit && c == 128 + sig as i32 => End::Signalled,
            (Attack::StopThenTerm, Some(143)) if hit => End::Signalled,
            _ => {
                problems.push(format!(
                    "{what}: ended with {status} (first line {first:?})\n{out}\n{err}"
                ));
                End::Ran
            }
        };
        if matches!(end, End::Signalled)
            && !err.contains(&format!("{tag}: SIG"))
            && !err.contains("ended the run's")
        {
            problems.push(format!("{what}: no message for the signal:\n{err}"));
        }
        // A killed launcher's leftovers before: this run removed its kernel's directory, and
        // the temporary files of the outputs it writes too; those of an output it does not
        // write stay (docs/outputs.md), and go now.
        let mut found = Vec::new();
        if let Some((ktag, kpid)) = killed_before.take() {
            let kdir = d.0.join(format!("qnxsim-{ktag}-{kpid}"));
            if kdir.exists() {
                found.push(format!("{} was not removed", kdir.display()));
            }
            for name in ["o.json", "o.svg"] {
                let t = d.0.join(format!(".{name}.tmp-{kpid}"));
                if !outs.iter().any(|o| o.ends_with(name)) {
                    let _ = std::fs::remove_file(&t);
                }
            }
        }
        let outs_ref: Vec<&str> = outs.iter().map(String::as_str).collect();
        found.extend(leftovers(&d, tag, l.pid(), &outs_ref, end));
        for p in found {
            problems.push(format!("{what}: {p}"));
        }
        if end == End::Killed {
            killed_before = Some((tag.to_string(), l.pid()));
        }
        drop(l);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
