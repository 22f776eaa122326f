//! The message part of QNX's dispatch layer (`userlib::dispatch`) as QNX documents it: the
//! channel made on the first attach, the attach table (ranges, first match wins, the default
//! handler, ALLOC_PULSE), the context, block and handler with their return values, the
//! timeout, unblock, message_connect, every errno; a server loop serving clients of other
//! processes; and a name server on a dispatch handle that name_open reaches.

mod support;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use support::*;
use userlib::consts::*;
use userlib::dispatch::*;
use userlib::qnx::*;
use userlib::{Errno, Kernel};

/// The flags of channel `chid` of process `pid`.
fn chan_flags(k: &Kernel, pid: i32, chid: i32) -> u32 {
    k.snapshot()
        .channels
        .iter()
        .find(|c| c.pid == pid && c.chid == chid)
        .map(|c| c.flags)
        .expect("the channel")
}

/// Bounds the calling thread's next send.
fn bound_send() {
    timer_timeout(
        CLOCK_MONOTONIC,
        _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
        Some(LONG_NS),
    )
    .unwrap();
}

fn send(coid: i32, msg: &[u8]) -> Result<i64, Errno> {
    bound_send();
    msg_send(coid, msg, &mut [])
}

fn typed(ty: u16) -> [u8; 8] {
    let mut m = [0u8; 8];
    m[..2].copy_from_slice(&ty.to_ne_bytes());
    m
}

/// One bounded block and handler: the handler's result.
fn serve_one(ctp: &mut Context) -> i32 {
    dispatch_timeout(ctp.dispatch(), Some(LONG)).unwrap();
    dispatch_block(ctp).unwrap();
    assert_ne!(ctp.rcvid(), -1, "timed out");
    dispatch_handler(ctp)
}

type Log = Arc<Mutex<Vec<String>>>;

#[test]
fn the_channel_comes_with_the_first_attach_with_qnxs_flags() {
    let k = kernel();
    let p = process(&k);
    let pid = p.pid();
    let kk = k.clone();
    run_in(&p, move || {
        let d = dispatch_create().unwrap();
        assert_eq!(d.chid(), -1);
        assert_eq!(dispatch_context_alloc(&d).err(), Some(Errno::EINVAL));
        assert_eq!(message_connect(&d, 0), Err(Errno::EINVAL));
        assert_eq!(message_attach(&d, None, 0x200, 0x200, |_, _, _| 0), Ok(0));
        assert!(d.chid() > 0);
        assert!(dispatch_context_alloc(&d).is_ok());
        // The process's second dispatch channel has no COID_DISCONNECT (one death channel),
        // so _PULSE_CODE_COIDDEATH cannot be attached to it.
        let d2 = dispatch_create().unwrap();
        assert_eq!(
            pulse_attach(&d2, 0, i32::from(_PULSE_CODE_COIDDEATH), |_, _, _| 0),
            Err(Errno::EBUSY)
        );
        assert_eq!(
            pulse_attach(&d, 0, i32::from(_PULSE_CODE_COIDDEATH), |_, _, _| 0),
            Ok(i32::from(_PULSE_CODE_COIDDEATH))
        );
        let base = _NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT;
        assert_eq!(
            chan_flags(&kk, pid, d.chid()),
            base | _NTO_CHF_COID_DISCONNECT
        );
        assert_eq!(chan_flags(&kk, pid, d2.chid()), base);
    });
}

