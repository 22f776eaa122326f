//! Conformance cases written from outside (second round), from the reference
//! (`/work/shared/reference/qnx-api.md`, sections 1 and 2) and docs/deviations.md: the edges
//! the other conf_* files leave out. Gather/scatter over many parts (empty ones included),
//! MsgRead/MsgWrite across part boundaries, the `_msg_info` fields in less common setups,
//! MsgReceivePulse against queued messages, server boost with several clients and through a
//! chain of servers, unblock pulses of several held clients, death and disconnect pulses in
//! corner cases, and immediate (NULL ntime) polls of every blocking call. Each test's comment
//! cites the section it checks. Every blocking call is bounded with TimerTimeout, or released
//! by a guard if the test fails.

mod support;

use std::thread;
use std::time::Duration;
use support::*;

const SIDE: u32 = _NTO_SIDE_CHANNEL;

/// (base, current) priority of a thread, from the kernel's thread info.
fn prio_of(k: &Kernel, pid: i32, tid: i32) -> (i16, i16) {
    let i = k.thread_info(pid, tid).unwrap();
    (i.base_priority, i.priority)
}

/// `n` bytes that differ from their neighbours and from 0 and 0xEE.
fn pat(n: usize, salt: u8) -> Vec<u8> {
    (0..n)
        .map(|i| ((i * 7 + usize::from(salt)) % 200) as u8 + 1)
        .collect()
}

/// Splits `data` into consecutive slices of the given lengths.
fn split<'a>(data: &'a [u8], lens: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut at = 0;
    for &l in lens {
        out.push(&data[at..at + l]);
        at += l;
    }
    assert_eq!(at, data.len());
    out
}

/// Buffers of the given lengths, filled with 0xEE (so untouched bytes show).
fn bufs(lens: &[usize]) -> Vec<Vec<u8>> {
    lens.iter().map(|&l| vec![0xEEu8; l]).collect()
}

/// Concatenation of buffers.
fn cat(b: &[Vec<u8>]) -> Vec<u8> {
    b.iter().flatten().copied().collect()
}

/// Receives on `chid` (bounded) through scattered parts.
fn receivev(
    t: &ThreadCtx,
    chid: i32,
    parts: &mut [Vec<u8>],
    info: Option<&mut MsgInfo>,
) -> KResult<RcvId> {
    let mut v: Vec<&mut [u8]> = parts.iter_mut().map(|b| &mut b[..]).collect();
    arm(t, _NTO_TIMEOUT_RECEIVE, Some(LONG));
    t.msg_receivev(chid, &mut v, info)
}

/// MsgSendPulse's scoid for `coid` as the server sees it: sends a pulse and receives it.
fn scoid_via_pulse(client: &ThreadCtx, coid: i32, server: &ThreadCtx, chid: i32) -> i32 {
    client.msg_send_pulse(coid, 10, 99, 0).unwrap();
    let p = receive_pulse(server, chid);
    assert_eq!(p.code, 99);
    p.scoid
}

// ------------------------------------------------------------------ gather / scatter

/// Ref. 1.5 / 2.4 / 2.5: MsgSendv gathers all its parts in order, empty parts included, and
/// MsgReceivev scatters the message over its parts whatever their boundaries; `msglen` is the
/// bytes copied and `srcmsglen` the total sent (1.1); bytes beyond `msglen` in the receive
/// buffer are not written. MsgReplyv gathers likewise into the client's reply parts (2.6,
/// `dstmsglen` = total of the client's reply parts), leaving the rest of them as they were.
#[test]
fn sendv_of_many_parts_with_empty_ones_scatters_across_every_receive_part_boundary() {
    let w = world(0);
    let msg = pat(32, 3);
    let send_lens = [0, 1, 0, 7, 3, 0, 0, 13, 2, 0, 5, 1];
    let reply = pat(15, 77);
    let rlens = [0, 2, 0, 3, 0, 20];
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &w.k, w.cli, 10, |t| {
            let parts = split(&msg, &send_lens);
            let mut r = bufs(&rlens);
            let mut rv: Vec<&mut [u8]> = r.iter_mut().map(|b| &mut b[..]).collect();
            arm(t, SEND_REPLY, Some(LONG));
            let st = t.msg_sendv(w.coid, &parts, &mut rv);
            (st, r)
        });
        let mut parts = bufs(&[5, 0, 9, 0, 1, 30]);
        let mut info = MsgInfo::default();
        let rcvid = receivev(&w.server, w.chid, &mut parts, Some(&mut info)).unwrap();
        assert!(rcvid > 0);
        assert_eq!((info.msglen, info.srcmsglen, info.dstmsglen), (32, 32, 25));
        let got = cat(&parts);
        assert_eq!(&got[..32], &msg[..]);
        assert!(got[32..].iter().all(|&b| b == 0xEE), "tail not written");
        w.server
            .msg_replyv(rcvid, 4, &split(&reply, &[0, 0, 4, 0, 11, 0]))
            .unwrap();
        let (st, r) = h.join();
        assert_eq!(st, Ok(4));
        let got = cat(&r);
        assert_eq!(&got[..15], &reply[..]);
        assert!(
            got[15..].iter().all(|&b| b == 0xEE),
            "reply tail not written"
        );
    });
    w.detach_and_finish();
}

/// Ref. 2.5 / 2.7 / checklist 3: a MsgReceivev whose parts hold less than the message takes
/// what fits (`msglen` 7, `srcmsglen` 40); MsgReadv from offset 7 fetches the rest across the
/// client's send-part boundaries (empty parts among them) into scattered server parts, with a
/// short count at the end of the message; a read from the last byte gets 1. MsgRead does not
/// consume: reading the same range twice gives the same bytes.
#[test]
fn truncated_receivev_then_msg_readv_fetches_the_rest_across_part_boundaries() {
    let w = world(0);
    let msg = pat(40, 11);
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &w.k, w.cli, 10, |t| {
            let parts = split(&msg, &[3, 0, 10, 0, 0, 27]);
            arm(t, SEND_REPLY, Some(LONG));
            t.msg_sendv(w.coid, &parts, &mut [])
        });
        let mut parts = bufs(&[3, 4]);
        let mut info = MsgInfo::default();
        let rcvid = receivev(&w.server, w.chid, &mut parts, Some(&mut info)).unwrap();
        assert_eq!((info.msglen, info.srcmsglen, info.dstmsglen), (7, 40, 0));
        assert_eq!(cat(&parts), &msg[..7]);

        let mut rest = bufs(&[0, 10, 0, 50]);
        {
            let mut v: Vec<&mut [u8]> = rest.iter_mut().map(|b| &mut b[..]).collect();
            assert_eq!(w.server.msg_readv(rcvid, &mut v, 7), Ok(33));
        }
        let got = cat(&rest);
        assert_eq!(&got[..33], &msg[7..]);
        assert!(got[33..].iter().all(|&b| b == 0xEE));

        let (mut a, mut b) = ([0u8; 1], [0u8; 1]);
        assert_eq!(w.server.msg_readv(rcvid, &mut [&mut a, &mut b], 39), Ok(1));
        assert_eq!((a[0], b[0]), (msg[39], 0));

        let (mut x, mut y) = ([0u8; 8], [0u8; 8]);
        assert_eq!(w.server.msg_read(rcvid, &mut x, 2), Ok(8));
        assert_eq!(w.server.msg_read(rcvid, &mut y, 2), Ok(8));
        assert_eq!((&x[..], &y[..]), (&msg[2..10], &msg[2..10]));
        w.server.msg_reply(rcvid, 0, b"").unwrap();
        assert_eq!(h.join(), Ok(0));
    });
    w.detach_and_finish();
}

