//! An example's sides as separate Linux programs on one kernel (`--processes`).
//!
//! The example re-runs its own binary once per side (a hidden `--role` option says which), with
//! `QNXSIM_KERNEL` naming a kernel file in a private temporary directory, so that two runs
//! never share a kernel and nothing is left behind. The first program, the *launcher*, makes
//! that kernel ([`SharedKernel`]), starts the others ([`Program`]) with the options it was
//! given, relays their output, and watches the kernel as `pidin-sim` does, without joining it.
//!
//! A program tells the launcher what it needs to know with lines that start with `@@ `
//! ([`tell_launcher`]; the launcher does not print them), and prints blocks that must not be
//! interleaved with another program's lines with [`print_block`]. The launcher answers on the
//! program's stdin ([`Commands`]).
//!
//! The launcher is its run's supervisor, as `procnto-sim` is for a named kernel (so the
//! example needs no other program): when one of its programs ends, it tears down what the
//! program left in the kernel (`Kernel::reap_os_process`: its clients get ESRCH, its servers a
//! disconnect pulse), and if the program died inside a kernel call, holding the kernel lock (a
//! program's `exit` ends its other threads wherever they are), it undoes that call and
//! releases the lock, so that the other programs go on.
//!
//! Nothing outlives the run: a program dies with its launcher (`PR_SET_PDEATHSIG`, set by
//! [`role_setup`]); the launcher kills and reaps every program it started on every exit path
//! ([`Program`]'s drop), every wait for a program is bounded, and the kernel's directory is
//! removed when the launcher ends ([`SharedKernel`]'s drop). A launcher ended by SIGINT (Ctrl-C),
//! SIGTERM or SIGHUP does the same from a thread that waits for those signals: it kills its
//! programs, removes the directory and exits with status 128 + the signal's number (130, 143,
//! 129); its main thread then reports nothing and waits for that end ([`exit`]). A launcher
//! killed by SIGKILL can do nothing: its programs die with it (`PR_SET_PDEATHSIG`), and the next
//! launcher removes its directory ([`SharedKernel::create`]: a `qnxsim-EXAMPLE-PID` directory of
//! this user's, mode 0700, holding at most a `kernel` file, whose launcher PID no longer runs).

use crate::{Context, Failure};
use nix::sys::signal::{SigSet, Signal};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use userlib::program_alive;
use userlib::Kernel;

/// How a program marks the lines meant for the launcher.
const LINE: &str = "@@ ";

/// A block of `N` lines follows, to be printed together: `@@ block N`.
const BLOCK: &str = "block";

/// The launcher's pid, in its programs' environment: a program whose parent is not (or no
/// longer) the launcher ends at once instead of running unwatched.
const LAUNCHER_ENV: &str = "QNXSIM_EXAMPLE_LAUNCHER";

/// A `--peer` value: the pid and chid of the server a program talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The server's pid (its Linux pid).
    pub pid: i32,
    /// Its channel.
    pub chid: i32,
}

impl std::str::FromStr for Peer {
    type Err = String;

    /// `PID:CHID`, both positive.
    fn from_str(s: &str) -> Result<Peer, String> {
        let bad = || format!("{s:?} is not PID:CHID (two positive numbers)");
        let (pid, chid) = s.split_once(':').ok_or_else(bad)?;
        let (pid, chid) = (
            pid.parse::<i32>().map_err(|_| bad())?,
            chid.parse::<i32>().map_err(|_| bad())?,
        );
        if pid <= 0 || chid <= 0 {
            return Err(bad());
        }
        Ok(Peer { pid, chid })
    }
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.pid, self.chid)
    }
}

// ------------------------------------------------------------------------ the launcher's side

/// A kernel for one run: a memory file in a private (0700) temporary directory, made by the
/// launcher, mapped by it to watch, joined by its programs through `QNXSIM_KERNEL`. The
/// launcher supervises it for its programs (see the module's doc): a thread of its own looks
/// every few milliseconds for a program of the run that has died, and reaps it. The directory
/// goes with the launcher.
#[derive(Debug)]
pub struct SharedKernel {
    dir: PathBuf,
    path: PathBuf,
    watch: Arc<Watch>,
    watcher: Option<JoinHandle<()>>,
}

