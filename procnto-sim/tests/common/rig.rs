//! A supervised kernel for the suites whose C program runs as several programs in roles
//! (`review_asyncmsg_programs`, `review_signal_programs`, `review_interrupt_programs`): the
//! program built in a temporary directory, a supervisor (`--stay`) on a socket there, the
//! kernel mapped to watch it, the programs started in roles with its environment, the files
//! they wait for, the pools' occupancy, and `pidin-sim`. A test file adds what its programs
//! need with an `impl Rig` of its own.
//!
//! Fields drop in order: the supervisor first (killed and reaped), the directory last.

use super::cc::{build, c_dir, Lang, Link, Running};
use super::{env, socket_in, wait_until, Sup, PIDIN, WITHIN};
use crate::procs::TempDir;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// See the module's doc.
pub struct Rig {
    _sup: Sup,
    /// The kernel, mapped to watch it.
    pub k: kernel_sim::Kernel,
    /// The supervisor's socket.
    pub socket: PathBuf,
    /// The program.
    pub exe: PathBuf,
    /// The environment that makes a program join the kernel.
    pub env: Vec<(&'static str, String)>,
    /// The temporary directory.
    pub dir: TempDir,
}

impl Rig {
    /// `capi/tests/c/PROGRAM.c` built (C99, linked shared) into a new temporary directory
    /// (`tag`), and a supervisor started there.
    pub fn new(tag: &str, program: &str) -> Rig {
        let dir = TempDir::new(tag);
        let exe = dir.join(&program.replace('_', "-"));
        build(
            &[c_dir().join(format!("{program}.c"))],
            &exe,
            Lang::C99,
            Link::Shared,
        );
        let socket = socket_in(&dir);
        let sup = Sup::start(&socket, &["--stay"]);
        let k = super::watch(&socket);
        let env = env(&socket);
        Rig {
            _sup: sup,
            k,
            socket,
            exe,
            env,
            dir,
        }
    }

    /// The program in a role.
    pub fn start(&self, args: &[&str]) -> Running {
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Running::start(&self.exe, args, &env)
    }

    /// A file the programs wait for, written whole (a rename) with `text`.
    pub fn word(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        let tmp = self.dir.join(&format!("{name}.tmp"));
        std::fs::write(&tmp, text).expect("writing a word");
        std::fs::rename(&tmp, &path).expect("placing a word");
        path
    }

    /// A path in the directory, as the programs take it.
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// The directory, as the programs take it (no trailing `/`).
    pub fn dir_arg(&self) -> String {
        let d = self.dir.join("").display().to_string();
        d.trim_end_matches('/').to_string()
    }

    /// Live objects of every pool (processes, threads, channels, connections, pulses, timers,
    /// names, interrupts).
    pub fn live(&self) -> [u32; 8] {
        let u = self.k.pool_usage();
        [
            u.processes.live,
            u.threads.live,
            u.channels.live,
            u.connections.live,
            u.pulses.live,
            u.timers.live,
            u.names.live,
            u.interrupts.live,
        ]
    }

    /// The pools' use once it has not changed for 200 ms (a program's library starts its
    /// threads as it goes).
    pub fn settled(&self) -> [u32; 8] {
        let mut last = self.live();
        let until = Instant::now() + WITHIN;
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let now = self.live();
            if now == last || Instant::now() > until {
                return now;
            }
            last = now;
        }
    }

    /// Waits until the pools are at `want` and, if `pages` says, that many asyncmsg queue
    /// pages are in use; fails the test (with what pidin-sim shows) after [`WITHIN`].
    pub fn back_to_pages(&self, want: [u32; 8], pages: Option<u32>, what: &str) {
        let until = Instant::now() + WITHIN;
        loop {
            let (now, p) = (self.live(), self.k.async_queue_pages_in_use());
            if now == want && pages.is_none_or(|pages| p == pages) {
                return;
            }
            assert!(
                Instant::now() < until,
                "{what}: the pools [processes, threads, channels, connections, pulses, timers, \
                 names, interrupts] are {now:?} (want {want:?}), queue pages {p} (want \
                 {pages:?})\n{}",
                self.pidin()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// [`Rig::back_to_pages`] without the queue pages.
    pub fn back_to(&self, want: [u32; 8], what: &str) {
        self.back_to_pages(want, None, what);
    }

    /// Waits until the kernel has no process, thread or interrupt attachment of Linux pid
    /// `pid`.
    pub fn reaped(&self, pid: u32) {
        let pid = pid as i32;
        wait_until("the killed program torn down", || {
            let s = self.k.snapshot();
            s.processes.iter().all(|p| p.pid != pid)
                && s.threads.iter().all(|t| t.pid != pid)
                && s.interrupts.iter().all(|i| i.pid != pid)
        });
    }

    /// What `pidin-sim` shows of the kernel (it must succeed).
    pub fn pidin(&self) -> String {
        let out = Command::new(PIDIN)
            .arg("--kernel")
            .arg(&self.socket)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .expect("running pidin-sim");
        assert!(out.status.success(), "pidin-sim failed");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Whether `text` names the number `pid` anywhere (a word of it, punctuation aside).
pub fn mentions(text: &str, pid: u32) -> bool {
    let pid = pid.to_string();
    text.split(|c: char| !c.is_ascii_digit()).any(|w| w == pid)
}
