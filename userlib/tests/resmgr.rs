//! The resource-manager layer in Rust (`userlib::resmgr`, `userlib::iofunc`) as QNX documents
//! it, driven by clients in other processes through `userlib::io` (`open`, `read`, `write`,
//! `lseek`, `fstat`, `devctl`, `ionotify`, `close`): a `/dev/sample`-style device with the
//! default handlers and its own read, write and devctl, every documented error of the
//! defaults, the reply forms, a killed client's OCBs closed, detach, combine messages, a thread
//! pool under many clients.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use support::*;
use userlib::consts::*;
use userlib::dispatch::*;
use userlib::io;
use userlib::iofunc::*;
use userlib::iomsg::*;
use userlib::qnx::*;
use userlib::resmgr::*;
use userlib::thread_pool::*;
use userlib::{Errno, Process};

type Pool = ThreadPool<DispatchPool>;

/// A started pool over `dpp`.
fn start_pool(dpp: &Dispatch, lo: u16, hi: u16, inc: u16, max: u16) -> Pool {
    let mut a = ThreadPoolAttr::new(DispatchPool::new(dpp));
    (a.lo_water, a.hi_water, a.increment, a.maximum) = (lo, hi, inc, max);
    let pool = thread_pool_create(a, 0).unwrap();
    thread_pool_start(&pool).unwrap();
    pool
}

/// The device: its bytes, its attribute, its notification lists, and how many OCBs closed.
struct Sample {
    attr: Arc<IofuncAttr>,
    data: Mutex<Vec<u8>>,
    notify: Mutex<[IofuncNotify; 3]>,
    opened: AtomicUsize,
    closed: AtomicUsize,
}

/// `DCMD_SAMPLE_GET`: the device's size; `DCMD_SAMPLE_SET`: replaces its bytes with 4 given.
const DCMD_SAMPLE_GET: i32 = diof(_DCMD_MISC, 1, 4);
const DCMD_SAMPLE_SET: i32 = diot(_DCMD_MISC, 2, 4);
/// `DCMD_SAMPLE_CLEAR`: empties the device (no data).
const DCMD_SAMPLE_CLEAR: i32 = dion(_DCMD_MISC, 3);