#[test]
fn dispatch_create_channel_takes_the_callers_channel_and_checks_its_arguments() {
    let k = kernel();
    let p = process(&k);
    run_in(&p, || {
        assert_eq!(dispatch_create_channel(-2, 0).err(), Some(Errno::EINVAL));
        assert_eq!(dispatch_create_channel(0, 0).err(), Some(Errno::EINVAL));
        assert_eq!(dispatch_create_channel(-1, 0x2).err(), Some(Errno::EINVAL));
        assert!(dispatch_create_channel(-1, DISPATCH_FLAG_NOLOCK).is_ok());
        let chid = channel_create(_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT).unwrap();
        let d = dispatch_create_channel(chid, 0).unwrap();
        assert_eq!(d.chid(), chid);
        assert_eq!(message_attach(&d, None, 0x300, 0x3ff, |_, _, _| 0), Ok(0));
        assert_eq!(d.chid(), chid);
        // dispatch_destroy destroys it, as QNX's does; then the handle is dead.
        dispatch_destroy(&d).unwrap();
        assert_eq!(channel_destroy(chid), Err(Errno::EINVAL));
        assert_eq!(dispatch_destroy(&d), Err(Errno::EINVAL));
        assert_eq!(
            message_attach(&d, None, 0x300, 0x3ff, |_, _, _| 0),
            Err(Errno::EINVAL)
        );
        assert_eq!(dispatch_context_alloc(&d).err(), Some(Errno::EINVAL));
        assert_eq!(message_connect(&d, 0), Err(Errno::EINVAL));
        assert_eq!(dispatch_timeout(&d, None), Err(Errno::EINVAL));
        assert_eq!(message_detach(&d, 0x300, 0x3ff, 0), Err(Errno::EINVAL));
    });
}

#[test]
fn attach_and_detach_errors_are_qnxs() {
    let k = kernel();
    let p = process(&k);
    run_in(&p, || {
        let d = dispatch_create().unwrap();
        let attr = |flags| MessageAttr {
            flags,
            ..Default::default()
        };
        let f = |_: &mut Context, _, _| 0;
        // Unknown and internal flags.
        for bad in [0x800, MSG_FLAG_TYPE_SELECT, MSG_FLAG_TYPE_RESMGR] {
            assert_eq!(
                message_attach(&d, Some(&attr(bad)), 0x200, 0x200, f),
                Err(Errno::EINVAL)
            );
        }
        assert_eq!(
            pulse_attach(&d, MSG_FLAG_TYPE_SELECT, 1, f),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            pulse_attach(&d, MSG_FLAG_TYPE_PULSE, 1, f),
            Err(Errno::EINVAL)
        );
        // ALLOC_PULSE on a message range.
        assert_eq!(
            message_attach(&d, Some(&attr(MSG_FLAG_ALLOC_PULSE)), 0x200, 0x200, f),
            Err(Errno::EINVAL)
        );
        // Pulse ranges beyond -128..=127, and ranges upside down.
        let pulses = attr(MSG_FLAG_TYPE_PULSE);
        assert_eq!(
            message_attach(&d, Some(&pulses), -129, 0, f),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            message_attach(&d, Some(&pulses), 0, 128, f),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            message_attach(&d, Some(&pulses), 5, 4, f),
            Err(Errno::EINVAL)
        );
        assert_eq!(pulse_attach(&d, 0, 200, f), Err(Errno::EINVAL));
        assert_eq!(pulse_attach(&d, 0, -129, f), Err(Errno::EINVAL));
        assert_eq!(
            message_attach(&d, None, 0x300, 0x200, f),
            Err(Errno::EINVAL)
        );
        // None of that made the channel.
        assert_eq!(d.chid(), -1);
        // A pulse range returns its low code.
        assert_eq!(message_attach(&d, Some(&pulses), -10, 10, f), Ok(-10));
        assert_eq!(pulse_attach(&d, 0, 20, f), Ok(20));
        // Detach: exactly the range attached, of its kind.
        assert_eq!(
            message_detach(&d, -10, 9, MSG_FLAG_TYPE_PULSE),
            Err(Errno::EINVAL)
        );
        assert_eq!(message_detach(&d, -10, 10, 0), Err(Errno::EINVAL));
        assert_eq!(message_detach(&d, -10, 10, MSG_FLAG_TYPE_PULSE), Ok(()));
        assert_eq!(pulse_detach(&d, 20, 0), Ok(()));
        assert_eq!(pulse_detach(&d, 20, 0), Err(Errno::EINVAL));
        // Once a context is allocated, an attach may not need a bigger one.
        let ctp = dispatch_context_alloc(&d).unwrap();
        assert_eq!(ctp.msg_max_size(), MSG_MAX_SIZE_MIN);
        let big = MessageAttr {
            msg_max_size: 4096,
            ..Default::default()
        };
        assert_eq!(
            message_attach(&d, Some(&big), 0x400, 0x400, f),
            Err(Errno::EINVAL)
        );
        let more_parts = MessageAttr {
            nparts_max: 4,
            ..Default::default()
        };
        assert_eq!(
            message_attach(&d, Some(&more_parts), 0x400, 0x400, f),
            Err(Errno::EINVAL)
        );
        let small = MessageAttr {
            msg_max_size: 16,
            ..Default::default()
        };
        assert_eq!(message_attach(&d, Some(&small), 0x400, 0x400, f), Ok(0));
        assert_eq!(message_detach(&d, 0x400, 0x400, 0), Ok(()));
        // Before the first context, an attach may grow them.
        let d2 = dispatch_create().unwrap();
        assert_eq!(message_attach(&d2, Some(&big), 0x400, 0x400, f), Ok(0));
        assert_eq!(dispatch_context_alloc(&d2).unwrap().msg_max_size(), 4096);
        assert_eq!(message_connect(&d, 0x1), Err(Errno::EINVAL));
    });
}