/// Ref. 2.7: MsgWritev copies into the client's reply parts at an offset "without unblocking
/// it", across the client's part boundaries, and returns the bytes written (0 at the end of the
/// buffer); a later write over the same place replaces it. The later MsgReply (2.6) copies its
/// own bytes from offset 0 and leaves what MsgWrite put beyond them.
#[test]
fn msg_writev_spans_the_clients_reply_parts_and_a_shorter_reply_keeps_the_rest() {
    let w = world(0);
    thread::scope(|s| {
        let (h, tid) = spawn_scoped(s, &w.k, w.cli, 10, |t| {
            let mut r = bufs(&[2, 0, 3, 5]);
            let mut rv: Vec<&mut [u8]> = r.iter_mut().map(|b| &mut b[..]).collect();
            arm(t, SEND_REPLY, Some(LONG));
            let st = t.msg_sendv(w.coid, &[b"q"], &mut rv);
            (st, r)
        });
        let (rcvid, info) = w.take();
        assert_eq!(info.dstmsglen, 10);
        assert_eq!(
            w.server.msg_writev(rcvid, &[b"ABCD", b"", b"EFG"], 2),
            Ok(7)
        );
        assert_eq!(w.server.msg_writev(rcvid, &[b"Z", b"overflow"], 9), Ok(1));
        assert_eq!(w.server.msg_write(rcvid, b"Q", 10), Ok(0));
        assert_eq!(w.server.msg_write(rcvid, b"ab", 2), Ok(2));
        assert!(matches!(
            w.k.thread_info(w.cli.pid, tid).unwrap().state,
            ThreadState::Reply { .. }
        ));
        w.server.msg_reply(rcvid, 3, b"xy").unwrap();
        let (st, r) = h.join();
        assert_eq!(st, Ok(3));
        assert_eq!(cat(&r), b"xyabCDEFGZ");
        assert_eq!(
            (&r[0][..], &r[2][..], &r[3][..]),
            (&b"xy"[..], &b"abC"[..], &b"DEFGZ"[..])
        );
    });
    w.detach_and_finish();
}

/// Ref. 2.4 / 2.6: reply bytes = min(reply length, client's reply buffer). A client that gave
/// no reply parts at all (`dstmsglen` 0) gets the status of a reply that carries data, and
/// nothing is copied; MsgWrite to it writes 0 bytes (2.7).
#[test]
fn a_client_with_no_reply_parts_gets_the_status_of_a_reply_with_data() {
    let w = world(0);
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &w.k, w.cli, 10, |t| {
            arm(t, SEND_REPLY, Some(LONG));
            t.msg_sendv(w.coid, &[b"h", b"", b"i"], &mut [])
        });
        let mut buf = [0u8; 8];
        let mut info = MsgInfo::default();
        let rcvid = w.receive_or_release(&mut buf, Some(&mut info));
        assert_eq!((info.msglen, info.srcmsglen, info.dstmsglen), (2, 2, 0));
        assert_eq!(&buf[..2], b"hi");
        assert_eq!(w.server.msg_write(rcvid, b"abc", 0), Ok(0));
        w.server
            .msg_reply(rcvid, 77, b"lots of reply data")
            .unwrap();
        assert_eq!(h.join(), Ok(77));
    });
    w.detach_and_finish();
}

/// Ref. 2.4: "long ones are copied directly address-space to address-space": a message of
/// 210,000 bytes in three parts arrives whole, and a 150,000-byte reply in two parts lands in
/// the client's two reply parts of other sizes; the lengths in the info are the totals.
#[test]
fn a_large_multi_part_message_and_reply_arrive_whole() {
    let w = world(0);
    let msg = pat(210_000, 5);
    let reply = pat(150_000, 9);
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &w.k, w.cli, 10, |t| {
            let parts = split(&msg, &[70_000, 70_000, 70_000]);
            let mut r = bufs(&[60_000, 120_000]);
            let mut rv: Vec<&mut [u8]> = r.iter_mut().map(|b| &mut b[..]).collect();
            arm(t, SEND_REPLY, Some(LONG));
            let st = t.msg_sendv(w.coid, &parts, &mut rv);
            (st, r)
        });
        let mut buf = vec![0u8; 256 * 1024];
        let mut info = MsgInfo::default();
        let rcvid = w.receive_or_release(&mut buf, Some(&mut info));
        assert_eq!(
            (info.msglen, info.srcmsglen, info.dstmsglen),
            (210_000, 210_000, 180_000)
        );
        assert!(buf[..210_000] == msg[..], "message arrived whole");
        w.server
            .msg_replyv(rcvid, 1, &split(&reply, &[100_000, 50_000]))
            .unwrap();
        let (st, r) = h.join();
        assert_eq!(st, Ok(1));
        let got = cat(&r);
        assert!(got[..150_000] == reply[..], "reply arrived whole");
        assert!(got[150_000..].iter().all(|&b| b == 0xEE));
    });
    w.detach_and_finish();
}

/// Ref. 1.3 / 2.5: a pulse needs `sizeof(struct _pulse)` bytes of receive buffer; MsgReceivev
/// counts its parts together: three parts of 8 bytes hold the 24-byte pulse (rcvid 0, the pulse
/// scattered over them), while parts summing to one byte less fail with EFAULT and the pulse is
/// lost.
#[test]
fn receivev_counts_all_parts_for_the_pulse_size() {
    let o = one();
    assert_eq!(PULSE_SIZE, 24);
    o.t.msg_send_pulse(o.coid, 10, 5, -77).unwrap();
    let mut parts = bufs(&[8, 8, 8]);
    assert_eq!(receivev(&o.t, o.chid, &mut parts, None), Ok(0));
    let p = Pulse::from_bytes(&cat(&parts)).unwrap();
    assert_eq!((p.type_, p.subtype, p.code, p.value_int()), (0, 0, 5, -77));

    o.t.msg_send_pulse(o.coid, 10, 6, 1).unwrap();
    let mut parts = bufs(&[8, 8, 7]);
    assert_eq!(receivev(&o.t, o.chid, &mut parts, None), Err(Errno::EFAULT));
    assert_nothing_queued(&o.t, o.chid);
    o.finish();
}

/// Ref. 2.5: "If the client's buffers fault while being copied, the client gets EFAULT and the
/// receiver silently keeps waiting" (deviations.md, "Faults": a null base with a length is the
/// fault here). The RECEIVE-blocked server stays blocked and takes the next pulse.
#[test]
fn a_client_fault_leaves_the_receive_blocked_server_waiting() {
    let w = world(0);
    thread::scope(|s| {
        let (h, tid) = spawn_scoped(s, &w.k, w.srv, 10, |t| {
            let mut buf = [0u8; 64];
            let r = receive(t, w.chid, &mut buf, None);
            (r, Pulse::from_bytes(&buf).map(|p| p.code))
        });
        wait_receive_blocked(&w.k, w.srv.pid, tid);
        let null = Iov { base: 0, len: 4 };
        let mut r = [0u8; 4];
        arm(&w.client, SEND_REPLY, Some(LONG));
        // SAFETY: the kernel refuses the null base before touching any buffer; `r` is ours.
        let st = unsafe {
            w.client
                .msg_sendv_raw(w.coid, &[null], &[Iov::from_mut_slice(&mut r)])
        };
        assert_eq!(st, Err(Errno::EFAULT));
        thread::sleep(Duration::from_millis(20));
        assert!(matches!(
            w.k.thread_info(w.srv.pid, tid).unwrap().state,
            ThreadState::Receive { .. }
        ));
        w.client.msg_send_pulse(w.coid, 10, 8, 0).unwrap();
        assert_eq!(h.join(), (Ok(0), Some(8)));
    });
    w.detach_and_finish();
}