fn sample_funcs(dev: &Arc<Sample>) -> (ResmgrConnectFuncs<IofuncAttr>, ResmgrIoFuncs<IofuncOcb>) {
    let (mut connect, mut io) = iofunc_func_init::<IofuncOcb>();
    let d = Arc::clone(dev);
    let open = connect.open.take().unwrap();
    connect.open = Some(Arc::new(
        move |ctp: &mut ResmgrContext<'_>, msg: &IoOpen, attr: &Arc<IofuncAttr>| {
            let n = open(ctp, msg, attr);
            if n == EOK {
                d.opened.fetch_add(1, Ordering::SeqCst);
            }
            n
        },
    ));
    let d = Arc::clone(dev);
    io.read = Some(Arc::new(
        move |ctp: &mut ResmgrContext<'_>, msg: &IoRead, ocb: &Arc<IofuncOcb>| {
            if let Err(e) = iofunc_read_verify(msg, ocb) {
                return e.0;
            }
            let data = d.data.lock().unwrap();
            let mut o = ocb.fields();
            let at = (o.offset as usize).min(data.len());
            let n = (msg.get_nbytes() as usize).min(data.len() - at);
            o.offset += n as i64;
            ctp.set_status(n as i64);
            ctp.ptr(&data[at..at + n])
        },
    ));
    let d = Arc::clone(dev);
    io.write = Some(Arc::new(
        move |ctp: &mut ResmgrContext<'_>, msg: &IoWrite, ocb: &Arc<IofuncOcb>| {
            if let Err(e) = iofunc_write_verify(msg, ocb) {
                return e.0;
            }
            let n = msg.get_nbytes() as usize;
            let mut buf = vec![0u8; n];
            let got = match resmgr_msgread(ctp, &mut buf, 16) {
                Ok(g) => g,
                Err(e) => return e.0,
            };
            let mut data = d.data.lock().unwrap();
            let mut o = ocb.fields();
            let at = o.offset as usize;
            if data.len() < at + got {
                data.resize(at + got, 0);
            }
            data[at..at + got].copy_from_slice(&buf[..got]);
            o.offset += got as i64;
            d.attr.fields().nbytes = data.len() as i64;
            drop(o);
            drop(data);
            let mut nop = d.notify.lock().unwrap();
            iofunc_notify_trigger(&mut nop, 1, IOFUNC_NOTIFY_INPUT);
            ctp.set_status(got as i64);
            EOK
        },
    ));
    let d = Arc::clone(dev);
    io.devctl = Some(Arc::new(
        move |ctp: &mut ResmgrContext<'_>, msg: &IoDevctl, ocb: &Arc<IofuncOcb>| {
            let st = iofunc_devctl_default(ctp, msg, ocb);
            if st != _RESMGR_DEFAULT {
                return st;
            }
            match msg.dcmd {
                DCMD_SAMPLE_GET => {
                    let n = d.data.lock().unwrap().len() as i32;
                    let mut r = IoDevctlReply {
                        ret_val: 42,
                        nbytes: 4,
                        ..Default::default()
                    }
                    .as_bytes()
                    .to_vec();
                    r.extend_from_slice(&n.to_ne_bytes());
                    ctp.ptr(&r)
                }
                DCMD_SAMPLE_SET => {
                    let Some(b) = ctp.current().get(16..20).map(<[u8]>::to_vec) else {
                        return Errno::EINVAL.0;
                    };
                    *d.data.lock().unwrap() = b;
                    d.attr.fields().nbytes = 4;
                    EOK
                }
                DCMD_SAMPLE_CLEAR => {
                    d.data.lock().unwrap().clear();
                    d.attr.fields().nbytes = 0;
                    EOK
                }
                _ => _RESMGR_DEFAULT,
            }
        },
    ));
    let d = Arc::clone(dev);
    io.notify = Some(Arc::new(
        move |ctp: &mut ResmgrContext<'_>, msg: &IoNotify, _ocb: &Arc<IofuncOcb>| {
            let trig = if d.data.lock().unwrap().is_empty() {
                _NOTIFY_COND_OUTPUT
            } else {
                _NOTIFY_COND_INPUT | _NOTIFY_COND_OUTPUT
            };
            let mut nop = d.notify.lock().unwrap();
            iofunc_notify(ctp, msg, &mut nop, trig, None, None)
        },
    ));
    let d = Arc::clone(dev);
    io.close_ocb = Some(Arc::new(
        move |ctp: &mut ResmgrContext<'_>, ocb: &Arc<IofuncOcb>| {
            d.closed.fetch_add(1, Ordering::SeqCst);
            iofunc_notify_remove(Some(ctp), &mut d.notify.lock().unwrap());
            iofunc_close_ocb_default(ctp, ocb)
        },
    ));
    (connect, io)
}

use zerocopy::IntoBytes;

/// A server process with `/dev/sample` (mode `mode`) served by `threads` threads of a pool.
struct Server {
    _p: Process,
    dev: Arc<Sample>,
    dpp: Dispatch,
    pool: Option<Pool>,
    id: i32,
}

fn server(k: &userlib::Kernel, path: &'static str, mode: u32) -> Server {
    let p = process(k);
    let dev = Arc::new(Sample {
        attr: Arc::new(IofuncAttr::new(libc::S_IFCHR | mode)),
        data: Mutex::new(Vec::new()),
        notify: Mutex::new(iofunc_notify_init()),
        opened: AtomicUsize::new(0),
        closed: AtomicUsize::new(0),
    });
    let d = Arc::clone(&dev);
    let (dpp, id, pool) = run_in(&p, move || {
        let dpp = dispatch_create().unwrap();
        let (connect, io) = sample_funcs(&d);
        let id = resmgr_attach(
            &dpp,
            None,
            Some(path),
            _FTYPE_ANY,
            0,
            &connect,
            &io,
            Arc::clone(&d.attr),
        )
        .unwrap();
        let pool = start_pool(&dpp, 2, 4, 1, 6);
        (dpp, id, pool)
    });
    Server {
        _p: p,
        dev,
        dpp,
        pool: Some(pool),
        id,
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            let _ = run_in(&self._p, move || thread_pool_destroy(&pool));
        }
    }
}

