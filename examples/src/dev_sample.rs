//! `/dev/sample`, a resource manager as QNX programs write them, in a program of its own on a
//! shared kernel (`QNXSIM_KERNEL`, as `echo-server`): it attaches a path with
//! `resmgr_attach`, lets `iofunc_func_init`'s default handlers do what POSIX says (open with
//! its permission checks, lseek, fstat, close), and brings its own read, write, devctl and
//! notify; a thread pool serves it. Clients are other programs that `open("/dev/sample")`,
//! as `dev-sample-client` does.
//!
//! ```text
//! export QNXSIM_KERNEL=demo
//! dev-sample &                 # prints: dev-sample: pid 4211 serving /dev/sample ...
//! dev-sample-client            # open, write, lseek, read, devctl, ionotify, fstat, close
//! ```
//!
//! The device holds bytes, like a small file: a write stores them at the OCB's position and
//! wakes the clients armed for input (`iofunc_notify_trigger`), a read returns them from it.
//! Two device commands of its own, in the `_DCMD_MISC` class: `DCMD_SAMPLE_GET_SIZE`
//! (`__DIOF`: 4 bytes back, the size) and `DCMD_SAMPLE_CLEAR` (`__DION`: empties it). It logs
//! every open, close, write and command on stdout, and ends after `--idle` seconds without a
//! message. Tutorial chapter 6 walks through it.

use clap::Parser;
use examples::{Context, Failure};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use userlib::dispatch::dispatch_create;
use userlib::iofunc::*;
use userlib::iomsg::*;
use userlib::resmgr::*;
use userlib::thread_pool::*;
use userlib::zerocopy::IntoBytes;
use userlib::Errno;

/// `DCMD_SAMPLE_GET_SIZE`: the device's size, 4 bytes from the server (`__DIOF`).
pub const DCMD_SAMPLE_GET_SIZE: i32 = diof(_DCMD_MISC, 1, 4);
/// `DCMD_SAMPLE_CLEAR`: empties the device; no data either way (`__DION`).
pub const DCMD_SAMPLE_CLEAR: i32 = dion(_DCMD_MISC, 2);

#[derive(Parser, Debug)]
#[command(
    name = "dev-sample",
    version,
    about = "/dev/sample: a QNX resource manager in a program of its own on a shared kernel (QNXSIM_KERNEL)"
)]
struct Args {
    /// The path to attach: absolute, at most 127 bytes, with no '..' component.
    #[arg(long, default_value = "/dev/sample", value_parser = device_path)]
    path: String,
    /// Seconds without a message after which the server ends, 1 to 86400.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    idle: u64,
    /// The most threads the pool runs (its hi_water and maximum), 1 to 64.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    threads: u16,
}

fn device_path(s: &str) -> Result<String, String> {
    if !s.starts_with('/') || s.len() > 127 || s.contains('\0') {
        Err("an absolute path of at most 127 bytes".into())
    } else if s.split('/').any(|c| c == "..") {
        // A device's path is where it is: "/dev/../etc" would claim a path outside the
        // directory it names.
        Err("a '..' component is not allowed: give the path the device is at".into())
    } else {
        Ok(s.to_string())
    }
}

/// Our OCB: the POSIX layer's (flags, position) and the pid of the client that opened it,
/// for the log. QNX's `IOFUNC_OCB_T` override: the default handlers work on it through
/// [`IofuncOcbT`].
struct SampleOcb {
    base: IofuncOcb,
    pid: AtomicI32,
}

impl IofuncOcbT for SampleOcb {
    fn iofunc(&self) -> &IofuncOcb {
        &self.base
    }
    fn from_base(base: IofuncOcb, ctp: &ResmgrContext<'_>) -> Self {
        SampleOcb {
            base,
            pid: AtomicI32::new(ctp.info().pid),
        }
    }
}

/// The device: its attribute (mode, size, times, open counts), its bytes, the clients armed
/// for notification, and when it last heard from a client.
struct Sample {
    attr: Arc<IofuncAttr>,
    data: Mutex<Vec<u8>>,
    notify: Mutex<[IofuncNotify; 3]>,
    open: AtomicUsize,
    last: Mutex<Instant>,
}

impl Sample {
    fn touch(&self) {
        *self.last.lock().unwrap() = Instant::now();
    }
}