// ------------------------------------------------------------------ _msg_info

/// Ref. 1.1 / 1.8 and deviations.md ("ChannelCreate": `_NTO_CHF_SENDER_LEN` / `_REPLY_LEN` are
/// accepted): on a channel with both flags a truncated receive reports `msglen` (copied, 4),
/// `srcmsglen` (sent, 10) and `dstmsglen` (the client's reply buffer, 6).
#[test]
fn sender_len_and_reply_len_channels_report_the_full_lengths_of_a_truncated_message() {
    let w = world(_NTO_CHF_SENDER_LEN | _NTO_CHF_REPLY_LEN);
    let c = w.client_sending::<6>(10, b"0123456789");
    let mut buf = [0u8; 4];
    let mut info = MsgInfo::default();
    let rcvid = w.receive_or_release(&mut buf, Some(&mut info));
    assert_eq!((info.msglen, info.srcmsglen, info.dstmsglen), (4, 10, 6));
    assert_eq!(&buf, b"0123");
    w.server.msg_reply(rcvid, 0, b"abcdefgh").unwrap();
    assert_eq!(c.join(), (Ok(0), *b"abcdef"));
    w.finish();
}

/// Ref. 1.1 / 2.3 (`pid` 0 = self): a message between two threads of one process carries that
/// process's pid, the sending thread's tid, the coid it used, and a side-channel scoid equal
/// to the one its pulses carry (1.3).
#[test]
fn a_message_within_one_process_names_that_process_and_the_sending_thread() {
    let o = one();
    let scoid = scoid_via_pulse(&o.t, o.coid, &o.t, o.chid);
    thread::scope(|s| {
        let coid = o.coid;
        let (h, tid) = spawn_scoped(s, &o.k, o.p, 17, move |t| {
            let mut r = [0u8; 2];
            (send(t, coid, b"self", &mut r), r)
        });
        let mut buf = [0u8; 8];
        let mut info = MsgInfo::default();
        let rcvid = receive(&o.t, o.chid, &mut buf, Some(&mut info)).unwrap();
        assert_eq!(
            (
                info.pid,
                info.tid,
                info.coid,
                info.scoid,
                info.chid,
                info.priority
            ),
            (o.p.pid, tid, o.coid, scoid, o.chid, 17)
        );
        assert_eq!(info.scoid as u32 & SIDE, SIDE);
        o.t.msg_reply(rcvid, 2, b"ok").unwrap();
        assert_eq!(h.join(), (Ok(2), *b"ok"));
    });
    o.finish();
}

/// Ref. 1.1 (`priority` = client thread priority) / 1.8 (`_NTO_CHF_FIXED_PRIORITY`: the
/// receiver does not inherit): on a fixed-priority channel the info still reports the client's
/// priority, while the receiver keeps its own.
#[test]
fn fixed_priority_channel_still_reports_the_clients_priority_in_the_info() {
    let w = world(_NTO_CHF_FIXED_PRIORITY);
    let c = w.sender(33, LONG);
    let (rcvid, info) = w.take();
    assert_eq!(info.priority, 33);
    assert_eq!(w.server.priority(), Ok((10, 10)));
    assert_eq!(w.server.msg_info(rcvid).unwrap().priority, 33);
    w.server.msg_reply(rcvid, 0, b"").unwrap();
    assert_eq!(c.join().0, Ok(0));
    w.finish();
}

// ------------------------------------------------------------------ MsgReply / MsgRead / MsgWrite

/// Ref. 2.1 ("a successful return is the status passed by the server to MsgReply") and
/// deviations.md ("MsgReply with a negative status is passed through": `Ok(status)`): statuses
/// -1, -5, 2^40 and i64::MAX come back to the client unchanged.
#[test]
fn negative_and_wide_reply_statuses_pass_through() {
    let w = world(0);
    for st in [-1i64, -5, 1 << 40, i64::MAX] {
        let c = w.sender(10, LONG);
        let (rcvid, _) = w.take();
        w.server.msg_reply(rcvid, st, b"").unwrap();
        assert_eq!(c.join().0, Ok(st), "status {st}");
    }
    w.finish();
}

/// Ref. 2.7: MsgRead/MsgWrite/MsgInfo need a REPLY-blocked client ("ESRCH otherwise"); 2.10: a
/// REPLY-blocked client on a channel without `_NTO_CHF_UNBLOCK` that times out "unblocks
/// immediately". After that every server call on its rcvid is ESRCH.
#[test]
fn read_write_info_and_error_on_the_rcvid_of_a_client_that_timed_out_are_esrch() {
    let w = world(0);
    let c = w.replier(10, SHORT);
    let (rcvid, _) = w.take();
    assert_eq!(c.join().0, Err(Errno::ETIMEDOUT));
    let mut b = [0u8; 4];
    assert_eq!(w.server.msg_read(rcvid, &mut b, 0), Err(Errno::ESRCH));
    assert_eq!(w.server.msg_write(rcvid, b"x", 0), Err(Errno::ESRCH));
    assert_eq!(w.server.msg_info(rcvid), Err(Errno::ESRCH));
    assert_eq!(w.server.msg_error(rcvid, Errno::EOK), Err(Errno::ESRCH));
    w.round_trip();
    w.finish();
}

