//! `#[repr(C)]` message structs on both layers: sent, received, replied, read and written
//! without an unsafe cast; a short message leaves the rest of the struct zero and the counts
//! say how much came; a longer one is read on at an offset.

mod support;

use support::*;
use userlib::qnx::{self, MsgOrPulse};
use userlib::zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};
use userlib::{Channel, Connection, Errno, MsgInfo, ReceiveId, ReceivedStruct};

const MSG_ADD: u16 = 1;
const MSG_ECHO: u16 = 2;

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Clone, Copy, Debug, PartialEq, Eq)]
#[zerocopy(crate = "userlib::zerocopy")]
#[repr(C)]
struct Header {
    kind: u16,
    subtype: u16,
}

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Clone, Copy, Debug, PartialEq, Eq)]
#[zerocopy(crate = "userlib::zerocopy")]
#[repr(C)]
struct AddRequest {
    hdr: Header,
    a: i32,
    b: i32,
}

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Clone, Copy, Debug, PartialEq, Eq)]
#[zerocopy(crate = "userlib::zerocopy")]
#[repr(C)]
struct AddReply {
    sum: i64,
    carry: u32,
    flags: u32,
}

fn add(a: i32, b: i32) -> AddRequest {
    AddRequest {
        hdr: Header {
            kind: MSG_ADD,
            subtype: 0,
        },
        a,
        b,
    }
}

/// Receives one message into a `T` on `chan` (bounded), failing the test on a pulse.
fn take<T: FromBytes>(chan: &Channel) -> (T, ReceiveId, MsgInfo) {
    match chan.receive_struct_timeout::<T>(LONG).unwrap() {
        ReceivedStruct::Message { msg, rcvid, info } => (msg, rcvid, info),
        ReceivedStruct::Pulse(p) => panic!("unexpected pulse {p:?}"),
    }
}

#[test]
fn a_request_struct_goes_out_and_a_reply_struct_comes_back_on_the_typed_handles() {
    let chan = Channel::create(0).unwrap();
    let chid = chan.chid();
    let client = std::thread::spawn(move || {
        let conn = Connection::attach(0, chid)?;
        conn.send_struct_timeout::<_, AddReply>(&add(40, 2), LONG)
    });
    let (req, rcvid, info) = take::<AddRequest>(&chan);
    assert_eq!(req, add(40, 2));
    assert_eq!(info.msglen as usize, size_of::<AddRequest>());
    let sum = i64::from(req.a) + i64::from(req.b);
    let reply = AddReply {
        sum,
        carry: 0,
        flags: 7,
    };
    rcvid.reply_struct(5, &reply).unwrap();
    assert_eq!(join(client), Ok((5, reply)));
}

#[test]
fn the_qnx_layer_sends_receives_reads_writes_and_replies_structs() {
    let chid = qnx::channel_create(0).unwrap();
    let server = std::thread::spawn(move || -> Result<(), Errno> {
        let mut info = MsgInfo::default();
        qnx::timer_timeout(
            userlib::consts::CLOCK_MONOTONIC,
            userlib::consts::_NTO_TIMEOUT_RECEIVE,
            Some(LONG_NS),
        )?;
        // The header first; the rest once its type is known, as QNX servers do.
        let (rcvid, hdr) = match qnx::msg_receive_struct::<Header>(chid, Some(&mut info))? {
            MsgOrPulse::Msg(rcvid, hdr) => (rcvid, hdr),
            MsgOrPulse::Pulse(p) => panic!("unexpected pulse {p:?}"),
        };
        assert_eq!(hdr.kind, MSG_ADD);
        assert_eq!(info.msglen as usize, size_of::<Header>());
        assert_eq!(info.srcmsglen as usize, size_of::<AddRequest>());
        let (req, n) = qnx::msg_read_struct::<AddRequest>(rcvid, 0)?;
        assert_eq!((req, n), (add(1, 2), size_of::<AddRequest>()));
        // The reply's tail by MsgWrite, its head by MsgReply.
        let tail = [9u32, 10];
        assert_eq!(qnx::msg_write_struct(rcvid, &tail, 8)?, 8);
        qnx::msg_reply_struct(rcvid, 0, &3i64)
    });
    let coid = qnx::connect_attach(0, 0, chid, userlib::consts::_NTO_SIDE_CHANNEL, 0).unwrap();
    qnx::timer_timeout(
        userlib::consts::CLOCK_MONOTONIC,
        userlib::consts::_NTO_TIMEOUT_SEND | userlib::consts::_NTO_TIMEOUT_REPLY,
        Some(LONG_NS),
    )
    .unwrap();
    let (status, reply): (i64, AddReply) = qnx::msg_send_struct(coid, &add(1, 2)).unwrap();
    assert_eq!(status, 0);
    assert_eq!(
        reply,
        AddReply {
            sum: 3,
            carry: 9,
            flags: 10
        }
    );
    join(server).unwrap();
    qnx::connect_detach(coid).unwrap();
    qnx::channel_destroy(chid).unwrap();
}