fn main() {
    examples::programs::quiet_on_broken_pipe();
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("dev-sample: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), Failure> {
    if std::env::var_os(userlib::current::KERNEL_ENV).is_none() {
        eprintln!(
            "dev-sample: {} is not set: this kernel is this program's alone, and no other program can reach it",
            userlib::current::KERNEL_ENV
        );
    }
    let dev = Arc::new(Sample {
        // A character device anyone may read and write (iofunc_attr_init).
        attr: Arc::new(IofuncAttr::new(nix::libc::S_IFCHR | 0o666)),
        data: Mutex::new(Vec::new()),
        notify: Mutex::new(iofunc_notify_init()),
        open: AtomicUsize::new(0),
        last: Mutex::new(Instant::now()),
    });
    let dpp = dispatch_create().context(|| "dispatch_create")?;
    let (connect, io) = sample_funcs(&dev);
    let id = resmgr_attach(
        &dpp,
        None,
        Some(&args.path),
        _FTYPE_ANY,
        0,
        &connect,
        &io,
        Arc::clone(&dev.attr),
    )
    .context(|| format!("resmgr_attach of {}", args.path))?;
    let mut attr = ThreadPoolAttr::new(DispatchPool::new(&dpp));
    let lo = args.threads.min(2);
    (attr.lo_water, attr.hi_water, attr.increment, attr.maximum) =
        (lo, args.threads, 1, args.threads);
    let pool = thread_pool_create(attr, 0).context(|| "thread_pool_create")?;
    thread_pool_start(&pool).context(|| "thread_pool_start")?;
    let pid = userlib::qnx::getpid().context(|| "getpid")?;
    println!(
        "dev-sample: pid {pid} serving {} (a pool of {lo} to {} threads)",
        args.path, args.threads
    );

    // The pool's threads do the work; this one only watches the clock, sleeping in the kernel
    // between looks as a QNX program's delay() does (pidin shows it NANOSLEEP).
    let idle = Duration::from_secs(args.idle);
    while dev.last.lock().unwrap().elapsed() < idle {
        userlib::qnx::delay(100).context(|| "delay")?;
    }
    println!("dev-sample: no message for {} s: ending", args.idle);
    resmgr_detach(&dpp, id, _RESMGR_DETACH_CLOSE).context(|| "resmgr_detach")?;
    thread_pool_destroy(&pool).context(|| "thread_pool_destroy")?;
    Ok(())
}

/// The connect and I/O tables: the defaults, with our own open (the default, then a log
/// line), read, write, devctl, notify and close_ocb.
fn sample_funcs(dev: &Arc<Sample>) -> (ResmgrConnectFuncs<IofuncAttr>, ResmgrIoFuncs<SampleOcb>) {
    let (mut connect, mut io) = iofunc_func_init::<SampleOcb>();

    // open: the default checks the client's access and makes and binds the OCB.
    let d = Arc::clone(dev);
    connect.open = Some(Arc::new(
        move |ctp: &mut ResmgrContext<'_>, msg: &IoOpen, attr: &Arc<IofuncAttr>| {
            d.touch();
            let pid = ctp.info().pid;
            let status = iofunc_open_default::<SampleOcb>(ctp, msg, attr);
            if status != EOK {
                println!("dev-sample: open by pid {pid} refused: {}", Errno(status));
                return status;
            }
            let n = d.open.fetch_add(1, Ordering::SeqCst) + 1;
            println!("dev-sample: pid {pid} opened it ({n} open)");
            EOK
        },
    ));

    // read: up to nbytes from the OCB's position; the reply is the bytes, its status their
    // count (_IO_SET_READ_NBYTES), and the position moves on.
    let d = Arc::clone(dev);
    io.read = Some(Arc::new(
        move |ctp: &mut ResmgrContext<'_>, msg: &IoRead, ocb: &Arc<SampleOcb>| {
            d.touch();
            if let Err(e) = iofunc_read_verify(msg, &ocb.base) {
                return e.0; // EBADF: not opened for reading
            }
            if msg.xtype & _IO_XTYPE_MASK != _IO_XTYPE_NONE {
                return Errno::ENOSYS.0; // no pread here
            }
            let data = d.data.lock().unwrap();
            let mut o = ocb.base.fields();
            let at = (o.offset.max(0) as usize).min(data.len());
            let n = (msg.get_nbytes() as usize).min(data.len() - at);
            o.offset += n as i64;
            d.attr.fields().flags |= IOFUNC_ATTR_ATIME;
            ctp.set_status(n as i64);
            ctp.ptr(&data[at..at + n]) // _RESMGR_NPARTS(1): the bytes are the reply
        },
    ));

    // write: the data follows the 16-byte header in the client's message; resmgr_msgread
    // copies it (all of it, however much of it the receive buffer took).
    let d = Arc::clone(dev);
    io.write = Some(Arc::new(
        move |ctp: &mut ResmgrContext<'_>, msg: &IoWrite, ocb: &Arc<SampleOcb>| {
            d.touch();
            if let Err(e) = iofunc_write_verify(msg, &ocb.base) {
                return e.0; // EBADF: not opened for writing
            }
            if msg.xtype & _IO_XTYPE_MASK != _IO_XTYPE_NONE {
                return Errno::ENOSYS.0; // no pwrite here
            }
            let mut buf = vec![0u8; msg.get_nbytes() as usize];
            let got = match resmgr_msgread(ctp, &mut buf, size_of::<IoWrite>()) {
                Ok(g) => g,
                Err(e) => return e.0,
            };
            let (at, size) = {
                let mut data = d.data.lock().unwrap();
                let mut o = ocb.base.fields();
                let at = o.offset.max(0) as usize;
                if data.len() < at + got {
                    data.resize(at + got, 0);
                }
                data[at..at + got].copy_from_slice(&buf[..got]);
                o.offset += got as i64;
                let mut a = d.attr.fields();
                a.nbytes = data.len() as i64;
                a.flags |= IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME;
                (at, data.len())
            };
            println!(
                "dev-sample: pid {} wrote {got} bytes at offset {at}; the device holds {size}",
                ocb.pid.load(Ordering::Relaxed)
            );
            // Data to read now: wake every client armed for input.
            iofunc_notify_trigger(&mut d.notify.lock().unwrap(), 1, IOFUNC_NOTIFY_INPUT);
            ctp.set_status(got as i64); // _IO_SET_WRITE_NBYTES
            EOK
        },
    ));

    // devctl: the default first (DCMD_ALL_GETFLAGS, SETFLAGS, ...), then our commands; what
    // neither knows is _RESMGR_DEFAULT, which the client's devctl sees as ENOTTY.
    let d = Arc::clone(dev);
    io.devctl = Some(Arc::new(
        move |ctp: &mut ResmgrContext<'_>, msg: &IoDevctl, ocb: &Arc<SampleOcb>| {
            d.touch();
            let status = iofunc_devctl_default(ctp, msg, ocb);
            if status != _RESMGR_DEFAULT {
                return status;
            }
            let pid = ocb.pid.load(Ordering::Relaxed);
            match msg.dcmd {
                DCMD_SAMPLE_GET_SIZE => {
                    let size = d.data.lock().unwrap().len() as i32;
                    println!("dev-sample: pid {pid} asked the size: {size}");
                    // The reply: struct _io_devctl_reply, then the command's data.
                    let mut reply = IoDevctlReply {
                        nbytes: 4,
                        ..IoDevctlReply::default()
                    }
                    .as_bytes()
                    .to_vec();
                    reply.extend_from_slice(&size.to_ne_bytes());
                    ctp.ptr(&reply)
                }
                DCMD_SAMPLE_CLEAR => {
                    d.data.lock().unwrap().clear();
                    let mut a = d.attr.fields();
                    a.nbytes = 0;
                    a.flags |= IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME;
                    println!("dev-sample: pid {pid} cleared the device");
                    EOK
                }
                _ => _RESMGR_DEFAULT,
            }
        },
    ));

    // notify (ionotify, select, poll): which conditions hold now; iofunc_notify answers
    // them and arms the client when none it asked for holds.
    let d = Arc::clone(dev);
    io.notify = Some(Arc::new(
        move |ctp: &mut ResmgrContext<'_>, msg: &IoNotify, ocb: &Arc<SampleOcb>| {
            d.touch();
            let trig = if d.data.lock().unwrap().is_empty() {
                _NOTIFY_COND_OUTPUT
            } else {
                _NOTIFY_COND_INPUT | _NOTIFY_COND_OUTPUT
            };
            let mut armed = false;
            let mut nop = d.notify.lock().unwrap();
            let status = iofunc_notify(ctp, msg, &mut nop, trig, None, Some(&mut armed));
            if armed {
                println!(
                    "dev-sample: pid {} armed for notification",
                    ocb.pid.load(Ordering::Relaxed)
                );
            }
            status
        },
    ));

    // close_ocb: the OCB's last connection went (a close, or the client's process ended and
    // its disconnect pulse came): forget its notifications, then the default un-counts it.
    let d = Arc::clone(dev);
    io.close_ocb = Some(Arc::new(
        move |ctp: &mut ResmgrContext<'_>, ocb: &Arc<SampleOcb>| {
            d.touch();
            iofunc_notify_remove(Some(ctp), &mut d.notify.lock().unwrap());
            let n = d.open.fetch_sub(1, Ordering::SeqCst) - 1;
            println!(
                "dev-sample: an OCB of pid {} closed ({n} open)",
                ocb.pid.load(Ordering::Relaxed)
            );
            iofunc_close_ocb_default(ctp, ocb)
        },
    ));
    (connect, io)
}
