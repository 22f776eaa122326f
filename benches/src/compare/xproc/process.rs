//! The two processes of a run and their protocol: the run's shared files ([`RunFiles`]), the
//! peer process seen from the measuring side ([`Peer`]) with its [`Watchdog`], the peer's end
//! of the line protocol ([`Link`]) and the peer's closing report ([`Report`]).

use super::super::baselines::ConnFigures;
use super::signals;
use super::PEER_ARG;
use crate::harness::Usage;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long the watchdog waits, once the peer has ended, for the measuring side to say that
/// the run is done (its `done` line was read) before it calls the run failed.
const GRACE: Duration = Duration::from_secs(5);

/// A run's directory of shared files, removed when the peer has them (or on drop).
#[derive(Debug)]
pub struct RunFiles {
    dir: PathBuf,
}

impl RunFiles {
    /// A fresh, empty directory (mode 0700) on `/dev/shm` if it is there (memory, not disk:
    /// a mapped file on disk is written back while it is measured), else the temporary
    /// directory. Until removed, a SIGTERM, SIGINT or SIGHUP removes it before the program
    /// ends ([`super::signals`]).
    pub fn new() -> RunFiles {
        use std::os::unix::fs::DirBuilderExt;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!(
            "qnxsim-xproc-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        // Made and tracked under the lock: a signal in between cannot leave it behind.
        let mut reg = signals::registry();
        let _ = std::fs::remove_dir_all(&dir);
        reg.add_dir(&dir);
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        drop(reg);
        RunFiles { dir }
    }

    /// The path of the file `name` in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Removes the directory and its files: once both processes have mapped or opened them
    /// they need no name, and a program killed later leaves nothing behind.
    pub fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        signals::forget_dir(&self.dir);
    }
}

impl Default for RunFiles {
    fn default() -> Self {
        RunFiles::new()
    }
}

impl Drop for RunFiles {
    fn drop(&mut self) {
        self.remove();
    }
}

// ----------------------------------------------------------------------------- the watchdog

/// Ends the program if a run outlasts its deadline or its peer ends before the run is done:
/// kills the peer, removes the run's files, says why on stderr and exits with status 1. A
/// thread that sleeps in `poll` on the peer's pidfd and on a pipe whose write end
/// [`Watchdog::stop`] closes: it takes no CPU while the run is measured.
#[derive(Debug)]
struct Watchdog {
    done: Option<OwnedFd>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// `pidfd_open(pid)`: a descriptor that polls readable when the process ends, and that
/// signals it (`pidfd_send_signal`) without the risk of a reused pid.
pub(super) fn pidfd_open(pid: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: a plain system call with integer arguments.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: pidfd_open returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

pub(super) fn pidfd_kill(pidfd: &OwnedFd) {
    // SAFETY: a plain system call on a descriptor we own; a null siginfo is allowed.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            libc::SIGKILL,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        );
    }
}

/// Polls `fds` for up to `timeout`; returns their `revents`.
pub(super) fn poll_fds(fds: &[&OwnedFd], timeout: Duration) -> Vec<i16> {
    let mut p: Vec<libc::pollfd> = fds
        .iter()
        .map(|f| libc::pollfd {
            fd: f.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: `p` is a live array of `p.len()` pollfds for the call.
    let n = unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, ms) };
    if n <= 0 {
        return vec![0; fds.len()];
    }
    p.iter().map(|x| x.revents).collect()
}

impl Watchdog {
    fn start(pid: i32, what: String, deadline: Duration, files: PathBuf) -> Watchdog {
        let pidfd = pidfd_open(pid).expect("pidfd_open on the peer");
        let (rd, wr) = nix::unistd::pipe().expect("the watchdog's pipe");
        let thread = std::thread::Builder::new()
            .name("xproc-watchdog".into())
            .spawn(move || {
                let until = Instant::now() + deadline;
                let fail = |why: &str| -> ! {
                    if signals::terminating() {
                        // A signal's cleanup killed the peer and ends the program.
                        signals::park_forever();
                    }
                    pidfd_kill(&pidfd);
                    let _ = std::fs::remove_dir_all(&files);
                    eprintln!("benches: {what}: {why}; the peer was killed, the program ends");
                    std::process::exit(1)
                };
                loop {
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        fail(&format!("not done within {deadline:?}"));
                    }
                    let ev = poll_fds(&[&pidfd, &rd], left);
                    if ev[1] != 0 {
                        return; // Done.
                    }
                    if ev[0] != 0 {
                        // The peer ended: fine if the run is done (its `done` line read).
                        if poll_fds(&[&rd], GRACE)[0] != 0 {
                            return;
                        }
                        fail("the peer ended before the run was done");
                    }
                }
            })
            .expect("starting the watchdog");
        Watchdog {
            done: Some(wr),
            thread: Some(thread),
        }
    }