/// What the launcher's watcher thread shares with the launcher.
#[derive(Debug)]
struct Watch {
    kernel: Kernel,
    /// The programs of the run not yet reaped, by pid.
    programs: Mutex<Vec<i32>>,
    /// Every program of the run, by pid, with the name messages give it.
    names: Mutex<Vec<(i32, String)>>,
    /// The programs of the run that ended other than with status 0, in the order the launcher
    /// saw them end: (pid, "the server program (pid 4211) was killed by SIGKILL").
    failures: Mutex<Vec<(i32, String)>>,
    stop: AtomicBool,
}

impl Watch {
    /// Tears down what program `pid`, dead, left in the kernel (undoing the call it died in,
    /// if it holds the lock), once.
    fn reap(&self, pid: i32) {
        let mut programs = self.programs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = programs.iter().position(|&p| p == pid) {
            programs.swap_remove(at);
            drop(programs);
            self.kernel.reap_os_process(pid);
        }
    }

    /// Reaps every program of the run that has died (a zombie not yet waited for, or gone),
    /// noting first how it ended (its exit status, read without waiting for it: the launcher's
    /// main thread does that).
    fn reap_dead(&self) {
        let dead: Vec<i32> = self
            .programs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .filter(|&pid| !program_alive(pid))
            .collect();
        for pid in dead {
            match peek_status(pid) {
                Peek::Ended(how) => self.ended(pid, &how),
                // Its first thread has ended, not yet all of them (the process is not a zombie
                // yet, whatever /proc says of that thread): next time.
                Peek::Ending => continue,
                // Reaped already: the main thread knows how it ended.
                Peek::Unknown => {}
            }
            self.reap(pid);
        }
    }

    /// Notes that program `pid` ended as `how` says ("exited with status 1"), unless that is
    /// status 0 or it was noted already.
    fn ended(&self, pid: i32, how: &str) {
        if how == OK_STATUS {
            return;
        }
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.iter().all(|&(p, _)| p != pid) {
            failures.push((pid, format!("{} {how}", self.name_of(pid))));
        }
    }

    /// "the server program (pid 4211)".
    fn name_of(&self, pid: i32) -> String {
        let names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        match names.iter().find(|&&(p, _)| p == pid) {
            Some((_, name)) => format!("the {name} program (pid {pid})"),
            None => format!("the program pid {pid}"),
        }
    }

    /// How the first program of the run other than `pid` to fail ended, if one failed before
    /// `pid` did (or `pid` has not failed): what more likely caused `pid`'s failure than `pid`
    /// itself (a server killed, its clients' sends then fail).
    fn failed_before(&self, pid: i32) -> Option<String> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let first = failures.first()?;
        (first.0 != pid).then(|| first.1.clone())
    }
}

/// [`describe`]'s words for a program that exited with status 0.
const OK_STATUS: &str = "exited with status 0";

/// What [`peek_status`] found.
enum Peek {
    /// The child ended so ([`describe`]'s words).
    Ended(String),
    /// It has not ended yet (its threads are still ending).
    Ending,
    /// It is no child to wait for (reaped already).
    Unknown,
}

/// How child `pid` ended, read without reaping it (`waitid` with `WNOWAIT`).
fn peek_status(pid: i32) -> Peek {
    use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    match waitid(Id::Pid(nix::unistd::Pid::from_raw(pid)), flags) {
        Ok(WaitStatus::Exited(_, code)) => Peek::Ended(format!("exited with status {code}")),
        Ok(WaitStatus::Signaled(_, sig, _)) => Peek::Ended(format!("was killed by {sig}")),
        Ok(WaitStatus::StillAlive) => Peek::Ending,
        _ => Peek::Unknown,
    }
}