#[test]
fn a_client_opens_writes_reads_seeks_stats_and_closes_a_device() {
    let k = kernel();
    let s = server(&k, "/dev/sample", 0o666);
    let c = process(&k);
    run_in(&c, || {
        let fd = io::open("/dev/sample", libc::O_RDWR, 0).unwrap();
        assert_eq!(io::write(fd, b"hello, world").unwrap(), 12);
        assert_eq!(io::lseek(fd, 0, libc::SEEK_SET).unwrap(), 0);
        let mut buf = [0u8; 5];
        assert_eq!(io::read(fd, &mut buf).unwrap(), 5);
        assert_eq!(&buf, b"hello");
        assert_eq!(io::lseek(fd, 2, libc::SEEK_CUR).unwrap(), 7);
        let mut rest = [0u8; 64];
        let n = io::read(fd, &mut rest).unwrap();
        assert_eq!(&rest[..n], b"world");
        assert_eq!(io::read(fd, &mut rest).unwrap(), 0, "end of file");
        assert_eq!(io::lseek(fd, -5, libc::SEEK_END).unwrap(), 7);
        assert_eq!(
            io::lseek(fd, i64::MAX, libc::SEEK_END),
            Err(Errno::EOVERFLOW)
        );
        let st = io::fstat(fd).unwrap();
        assert_eq!(st.st_size, 12);
        assert_eq!(st.st_mode, libc::S_IFCHR | 0o666);
        assert!(st.st_mtime > 0, "times set by iofunc_time_update");
        io::close(fd).unwrap();
        assert_eq!(io::read(fd, &mut rest), Err(Errno::EBADF), "closed");
        // stat(path): one combine message; the layer opens, answers the stat, closes.
        let st = io::stat("/dev/sample").unwrap();
        assert_eq!((st.st_size, st.st_mode), (12, libc::S_IFCHR | 0o666));
        assert_eq!(io::stat("/dev/sample-none").unwrap_err(), Errno::ENOENT);
    });
    wait_until("close_ocb ran", || s.dev.closed.load(Ordering::SeqCst) == 2);
    assert_eq!(resmgr_counts(&s.dpp), (0, 0));
    assert_eq!(s.dev.attr.fields().count, 0);
}

#[test]
fn the_default_handlers_answer_their_documented_errors() {
    let k = kernel();
    let s = server(&k, "/dev/ro", 0o444);
    let c = process(&k);
    run_in(&c, || {
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            // Root passes every permission check, as on QNX.
            io::close(io::open("/dev/ro", libc::O_WRONLY, 0).unwrap()).unwrap();
        } else {
            assert_eq!(io::open("/dev/ro", libc::O_WRONLY, 0), Err(Errno::EACCES));
        }
        assert_eq!(
            io::open("/dev/ro", libc::O_RDONLY | libc::O_CREAT | libc::O_EXCL, 0),
            Err(Errno::EEXIST)
        );
        assert_eq!(
            io::open("/dev/nothing-here", libc::O_RDONLY, 0),
            Err(Errno::ENOENT)
        );
        let fd = io::open("/dev/ro", libc::O_RDONLY, 0).unwrap();
        assert_eq!(
            io::write(fd, b"x"),
            Err(Errno::EBADF),
            "not opened for writing"
        );
        assert_eq!(io::lseek(fd, 0, 99), Err(Errno::EINVAL));
        assert_eq!(io::lseek(fd, -1, libc::SEEK_SET), Err(Errno::EINVAL));
        let mut flags = [0u8; 4];
        let mut info = -1;
        io::devctl(fd, DCMD_ALL_GETFLAGS, &mut flags, Some(&mut info)).unwrap();
        assert_eq!(i32::from_ne_bytes(flags), libc::O_RDONLY);
        assert_eq!(info, 0);
        let mut nothing = [0u8; 4];
        assert_eq!(
            io::devctl(fd, diof(_DCMD_MISC, 99, 4), &mut nothing, None),
            Err(Errno::ENOTTY),
            "an unknown command: ENOSYS from the layer, ENOTTY to the client"
        );
        let mut size = [0u8; 4];
        let mut ret = 0;
        io::devctl(fd, DCMD_SAMPLE_GET, &mut size, Some(&mut ret)).unwrap();
        assert_eq!((i32::from_ne_bytes(size), ret), (0, 42));
        io::close(fd).unwrap();
        // DCMD_ALL_GETFLAGS: the access mode and the settable flags, not O_CREAT or O_TRUNC.
        let fd = io::open(
            "/dev/ro",
            libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CREAT,
            0,
        )
        .unwrap();
        io::devctl(fd, DCMD_ALL_GETFLAGS, &mut flags, None).unwrap();
        assert_eq!(i32::from_ne_bytes(flags), libc::O_RDONLY | libc::O_NONBLOCK);
        io::close(fd).unwrap();
    });
    // The attribute counts the readers of its open OCBs.
    let dev = Arc::clone(&s.dev);
    run_in(&c, move || {
        let fd = io::open("/dev/ro", libc::O_RDONLY, 0).unwrap();
        assert_eq!(dev.attr.fields().rcount, 1);
        io::close(fd).unwrap();
    });
}

