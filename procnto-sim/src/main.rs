//! `procnto-sim`: the supervisor of a simulated QNX kernel shared by Linux programs, named
//! after QNX's process manager. It makes the kernel (a memfd), admits programs over a Unix
//! socket (same user only), hands each the kernel, and when a program ends, tears its
//! simulated processes down as QNX does when a process dies. It is not on the message path.
//!
//! ```text
//! procnto-sim [--kernel NAME|PATH] [--daemon] [--stay] [--linger SECS]
//! ```
//!
//! Programs using userlib start it by themselves (`QNXSIM_KERNEL=NAME`); run it by hand to
//! watch its log (`RUST_LOG=debug procnto-sim --stay`).

use clap::Parser;
use kernel_sim::supervisor::{self, Event, Supervisor};
use kernel_sim::Config;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tracing::{error, info, warn};

/// The supervisor of a simulated QNX kernel shared by Linux programs.
#[derive(Parser, Debug)]
#[command(name = "procnto-sim", version)]
struct Args {
    /// The kernel: a name (its socket is NAME.sock in $XDG_RUNTIME_DIR/qnxsim, or
    /// /tmp/qnxsim-UID) or the socket's path. Default: $QNXSIM_KERNEL, else "default".
    #[arg(long, value_name = "NAME|PATH")]
    kernel: Option<String>,
    /// Detach once the socket is ready (what a program starting it asks for): the command
    /// returns 0 when programs can connect, 1 if the kernel cannot be served.
    #[arg(long)]
    daemon: bool,
    /// Keep running when no program is left (until SIGINT, SIGTERM or SIGHUP).
    #[arg(long)]
    stay: bool,
    /// Seconds to wait, once the last program has ended (or, before the first, after
    /// starting), before ending; ignored with --stay.
    #[arg(long, value_name = "SECS", default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    linger: u64,
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: std::ffi::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

fn main() {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let Ok(name) = supervisor::kernel_name(args.kernel.as_deref()) else {
        error!("QNXSIM_KERNEL is not UTF-8: a kernel's name or socket path must be");
        std::process::exit(1);
    };
    let socket = match supervisor::socket_path(&name) {
        Ok(s) => s,
        Err(e) if e.raw() == nix::libc::ENAMETOOLONG => {
            error!(kernel = %name, "no socket for this kernel: its path would be longer than a Unix socket's 107 bytes");
            std::process::exit(1);
        }
        Err(e) => {
            error!(kernel = %name, "no socket for this kernel: {e}");
            std::process::exit(1);
        }
    };
    let mut sup = match Supervisor::bind(&socket, Config::default()) {
        Ok(s) => s,
        Err(e) if e.raw() == nix::libc::EADDRINUSE => {
            error!(socket = %socket.display(), "a supervisor already serves this kernel");
            std::process::exit(1);
        }
        Err(e) if e.raw() == nix::libc::EEXIST => {
            error!(
                socket = %socket.display(),
                "something other than a socket is at this path (left alone): a supervised kernel's \
                 --kernel is a name or a socket's path (a plain kernel file needs no supervisor)"
            );
            std::process::exit(1);
        }
        Err(e) => {
            error!(socket = %socket.display(), "cannot serve the kernel: {e}");
            std::process::exit(1);
        }
    };
    // A socket nobody answered is a supervisor's that ended without removing it (killed): say
    // so, since programs it admitted may still run in its kernel, which no one can join now.
    if sup.replaced_stale() {
        warn!(
            socket = %socket.display(),
            "replaced a socket left by a supervisor that ended without removing it (killed?): \
             programs it admitted, if any still run, stay in its kernel, which this one is not"
        );
    }
    if args.daemon {
        daemonize();
    }
    // SIGHUP too: a foreground supervisor whose terminal closes ends as it does on Ctrl-C,
    // removing its socket, instead of being killed by the default action and leaving it.
    for sig in [
        nix::sys::signal::SIGINT,
        nix::sys::signal::SIGTERM,
        nix::sys::signal::SIGHUP,
    ] {
        let action = nix::sys::signal::SigAction::new(
            nix::sys::signal::SigHandler::Handler(on_signal),
            nix::sys::signal::SaFlags::empty(),
            nix::sys::signal::SigSet::empty(),
        );
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        let _ = unsafe { nix::sys::signal::sigaction(sig, &action) };
    }
    info!(socket = %socket.display(), pid = std::process::id(), "serving the kernel");
    let linger = Duration::from_secs(args.linger);
    let mut idle_since = Instant::now();
    while !STOP.load(Ordering::Relaxed) {
        for ev in sup.step(Duration::from_millis(200)) {
            match ev {
                Event::Admitted { pid } => info!(pid, "admitted"),
                Event::Refused { pid, uid } => warn!(pid, uid, "refused: another user"),
                Event::Reaped { pid, processes } => {
                    info!(pid, processes, "program ended: its processes torn down")
                }
                Event::RecoveredLock { pid, recovery } => warn!(
                    pid,
                    ?recovery,
                    "program died holding the kernel lock: its call undone, the lock released"
                ),
                Event::DiedHoldingLock { pid } => error!(
                    pid,
                    "program died holding the kernel lock in a call too large to undo: the kernel is stuck; restart it"
                ),
            }
        }
        if sup.programs() > 0 {
            idle_since = Instant::now();
        } else if !args.stay && idle_since.elapsed() >= linger {
            info!(admitted_any = sup.admitted_any(), "no program left: ending");
            break;
        }
    }
    if STOP.load(Ordering::Relaxed) {
        info!(programs = sup.programs(), "signalled: ending");
    }
    drop(sup); // Removes the socket; the kernel's memfd goes with the last program.
}

/// Detaches: the parent returns 0 (the socket is bound and listening, so programs can connect
/// at once); the child goes on in a new session with its output discarded.
fn daemonize() {
    use nix::unistd::{fork, setsid, ForkResult};
    // SAFETY: the process is single-threaded here (the log's writer spawns no thread), so the
    // child may do anything after fork.
    match unsafe { fork() } {
        Ok(ForkResult::Parent { .. }) => std::process::exit(0),
        Ok(ForkResult::Child) => {}
        Err(e) => {
            error!("cannot detach: {e}");
            std::process::exit(1);
        }
    }
    let _ = setsid();
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        let _ = nix::unistd::dup2_stdin(&null);
        let _ = nix::unistd::dup2_stdout(&null);
        let _ = nix::unistd::dup2_stderr(&null);
    }
}