impl SharedKernel {
    /// Makes the directory and the kernel in it (`tag`, the example's name, names the
    /// directory, with this program's pid), and starts watching it.
    ///
    /// First, as the launcher of a run: SIGINT, SIGTERM and SIGHUP end this program cleanly
    /// from now on (`end_on_signals`: call this before starting any thread), and the
    /// directories that launchers killed by SIGKILL left behind are removed
    /// (`remove_stale`).
    pub fn create(tag: &str) -> Result<SharedKernel, Failure> {
        use std::os::unix::fs::DirBuilderExt;
        end_on_signals(tag);
        remove_stale(tag);
        let dir = std::env::temp_dir().join(format!("qnxsim-{tag}-{}", std::process::id()));
        // Listed before it is made: a signal from now on removes it.
        leftovers().dirs.push(dir.clone());
        if let Err(e) = std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            leftovers().dirs.retain(|d| d != &dir);
            return Err(Failure::new(format!(
                "creating the directory {} failed: {e}",
                dir.display()
            )));
        }
        let path = dir.join("kernel");
        let kernel = match Kernel::create_shared(&path, userlib::Config::default()) {
            Ok(k) => k,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                leftovers().dirs.retain(|d| d != &dir);
                return Err(Failure::new(format!(
                    "creating the kernel file {} failed: {e}",
                    path.display()
                )));
            }
        };
        // Our own waits for the kernel lock take over from a dead holder instead of waiting
        // for ever, as the supervisor's do.
        kernel.supervise();
        let watch = Arc::new(Watch {
            kernel,
            programs: Mutex::new(Vec::new()),
            names: Mutex::new(Vec::new()),
            failures: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let w = watch.clone();
        let watcher = std::thread::spawn(move || {
            while !w.stop.load(Ordering::Relaxed) {
                w.reap_dead();
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        Ok(SharedKernel {
            dir,
            path,
            watch,
            watcher: Some(watcher),
        })
    }

    /// The launcher's mapping of the kernel (it joins no process: it only looks).
    pub fn kernel(&self) -> &Kernel {
        &self.watch.kernel
    }

    /// The kernel file, `QNXSIM_KERNEL` of every program of the run.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SharedKernel {
    fn drop(&mut self) {
        self.watch.stop.store(true, Ordering::Relaxed);
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        leftovers().dirs.retain(|d| d != &self.dir);
    }
}

/// A program of the run: this binary again, in a role. Its plain output lines are printed as
/// they come, its `@@` lines kept for [`Program::expect`]. Killed and reaped on drop unless it
/// has ended.
#[derive(Debug)]
pub struct Program {
    name: String,
    watch: Arc<Watch>,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    relay: Option<JoinHandle<()>>,
    ended: bool,
}

impl Program {
    /// Starts this binary with `args` (the launcher's own options, with `--role` and what
    /// else the role needs), on `kernel`. `name` says which program it is in messages.
    pub fn start(kernel: &SharedKernel, name: &str, args: &[String]) -> Result<Program, Failure> {
        let exe = std::env::current_exe().context(|| "finding this program's path")?;
        let mut child = Command::new(&exe)
            .args(args)
            .env(userlib::current::KERNEL_ENV, kernel.path())
            .env(LAUNCHER_ENV, std::process::id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context(|| format!("starting the {name} program ({})", exe.display()))?;
        let pid = child.id() as i32;
        {
            let mut l = leftovers();
            l.pids.push(pid);
            // (A signal's thread that has killed the programs listed already missed this one.)
            if ending() {
                let _ = child.kill();
            }
        }
        kernel
            .watch
            .names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((pid, name.to_string()));
        kernel
            .watch
            .programs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(pid);
        let stdin = child.stdin.take();
        let out = child.stdout.take();
        let (tx, lines) = mpsc::channel();
        let relay = std::thread::spawn(move || {
            let Some(out) = out else { return };
            let mut it = BufReader::new(out).lines().map_while(Result::ok);
            while let Some(line) = it.next() {
                let Some(msg) = line.strip_prefix(LINE) else {
                    println!("{line}");
                    continue;
                };
                if let Some(n) = msg.strip_prefix(BLOCK).and_then(|n| n.trim().parse().ok()) {
                    // The block's lines together, under one hold of stdout.
                    let mut o = std::io::stdout().lock();
                    for l in it.by_ref().take(n) {
                        let _ = writeln!(o, "{l}");
                    }
                    continue;
                }
                if tx.send(msg.to_string()).is_err() {
                    return;
                }
            }
        });
        Ok(Program {
            name: name.to_string(),
            watch: kernel.watch.clone(),
            child,
            stdin,
            lines,
            relay: Some(relay),
            ended: false,
        })
    }

    /// Its Linux pid (its pid in the kernel too).
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The program's next `@@` line, split in words, whose first word must be `word`; waits
    /// at most `within`. Fails if the program ends first, says something else, or is silent.
    pub fn expect(&self, word: &str, within: Duration) -> Result<Vec<String>, Failure> {
        self.expect_progressing(word, within, || 0)
    }

    /// [`Program::expect`], waiting as long as `progress()` changes at least every `stall`.
    pub fn expect_progressing(
        &self,
        word: &str,
        stall: Duration,
        mut progress: impl FnMut() -> u64,
    ) -> Result<Vec<String>, Failure> {
        let mut last = progress();
        let mut moved_at = Instant::now();
        let line = loop {
            match self.lines.recv_timeout(Duration::from_millis(10)) {
                Ok(l) => break l,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    // How it ended, if it has (its output closes as it dies): "was killed by
                    // SIGKILL", which a student must see rather than a plain "ended".
                    let how = self.how_it_ended();
                    if let Some(how) = &how {
                        self.watch.ended(self.pid(), how);
                    }
                    let mut msg = format!(
                        "the {} program (pid {}) {} before it said {word:?}",
                        self.name,
                        self.pid(),
                        how.as_deref().unwrap_or("ended")
                    );
                    if let Some(first) = self.watch.failed_before(self.pid()) {
                        msg = format!("{first}; then {msg}");
                    }
                    return Err(Failure::new(msg));
                }
            }
            let now = progress();
            if now != last {
                last = now;
                moved_at = Instant::now();
            } else if moved_at.elapsed() >= stall {
                return Err(Failure::new(format!(
                    "the {} program (pid {}) did not say {word:?}, and nothing moved for {stall:?}",
                    self.name,
                    self.pid()
                )));
            }
        };
        let mut words = line.split_whitespace().map(String::from);
        if words.next().as_deref() != Some(word) {
            return Err(Failure::new(format!(
                "the {} program (pid {}) said {line:?} where {word:?} was expected",
                self.name,
                self.pid()
            )));
        }
        Ok(words.collect())
    }

    /// How the program ended ([`describe`]'s words), once it has: waits a moment (bounded) for
    /// its last threads to end, without reaping it. None if it has not ended by then (its
    /// output closed without its end) or was reaped already.
    fn how_it_ended(&self) -> Option<String> {
        let until = Instant::now() + Duration::from_secs(2);
        loop {
            match peek_status(self.pid()) {
                Peek::Ended(how) => return Some(how),
                Peek::Ending if Instant::now() < until => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                _ => return None,
            }
        }
    }

    /// Whether the program is still running.
    pub fn running(&mut self) -> bool {
        !self.ended && matches!(self.poll(), Ok(None))
    }

    /// Its exit status if it has ended (it is then reaped, and no longer a program a signal's
    /// end must kill: see [`end_on_signals`]).
    fn poll(&mut self) -> std::io::Result<Option<ExitStatus>> {
        let pid = self.pid();
        // Reaped and unlisted under one hold of the list: a signal's thread never kills a
        // pid that was reaped (and could be another process's by then).
        let mut l = leftovers();
        let r = self.child.try_wait();
        if matches!(r, Ok(Some(_))) {
            l.pids.retain(|&p| p != pid);
        }
        r
    }

    /// Sends `line` to the program's stdin (see [`Commands`]).
    pub fn tell(&mut self, line: &str) -> Result<(), Failure> {
        let (name, pid) = (self.name.clone(), self.pid());
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| Failure::new(format!("the {name} program's stdin is closed")))?;
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .context(|| format!("telling the {name} program (pid {pid}) {line:?}"))
    }

    /// Waits for the program to end, and fails unless it exited with status 0. Gives up (and
    /// kills it) when `progress()` has not changed for `stall`; a constant `progress` makes
    /// `stall` a plain time limit. Its output is all printed when this returns.
    pub fn finish(
        mut self,
        stall: Duration,
        mut progress: impl FnMut() -> u64,
    ) -> Result<(), Failure> {
        let status = self.wait_progressing(stall, &mut progress)?;
        if status.success() {
            return Ok(());
        }
        let mut msg = format!(
            "the {} program (pid {}) {}",
            self.name,
            self.pid(),
            describe(status)
        );
        // Another program's end first is the likelier cause: name it first.
        if let Some(first) = self.watch.failed_before(self.pid()) {
            msg = format!("{first}; then {msg}");
        }
        Err(Failure::new(msg))
    }

    /// Waits for the program to end; its exit status.
    pub fn wait(mut self, within: Duration) -> Result<ExitStatus, Failure> {
        self.wait_progressing(within, &mut || 0)
    }

    fn wait_progressing(
        &mut self,
        stall: Duration,
        progress: &mut dyn FnMut() -> u64,
    ) -> Result<ExitStatus, Failure> {
        self.stdin = None;
        let mut last = progress();
        let mut moved_at = Instant::now();
        let status = loop {
            if let Some(st) = self
                .poll()
                .context(|| format!("waiting for the {} program", self.name))?
            {
                break st;
            }
            let now = progress();
            if now != last {
                last = now;
                moved_at = Instant::now();
            } else if moved_at.elapsed() >= stall {
                self.end();
                return Err(Failure::new(format!(
                    "the {} program (pid {}) made no progress for {stall:?}: killed it",
                    self.name,
                    self.pid()
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        self.ended = true;
        self.watch.ended(self.pid(), &describe(status));
        self.watch.reap(self.pid());
        // Its output ends with it (nothing else holds its stdout): print all of it first.
        if let Some(r) = self.relay.take() {
            let until = Instant::now() + Duration::from_secs(5);
            while !r.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
            if r.is_finished() {
                let _ = r.join();
            }
        }
        Ok(status)
    }
}

impl Program {
    /// Kills the program (if it still runs), waits for it, and reaps what it left in the
    /// kernel.
    fn end(&mut self) {
        if !self.ended {
            let pid = self.pid();
            {
                let mut l = leftovers();
                let _ = self.child.kill();
                l.pids.retain(|&p| p != pid);
            }
            let _ = self.child.wait();
            self.ended = true;
        }
        self.watch.reap(self.pid());
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        self.end();
    }
}

/// "exited with status 1", "was killed by SIGKILL".
fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(s)) => match nix::sys::signal::Signal::try_from(s) {
            Ok(sig) => format!("was killed by {sig}"),
            Err(_) => format!("was killed by signal {s}"),
        },
        _ => format!("ended ({status})"),
    }
}

/// The options a program of the run is started with: the launcher's own (so that every
/// program sees the same values; `--processes` and `--pidin` it ignores in a role), then
/// `--role ROLE` and `extra`.
pub fn role_args(role: &str, extra: &[String]) -> Vec<String> {
    let mut args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    args.extend(["--role".to_string(), role.to_string()]);
    args.extend(extra.iter().cloned());
    args
}

// -------------------------------------------- the launcher's end on a signal, and leftovers

/// What a launcher must undo if a signal ends it: the programs it started and has not yet
/// reaped, the directories of its kernels, and the temporary files of its outputs not yet
/// renamed into place (`--trace`, `--diagram`).
#[derive(Debug)]
struct Leftovers {
    pids: Vec<i32>,
    dirs: Vec<PathBuf>,
    files: Vec<PathBuf>,
}

static LEFTOVERS: Mutex<Leftovers> = Mutex::new(Leftovers {
    pids: Vec::new(),
    dirs: Vec::new(),
    files: Vec::new(),
});

/// Tracks an output's temporary file: a signal's end removes it ([`forget_output_temp`] once
/// it is renamed into place or removed).
pub fn track_output_temp(path: &Path) {
    leftovers().files.push(path.to_path_buf());
}

/// Stops tracking an output's temporary file.
pub fn forget_output_temp(path: &Path) {
    leftovers().files.retain(|f| f != path);
}

fn leftovers() -> MutexGuard<'static, Leftovers> {
    LEFTOVERS.lock().unwrap_or_else(|e| e.into_inner())
}

/// The signal that is ending this program (a launcher), 0 while none is.
static ENDING: AtomicI32 = AtomicI32::new(0);

/// The signals that end a launcher cleanly: Ctrl-C, `kill`'s default, a closed terminal.
const ENDING_SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// How long a signal's end waits for the killed programs to be gone.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// Whether a signal is ending this program: its programs' failures are then the signal's
/// doing, not worth reporting, and [`exit`] leaves the exit to the signal's thread.
pub fn ending() -> bool {
    ENDING.load(Ordering::SeqCst) != 0
}

/// Ends this program with status `code`; but while a signal is ending it (see
/// `end_on_signals`), waits for that end (status 128 + the signal's number) instead, for at
/// most a few seconds. Every example's `main` ends through this.
pub fn exit(code: i32) -> ! {
    let until = Instant::now() + KILL_WAIT * 2;
    while ending() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    match ENDING.load(Ordering::SeqCst) {
        0 => std::process::exit(code),
        sig => std::process::exit(128 + sig),
    }
}

/// Whether this program was started with `sig` ignored (`nohup` ignores SIGHUP; a shell
/// without job control starts background jobs with SIGINT ignored): it stays ignored then.
fn ignored(sig: Signal) -> bool {
    let mut old = std::mem::MaybeUninit::<nix::libc::sigaction>::zeroed();
    // SAFETY: with a null new action, sigaction only writes the current one into `old`, a
    // `struct sigaction` of ours.
    let r = unsafe { nix::libc::sigaction(sig as i32, std::ptr::null(), old.as_mut_ptr()) };
    // SAFETY: all zeroes is a valid `struct sigaction` (plain integers and a sigset), and
    // sigaction filled it if it succeeded.
    let old = unsafe { old.assume_init() };
    r == 0 && old.sa_sigaction == nix::libc::SIG_IGN
}

/// Makes SIGINT, SIGTERM and SIGHUP end this program, a launcher, cleanly: its programs
/// killed, its kernels' directories removed, exit status 128 + the signal's number (as a
/// shell reports a program the signal killed). Once per program, from the thread that makes
/// the first kernel before it starts any thread: the signals are blocked in it (and so in
/// every thread started after) and taken by a thread of their own (`sigwait`), which does the
/// work in plain code, not in a handler. (A program started from here inherits the blocked
/// signals: [`role_setup`] unblocks them.) `tag` names this program in the message.
fn end_on_signals(tag: &str) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let mut set = SigSet::empty();
        let mut any = false;
        for sig in ENDING_SIGNALS {
            if !ignored(sig) {
                set.add(sig);
                any = true;
            }
        }
        if !any || set.thread_block().is_err() {
            return;
        }
        let tag = tag.to_string();
        let started = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || loop {
                if let Ok(sig) = set.wait() {
                    end_on(sig, &tag);
                }
            });
        if started.is_err() {
            // Nobody would take them: let them end the program as before.
            let _ = set.thread_unblock();
        }
    });
}