#[test]
fn alloc_pulse_takes_the_lowest_free_code_and_eagain_when_none_is_left() {
    let k = kernel();
    let p = process(&k);
    run_in(&p, || {
        let d = dispatch_create().unwrap();
        let f = |_: &mut Context, _, _| 0;
        assert_eq!(pulse_attach(&d, 0, 0, f), Ok(0));
        assert_eq!(pulse_attach(&d, MSG_FLAG_ALLOC_PULSE, 99, f), Ok(1));
        assert_eq!(pulse_attach(&d, MSG_FLAG_ALLOC_PULSE, 0, f), Ok(2));
        pulse_detach(&d, 1, 0).unwrap();
        assert_eq!(pulse_attach(&d, MSG_FLAG_ALLOC_PULSE, 0, f), Ok(1));
        // A range covers its codes; negative (kernel) codes are not allocated.
        let pulses = MessageAttr {
            flags: MSG_FLAG_TYPE_PULSE,
            ..Default::default()
        };
        assert_eq!(message_attach(&d, Some(&pulses), 3, 126, f), Ok(3));
        assert_eq!(pulse_attach(&d, MSG_FLAG_ALLOC_PULSE, 0, f), Ok(127));
        assert_eq!(
            pulse_attach(&d, MSG_FLAG_ALLOC_PULSE, 0, f),
            Err(Errno::EAGAIN)
        );
    });
}