    /// The run is done: the watchdog ends without a word.
    fn stop(&mut self) {
        drop(self.done.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop();
    }
}

// ----------------------------------------------------------------------------- the peer

/// The other process of a run, seen from the measuring side: this program re-run as a peer
/// ([`PEER_ARG`]), its stdin and stdout the lines of the protocol. Killed and reaped on drop
/// unless [`Peer::finish`]ed; watched by a `Watchdog` until then.
#[derive(Debug)]
pub struct Peer {
    child: Option<Child>,
    to: Option<ChildStdin>,
    from: BufReader<ChildStdout>,
    role: String,
    watchdog: Watchdog,
}

impl Peer {
    /// Starts this program as the peer `role` with `args`, pinned to `cpu` (or to every CPU
    /// this program may use), to be done within `deadline` (else the watchdog ends the
    /// program, removing `files`). Start it before pinning the calling thread: the peer sets
    /// its own affinity, but starts with its parent's.
    pub fn start(
        role: &str,
        args: &[String],
        cpu: Option<usize>,
        deadline: Duration,
        files: &RunFiles,
    ) -> Peer {
        let exe = std::env::current_exe().expect("this program's path");
        // Started and tracked under the lock: a signal's cleanup kills it.
        let mut reg = signals::registry();
        let mut child = Command::new(exe)
            .arg(PEER_ARG)
            .arg(role)
            .arg(std::process::id().to_string())
            .arg(cpu.map_or("-".into(), |c| c.to_string()))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the peer process");
        reg.add_peer(child.id() as i32);
        drop(reg);
        let to = child.stdin.take();
        let from = BufReader::new(child.stdout.take().expect("the peer's stdout"));
        let watchdog = Watchdog::start(
            child.id() as i32,
            format!("the {role} peer (pid {})", child.id()),
            deadline,
            files.dir().to_path_buf(),
        );
        Peer {
            child: Some(child),
            to,
            from,
            role: role.into(),
            watchdog,
        }
    }

    /// The peer's Linux pid.
    pub fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    /// The peer's next line, which must start with `word`: its other words. If the peer has
    /// gone (its stdout ends), see `Peer::gone`; another line is a broken protocol (a panic).
    pub fn expect(&mut self, word: &str) -> Vec<String> {
        let mut l = String::new();
        if matches!(self.from.read_line(&mut l), Ok(0) | Err(_)) {
            self.gone();
        }
        let mut w = l.split_whitespace().map(str::to_string);
        match w.next() {
            Some(first) if first == word => w.collect(),
            _ => panic!(
                "the {} peer said {:?} where {word:?} was expected",
                self.role,
                l.trim_end()
            ),
        }
    }

    /// Sends the peer a line; if it has gone (its stdin is broken), see `Peer::gone`.
    pub fn tell(&mut self, line: &str) {
        let to = self.to.as_mut().expect("the peer's stdin");
        if writeln!(to, "{line}").and_then(|()| to.flush()).is_err() {
            self.gone();
        }
    }

    /// The peer ended before the run was done: its watchdog, which sees it end, ends the
    /// program (status 1, the files removed) within its grace, so a dead peer ends every run
    /// the same way, whichever wait of the measuring side noticed it first. Should the
    /// watchdog not have ended the program well after that, this panics.
    fn gone(&self) -> ! {
        std::thread::sleep(3 * GRACE);
        panic!(
            "the {} peer ended, and its watchdog did not end the program",
            self.role
        );
    }

    /// Closes the peer's stdin (its cue to end), waits for it to exit, which it must with
    /// status 0, and stops the watchdog.
    pub fn finish(mut self) {
        drop(self.to.take());
        let mut child = self.child.take().expect("a peer");
        let status = child.wait().expect("waiting for the peer");
        signals::forget_peer(child.id() as i32);
        self.watchdog.stop();
        assert!(status.success(), "the {} peer failed: {status}", self.role);
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            signals::forget_peer(c.id() as i32);
        }
        self.watchdog.stop();
    }
}

/// A peer's `done` line: its bad requests (round-trip servers), its usage over its timed part,
/// and its asyncmsg connection's counters (asyncmsg producers).
#[derive(Debug, Default)]
pub(super) struct Report {
    pub(super) bad: u64,
    pub(super) usage: Usage,
    pub(super) conn: Option<ConnFigures>,
}

impl Report {
    pub(super) fn line(bad: u64, u: Usage, conn: Option<ConnFigures>) -> String {
        let mut s = format!("done {bad} {} {} {}", u.voluntary, u.involuntary, u.cpu_ns);
        if let Some(c) = conn {
            s.push_str(&format!(
                " {} {} {} {} {} {}",
                c.msgs_put, c.kernel_entries, c.triggers, c.batches, c.msgs_taken, c.callbacks
            ));
        }
        s
    }

    pub(super) fn read(peer: &mut Peer) -> Report {
        let w = peer.expect("done");
        let n: Vec<u64> = w
            .iter()
            .map(|x| x.parse().expect("a number in the peer's report"))
            .collect();
        assert!(n.len() == 4 || n.len() == 10, "a short report: {w:?}");
        Report {
            bad: n[0],
            usage: Usage {
                voluntary: n[1],
                involuntary: n[2],
                cpu_ns: n[3],
            },
            conn: (n.len() == 10).then(|| ConnFigures {
                msgs_put: n[4],
                kernel_entries: n[5],
                triggers: n[6],
                batches: n[7],
                msgs_taken: n[8],
                callbacks: n[9],
            }),
        }
    }
}

/// The peer's link to the measuring side: lines out on stdout, lines in on stdin.
pub(super) struct Link {
    input: std::io::StdinLock<'static>,
}

impl Link {
    pub(super) fn new() -> Link {
        Link {
            input: std::io::stdin().lock(),
        }
    }

    pub(super) fn tell(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .expect("writing to the measuring side");
    }

    /// The next line (None at the end of the input).
    pub(super) fn line(&mut self) -> Option<String> {
        let mut l = String::new();
        match self.input.read_line(&mut l) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(l.trim_end().to_string()),
        }
    }

    /// Waits for the measuring side to close our stdin: the run is over.
    pub(super) fn wait_for_end(&mut self) {
        while self.line().is_some() {}
    }
}