/// Makes a closed output (`srr-demo | head`) end this program quietly, as it ends a C program
/// (status 141: 128 + SIGPIPE), with the cleanup a signal's end makes (a launcher's programs
/// killed, its kernels' directories removed), instead of a panic's message. Any other panic is
/// reported as before. Every example's `main` calls it first.
pub fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        // (std's println! and print! panic with this when their stdout is a closed pipe.)
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            clean_up();
            // SAFETY: _exit ends the process at once; nothing of ours needs to run first.
            unsafe { nix::libc::_exit(128 + Signal::SIGPIPE as i32) }
        }
        default(info);
    }));
}

/// Kills the programs not yet reaped, waits (bounded) until they are gone, and removes the
/// kernels' directories and the outputs' temporary files: what a launcher's end on a signal or
/// a closed output undoes. Returns what it found.
fn clean_up() -> (Vec<i32>, Vec<PathBuf>) {
    // (The main thread may remove a directory meanwhile, its run failing as its programs die:
    // the list is taken now, for the message.)
    let (pids, dirs) = {
        let l = leftovers();
        for &pid in &l.pids {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
        }
        for f in &l.files {
            let _ = std::fs::remove_file(f);
        }
        (l.pids.clone(), l.dirs.clone())
    };
    let until = Instant::now() + KILL_WAIT;
    while pids.iter().any(|&pid| program_alive(pid)) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    for dir in &dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
    (pids, dirs)
}