#[test]
fn handler_matches_in_attach_order_and_returns_the_handlers_value() {
    let k = kernel();
    let (p, q) = (process(&k), process(&k));
    let log: Log = Arc::default();
    let (tx, rx) = mpsc::channel();
    let server_log = log.clone();
    let server = p
        .spawn(move || {
            let d = dispatch_create().unwrap();
            let l = server_log.clone();
            message_attach(&d, None, 0x200, 0x2ff, move |ctp, code, flags| {
                l.lock().unwrap().push(format!("wide {code:#x} {flags}"));
                assert_eq!(ctp.msg_type(), Some(code as u16));
                assert!(ctp.info().pid > 0 && ctp.info().msglen == 8);
                ctp.reply(1, &[]).unwrap();
                11
            })
            .unwrap();
            let l = server_log.clone();
            // Overlaps the first: never called for 0x250..=0x260.
            message_attach(&d, None, 0x250, 0x260, move |ctp, code, _| {
                l.lock().unwrap().push(format!("narrow {code:#x}"));
                ctp.reply(2, &[]).unwrap();
                22
            })
            .unwrap();
            let l = server_log.clone();
            let pulses = MessageAttr {
                flags: MSG_FLAG_TYPE_PULSE,
                ..Default::default()
            };
            message_attach(&d, Some(&pulses), 5, 6, move |ctp, code, flags| {
                let pulse = ctp.pulse().unwrap();
                assert_eq!(ctp.rcvid(), 0);
                l.lock()
                    .unwrap()
                    .push(format!("pulse {code} {} {flags}", pulse.value_int()));
                44
            })
            .unwrap();
            let l = server_log.clone();
            let def = MessageAttr {
                flags: MSG_FLAG_DEFAULT_FUNC,
                ..Default::default()
            };
            message_attach(&d, Some(&def), 0, 0, move |ctp, code, _| {
                l.lock()
                    .unwrap()
                    .push(format!("default {code:#x} rcvid>0 {}", ctp.rcvid() > 0));
                if ctp.rcvid() > 0 {
                    ctp.error(Errno::EPERM).unwrap();
                }
                33
            })
            .unwrap();
            let mut ctp = dispatch_context_alloc(&d).unwrap();
            tx.send(d.chid()).unwrap();
            (0..7).map(|_| serve_one(&mut ctp)).collect::<Vec<_>>()
        })
        .unwrap();
    let chid = rx.recv_timeout(DEADLINE).unwrap();
    let pid = p.pid();
    let sent = run_in(&q, move || {
        let coid = connect_attach(0, pid, chid, 0, 0).unwrap();
        let r = vec![
            send(coid, &typed(0x255)),
            send(coid, &typed(0x200)),
            send(coid, &typed(0x700)),
            send(coid, &[1]),
        ];
        msg_send_pulse(coid, -1, 6, 77).unwrap();
        msg_send_pulse(coid, -1, 9, 78).unwrap();
        let last = send(coid, &typed(0x2ff));
        (r, last)
    });
    assert_eq!(
        sent,
        (
            vec![Ok(1), Ok(1), Err(Errno::EPERM), Err(Errno::EINVAL)],
            Ok(1)
        )
    );
    assert_eq!(join(server), vec![11, 11, 33, -1, 44, 33, 11]);
    assert_eq!(
        *log.lock().unwrap(),
        vec![
            "wide 0x255 0",
            "wide 0x200 0",
            "default 0x700 rcvid>0 true",
            "pulse 6 77 0",
            "default 0x9 rcvid>0 false",
            "wide 0x2ff 0",
        ]
    );
}

#[test]
fn with_no_default_an_unmatched_message_is_enosys_and_an_unmatched_pulse_dropped() {
    let k = kernel();
    let (p, q) = (process(&k), process(&k));
    let (tx, rx) = mpsc::channel();
    let server = p
        .spawn(move || {
            let d = dispatch_create().unwrap();
            message_attach(&d, None, 0x200, 0x200, |ctp, _, _| {
                ctp.reply(0, &[]).unwrap();
                0
            })
            .unwrap();
            let mut ctp = dispatch_context_alloc(&d).unwrap();
            tx.send(d.chid()).unwrap();
            (0..4).map(|_| serve_one(&mut ctp)).collect::<Vec<_>>()
        })
        .unwrap();
    let chid = rx.recv_timeout(DEADLINE).unwrap();
    let pid = p.pid();
    let sent = run_in(&q, move || {
        let coid = connect_attach(0, pid, chid, 0, 0).unwrap();
        let a = send(coid, &typed(0x201));
        msg_send_pulse(coid, -1, 3, 0).unwrap();
        let b = send(coid, &[]);
        let c = send(coid, &typed(0x200));
        [a, b, c]
    });
    assert_eq!(sent, [Err(Errno::ENOSYS), Err(Errno::EINVAL), Ok(0)]);
    assert_eq!(join(server), vec![-1, -1, -1, 0]);
}

#[test]
fn dispatch_timeout_and_timer_timeout_end_a_block_with_rcvid_minus_one() {
    let k = kernel();
    let p = process(&k);
    run_in(&p, || {
        let d = dispatch_create().unwrap();
        pulse_attach(&d, 0, 1, |_, _, _| 0).unwrap();
        let mut ctp = dispatch_context_alloc(&d).unwrap();
        dispatch_timeout(&d, Some(SHORT)).unwrap();
        let t = Instant::now();
        dispatch_block(&mut ctp).unwrap();
        assert!(t.elapsed() >= SHORT / 2);
        assert_eq!(ctp.rcvid(), -1);
        assert_eq!(dispatch_handler(&mut ctp), -1);
        // It applies to every block, until removed.
        dispatch_block(&mut ctp).unwrap();
        assert_eq!(ctp.rcvid(), -1);
        dispatch_timeout(&d, None).unwrap();
        // A TimerTimeout armed before the block bounds it too.
        timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(20_000_000)).unwrap();
        dispatch_block(&mut ctp).unwrap();
        assert_eq!(ctp.rcvid(), -1);
        assert_eq!(dispatch_handler(&mut ctp), -1);
    });
}