#[test]
fn write_devctl_and_notification_reach_the_device() {
    let k = kernel();
    let s = server(&k, "/dev/sample", 0o666);
    let c = process(&k);
    run_in(&c, || {
        let fd = io::open("/dev/sample", libc::O_RDWR, 0).unwrap();
        let mut v = 0x0102_0304_i32.to_ne_bytes();
        io::devctl(fd, DCMD_SAMPLE_SET, &mut v, None).unwrap();
        let mut four = [0u8; 4];
        assert_eq!(io::read(fd, &mut four).unwrap(), 4);
        assert_eq!(four, 0x0102_0304_i32.to_ne_bytes());
        // Arm for input on an empty device, then write from another client: the pulse comes.
        let chid = channel_create(0).unwrap();
        let me = connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
        io::devctl(fd, DCMD_SAMPLE_CLEAR, &mut [], None).unwrap();
        let ev = userlib::qnx::sigev_pulse_init(me, 10, SI_NOTIFY as i8, 0);
        let met = io::ionotify(fd, _NOTIFY_ACTION_POLLARM, _NOTIFY_COND_INPUT, Some(&ev));
        assert_eq!(met, Ok(0), "nothing to read yet: armed");
        // The same thread goes on with other messages (QNX's pattern: an rcvid stays valid
        // for events), then another client writes: the pulse comes.
        assert_eq!(io::lseek(fd, 0, libc::SEEK_SET).unwrap(), 0);
        let writer = userlib::process::spawn(|| {
            let fd2 = io::open("/dev/sample", libc::O_WRONLY, 0).unwrap();
            io::lseek(fd2, 0, libc::SEEK_END).unwrap();
            io::write(fd2, b"more").unwrap();
            fd2
        })
        .unwrap();
        let fd2 = join(writer);
        let mut p = [0u8; PULSE_SIZE];
        timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).unwrap();
        msg_receive_pulse(chid, &mut p).unwrap();
        let pulse = userlib::Pulse::from_bytes(&p).unwrap();
        assert_eq!(pulse.code, SI_NOTIFY as i8);
        assert_eq!(
            pulse.value as u32 as i32 & _NOTIFY_COND_INPUT,
            _NOTIFY_COND_INPUT
        );
        // Now data is there: a poll answers it at once.
        let met = io::ionotify(fd, _NOTIFY_ACTION_POLL, _NOTIFY_COND_INPUT, None);
        assert_eq!(met, Ok(_NOTIFY_COND_INPUT));
        io::close(fd2).unwrap();
        io::close(fd).unwrap();
    });
    wait_until("both OCBs closed", || {
        s.dev.closed.load(Ordering::SeqCst) == 2
    });
}

#[test]
fn a_killed_client_has_its_ocbs_closed() {
    let k = kernel();
    let s = server(&k, "/dev/sample", 0o666);
    for _ in 0..3 {
        let c = process(&k);
        run_in(&c, || {
            for _ in 0..4 {
                io::open("/dev/sample", libc::O_RDWR, 0).unwrap();
            }
        });
        assert_eq!(resmgr_counts(&s.dpp).0, 4);
        drop(c);
        wait_until("the disconnect closed them", || {
            resmgr_counts(&s.dpp) == (0, 0)
        });
    }
    assert_eq!(s.dev.closed.load(Ordering::SeqCst), 12);
    assert_eq!(s.dev.attr.fields().count, 0);
}