/// Ref. 2.6 ("any server thread may reply") and 2.7: the rcvid belongs to the server process,
/// not to the thread that received it: another thread of the server reads, writes, gets the
/// info of and replies to a message the first thread received.
#[test]
fn another_server_thread_may_read_write_info_and_reply_on_an_rcvid() {
    let w = world(0);
    let other = w.k.thread_attach(w.srv, 10).unwrap();
    let c = w.client_sending::<6>(10, b"abcdefgh");
    let mut buf = [0u8; 2];
    let mut info = MsgInfo::default();
    let rcvid = w.receive_or_release(&mut buf, Some(&mut info));
    let mut rest = [0u8; 6];
    assert_eq!(other.msg_read(rcvid, &mut rest, 2), Ok(6));
    assert_eq!(&rest, b"cdefgh");
    assert_eq!(other.msg_info(rcvid), Ok(info));
    assert_eq!(other.msg_write(rcvid, b"WXYZ", 2), Ok(4));
    other.msg_reply(rcvid, 6, b"12").unwrap();
    assert_eq!(c.join(), (Ok(6), *b"12WXYZ"));
    assert_eq!(w.server.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    drop(other);
    w.finish();
}

/// Ref. 2.10 / 2.7: a client held after asking to unblock (`_NTO_MI_UNBLOCK_REQ` set) is still
/// REPLY-blocked, so MsgRead and MsgWrite still work on it, and the reply that answers the
/// request delivers the written bytes and the reply's own.
#[test]
fn a_held_client_can_still_be_read_and_written_before_the_answer() {
    let w = world(_NTO_CHF_UNBLOCK);
    let g = ReleaseOnPanic {
        owner: &w.server,
        chid: w.chid,
    };
    let c = w.client_sending::<8>(10, b"request!");
    let mut buf = [0u8; 3];
    let rcvid = w.receive_or_release(&mut buf, None);
    // Ask to unblock on the client's behalf: SIGEV_UNBLOCK is a timeout (2.13).
    w.server
        .msg_deliver_event(rcvid, &SigEvent::unblock())
        .unwrap();
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!((p.code, p.value_long()), (_PULSE_CODE_UNBLOCK, rcvid));
    let info = w.server.msg_info(rcvid).unwrap();
    assert_eq!(info.flags & _NTO_MI_UNBLOCK_REQ, _NTO_MI_UNBLOCK_REQ);
    let mut b = [0u8; 5];
    assert_eq!(w.server.msg_read(rcvid, &mut b, 3), Ok(5));
    assert_eq!(&b, b"uest!");
    assert_eq!(w.server.msg_write(rcvid, b"tail", 4), Ok(4));
    w.server.msg_reply(rcvid, 1, b"head").unwrap();
    assert_eq!(c.join(), (Ok(1), *b"headtail"));
    drop(g);
    w.finish();
}

// ------------------------------------------------------------------ pulses

/// Ref. 2.5: `MsgReceivePulse` "skips messages and returns only pulses"; pulses and messages
/// share one priority-ordered queue. With messages of priority 30 and 10 and pulses of 40, 20
/// and 5 queued, MsgReceivePulse takes the pulses highest first (the receiver taking each
/// pulse's priority, 2.11), an immediate MsgReceivePulse then times out (2.13), and MsgReceive
/// gets the two messages, 30 before 10.
#[test]
fn msg_receive_pulse_drains_pulses_by_priority_past_queued_messages() {
    let w = world(0);
    let hi = w.sender(30, LONG).once_send_blocked(&w.k);
    let lo = w.sender(10, LONG).once_send_blocked(&w.k);
    for (prio, code) in [(20, 2), (40, 4), (5, 1)] {
        w.client
            .msg_send_pulse(w.coid, prio, code, code.into())
            .unwrap();
    }
    for (code, prio) in [(4, 40), (2, 20), (1, 5)] {
        let mut buf = [0u8; 32];
        arm(&w.server, _NTO_TIMEOUT_RECEIVE, Some(LONG));
        w.server.msg_receive_pulse(w.chid, &mut buf).unwrap();
        let p = Pulse::from_bytes(&buf).unwrap();
        assert_eq!((p.code, p.value_int()), (code, i32::from(code)));
        assert_eq!(w.server.priority(), Ok((10, prio)));
    }
    let mut buf = [0u8; 32];
    arm(&w.server, _NTO_TIMEOUT_RECEIVE, None);
    assert_eq!(
        w.server.msg_receive_pulse(w.chid, &mut buf),
        Err(Errno::ETIMEDOUT)
    );
    let (r1, i1) = w.take();
    assert_eq!(i1.priority, 30);
    w.server.msg_reply(r1, 30, b"").unwrap();
    let (r2, i2) = w.take();
    assert_eq!(i2.priority, 10);
    w.server.msg_reply(r2, 10, b"").unwrap();
    assert_eq!(hi.join().0, Ok(30));
    assert_eq!(lo.join().0, Ok(10));
    w.finish();
}

/// Ref. 2.5: a pulse-only receiver blocks even with a message queued (it skips messages), and a
/// pulse sent then goes straight to it (2.8: "Delivered directly if a receiver is waiting");
/// the message is still queued for MsgReceive.
#[test]
fn msg_receive_pulse_blocks_past_a_queued_message_and_takes_the_next_pulse() {
    let w = world(0);
    let c = w.sender(10, LONG).once_send_blocked(&w.k);
    thread::scope(|s| {
        let (h, tid) = spawn_scoped(s, &w.k, w.srv, 10, |t| {
            let mut buf = [0u8; 32];
            arm(t, _NTO_TIMEOUT_RECEIVE, Some(LONG));
            let r = t.msg_receive_pulse(w.chid, &mut buf);
            (r, Pulse::from_bytes(&buf).unwrap().value_int())
        });
        wait_receive_blocked(&w.k, w.srv.pid, tid);
        w.client.msg_send_pulse(w.coid, 10, 3, 333).unwrap();
        assert_eq!(h.join(), (Ok(()), 333));
    });
    assert!(matches!(
        w.k.thread_info(w.cli.pid, c.tid).unwrap().state,
        ThreadState::Send { .. }
    ));
    let (rcvid, _) = w.take();
    w.server.msg_reply(rcvid, 0, b"").unwrap();
    assert_eq!(c.join().0, Ok(0));
    w.finish();
}

/// Ref. 1.3: the kernel writes the pulse's `code` (8-bit signed, users 0..127) and
/// `value.sival_int` (32 bits) as sent: codes 0 and 127 and values i32::MIN, -1 and i32::MAX
/// arrive unchanged, in the order sent (2.5: FIFO within a priority).
#[test]
fn pulse_codes_and_values_at_their_extremes_arrive_unchanged() {
    let o = one();
    let sent = [(0i8, i32::MIN), (127, -1), (0, i32::MAX), (127, 0)];
    for (code, value) in sent {
        o.t.msg_send_pulse(o.coid, 10, code, value).unwrap();
    }
    for (code, value) in sent {
        let p = receive_pulse(&o.t, o.chid);
        assert_eq!((p.code, p.value_int()), (code, value));
    }
    o.finish();
}

// ------------------------------------------------------------------ priority

/// Ref. 2.11: while the server is busy, a queued client boosts the server thread to its
/// priority; later clients of lower priority do not lower it. Messages are then received in
/// priority order and each receive sets the receiver to that client's priority (so it comes
/// down from the boost: 40, then 25, then 15).
#[test]
fn server_boost_follows_the_highest_queued_client_and_each_receive_takes_its_clients_priority() {
    let w = world(0);
    let stid = w.server.tid();
    let first = w.sender(10, LONG);
    let (r0, _) = w.take();
    assert_eq!(prio_of(&w.k, w.srv.pid, stid), (10, 10));
    let c15 = w.sender(15, LONG).once_send_blocked(&w.k);
    assert_eq!(prio_of(&w.k, w.srv.pid, stid), (10, 15));
    let c40 = w.sender(40, LONG).once_send_blocked(&w.k);
    assert_eq!(prio_of(&w.k, w.srv.pid, stid), (10, 40));
    let c25 = w.sender(25, LONG).once_send_blocked(&w.k);
    assert_eq!(prio_of(&w.k, w.srv.pid, stid), (10, 40));
    w.server.msg_reply(r0, 0, b"").unwrap();
    assert_eq!(first.join().0, Ok(0));
    for want in [40, 25, 15] {
        let (rcvid, info) = w.take();
        assert_eq!(info.priority, want);
        assert_eq!(w.server.priority(), Ok((10, want as u8)));
        w.server.msg_reply(rcvid, want.into(), b"").unwrap();
    }
    assert_eq!(c40.join().0, Ok(40));
    assert_eq!(c25.join().0, Ok(25));
    assert_eq!(c15.join().0, Ok(15));
    w.finish();
}

/// Ref. 2.11: "all threads of the server process whose last receive was on that channel are
/// boosted": with two server threads each busy with a message, a priority-50 client queueing
/// boosts both.
#[test]
fn every_busy_server_thread_that_last_received_on_the_channel_is_boosted() {
    let w = world(0);
    let second = w.k.thread_attach(w.srv, 12).unwrap();
    let a = w.sender(10, LONG).once_send_blocked(&w.k);
    let b = w.sender(10, LONG).once_send_blocked(&w.k);
    let (ra, _) = w.take();
    let mut buf = [0u8; 8];
    let rb = receive(&second, w.chid, &mut buf, None).unwrap();
    assert!(rb > 0);
    assert_eq!(prio_of(&w.k, w.srv.pid, second.tid()), (12, 10));
    let c = w.sender(50, LONG).once_send_blocked(&w.k);
    assert_eq!(prio_of(&w.k, w.srv.pid, w.server.tid()), (10, 50));
    assert_eq!(prio_of(&w.k, w.srv.pid, second.tid()), (12, 50));
    w.server.msg_reply(ra, 0, b"").unwrap();
    second.msg_reply(rb, 0, b"").unwrap();
    let (rc, info) = w.take();
    assert_eq!(info.priority, 50);
    w.server.msg_reply(rc, 0, b"").unwrap();
    for h in [a, b, c] {
        assert_eq!(h.join().0, Ok(0));
    }
    drop(second);
    w.finish();
}

/// Ref. 2.11, through a chain of servers A → B → C: B's thread inherits A's priority 50 on
/// receive; when it then sends to C, busy with another client, it queues at 50 and so boosts
/// C's thread to 50 (the boost is the queued client's priority, inherited or not), and C
/// receives B's message at 50.
#[test]
fn an_inherited_priority_boosts_the_next_server_in_a_chain() {
    let k = kernel();
    let start = live(&k);
    let pa = k.process_create().unwrap();
    let pb = k.process_create().unwrap();
    let pc = k.process_create().unwrap();
    let c = k.thread_attach(pc, 10).unwrap();
    let cchid = c.channel_create(0).unwrap();
    let bmain = k.thread_attach(pb, 10).unwrap();
    let bchid = bmain.channel_create(0).unwrap();
    let bcoid = bmain.connect_attach(0, pc.pid, cchid, SIDE, 0).unwrap();
    let acoid = k
        .thread_attach(pa, 10)
        .unwrap()
        .connect_attach(0, pb.pid, bchid, SIDE, 0)
        .unwrap();
    let xcoid = k
        .thread_attach(pa, 10)
        .unwrap()
        .connect_attach(0, pc.pid, cchid, SIDE, 0)
        .unwrap();
    thread::scope(|s| {
        // X keeps C busy.
        let (x, _) = spawn_scoped(s, &k, pa, 10, |t| {
            let mut r = [0u8; 0];
            send(t, xcoid, b"x", &mut r)
        });
        let mut buf = [0u8; 8];
        let rx = receive(&c, cchid, &mut buf, None).unwrap();
        // B: receive A's message, then call C.
        let (b, btid) = spawn_scoped(s, &k, pb, 10, |t| {
            let mut buf = [0u8; 8];
            let ra = receive(t, bchid, &mut buf, None).unwrap();
            let mut r = [0u8; 0];
            let st = send(t, bcoid, b"nested", &mut r);
            t.msg_reply(ra, 0, b"").unwrap();
            st
        });
        let (a, _) = spawn_scoped(s, &k, pa, 50, |t| {
            let mut r = [0u8; 0];
            send(t, acoid, b"a", &mut r)
        });
        wait_send_blocked(&k, pb.pid, btid);
        assert_eq!(prio_of(&k, pb.pid, btid), (10, 50));
        assert_eq!(prio_of(&k, pc.pid, c.tid()), (10, 50));
        c.msg_reply(rx, 0, b"").unwrap();
        let mut info = MsgInfo::default();
        let rb = receive(&c, cchid, &mut buf, Some(&mut info)).unwrap();
        assert_eq!((info.priority, &buf[..6]), (50, &b"nested"[..]));
        c.msg_reply(rb, 0, b"").unwrap();
        assert_eq!(x.join(), Ok(0));
        assert_eq!(b.join(), Ok(0));
        assert_eq!(a.join(), Ok(0));
    });
    drop((c, bmain));
    teardown(&k, &[pa, pb, pc], start);
}

// ------------------------------------------------------------------ connections

/// Ref. 1.9 / 2.3 and deviations.md ("ConnectAttach: only `_NTO_COF_CLOEXEC` and
/// `_NTO_COF_NOSHARE` are accepted"): both together make a side-channel connection of its own
/// (a scoid other than the shared one's) that carries messages; the info names that coid and
/// scoid.
#[test]
fn cloexec_and_noshare_together_make_a_working_connection_of_its_own() {
    let w = world(0);
    let shared = scoid_via_pulse(&w.client, w.coid, &w.server, w.chid);
    let coid2 = w
        .client
        .connect_attach(
            0,
            w.srv.pid,
            w.chid,
            SIDE,
            _NTO_COF_CLOEXEC | _NTO_COF_NOSHARE,
        )
        .unwrap();
    assert_eq!(coid2 as u32 & SIDE, SIDE);
    assert_ne!(coid2, w.coid);
    let own = scoid_via_pulse(&w.client, coid2, &w.server, w.chid);
    assert_ne!(own, shared);
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &w.k, w.cli, 10, |t| {
            let mut r = [0u8; 2];
            (send(t, coid2, b"hi", &mut r), r)
        });
        let mut buf = [0u8; 4];
        let mut info = MsgInfo::default();
        let rcvid = receive(&w.server, w.chid, &mut buf, Some(&mut info)).unwrap();
        assert_eq!((info.coid, info.scoid), (coid2, own));
        w.server.msg_reply(rcvid, 1, b"yo").unwrap();
        assert_eq!(h.join(), (Ok(1), *b"yo"));
    });
    w.client.connect_detach(coid2).unwrap();
    w.detach_and_finish();
}