#[test]
fn dispatch_unblock_wakes_a_blocked_thread_with_an_unblock_pulse() {
    let k = kernel();
    let p = process(&k);
    let pid = p.pid();
    let (tx, rx) = mpsc::channel();
    let server = p
        .spawn(move || {
            let d = dispatch_create().unwrap();
            message_attach(&d, None, 0x200, 0x200, |_, _, _| 0).unwrap();
            let mut ctp = dispatch_context_alloc(&d).unwrap();
            tx.send((d.clone(), gettid().unwrap())).unwrap();
            dispatch_block(&mut ctp).unwrap();
            let pulse = ctp.pulse().expect("a pulse");
            let dropped = dispatch_handler(&mut ctp);
            // With a handler for the code, it is called.
            pulse_attach(&d, 0, i32::from(_PULSE_CODE_UNBLOCK), |ctp, code, _| {
                assert_eq!(ctp.pulse().unwrap().value_int(), 0);
                code
            })
            .unwrap();
            dispatch_unblock(&ctp).unwrap();
            dispatch_timeout(&d, Some(LONG)).unwrap();
            dispatch_block(&mut ctp).unwrap();
            (
                pulse.code,
                pulse.value_int(),
                dropped,
                dispatch_handler(&mut ctp),
            )
        })
        .unwrap();
    let (d, tid) = rx.recv_timeout(DEADLINE).unwrap();
    wait_receive_blocked(&k, pid, tid, d.chid());
    run_in(&p, move || {
        let ctp = dispatch_context_alloc(&d).unwrap();
        dispatch_unblock(&ctp).unwrap();
    });
    assert_eq!(
        join(server),
        (_PULSE_CODE_UNBLOCK, 0, -1, i32::from(_PULSE_CODE_UNBLOCK))
    );
}

#[test]
fn message_connect_gives_a_coid_for_self_pulses_and_timer_pulses() {
    let k = kernel();
    let p = process(&k);
    run_in(&p, || {
        let d = dispatch_create().unwrap();
        let got: Arc<Mutex<Vec<(i32, i32)>>> = Arc::default();
        let g = got.clone();
        let code = pulse_attach(&d, MSG_FLAG_ALLOC_PULSE, 0, move |ctp, code, _| {
            g.lock()
                .unwrap()
                .push((code, ctp.pulse().unwrap().value_int()));
            code + 100
        })
        .unwrap();
        assert_eq!(code, 0);
        let mut ctp = dispatch_context_alloc(&d).unwrap();
        let coid = message_connect(&d, 0).unwrap();
        assert_eq!(coid as u32 & _NTO_SIDE_CHANNEL, 0);
        let side = message_connect(&d, MSG_FLAG_SIDE_CHANNEL).unwrap();
        assert_ne!(side as u32 & _NTO_SIDE_CHANNEL, 0);
        msg_send_pulse(side, -1, code as i8, 5).unwrap();
        assert_eq!(serve_one(&mut ctp), 100);
        // A timer's SIGEV_PULSE through the coid.
        let ev = sigev_pulse_init(coid, -1, code as i8, 6);
        let timer = timer_create(CLOCK_MONOTONIC, Some(&ev)).unwrap();
        timer_settime(timer, 0, 10_000_000, 0).unwrap();
        assert_eq!(serve_one(&mut ctp), 100);
        assert_eq!(*got.lock().unwrap(), vec![(0, 5), (0, 6)]);
        timer_destroy(timer).unwrap();
        connect_detach(coid).unwrap();
        connect_detach(side).unwrap();
    });
}