/// The end on `sig`: kills the programs not yet reaped, waits (bounded) until they are gone,
/// removes the kernels' directories and exits with 128 + `sig`, without running exit
/// handlers (they could wait for a lock another thread of this program holds).
fn end_on(sig: Signal, tag: &str) -> ! {
    ENDING.store(sig as i32, Ordering::SeqCst);
    let (pids, dirs) = clean_up();
    let kernels: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    eprintln!(
        "{tag}: {sig}: ended the run's {} program(s) and removed its kernel ({})",
        pids.len(),
        kernels.join(", ")
    );
    let _ = std::io::stdout().flush();
    // SAFETY: _exit ends the process at once; nothing of ours needs to run first.
    unsafe { nix::libc::_exit(128 + sig as i32) }
}

/// The examples whose launchers make kernels (`SharedKernel::create`'s tags).
const TAGS: [&str; 3] = ["srr-demo", "event-loop", "sensors"];

/// The launcher pid in a kernel directory's name, `qnxsim-TAG-PID`, for the examples' tags and
/// `tag`; `None` for any other name.
fn launcher_of(name: &str, tag: &str) -> Option<u32> {
    let rest = name.strip_prefix("qnxsim-")?;
    TAGS.iter()
        .copied()
        .chain(std::iter::once(tag))
        .find_map(|t| {
            let digits = rest.strip_prefix(t)?.strip_prefix('-')?;
            let pid = digits.parse::<u32>().ok()?;
            // Exactly the digits of a pid: no sign, no leading zero.
            (pid > 0 && digits == pid.to_string()).then_some(pid)
        })
}