/// Ref. 2.3: when the last link goes, the server connection stays allocated (for
/// `_NTO_CHF_DISCONNECT`) until the server's `ConnectDetach(scoid)`. A new attach by the same
/// client meanwhile does not share that dying connection: its pulses carry a new scoid, the
/// disconnect pulse for the old one comes first (it is ahead of the queue, deviations.md
/// "Disconnect pulses"), the old scoid detaches once (EINVAL the second time), and messages
/// on the new coid are answered.
#[test]
fn a_new_attach_after_the_last_detach_does_not_share_the_dying_connection() {
    let w = world(_NTO_CHF_DISCONNECT);
    let old = scoid_via_pulse(&w.client, w.coid, &w.server, w.chid);
    w.client.connect_detach(w.coid).unwrap();
    let coid = w
        .client
        .connect_attach(0, w.srv.pid, w.chid, SIDE, 0)
        .unwrap();
    w.client.msg_send_pulse(coid, 10, 7, 0).unwrap();
    let d = receive_pulse(&w.server, w.chid);
    assert_eq!((d.code, d.scoid), (_PULSE_CODE_DISCONNECT, old));
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!(p.code, 7);
    assert_ne!(p.scoid, old);
    assert_eq!(w.server.connect_detach(old), Ok(()));
    assert_eq!(w.server.connect_detach(old), Err(Errno::EINVAL));
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &w.k, w.cli, 10, |t| {
            let mut r = [0u8; 0];
            send(t, coid, b"again", &mut r)
        });
        let mut buf = [0u8; 8];
        let mut info = MsgInfo::default();
        let rcvid = receive(&w.server, w.chid, &mut buf, Some(&mut info)).unwrap();
        assert_eq!(info.scoid, p.scoid);
        w.server.msg_reply(rcvid, 3, b"").unwrap();
        assert_eq!(h.join(), Ok(3));
    });
    w.client.connect_detach(coid).unwrap();
    let d = receive_pulse(&w.server, w.chid);
    assert_eq!((d.code, d.scoid), (_PULSE_CODE_DISCONNECT, p.scoid));
    w.server.connect_detach(p.scoid).unwrap();
    w.finish();
}