#[test]
fn destroying_the_handle_ends_blocked_contexts_and_clients() {
    let k = kernel();
    let (p, q) = (process(&k), process(&k));
    let pid = p.pid();
    let (tx, rx) = mpsc::channel();
    let server = p
        .spawn(move || {
            let d = dispatch_create().unwrap();
            message_attach(&d, None, 0x200, 0x200, |_, _, _| 0).unwrap();
            let mut ctp = dispatch_context_alloc(&d).unwrap();
            tx.send((d.clone(), gettid().unwrap())).unwrap();
            let first = dispatch_block(&mut ctp);
            let second = dispatch_block(&mut ctp);
            (first, second)
        })
        .unwrap();
    let (d, tid) = rx.recv_timeout(DEADLINE).unwrap();
    let chid = d.chid();
    wait_receive_blocked(&k, pid, tid, chid);
    let coid = run_in(&q, move || connect_attach(0, pid, chid, 0, 0).unwrap());
    run_in(&p, move || dispatch_destroy(&d).unwrap());
    assert_eq!(join(server), (Err(Errno::ESRCH), Err(Errno::EINVAL)));
    assert_eq!(
        run_in(&q, move || send(coid, &typed(0x200))),
        Err(Errno::EBADF)
    );
}

#[test]
fn a_server_loop_serves_clients_of_other_processes() {
    let k = kernel();
    let server_p = process(&k);
    let clients: Vec<_> = (0..3).map(|_| process(&k)).collect();
    let (tx, rx) = mpsc::channel();
    const EACH: i32 = 5;
    let server = server_p
        .spawn(move || {
            let d = dispatch_create().unwrap();
            // Message 0x300 + n: reply n * 2; pulse 7: count.
            message_attach(&d, None, 0x300, 0x3ff, |ctp, code, _| {
                let n = i64::from(code - 0x300);
                let value = i32::from_ne_bytes(ctp.msg()[4..8].try_into().unwrap());
                ctp.reply(n * 2 + i64::from(value), &[]).unwrap();
                0
            })
            .unwrap();
            let pulses = Arc::new(Mutex::new(0));
            let count = pulses.clone();
            pulse_attach(&d, 0, 7, move |_, _, _| {
                *count.lock().unwrap() += 1;
                0
            })
            .unwrap();
            let mut ctp = dispatch_context_alloc(&d).unwrap();
            tx.send(d.chid()).unwrap();
            let mut handled = 0;
            while handled < 3 * EACH * 2 {
                assert_eq!(serve_one(&mut ctp), 0);
                handled += 1;
            }
            let n = *pulses.lock().unwrap();
            n
        })
        .unwrap();
    let chid = rx.recv_timeout(DEADLINE).unwrap();
    let pid = server_p.pid();
    let hs: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(i, c)| {
            c.spawn(move || {
                let coid = connect_attach(0, pid, chid, 0, 0).unwrap();
                (0..EACH)
                    .map(|j| {
                        let mut m = typed(0x300 + j as u16);
                        m[4..8].copy_from_slice(&(i as i32).to_ne_bytes());
                        msg_send_pulse(coid, -1, 7, 0).unwrap();
                        send(coid, &m).unwrap()
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap()
        })
        .collect();
    for (i, h) in hs.into_iter().enumerate() {
        let want: Vec<i64> = (0..EACH).map(|j| i64::from(j * 2) + i as i64).collect();
        assert_eq!(join(h), want);
    }
    assert_eq!(join(server), 3 * EACH);
}

#[test]
fn name_open_reaches_a_dispatch_name_server_which_answers_the_connect_itself() {
    let k = kernel();
    let (p, q) = (process(&k), process(&k));
    let (tx, rx) = mpsc::channel();
    let server = p
        .spawn(move || {
            let d = dispatch_create().unwrap();
            let a = name_attach_dispatch(&d, "dsp/echo", 0).unwrap();
            assert_eq!(a.chid, d.chid());
            message_attach(&d, None, 0x200, 0x2ff, |ctp, _, _| {
                let n = ctp.msg().len();
                ctp.reply(n as i64, ctp.msg()).unwrap();
                5
            })
            .unwrap();
            let mut ctp = dispatch_context_alloc(&d).unwrap();
            tx.send(()).unwrap();
            // The connect (EOK by the layer: 0), the echo (5), the disconnect (0).
            let r: Vec<i32> = (0..3).map(|_| serve_one(&mut ctp)).collect();
            // A handler for _IO_CONNECT takes it over: this one refuses.
            message_attach(
                &d,
                None,
                i32::from(_IO_CONNECT),
                i32::from(_IO_CONNECT),
                |ctp, _, _| {
                    ctp.error(Errno::EACCES).unwrap();
                    9
                },
            )
            .unwrap();
            tx.send(()).unwrap();
            let refused = serve_one(&mut ctp);
            let disconnect = serve_one(&mut ctp);
            name_detach(&a, 0).unwrap();
            (r, refused, disconnect)
        })
        .unwrap();
    rx.recv_timeout(DEADLINE).unwrap();
    let echoed = run_in(&q, || {
        bound_send();
        let coid = name_open("dsp/echo", 0).unwrap();
        let mut m = typed(0x222);
        m[2..].copy_from_slice(b"echo!!");
        let mut reply = [0u8; 8];
        bound_send();
        let status = msg_send(coid, &m, &mut reply).unwrap();
        name_close(coid).unwrap();
        (status, reply == m)
    });
    assert_eq!(echoed, (8, true));
    rx.recv_timeout(DEADLINE).unwrap();
    let refused = run_in(&q, || {
        bound_send();
        name_open("dsp/echo", 0)
    });
    assert_eq!(refused, Err(Errno::EACCES));
    assert_eq!(join(server), (vec![0, 5, 0], 9, 0));
    assert_eq!(run_in(&q, || name_open("dsp/echo", 0)), Err(Errno::ENOENT));
    // The disconnect pulses were answered: no server connection is left.
    wait_until("the connections to go", || {
        k.snapshot().connections.iter().all(|c| c.pid != q.pid())
    });
}

#[test]
fn name_attach_dispatch_checks_its_arguments_and_counts_as_an_attach() {
    let k = kernel();
    let p = process(&k);
    run_in(&p, || {
        let d = dispatch_create().unwrap();
        assert_eq!(name_attach_dispatch(&d, "", 0), Err(Errno::EINVAL));
        assert_eq!(name_attach_dispatch(&d, "x", 0x4), Err(Errno::EINVAL));
        let a = name_attach_dispatch(&d, "dsp/one", NAME_FLAG_ATTACH_GLOBAL).unwrap();
        let b = name_attach_dispatch(&d, "dsp/two", 0).unwrap();
        assert_eq!((a.chid, b.chid), (d.chid(), d.chid()));
        assert_eq!(name_attach_dispatch(&d, "dsp/two", 0), Err(Errno::EEXIST));
        assert!(dispatch_context_alloc(&d).is_ok());
        name_detach(&b, NAME_FLAG_DETACH_SAVEDPP).unwrap();
        name_detach(&a, NAME_FLAG_DETACH_SAVEDPP).unwrap();
        dispatch_destroy(&d).unwrap();
        assert_eq!(name_attach_dispatch(&d, "dsp/three", 0), Err(Errno::EINVAL));
    });
}

#[test]
fn a_dropped_handle_destroys_its_channel() {
    let k = kernel();
    let p = process(&k);
    let pid = p.pid();
    let chid = run_in(&p, || {
        let d = dispatch_create().unwrap();
        pulse_attach(&d, 0, 1, |_, _, _| 0).unwrap();
        let ctp = dispatch_context_alloc(&d).unwrap();
        let chid = d.chid();
        drop(d);
        assert_eq!(ctp.dispatch().chid(), chid, "the context keeps it");
        dispatch_context_free(ctp);
        chid
    });
    assert!(!k
        .snapshot()
        .channels
        .iter()
        .any(|c| c.pid == pid && c.chid == chid));
}