#[test]
fn detach_removes_the_path_and_the_open_bindings() {
    let k = kernel();
    let s = server(&k, "/dev/gone", 0o666);
    let c = process(&k);
    let fd = run_in(&c, || {
        // The client's cache of mountpoints: a path under one may be managed, others not.
        assert!(io::path_may_be_managed(b"/dev/gone"));
        assert!(!io::path_may_be_managed(b"/dev/gone-too"));
        assert!(!io::path_may_be_managed(b"/tmp/x"));
        assert!(
            io::path_may_be_managed(b"/dev/name/x"),
            "names live under /dev/name"
        );
        io::open("/dev/gone", libc::O_RDWR, 0).unwrap()
    });
    let (dpp, id) = (s.dpp.clone(), s.id);
    run_in(&s._p, move || {
        resmgr_detach(&dpp, id, _RESMGR_DETACH_CLOSE).unwrap()
    });
    assert_eq!(
        s.dev.closed.load(Ordering::SeqCst),
        1,
        "the close handlers ran"
    );
    run_in(&c, move || {
        assert!(
            !io::path_may_be_managed(b"/dev/gone"),
            "the cache saw the detach"
        );
        assert_eq!(io::open("/dev/gone", libc::O_RDWR, 0), Err(Errno::ENOENT));
        assert_eq!(io::write(fd, b"x"), Err(Errno::EBADF));
    });
    let (dpp, id) = (s.dpp.clone(), s.id);
    assert_eq!(
        run_in(&s._p, move || resmgr_detach(&dpp, id, 0)),
        Err(Errno::ENOENT)
    );
}

#[test]
fn check_access_follows_the_owner_group_and_other_bits() {
    let attr = IofuncAttr::new(libc::S_IFCHR | 0o640);
    {
        let mut f = attr.fields();
        (f.uid, f.gid) = (1000, 100);
    }
    let who = |euid, egid| ClientInfo { pid: 1, euid, egid };
    assert_eq!(
        iofunc_check_access(&attr, libc::S_IRUSR | libc::S_IWUSR, &who(1000, 1)),
        Ok(())
    );
    assert_eq!(
        iofunc_check_access(&attr, libc::S_IRUSR, &who(2000, 100)),
        Ok(())
    );
    assert_eq!(
        iofunc_check_access(&attr, libc::S_IWUSR, &who(2000, 100)),
        Err(Errno::EACCES),
        "the group may only read"
    );
    assert_eq!(
        iofunc_check_access(&attr, libc::S_IRUSR, &who(2000, 200)),
        Err(Errno::EACCES)
    );
    assert_eq!(
        iofunc_check_access(&attr, libc::S_IWUSR, &who(0, 0)),
        Ok(()),
        "root"
    );
}

#[test]
fn a_program_cannot_open_its_own_path_unless_it_asks_to() {
    let k = kernel();
    let p = process(&k);
    run_in(&p, || {
        let dpp = dispatch_create().unwrap();
        let (connect, io) = iofunc_func_init::<IofuncOcb>();
        let attr = Arc::new(IofuncAttr::new(libc::S_IFCHR | 0o666));
        resmgr_attach(
            &dpp,
            None,
            Some("/dev/own"),
            _FTYPE_ANY,
            0,
            &connect,
            &io,
            Arc::clone(&attr),
        )
        .unwrap();
        assert_eq!(io::open("/dev/own", libc::O_RDONLY, 0), Err(Errno::ENOENT));
        resmgr_attach(
            &dpp,
            None,
            Some("/dev/self"),
            _FTYPE_ANY,
            _RESMGR_FLAG_SELF,
            &connect,
            &io,
            attr,
        )
        .unwrap();
        let pool = start_pool(&dpp, 1, 2, 1, 2);
        let fd = io::open("/dev/self", libc::O_RDONLY, 0).unwrap();
        let mut b = [0u8; 4];
        assert_eq!(
            io::read(fd, &mut b).unwrap(),
            0,
            "the default read: end of file"
        );
        io::close(fd).unwrap();
        thread_pool_destroy(&pool).unwrap();
        assert_eq!(
            resmgr_attach(
                &dpp,
                None,
                Some("/dev/x"),
                _FTYPE_ANY,
                0x8000,
                &connect,
                &io,
                Arc::new(IofuncAttr::new(0))
            ),
            Err(Errno::EINVAL),
            "unknown path flags"
        );
    });
}

