//! A C program a test talks to (`Prog`: stdin piped, stdout line by line, stderr kept, killed
//! on drop) and looks at the kernel of (what of a program is left, who is blocked on whom, the
//! pools' live counts): what the tests of C programs killed and restarted share
//! (`c_crashy.rs`, `c_porter_names.rs`).

use super::cc::{summary, threads_of};
use super::WITHIN;
use kernel_sim::info::PoolUsage;
use kernel_sim::{Kernel, ThreadState};
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

// ------------------------------------------------------------------ a program we talk to

/// A running C program with its stdin piped (the clients take their cues there), its stdout
/// read line by line, its stderr kept; killed and reaped on drop.
pub struct Prog {
    pub child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: Receiver<String>,
    /// The lines read so far.
    pub out: Vec<String>,
    err: Receiver<String>,
    /// Its name and arguments, for messages.
    pub what: String,
}

impl Prog {
    pub fn start<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        exe: &Path,
        args: &[&str],
        env: &[(K, V)],
    ) -> Prog {
        let mut child = Command::new(exe)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
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
        Prog {
            stdin: child.stdin.take(),
            child,
            lines,
            out: Vec::new(),
            err,
            what: format!(
                "{} {}",
                exe.file_name().unwrap_or_default().to_string_lossy(),
                args.join(" ")
            ),
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Its next line, within `within`, or None.
    pub fn line_within(&mut self, within: Duration) -> Option<String> {
        let l = self.lines.recv_timeout(within).ok()?;
        self.out.push(l.clone());
        Some(l)
    }

    /// Its next line (within `WITHIN`, else the test fails with where its threads wait).
    pub fn line(&mut self) -> String {
        match self.line_within(WITHIN) {
            Some(l) => l,
            None => panic!(
                "{} (pid {}): no line within {WITHIN:?}; its threads:\n{}\nso far:\n{}",
                self.what,
                self.pid(),
                threads_of(self.child.id()),
                self.out.join("\n")
            ),
        }
    }

    /// Lines until one starting with `prefix` (within `WITHIN` each): that one.
    pub fn line_starting(&mut self, prefix: &str) -> String {
        loop {
            let l = self.line();
            if l.starts_with(prefix) {
                return l;
            }
        }
    }

    /// Lines it printed so far without waiting.
    pub fn drain_now(&mut self) -> Vec<String> {
        let mut v = Vec::new();
        while let Ok(l) = self.lines.try_recv() {
            self.out.push(l.clone());
            v.push(l);
        }
        v
    }

    pub fn say(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{text}").expect("writing to a client");
        stdin.flush().expect("flushing");
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits at most `within` for it to exit (else kills it and fails): status, stdout, stderr.
    pub fn finish(mut self, within: Duration) -> (ExitStatus, String, String) {
        self.stdin.take();
        let until = Instant::now() + within;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("waiting") {
                break s;
            }
            if Instant::now() > until {
                let threads = threads_of(self.child.id());
                let _ = self.child.kill();
                let s = self.child.wait().expect("reaping");
                let err = self.rest();
                panic!(
                    "{} did not finish within {within:?} (killed: {s})\nits threads then:\n\
                     {threads}\nstdout:\n{}\nstderr:\n{err}",
                    self.what,
                    self.out.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let err = self.rest();
        (status, self.out.join("\n"), err)
    }

    pub fn rest(&mut self) -> String {
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.out.push(l);
        }
        self.err
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_default()
    }

    /// SIGKILL, reaped.
    pub fn kill(mut self) -> ExitStatus {
        let _ = self.child.kill();
        self.child.wait().expect("reaping")
    }
}

impl Drop for Prog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A C program's end: success, no check failed, at least `min` passed.
pub fn expect_ok(who: &str, (status, out, err): (ExitStatus, String, String), min: u32) -> String {
    let (passed, failed) = summary(&out);
    assert!(
        status.success() && failed == 0 && passed >= min,
        "{who}: {status}, {passed} passed, {failed} failed (at least {min} expected)\n\
         stdout:\n{out}\nstderr:\n{err}"
    );
    out
}

// ------------------------------------------------------------------ the kernel, watched

/// Nothing of program `pid` left in the kernel: no process, thread, channel, path, or
/// connection of it or to it.
pub fn gone(k: &Kernel, pid: i32) -> bool {
    let s = k.snapshot();
    !s.processes.iter().any(|p| p.pid == pid)
        && !s.threads.iter().any(|t| t.pid == pid)
        && !s.channels.iter().any(|c| c.pid == pid)
        && !s
            .connections
            .iter()
            .any(|c| c.pid == pid || c.server_pid == pid)
}

/// What of `pid` is in the kernel (for messages).
pub fn remains_of(k: &Kernel, pid: i32) -> String {
    let s = k.snapshot();
    format!(
        "processes {:?}\nthreads {:?}\nchannels {:?}\nconnections {:?}",
        s.processes
            .iter()
            .filter(|p| p.pid == pid)
            .collect::<Vec<_>>(),
        s.threads
            .iter()
            .filter(|t| t.pid == pid)
            .collect::<Vec<_>>(),
        s.channels
            .iter()
            .filter(|c| c.pid == pid)
            .collect::<Vec<_>>(),
        s.connections
            .iter()
            .filter(|c| c.pid == pid || c.server_pid == pid)
            .collect::<Vec<_>>()
    )
}

/// Threads of `client` (or of anyone, with `None`) SEND- and REPLY-blocked on `server`.
pub fn blocked_on(k: &Kernel, client: Option<i32>, server: i32) -> (usize, usize) {
    let s = k.snapshot();
    let mine = |p: i32| client.is_none_or(|c| c == p);
    let send = s
        .threads
        .iter()
        .filter(|t| {
            mine(t.pid) && matches!(t.state, ThreadState::Send { pid, .. } if pid == server)
        })
        .count();
    let reply = s
        .threads
        .iter()
        .filter(|t| {
            mine(t.pid) && matches!(t.state, ThreadState::Reply { pid, .. } if pid == server)
        })
        .count();
    (send, reply)
}

/// The live counts of every pool.
pub fn live(p: &PoolUsage) -> [u32; 8] {
    [
        p.processes.live,
        p.threads.live,
        p.channels.live,
        p.connections.live,
        p.pulses.live,
        p.timers.live,
        p.names.live,
        p.interrupts.live,
    ]
}

pub fn mounted(k: &Kernel, path: &str) -> bool {
    k.mountpoints().1.iter().any(|m| m == path.as_bytes())
}

/// Waits at most `within` for `cond`: how long it took, or None.
pub fn within(within: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let t0 = Instant::now();
    loop {
        if cond() {
            return Some(t0.elapsed());
        }
        if t0.elapsed() > within {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
