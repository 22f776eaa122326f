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
//! removed when the launcher ends ([`SharedKernel`]'s drop).

use crate::{Context, Failure};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
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

    /// Reaps every program of the run that has died (a zombie not yet waited for, or gone).
    fn reap_dead(&self) {
        let dead: Vec<i32> = self
            .programs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .filter(|&pid| !alive(pid))
            .collect();
        for pid in dead {
            self.reap(pid);
        }
    }
}

/// Whether Linux process `pid` runs: it exists and is not a zombie.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command's closing parenthesis.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => false,
    }
}

impl SharedKernel {
    /// Makes the directory and the kernel in it (`tag` names the directory, with this
    /// program's pid), and starts watching it.
    pub fn create(tag: &str) -> Result<SharedKernel, Failure> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = std::env::temp_dir().join(format!("qnxsim-{tag}-{}", std::process::id()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .context(|| format!("creating the directory {}", dir.display()))?;
        let path = dir.join("kernel");
        let kernel = match Kernel::create_shared(&path, userlib::Config::default()) {
            Ok(k) => k,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
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
        kernel
            .watch
            .programs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(child.id() as i32);
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
                    return Err(Failure::new(format!(
                        "the {} program (pid {}) ended before it said {word:?}",
                        self.name,
                        self.pid()
                    )))
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

    /// Whether the program is still running.
    pub fn running(&mut self) -> bool {
        !self.ended && matches!(self.child.try_wait(), Ok(None))
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
            Ok(())
        } else {
            Err(Failure::new(format!(
                "the {} program (pid {}) {}",
                self.name,
                self.pid(),
                describe(status)
            )))
        }
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
                .child
                .try_wait()
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
            let _ = self.child.kill();
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

// ---------------------------------------------------------------------- a program's side

/// Called first by a program started by a launcher: it dies when the launcher does, and
/// ends at once if the launcher is already gone.
pub fn role_setup() -> Result<(), Failure> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .context(|| "prctl(PR_SET_PDEATHSIG)")?;
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