#[test]
fn many_clients_through_a_thread_pool_and_some_killed_midway() {
    let k = kernel();
    let s = server(&k, "/dev/sample", 0o666);
    let mut handles = Vec::new();
    let mut procs = Vec::new();
    for i in 0..8 {
        let c = process(&k);
        handles.push(
            c.spawn(move || {
                for j in 0..25 {
                    let fd = io::open("/dev/sample", libc::O_RDWR, 0).unwrap();
                    io::write(fd, format!("{i}:{j};").as_bytes()).unwrap();
                    let mut b = [0u8; 8];
                    io::lseek(fd, 0, libc::SEEK_SET).unwrap();
                    io::read(fd, &mut b).unwrap();
                    if j % 5 != 4 {
                        io::close(fd).unwrap();
                    }
                }
            })
            .unwrap(),
        );
        procs.push(c);
    }
    for h in handles {
        join(h);
    }
    // Each client left 5 open; killing the clients closes them.
    assert_eq!(resmgr_counts(&s.dpp).0, 8 * 5);
    drop(procs);
    wait_until("every OCB closed", || resmgr_counts(&s.dpp) == (0, 0));
    assert_eq!(s.dev.closed.load(Ordering::SeqCst), 8 * 25);
    assert_eq!(s.dev.attr.fields().count, 0);
}

#[test]
fn clients_killed_in_the_middle_of_their_io_leave_nothing_open() {
    let k = kernel();
    let s = server(&k, "/dev/sample", 0o666);
    let mut seed = 0x9e37_79b9_u32;
    let mut rand = move |n: u32| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed % n
    };
    let mut opened = 0;
    for round in 0..6 {
        let procs: Vec<Process> = (0..4).map(|_| process(&k)).collect();
        let counts: Vec<Arc<AtomicUsize>> = (0..4).map(|_| Arc::new(AtomicUsize::new(0))).collect();
        for (p, n) in procs.iter().zip(&counts) {
            for t in 0..2 {
                let n = Arc::clone(n);
                // Loop until the process is killed under it: every call may fail then.
                drop(p.spawn(move || {
                    for j in 0.. {
                        let Ok(fd) = io::open("/dev/sample", libc::O_RDWR, 0) else {
                            return;
                        };
                        n.fetch_add(1, Ordering::SeqCst);
                        let msg = format!("{round}.{t}.{j};");
                        if io::write(fd, msg.as_bytes()).is_err() {
                            return;
                        }
                        let mut b = [0u8; 32];
                        if io::lseek(fd, 0, libc::SEEK_SET).is_err()
                            || io::read(fd, &mut b).is_err()
                        {
                            return;
                        }
                        if j % 3 != 0 && io::close(fd).is_err() {
                            return;
                        }
                    }
                }));
            }
        }
        // Let them run a random while, then kill them all, mid-flight.
        std::thread::sleep(std::time::Duration::from_millis(u64::from(5 + rand(30))));
        drop(procs);
        opened += counts
            .iter()
            .map(|n| n.load(Ordering::SeqCst))
            .sum::<usize>();
        wait_until("the killed clients' OCBs closed", || {
            resmgr_counts(&s.dpp) == (0, 0)
        });
        assert_eq!(s.dev.attr.fields().count, 0, "round {round}");
    }
    assert!(opened > 0, "the clients did open the device");
    // Every OCB opened was closed: the attribute counts none open, and close_ocb ran at least
    // once per open a client saw succeed (an open the server made for a client killed before
    // the reply reached it is closed too, and counted only here).
    let closed = s.dev.closed.load(Ordering::SeqCst);
    assert!(closed >= opened, "{closed} closed, {opened} opened");
    assert_eq!(
        closed,
        s.dev.opened.load(Ordering::SeqCst),
        "each OCB closed once"
    );
}