/// Ref. 2.3: ConnectDetach readies other threads "SEND- or REPLY-blocked on that coid" with
/// EBADF; 2.12: `_PULSE_CODE_DISCONNECT` when the client's last link is gone. With a client
/// SEND-blocked and another REPLY-blocked on the same coid (channel without
/// `_NTO_CHF_UNBLOCK`), one detach releases both with EBADF, the queued message is gone
/// (an immediate receive finds only the disconnect pulse), and the held rcvid is ESRCH.
#[test]
fn one_detach_releases_a_send_blocked_and_a_reply_blocked_client_and_leaves_one_disconnect() {
    let w = world(_NTO_CHF_DISCONNECT);
    let scoid = scoid_via_pulse(&w.client, w.coid, &w.server, w.chid);
    let wd = Watchdog::new(&w.k, w.cli);
    let replying = w.sender_on_shared_coid(10, None);
    let (rcvid, _) = w.take();
    wait_reply_blocked(&w.k, w.cli.pid, replying.tid);
    let sending = w.sender_on_shared_coid(10, None).once_send_blocked(&w.k);
    w.client.connect_detach(w.coid).unwrap();
    assert_eq!(replying.join().0, Err(Errno::EBADF));
    assert_eq!(sending.join().0, Err(Errno::EBADF));
    assert!(!wd.fired());
    drop(wd);
    let p = poll_pulse(&w.server, w.chid).expect("disconnect pulse");
    assert_eq!(
        (p.code, p.scoid, p.value_int()),
        (_PULSE_CODE_DISCONNECT, scoid, 0)
    );
    assert_nothing_queued(&w.server, w.chid);
    assert_eq!(w.server.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    w.server.connect_detach(scoid).unwrap();
    w.finish();
}

// ------------------------------------------------------------------ death notifications

/// Ref. 2.2 / 2.12: ChannelDestroy sends `_PULSE_CODE_COIDDEATH` for the client's coids to the
/// channel; a coid the client already detached is not one of them: with two coids, one
/// detached, exactly one pulse comes, naming the other.
#[test]
fn no_coid_death_for_a_coid_detached_before_the_channel_went() {
    let w = world(0);
    let death = w.client.channel_create(_NTO_CHF_COID_DISCONNECT).unwrap();
    let gone = w.client.connect_attach(0, w.srv.pid, w.chid, 0, 0).unwrap();
    w.client.connect_detach(gone).unwrap();
    w.server.channel_destroy(w.chid).unwrap();
    let p = receive_pulse(&w.client, death);
    assert_eq!(
        (p.code, p.value_int(), p.scoid),
        (_PULSE_CODE_COIDDEATH, w.coid, -1)
    );
    assert_nothing_queued(&w.client, death);
    w.client.connect_detach(w.coid).unwrap();
    w.finish();
}

/// Ref. 2.12 / 1.8: `_PULSE_CODE_THREADDEATH` (value = tid) when any thread of the owning
/// process dies, here a server thread that received a message and exited without replying;
/// 2.6: any server thread may still reply, and the client gets that reply.
#[test]
fn a_server_thread_exiting_with_an_unanswered_message_sends_thread_death_and_the_client_waits() {
    let w = world(_NTO_CHF_THREAD_DEATH);
    let c = w.sender(10, LONG).once_send_blocked(&w.k);
    let chid = w.chid;
    let taker = spawn(&w.k, w.srv, 10, move |t| {
        let mut buf = [0u8; 8];
        receive(t, chid, &mut buf, None).unwrap()
    });
    let ttid = taker.tid;
    let rcvid = taker.join();
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!(
        (p.code, p.value_int(), p.scoid),
        (_PULSE_CODE_THREADDEATH, ttid, -1)
    );
    assert!(matches!(
        w.k.thread_info(w.cli.pid, c.tid).unwrap().state,
        ThreadState::Reply { .. }
    ));
    w.server.msg_reply(rcvid, 8, b"late").unwrap();
    assert_eq!(c.join(), (Ok(8), *b"late"));
    w.finish();
}

// ------------------------------------------------------------------ unblock

/// Ref. 2.10: each held client gets its own `_PULSE_CODE_UNBLOCK` (value = its rcvid, scoid =
/// its connection's, priority = the client's, so two are received highest first and the
/// receiver takes that priority, 2.11); only one per request, however often the client asks
/// (a timeout, then a SIGEV_UNBLOCK event, 2.9/2.13); each client waits for its own answer.
#[test]
fn two_held_clients_get_one_unblock_pulse_each_in_priority_order() {
    let w = world(_NTO_CHF_UNBLOCK);
    let g = ReleaseOnPanic {
        owner: &w.server,
        chid: w.chid,
    };
    let low = w.replier(20, SHORT);
    let (r20, i20) = w.take();
    let high = w.replier(40, SHORT).once_send_blocked(&w.k);
    let (r40, i40) = w.take();
    wait_until("both unblock pulses queued", || {
        queued(&w.k, w.srv.pid, w.chid) == 2
    });
    w.server
        .msg_deliver_event(r40, &SigEvent::unblock())
        .unwrap();
    assert_eq!(queued(&w.k, w.srv.pid, w.chid), 2, "no second pulse");
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!(
        (p.code, p.value_long(), p.scoid),
        (_PULSE_CODE_UNBLOCK, r40, i40.scoid)
    );
    assert_eq!(w.server.priority(), Ok((10, 40)));
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!(
        (p.code, p.value_long(), p.scoid),
        (_PULSE_CODE_UNBLOCK, r20, i20.scoid)
    );
    assert_eq!(w.server.priority(), Ok((10, 20)));
    assert_nothing_queued(&w.server, w.chid);
    for r in [r20, r40] {
        let f = w.server.msg_info(r).unwrap().flags;
        assert_eq!(f & _NTO_MI_UNBLOCK_REQ, _NTO_MI_UNBLOCK_REQ);
    }
    w.server.msg_error(r40, Errno::EINTR).unwrap();
    assert_eq!(high.join().0, Err(Errno::EINTR));
    assert!(matches!(
        w.k.thread_info(w.cli.pid, low.tid).unwrap().state,
        ThreadState::Reply { .. }
    ));
    w.server.msg_reply(r20, 5, b"done").unwrap();
    assert_eq!(low.join(), (Ok(5), *b"done"));
    drop(g);
    w.finish();
}

/// Ref. 2.2: ChannelDestroy releases SEND- and REPLY-blocked threads with ESRCH and frees
/// queued pulses; on an `_NTO_CHF_UNBLOCK` channel a held client whose unblock pulse is still
/// queued is released with ESRCH too (not ETIMEDOUT), and that pulse is freed with the channel
/// and the user pulse queued beside it (the pulse pool is back where it was).
#[test]
fn channel_destroy_frees_a_queued_unblock_pulse_and_releases_held_and_queued_clients() {
    let w = world(_NTO_CHF_UNBLOCK);
    let pulses_before = w.k.pool_usage().pulses.live;
    let held = w.replier(10, SHORT);
    let (rcvid, _) = w.take();
    wait_until("unblock pulse queued", || {
        queued(&w.k, w.srv.pid, w.chid) == 1
    });
    let waiting = w.sender(10, LONG).once_send_blocked(&w.k);
    w.client.msg_send_pulse(w.coid, 1, 2, 0).unwrap();
    assert_eq!(queued(&w.k, w.srv.pid, w.chid), 3);
    assert_eq!(w.k.pool_usage().pulses.live, pulses_before + 2);
    w.server.channel_destroy(w.chid).unwrap();
    assert_eq!(held.join().0, Err(Errno::ESRCH));
    assert_eq!(waiting.join().0, Err(Errno::ESRCH));
    assert_eq!(w.server.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    assert_eq!(w.k.pool_usage().pulses.live, pulses_before);
    w.client.connect_detach(w.coid).unwrap();
    w.finish();
}

// ------------------------------------------------------------------ TimerTimeout polls

/// Ref. 2.13: "`ntime == NULL` → immediate timeout: a call that would block fails at once with
/// ETIMEDOUT". Every blocking form polls so: MsgSend (SEND state, nobody receiving: nothing is
/// left queued, the server never sees it), MsgSendv, MsgReceive, MsgReceivev, MsgReceivePulse,
/// MsgReceivePulsev; and a past absolute deadline (TIMER_ABSTIME) does the same for MsgSend.
#[test]
fn every_blocking_call_polls_with_a_null_ntime() {
    let w = world(0);
    let mut r = [0u8; 4];
    arm(&w.client, _NTO_TIMEOUT_SEND, None);
    assert_eq!(
        w.client.msg_send(w.coid, b"x", &mut r),
        Err(Errno::ETIMEDOUT)
    );
    arm(&w.client, SEND_REPLY, None);
    assert_eq!(
        w.client.msg_sendv(w.coid, &[b"a", b"b"], &mut [&mut r]),
        Err(Errno::ETIMEDOUT)
    );
    w.client
        .timer_timeout(CLOCK_REALTIME, _NTO_TIMEOUT_SEND | TIMER_ABSTIME, Some(1))
        .unwrap();
    assert_eq!(
        w.client.msg_send(w.coid, b"y", &mut r),
        Err(Errno::ETIMEDOUT)
    );
    assert_eq!(queued(&w.k, w.srv.pid, w.chid), 0);

    let mut buf = [0u8; 32];
    let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
    arm(&w.server, _NTO_TIMEOUT_RECEIVE, None);
    assert_eq!(
        w.server.msg_receive(w.chid, &mut buf, None),
        Err(Errno::ETIMEDOUT)
    );
    arm(&w.server, _NTO_TIMEOUT_RECEIVE, None);
    assert_eq!(
        w.server.msg_receivev(w.chid, &mut [&mut a, &mut b], None),
        Err(Errno::ETIMEDOUT)
    );
    arm(&w.server, _NTO_TIMEOUT_RECEIVE, None);
    assert_eq!(
        w.server.msg_receive_pulse(w.chid, &mut buf),
        Err(Errno::ETIMEDOUT)
    );
    arm(&w.server, _NTO_TIMEOUT_RECEIVE, None);
    assert_eq!(
        w.server.msg_receive_pulsev(w.chid, &mut [&mut a, &mut b]),
        Err(Errno::ETIMEDOUT)
    );
    w.round_trip();
    w.detach_and_finish();
}

/// Ref. 2.13 / 2.5: an immediate MsgReceivePulse with a message queued ahead of a pulse (the
/// message of higher priority) takes the pulse at once, and the message stays queued.
#[test]
fn an_immediate_msg_receive_pulse_takes_a_pulse_queued_behind_a_message() {
    let w = world(0);
    let c = w.sender(50, LONG).once_send_blocked(&w.k);
    w.client.msg_send_pulse(w.coid, 5, 9, 99).unwrap();
    let mut buf = [0u8; 32];
    arm(&w.server, _NTO_TIMEOUT_RECEIVE, None);
    assert_eq!(w.server.msg_receive_pulse(w.chid, &mut buf), Ok(()));
    let p = Pulse::from_bytes(&buf).unwrap();
    assert_eq!((p.code, p.value_int()), (9, 99));
    let (rcvid, info) = w.take();
    assert_eq!(info.priority, 50);
    w.server.msg_reply(rcvid, 0, b"").unwrap();
    assert_eq!(c.join().0, Ok(0));
    w.finish();
}

// ------------------------------------------------------------------ more edges

/// Ref. 2.11 ("all threads of the server process whose last receive was on that channel are
/// boosted") with 2.5 ("pulses and SEND-blocked clients share one priority-ordered queue") and
/// [OQ] `nano_sched.c adjust_priority` (a thread in STATE_SEND whose priority changes is
/// repositioned on the send queue at its new priority): a server thread B, SEND-blocked at 10 on
/// server C behind a priority-20 client Y, is boosted to 50 by a client queueing on B's own
/// channel; it then stands ahead of Y, so C receives B's message first, at 50.
#[test]
fn a_send_blocked_server_boosted_by_its_own_client_moves_up_the_next_servers_queue() {
    let k = kernel();
    let start = live(&k);
    let pa = k.process_create().unwrap();
    let pb = k.process_create().unwrap();
    let pc = k.process_create().unwrap();
    let c = k.thread_attach(pc, 10).unwrap();
    let cchid = c.channel_create(0).unwrap();
    let bmain = k.thread_attach(pb, 10).unwrap();
    let bchid = bmain.channel_create(0).unwrap();
    let bself = bmain.connect_attach(0, 0, bchid, SIDE, 0).unwrap();
    let bcoid = bmain.connect_attach(0, pc.pid, cchid, SIDE, 0).unwrap();
    let a_side = k.thread_attach(pa, 10).unwrap();
    let acoid = a_side.connect_attach(0, pb.pid, bchid, SIDE, 0).unwrap();
    let ccoid = a_side.connect_attach(0, pc.pid, cchid, SIDE, 0).unwrap();
    thread::scope(|s| {
        let (x, _) = spawn_scoped(s, &k, pa, 10, |t| {
            let mut r = [0u8; 0];
            send(t, ccoid, b"x", &mut r)
        });
        let mut buf = [0u8; 8];
        let rx = receive(&c, cchid, &mut buf, None).unwrap();
        let (b, btid) = spawn_scoped(s, &k, pb, 10, |t| {
            receive_pulse(t, bchid); // last receive on bchid
            let mut r = [0u8; 0];
            let st = send(t, bcoid, b"B", &mut r);
            let mut buf = [0u8; 8];
            let ra = receive(t, bchid, &mut buf, None).unwrap();
            t.msg_reply(ra, 0, b"").unwrap();
            st
        });
        bmain.msg_send_pulse(bself, 10, 1, 0).unwrap();
        wait_send_blocked(&k, pb.pid, btid);
        let (y, ytid) = spawn_scoped(s, &k, pa, 20, |t| {
            let mut r = [0u8; 0];
            send(t, ccoid, b"Y", &mut r)
        });
        wait_send_blocked(&k, pa.pid, ytid);
        let (a, atid) = spawn_scoped(s, &k, pa, 50, |t| {
            let mut r = [0u8; 0];
            send(t, acoid, b"A", &mut r)
        });
        wait_send_blocked(&k, pa.pid, atid);
        assert_eq!(prio_of(&k, pb.pid, btid), (10, 50));
        c.msg_reply(rx, 0, b"").unwrap();
        let mut order = Vec::new();
        for _ in 0..2 {
            let mut info = MsgInfo::default();
            let r = receive(&c, cchid, &mut buf, Some(&mut info)).unwrap();
            order.push((buf[0], info.priority));
            c.msg_reply(r, 0, b"").unwrap();
        }
        assert_eq!(x.join(), Ok(0));
        assert_eq!(b.join(), Ok(0));
        assert_eq!(y.join(), Ok(0));
        assert_eq!(a.join(), Ok(0));
        assert_eq!(order, [(b'B', 50), (b'Y', 20)]);
    });
    drop((c, bmain, a_side));
    teardown(&k, &[pa, pb, pc], start);
}

/// Ref. 2.5: "`chid == -1` dissociates the thread from its last channel (server-boost
/// bookkeeping)" ([D7] msgreceive). After a MsgReceive with chid -1 (whatever it returns), a
/// client queueing on the thread's former channel no longer boosts it (2.11 boosts only
/// threads whose last receive was on that channel).
#[test]
fn msg_receive_with_chid_minus_one_dissociates_the_thread_from_server_boost() {
    let w = world(0);
    let stid = w.server.tid();
    let first = w.sender(10, LONG);
    let (r0, _) = w.take();
    let mut buf = [0u8; 32];
    arm(&w.server, _NTO_TIMEOUT_RECEIVE, None);
    let _ = w.server.msg_receive(-1, &mut buf, None);
    let c = w.sender(40, LONG).once_send_blocked(&w.k);
    let seen = prio_of(&w.k, w.srv.pid, stid);
    w.server.msg_reply(r0, 0, b"").unwrap();
    let (r1, _) = w.take();
    w.server.msg_reply(r1, 0, b"").unwrap();
    assert_eq!(first.join().0, Ok(0));
    assert_eq!(c.join().0, Ok(0));
    assert_eq!(seen, (10, 10), "a dissociated thread is not boosted");
    w.finish();
}

/// Ref. 2.3 ("`pid` 0 = self"; connection sharing is keyed on (nd, pid, chid)): attaching to
/// one's own channel with pid 0 and with one's own pid gives two coids of one connection
/// (one scoid); a `_NTO_COF_NOSHARE` connection made first is not shared by a later plain
/// attach.
#[test]
fn pid_zero_and_own_pid_share_a_connection_and_a_noshare_one_is_never_shared() {
    let o = one();
    let by_pid = o.t.connect_attach(0, o.p.pid, o.chid, SIDE, 0).unwrap();
    let s0 = scoid_via_pulse(&o.t, o.coid, &o.t, o.chid);
    let s1 = scoid_via_pulse(&o.t, by_pid, &o.t, o.chid);
    assert_eq!(s0, s1);
    let k2 = Kernel::new(Config::default()).unwrap();
    let o2 = one_on(&k2);
    let chid = o2.t.channel_create(0).unwrap();
    let ns =
        o2.t.connect_attach(0, 0, chid, SIDE, _NTO_COF_NOSHARE)
            .unwrap();
    let plain = o2.t.connect_attach(0, 0, chid, SIDE, 0).unwrap();
    let plain2 = o2.t.connect_attach(0, 0, chid, SIDE, 0).unwrap();
    let sn = scoid_via_pulse(&o2.t, ns, &o2.t, chid);
    let sp = scoid_via_pulse(&o2.t, plain, &o2.t, chid);
    let sp2 = scoid_via_pulse(&o2.t, plain2, &o2.t, chid);
    assert_ne!(sn, sp);
    assert_eq!(sp, sp2);
    for coid in [ns, plain, plain2] {
        o2.t.connect_detach(coid).unwrap();
    }
    o2.t.channel_destroy(chid).unwrap();
    o2.finish();
    o.t.connect_detach(by_pid).unwrap();
    o.finish();
}

/// Ref. 1.4 (SIGEV_PULSE: `sigev_coid` is looked up in the *client's* connection table; scoid
/// = that connection's scoid) / 2.9: a server may deliver to a client an event built on the
/// client's own coid to the server: the pulse lands on the server's channel with the code and
/// value of the event and the scoid of the client's connection.
#[test]
fn an_event_on_the_clients_coid_to_the_server_comes_back_to_the_server() {
    let w = world(0);
    let c = w.sender(10, LONG);
    let (rcvid, info) = w.take();
    w.server
        .msg_deliver_event(rcvid, &SigEvent::pulse(w.coid, 15, 42, 4242))
        .unwrap();
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!((p.code, p.value_int(), p.scoid), (42, 4242, info.scoid));
    w.server.msg_reply(rcvid, 0, b"").unwrap();
    assert_eq!(c.join().0, Ok(0));
    w.finish();
}

/// Ref. 2.8 ("Queued pulses also boost server threads that last received on the channel") /
/// 2.9: a pulse delivered by MsgDeliverEvent that has to queue on the client's channel boosts
/// the client's thread whose last receive was there, as MsgSendPulse's would.
#[test]
fn a_queued_event_pulse_boosts_the_target_processs_busy_receiver() {
    let w = world(0);
    let cchid = w.client.channel_create(0).unwrap();
    let ccoid = w.client.connect_attach(0, 0, cchid, SIDE, 0).unwrap();
    // The client's thread last received on its own channel.
    w.client.msg_send_pulse(ccoid, 10, 1, 0).unwrap();
    receive_pulse(&w.client, cchid);
    let ctid = w.client.tid();
    let cli = w.cli;
    let coid = w.coid;
    let h = spawn(&w.k, cli, 10, move |t| {
        let mut r = [0u8; 0];
        send(t, coid, b"ev", &mut r)
    });
    let (rcvid, _) = w.take();
    assert_eq!(prio_of(&w.k, cli.pid, ctid), (10, 10));
    w.server
        .msg_deliver_event(rcvid, &SigEvent::pulse(ccoid, 60, 3, 0))
        .unwrap();
    assert_eq!(prio_of(&w.k, cli.pid, ctid), (10, 60));
    w.server.msg_reply(rcvid, 0, b"").unwrap();
    assert_eq!(h.join(), Ok(0));
    let p = receive_pulse(&w.client, cchid);
    assert_eq!(p.code, 3);
    w.client.connect_detach(ccoid).unwrap();
    w.detach_and_finish();
}

/// Ref. 2.2 / 2.12: a process's COIDDEATH channel hears of its own channels too: destroying
/// one of its channels to which it holds a coid sends `_PULSE_CODE_COIDDEATH` (value = that
/// coid, scoid -1) to its death channel, and the coid is then EBADF until detached.
#[test]
fn coid_death_reaches_a_process_whose_own_channel_it_was_connected_to() {
    let o = one();
    let death = o.t.channel_create(_NTO_CHF_COID_DISCONNECT).unwrap();
    o.t.channel_destroy(o.chid).unwrap();
    let p = receive_pulse(&o.t, death);
    assert_eq!(
        (p.code, p.value_int(), p.scoid),
        (_PULSE_CODE_COIDDEATH, o.coid, -1)
    );
    assert_eq!(o.t.msg_send_pulse(o.coid, 10, 1, 0), Err(Errno::EBADF));
    o.t.connect_detach(o.coid).unwrap();
    o.finish();
}

/// Ref. 1.8 / 2.2 ("Channel belongs to the process, not the creating thread") / 2.12: the
/// THREAD_DEATH channel outlives the thread that made it, and reports that thread's own death
/// (value = its tid) to the process's other threads.
#[test]
fn thread_death_reports_the_death_of_the_thread_that_made_the_death_channel() {
    let k = kernel();
    let start = live(&k);
    let p = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    let maker = spawn(&k, p, 10, |t| {
        t.channel_create(_NTO_CHF_THREAD_DEATH).unwrap()
    });
    let mtid = maker.tid;
    let chid = maker.join();
    let pl = receive_pulse(&t, chid);
    assert_eq!((pl.code, pl.value_int()), (_PULSE_CODE_THREADDEATH, mtid));
    assert_nothing_queued(&t, chid);
    drop(t);
    teardown(&k, &[p], start);
}