/// Removes the kernel directories that launchers killed by SIGKILL left behind: under the
/// temporary directory, named `qnxsim-EXAMPLE-PID` for one of the examples (or `tag`), whose
/// launcher PID no longer runs, and made as [`SharedKernel::create`] makes them (a directory,
/// not a link, of this user's, mode 0700, holding nothing but a `kernel` file). Says which, on
/// stderr. Anything else is left alone.
fn remove_stale(tag: &str) {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| launcher_of(n, tag)) else {
            continue;
        };
        if pid == std::process::id() || program_alive(pid as i32) {
            continue;
        }
        let dir = e.path();
        if remove_kernel_dir(&dir) {
            eprintln!(
                "{tag}: removed {}, the kernel of a run whose launcher (pid {pid}) no longer runs",
                dir.display()
            );
        }
    }
}

/// Removes `dir` if it is a kernel directory of this user's as [`SharedKernel::create`] makes
/// them: a directory (not a link), owned by this user, mode 0700, holding at most a regular
/// file named `kernel`. Never recursive: anything else in it keeps it.
fn remove_kernel_dir(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return false;
    };
    if !meta.is_dir()
        || meta.uid() != nix::unistd::geteuid().as_raw()
        || meta.mode() & 0o7777 != 0o700
    {
        return false;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut kernel = false;
    for e in entries {
        let Ok(e) = e else { return false };
        // (DirEntry::metadata does not follow a link.)
        let regular = e.metadata().is_ok_and(|m| m.is_file());
        if e.file_name() != "kernel" || !regular {
            return false;
        }
        kernel = true;
    }
    (!kernel || std::fs::remove_file(dir.join("kernel")).is_ok())
        && std::fs::remove_dir(dir).is_ok()
}

