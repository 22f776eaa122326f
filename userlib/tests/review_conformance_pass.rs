//! An outside tester's pass over the QNX reference (`../shared/reference/qnx-api.md`) through
//! `userlib::qnx`, for what the C pass (`capi/tests/c/review_conformance_pass.c`) cannot say
//! from Rust's side: the constants of §1.1 and §1.3 as Rust names them, empty iov parts in
//! every gathered and scattered call (§2.4-§2.7), and ERESTART re-sending a gathered message
//! (§2.6). Every blocking call is bounded by a TimerTimeout.
#![cfg(not(loom))]

mod support;

use support::*;
use userlib::consts::*;
use userlib::qnx::*;
use userlib::Errno;

const SIDE: u32 = _NTO_SIDE_CHANNEL;

fn bound() {
    timer_timeout(
        CLOCK_MONOTONIC,
        _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
        Some(LONG_NS),
    )
    .unwrap();
}

fn bound_recv() {
    timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).unwrap();
}

/// §1.1 and §1.3: the `_NTO_MI_*` bits and the pulse codes, in the types of the fields they
/// are compared with (`MsgInfo::flags` i16, `Pulse::code` i8), newer ones included.
#[test]
fn msg_info_flags_and_pulse_codes_have_the_references_values() {
    let mi: [i16; 9] = [
        _NTO_MI_ENDIAN_BIG,
        _NTO_MI_ENDIAN_DIFF,
        _NTO_MI_UNBLOCK_REQ,
        _NTO_MI_NET_CRED_DIRTY,
        _NTO_MI_CONSTRAINED,
        _NTO_MI_CHROOT,
        _NTO_MI_BITS_64,
        _NTO_MI_BITS_DIFF,
        _NTO_MI_SANDBOX,
    ];
    assert_eq!(
        mi,
        [0x1, 0x2, 0x100, 0x200, 0x400, 0x800, 0x1000, 0x2000, 0x4000]
    );
    let codes: [i8; 11] = [
        _PULSE_CODE_UNBLOCK,
        _PULSE_CODE_DISCONNECT,
        _PULSE_CODE_THREADDEATH,
        _PULSE_CODE_COIDDEATH,
        _PULSE_CODE_NET_ACK,
        _PULSE_CODE_NET_UNBLOCK,
        _PULSE_CODE_NET_DETACH,
        _PULSE_CODE_RESTART,
        _PULSE_CODE_NORESTART,
        _PULSE_CODE_UNBLOCK_RESTART,
        _PULSE_CODE_UNBLOCK_TIMER,
    ];
    assert_eq!(
        codes,
        [-32, -33, -34, -35, -36, -37, -38, -39, -40, -41, -42]
    );
    assert_eq!((_PULSE_CODE_MINAVAIL, _PULSE_CODE_MAXAVAIL), (0, 127));
    assert_eq!(PULSE_SIZE, 24);
}

/// §2.4-§2.7: empty parts anywhere in a gathered send, a scattered receive, a gathered reply,
/// MsgReadv and MsgWritev take nothing and are skipped; the lengths are the sums.
#[test]
fn empty_iov_parts_are_skipped_by_every_gathered_and_scattered_call() {
    let chid = channel_create(0).unwrap();
    let coid = connect_attach(0, 0, chid, SIDE, 0).unwrap();
    let client = std::thread::spawn(move || {
        let (mut r0, mut r1) = ([0u8; 3], [0u8; 5]);
        let mut e0: [u8; 0] = [];
        let mut e1: [u8; 0] = [];
        bound();
        let st = msg_sendv(
            coid,
            &[b"", b"abc", b"", b"defg", b""],
            &mut [&mut e0, &mut r0, &mut e1, &mut r1],
        );
        (st, r0, r1)
    });
    let (mut a, mut b) = ([0u8; 2], [0u8; 10]);
    let mut e: [u8; 0] = [];
    let mut info = MsgInfo::default();
    bound_recv();
    let rcvid = msg_receivev(chid, &mut [&mut a, &mut e, &mut b], Some(&mut info)).unwrap();
    assert!(rcvid > 0);
    assert_eq!(
        (info.msglen, info.srcmsglen, info.dstmsglen),
        (7, 7, 8),
        "lengths summed over the parts"
    );
    assert_eq!((&a, &b[..5]), (b"ab", &b"cdefg"[..]));
    // MsgReadv over an empty part from an offset.
    let (mut x, mut y) = ([0u8; 2], [0u8; 9]);
    let mut ex: [u8; 0] = [];
    assert_eq!(
        msg_readv(rcvid, &mut [&mut ex, &mut x, &mut y], 3),
        Ok(4),
        "MsgReadv from 3: the last 4 bytes"
    );
    assert_eq!((&x, &y[..2]), (b"de", &b"fg"[..]));
    // MsgWritev with empty parts, then a gathered reply with empty parts over it.
    assert_eq!(msg_writev(rcvid, &[b"", b"WXYZ", b""], 4), Ok(4));
    assert_eq!(msg_replyv(rcvid, 12, &[b"", b"12", b"", b"3"]), Ok(()));
    let (st, r0, r1) = client.join().unwrap();
    assert_eq!(st, Ok(12));
    assert_eq!(&r0, b"123", "the reply scattered, skipping the empty part");
    assert_eq!(
        &r1, b"\0WXYZ",
        "MsgWritev's bytes (at 4..8) beyond the reply stay"
    );
    connect_detach(coid).unwrap();
    channel_destroy(chid).unwrap();
}

/// §2.6: MsgError(ERESTART) makes the client re-issue its gathered send, the same bytes; the
/// answer to the second receive ends it. An errno of 0 (EOK) makes the send return 0.
#[test]
fn erestart_resends_a_gathered_message_and_eok_returns_zero() {
    let chid = channel_create(0).unwrap();
    let coid = connect_attach(0, 0, chid, SIDE, 0).unwrap();
    let client = std::thread::spawn(move || {
        let mut r = [0u8; 2];
        bound();
        let first = msg_sendv(coid, &[b"re", b"", b"start"], &mut [&mut r]);
        bound();
        let second = msg_send(coid, b"eok", &mut r);
        (first, r, second)
    });
    let mut buf = [0u8; 16];
    let mut info = MsgInfo::default();
    bound_recv();
    let r1 = msg_receive(chid, &mut buf, Some(&mut info)).unwrap();
    assert_eq!(&buf[..7], b"restart");
    msg_error(r1, Errno::ERESTART).unwrap();
    buf = [0; 16];
    bound_recv();
    let r2 = msg_receive(chid, &mut buf, Some(&mut info)).unwrap();
    assert_eq!(
        (&buf[..7], info.srcmsglen),
        (&b"restart"[..], 7),
        "the same message again"
    );
    assert_eq!(
        msg_reply(r1, 0, b""),
        Err(Errno::ESRCH),
        "the first rcvid is spent"
    );
    msg_reply(r2, 5, b"ok").unwrap();
    bound_recv();
    let r3 = msg_receive(chid, &mut buf, None).unwrap();
    msg_error(r3, Errno::EOK).unwrap();
    let (first, r, second) = client.join().unwrap();
    assert_eq!((first, &r), (Ok(5), b"ok"));
    assert_eq!(second, Ok(0), "MsgError(EOK): MsgSend returns 0");
    connect_detach(coid).unwrap();
    channel_destroy(chid).unwrap();
}