#[test]
fn a_short_message_fills_the_struct_and_leaves_the_rest_zero() {
    let chan = Channel::create(0).unwrap();
    let chid = chan.chid();
    let hdr = Header {
        kind: MSG_ECHO,
        subtype: 3,
    };
    let client = std::thread::spawn(move || {
        let conn = Connection::attach(0, chid)?;
        // Only the header: 4 of AddRequest's 12 bytes.
        conn.send_struct_timeout::<_, ()>(&hdr, LONG)
    });
    let (req, rcvid, info) = take::<AddRequest>(&chan);
    assert_eq!(req.hdr, hdr);
    assert_eq!((req.a, req.b), (0, 0));
    assert_eq!((info.msglen, info.srcmsglen), (4, 4));
    rcvid.error(Errno::EBADMSG).unwrap();
    assert_eq!(join(client), Err(Errno::EBADMSG));

    // The QNX layer does the same.
    let client = std::thread::spawn(move || {
        let conn = Connection::attach(0, chid)?;
        conn.send_struct_timeout::<_, ()>(&hdr, LONG)
    });
    let mut info = MsgInfo::default();
    qnx::timer_timeout(
        userlib::consts::CLOCK_MONOTONIC,
        userlib::consts::_NTO_TIMEOUT_RECEIVE,
        Some(LONG_NS),
    )
    .unwrap();
    match qnx::msg_receive_struct::<AddRequest>(chid, Some(&mut info)).unwrap() {
        MsgOrPulse::Msg(rcvid, req) => {
            assert_eq!((req.hdr, req.a, req.b), (hdr, 0, 0));
            assert_eq!(info.msglen, 4);
            qnx::msg_error(rcvid, Errno::EBADMSG).unwrap();
        }
        MsgOrPulse::Pulse(p) => panic!("unexpected pulse {p:?}"),
    }
    assert_eq!(join(client), Err(Errno::EBADMSG));
}

#[test]
fn a_short_reply_leaves_the_rest_of_the_reply_struct_zero() {
    let chan = Channel::create(0).unwrap();
    let chid = chan.chid();
    let client = std::thread::spawn(move || {
        let conn = Connection::attach(0, chid)?;
        conn.send_struct_timeout::<_, AddReply>(&add(1, 1), LONG)
    });
    let (_, rcvid, _) = take::<AddRequest>(&chan);
    rcvid.reply_struct(0, &2i64).unwrap(); // 8 of AddReply's 16 bytes
    let (_, reply) = join(client).unwrap();
    assert_eq!(
        reply,
        AddReply {
            sum: 2,
            carry: 0,
            flags: 0
        }
    );
}

#[test]
fn read_struct_past_the_end_of_the_message_says_how_many_bytes_it_got() {
    let chan = Channel::create(0).unwrap();
    let chid = chan.chid();
    let client = std::thread::spawn(move || {
        let conn = Connection::attach(0, chid)?;
        conn.send_struct_timeout::<_, ()>(&add(5, 6), LONG)
    });
    let (hdr, rcvid, info) = take::<Header>(&chan);
    assert_eq!(hdr.kind, MSG_ADD);
    // A longer message: the struct takes its first bytes, the rest is read at an offset.
    assert_eq!((info.msglen, info.srcmsglen), (4, 12));
    let (ab, n) = rcvid.read_struct::<[i32; 2]>(size_of::<Header>()).unwrap();
    assert_eq!((ab, n), ([5, 6], 8));
    // 8 bytes from offset 8: only 4 are there.
    let (ab, n) = rcvid.read_struct::<[i32; 2]>(8).unwrap();
    assert_eq!((ab, n), ([6, 0], 4));
    let (whole, n) = rcvid.read_struct::<AddRequest>(0).unwrap();
    assert_eq!((whole, n), (add(5, 6), 12));
    rcvid.reply_struct(0, &[0u8; 0]).unwrap();
    assert_eq!(join(client), Ok((0, ())));
}

#[test]
fn a_pulse_reaches_a_struct_receive_whose_struct_is_smaller_than_a_pulse() {
    assert!(size_of::<Header>() < userlib::PULSE_SIZE);
    let chan = Channel::create(0).unwrap();
    let conn = Connection::attach(0, chan.chid()).unwrap();
    conn.send_pulse(-1, 5, 55).unwrap();
    match chan.receive_struct_timeout::<Header>(LONG).unwrap() {
        ReceivedStruct::Pulse(p) => assert_eq!((p.code, p.value_int()), (5, 55)),
        ReceivedStruct::Message { info, .. } => panic!("a message from pid {}", info.pid),
    }
    conn.send_pulse(-1, 6, 66).unwrap();
    match qnx::msg_receive_struct::<Header>(chan.chid(), None).unwrap() {
        MsgOrPulse::Pulse(p) => assert_eq!((p.code, p.value_int()), (6, 66)),
        MsgOrPulse::Msg(rcvid, _) => panic!("a message, rcvid {rcvid:#x}"),
    }
}

#[test]
fn write_struct_fills_part_of_the_reply_before_the_answer() {
    let chan = Channel::create(0).unwrap();
    let chid = chan.chid();
    let client = std::thread::spawn(move || {
        let conn = Connection::attach(0, chid)?;
        conn.send_struct_timeout::<_, AddReply>(&add(0, 0), LONG)
    });
    let (_, rcvid, _) = take::<AddRequest>(&chan);
    assert_eq!(rcvid.write_struct(&[1u32, 2], 8), Ok(8));
    // The client's reply buffer is 16 bytes: a write at 12 lands 4 of 8.
    assert_eq!(rcvid.write_struct(&[3u32, 4], 12), Ok(4));
    rcvid.reply_struct(0, &9i64).unwrap();
    let (_, reply) = join(client).unwrap();
    assert_eq!(
        reply,
        AddReply {
            sum: 9,
            carry: 1,
            flags: 3
        }
    );
}