// ---------------------------------------------------------------------- a program's side

/// Called first by a program started by a launcher: it dies when the launcher does, and
/// ends at once if the launcher is already gone.
pub fn role_setup() -> Result<(), Failure> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .context(|| "prctl(PR_SET_PDEATHSIG)")?;
    // The launcher's threads block the signals it ends on (`end_on_signals`), and a program
    // inherits its starter's mask: this one takes them as any program does. (Called before
    // this program starts a thread.)
    let mut set = SigSet::empty();
    for sig in ENDING_SIGNALS {
        set.add(sig);
    }
    set.thread_unblock()
        .context(|| "unblocking SIGINT, SIGTERM and SIGHUP")?;
    let launcher = std::env::var(LAUNCHER_ENV)
        .ok()
        .and_then(|v| v.parse::<u32>().ok());
    match launcher {
        Some(pid) if pid == std::os::unix::process::parent_id() => Ok(()),
        Some(_) => Err(Failure::new("the launcher of this program has ended")),
        None => Err(Failure::new(
            "--role is for the programs of a --processes run, which the example starts itself",
        )),
    }
}

/// Prints a line for the launcher (not shown to the user).
pub fn tell_launcher(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{LINE}{text}");
    let _ = out.flush();
}

/// Prints `text` (whole lines) as one block: the launcher relays it without another
/// program's lines in between.
pub fn print_block(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{LINE}{BLOCK} {}", text.lines().count());
    for l in text.lines() {
        let _ = writeln!(out, "{l}");
    }
    let _ = out.flush();
}

/// What the launcher tells a program, line by line, on its stdin.
#[derive(Debug)]
pub struct Commands(Receiver<String>);

impl Commands {
    /// Starts reading stdin (in a thread of its own, so that every wait is bounded).
    pub fn listen() -> Commands {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for l in std::io::stdin().lock().lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    return;
                }
            }
        });
        Commands(rx)
    }

    /// The next command, split in words, whose first word must be `word`; waits at most
    /// `within`. Fails if stdin closes first (the launcher ended) or something else comes.
    pub fn expect(&self, word: &str, within: Duration) -> Result<Vec<String>, Failure> {
        let line = self.0.recv_timeout(within).map_err(|e| {
            Failure::new(match e {
                RecvTimeoutError::Timeout => {
                    format!("the launcher did not say {word:?} within {within:?}")
                }
                RecvTimeoutError::Disconnected => {
                    format!("the launcher closed stdin before it said {word:?}")
                }
            })
        })?;
        let mut words = line.split_whitespace().map(String::from);
        if words.next().as_deref() != Some(word) {
            return Err(Failure::new(format!(
                "the launcher said {line:?} where {word:?} was expected"
            )));
        }
        Ok(words.collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_reads_pid_colon_chid_and_refuses_anything_else() {
        assert_eq!("4211:1".parse(), Ok(Peer { pid: 4211, chid: 1 }));
        assert_eq!(Peer { pid: 7, chid: 2 }.to_string(), "7:2");
        for bad in [
            "", "4211", "4211:", ":1", "0:1", "1:0", "-1:1", "a:b", "1:2:3",
        ] {
            assert!(bad.parse::<Peer>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_kernel_directory_is_known_by_its_exact_name() {
        assert_eq!(launcher_of("qnxsim-srr-demo-4211", "x"), Some(4211));
        assert_eq!(launcher_of("qnxsim-event-loop-1", "x"), Some(1));
        assert_eq!(launcher_of("qnxsim-sensors-77", "x"), Some(77));
        assert_eq!(launcher_of("qnxsim-mine-7", "mine"), Some(7));
        for other in [
            "qnxsim-srr-demo-",
            "qnxsim-srr-demo-0",
            "qnxsim-srr-demo-042",
            "qnxsim-srr-demo-+42",
            "qnxsim-srr-demo-42x",
            "qnxsim-srr-demo-4-2",
            "qnxsim-srr-demo42",
            "qnxsim-srr-demo-99999999999",
            "qnxsim-echo-pair-42",
            "qnxsim-mine-7",
            "srr-demo-42",
        ] {
            assert_eq!(launcher_of(other, "x"), None, "{other}");
        }
    }

    #[test]
    fn only_a_directory_made_as_a_launcher_makes_it_is_removed() {
        use std::os::unix::fs::PermissionsExt;
        let root = std::env::temp_dir().join(format!("programs-unit-stale-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir(&root).unwrap();
        let make = |name: &str, mode: u32, files: &[&str]| {
            let d = root.join(name);
            std::fs::create_dir(&d).unwrap();
            for f in files {
                std::fs::write(d.join(f), b"x").unwrap();
            }
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode)).unwrap();
            d
        };
        let ours = make("ours", 0o700, &["kernel"]);
        let empty = make("empty", 0o700, &[]);
        let more = make("more", 0o700, &["kernel", "notes"]);
        let other = make("other", 0o700, &["notes"]);
        let open = make("open", 0o755, &["kernel"]);
        let sub = make("sub", 0o700, &[]);
        std::fs::create_dir(sub.join("kernel")).unwrap();
        let link = root.join("link");
        std::os::unix::fs::symlink(&ours, &link).unwrap();
        let file = root.join("file");
        std::fs::write(&file, b"x").unwrap();
        for kept in [&more, &other, &open, &sub, &link, &file] {
            assert!(!remove_kernel_dir(kept), "{}", kept.display());
            assert!(
                std::fs::symlink_metadata(kept).is_ok(),
                "{}",
                kept.display()
            );
        }
        for gone in [&ours, &empty] {
            assert!(remove_kernel_dir(gone), "{}", gone.display());
            assert!(!gone.exists(), "{}", gone.display());
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_shared_kernel_lives_in_a_private_directory_removed_with_it() {
        use std::os::unix::fs::PermissionsExt;
        let k = SharedKernel::create("programs-unit").expect("a kernel");
        let dir = k.path().parent().expect("its directory").to_path_buf();
        let mode = std::fs::metadata(&dir)
            .expect("the directory")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        assert!(k.kernel().is_shared());
        assert!(k.path().exists());
        drop(k);
        assert!(!dir.exists(), "{} was left behind", dir.display());
    }
}
