//! Processes and threads: creation, exit and priorities.

use super::{Bench, Buf, Entry};
use crate::abi::consts::*;
use crate::abi::errno::{Errno, KResult};
use crate::calls::{connect, process, Effects, Step};
use crate::objects::process::ProcState;
use crate::objects::thread::CallResult;
use crate::objects::{KState, Process};
use crate::pool::Id;

fn destroy(b: &Bench, p: Id<Process>) -> (KResult<Step>, Effects) {
    b.run(|t, fx| process::process_destroy(t, p, fx).map(|()| Step::Done(0)))
}

#[test]
fn process_create_hands_out_increasing_pids_from_two_until_the_pool_is_full() {
    let b = Bench::new();
    let pids: Vec<i32> = (0..4).map(|_| b.process().1).collect();
    assert_eq!(pids, [2, 3, 4, 5]);
    assert_eq!(
        b.tables(|t| process::process_create(t, 0)).err(),
        Some(Errno::EAGAIN)
    );
    let p = b.tables(|t| t.proc_by_pid(3)).unwrap();
    assert_eq!(destroy(&b, p).0, Ok(Step::Done(0)));
    assert_eq!(b.process().1, 6, "pids are not reused at once");
}

#[test]
fn thread_create_numbers_tids_from_one_and_refuses_bad_priorities_and_dead_processes() {
    let b = Bench::new();
    let (p, _) = b.process();
    for prio in [0, 256, -1] {
        assert_eq!(
            b.tables(|t| process::thread_create(t, p, prio, 0)).err(),
            Some(Errno::EINVAL)
        );
    }
    let t1 = b.thread(p, 1);
    let t2 = b.thread(p, 255);
    assert_eq!(
        b.tables(|t| (
            t.threads.at(t1.thread.index).tid,
            t.threads.at(t2.thread.index).tid
        )),
        (1, 2)
    );
    assert_eq!(b.state(t2), KState::Running);
    assert_eq!(
        b.tables(|t| (
            t.threads.at(t2.thread.index).base_prio,
            t.procs.at(p.index).nthreads
        )),
        (255, 2)
    );
    // The thread pool (8) runs out.
    for _ in 0..6 {
        b.thread(p, 10);
    }
    assert_eq!(
        b.tables(|t| process::thread_create(t, p, 10, 0)).err(),
        Some(Errno::EAGAIN)
    );
    // A destroyed process takes no threads.
    assert_eq!(destroy(&b, p).0, Ok(Step::Done(0)));
    assert_eq!(b.live().threads, 0);
    assert_eq!(
        b.tables(|t| process::thread_create(t, p, 10, 0)).err(),
        Some(Errno::ESRCH)
    );
}

#[test]
fn thread_destroy_unqueues_a_send_blocked_thread_and_sends_threaddeath() {
    let b = Bench::new();
    let server = b.spawn(10);
    let chid = b.channel(server, 0);
    let ch = b.chan(server, chid);
    let (p, _) = b.process();
    let main = b.thread(p, 10);
    let worker = b.thread(p, 17);
    let death = b.channel(main, _NTO_CHF_THREAD_DEATH);
    let coid = b.attach(worker, server, chid);
    assert_eq!(
        b.send(worker, coid, Buf::new(b"w"), Buf::zeroed(4)).0,
        Ok(Step::Block)
    );
    let live = b.live();

    let (_, fx) = b.run(|t, fx| {
        process::thread_destroy(t, worker.thread, fx);
        Ok(Step::Done(0))
    });
    assert_eq!(
        &fx.wake[..],
        &[worker.thread.index],
        "its blocked call is ended"
    );
    assert_eq!(b.queued(ch), 0);
    assert_eq!(b.live().threads, live.threads - 1);
    assert_eq!(b.tables(|t| t.procs.at(p.index).nthreads), 1);
    assert_eq!(
        b.sendq(b.chan(main, death)),
        [Entry::Pulse {
            code: _PULSE_CODE_THREADDEATH,
            value: 2,
            prio: 17
        }]
    );
    // A stale thread id is ignored.
    let _ = b.run(|t, fx| {
        process::thread_destroy(t, worker.thread, fx);
        Ok(Step::Done(0))
    });
    assert_eq!(b.live().threads, live.threads - 1);
}

#[test]
fn set_priority_returns_the_old_priority_and_refuses_one_out_of_range() {
    let b = Bench::new();
    let me = b.spawn(10);
    let set = |prio| b.run(|t, fx| process::set_priority(t, me, prio, fx));
    for prio in [0, 256, -1] {
        let (r, fx) = set(prio);
        assert_eq!(r, Err(Errno::EINVAL));
        assert!(fx.prio.is_empty());
    }
    let (r, fx) = set(42);
    assert_eq!(r, Ok(Step::Done(10)));
    assert_eq!(&fx.prio[..], &[(0, 42)]);
    assert_eq!(b.tables(|t| t.threads.at(me.thread.index).base_prio), 42);
    let (r, fx) = set(42);
    assert_eq!(r, Ok(Step::Done(42)));
    assert!(fx.prio.is_empty(), "no change, nothing to apply");
}

/// (policy, base, current) as SchedGet packs them.
fn unpack(r: KResult<Step>) -> (i32, u8, u8) {
    match r {
        Ok(Step::Done(v)) => ((v >> 16) as i32, (v >> 8) as u8, v as u8),
        other => panic!("SchedGet: {other:?}"),
    }
}

#[test]
fn sched_get_names_the_caller_with_tid_0_and_threads_by_pid_and_tid() {
    let b = Bench::new();
    let (p, pid) = b.process();
    let me = b.thread(p, 10);
    let other = b.thread(p, 21);
    let (q, qpid) = b.process();
    let far = b.thread(q, 33);
    let get = |pid, tid| b.run(|t, _| process::sched_get(t, me, pid, tid)).0;
    // A new thread is SCHED_RR (QNX's default), at the priority it was made with.
    assert_eq!(unpack(get(0, 0)), (SCHED_RR, 10, 10));
    assert_eq!(
        unpack(get(qpid, 0)),
        (SCHED_RR, 10, 10),
        "tid 0: the caller, whichever live process pid names"
    );
    assert_eq!(
        get(424242, 0),
        Err(Errno::ESRCH),
        "tid 0 with a pid no process has"
    );
    assert_eq!(unpack(get(0, 2)), (SCHED_RR, 21, 21));
    assert_eq!(unpack(get(pid, 2)), (SCHED_RR, 21, 21));
    assert_eq!(
        unpack(get(qpid, 1)),
        (SCHED_RR, 33, 33),
        "another process's"
    );
    let _ = (other, far);
    for (pid, tid) in [
        (0, 3),
        (qpid, 2),
        (424242, 1),
        (-1, 1),
        (0, -1),
        (i32::MIN, 1),
    ] {
        assert_eq!(get(pid, tid), Err(Errno::ESRCH), "({pid}, {tid})");
    }
    // A process being torn down has no threads to name.
    assert_eq!(destroy(&b, q).0, Ok(Step::Done(0)));
    assert_eq!(get(qpid, 1), Err(Errno::ESRCH));
}

#[test]
fn sched_set_sets_policy_and_base_of_any_thread_and_refuses_bad_arguments_changing_nothing() {
    let b = Bench::new();
    let (p, _) = b.process();
    let me = b.thread(p, 10);
    let worker = b
        .tables(|t| process::thread_create(t, p, 12, 4242))
        .unwrap()
        .0;
    let (q, qpid) = b.process();
    let far = b.thread(q, 15);
    let set = |pid, tid, policy, prio| {
        b.run(|t, fx| process::sched_set(t, me, pid, tid, policy, prio, fx))
    };
    let get = |pid, tid| unpack(b.run(|t, _| process::sched_get(t, me, pid, tid)).0);
    for (pid, tid, policy, prio, err) in [
        (0, 2, 5, 20, Errno::EINVAL),
        (0, 2, -1, 20, Errno::EINVAL),
        (0, 2, SCHED_FIFO, 0, Errno::EINVAL),
        (0, 2, SCHED_FIFO, 256, Errno::EINVAL),
        (0, 2, SCHED_NOCHANGE, -3, Errno::EINVAL),
        (0, 2, SCHED_SPORADIC, 20, Errno::ENOTSUP),
        (0, 9, SCHED_FIFO, 20, Errno::ESRCH),
        (424242, 1, SCHED_FIFO, 20, Errno::ESRCH),
    ] {
        let (r, fx) = set(pid, tid, policy, prio);
        assert_eq!(r, Err(err), "({pid}, {tid}, {policy}, {prio})");
        assert!(fx.prio.is_empty() && fx.wake.is_empty());
    }
    assert_eq!(get(0, 2), (SCHED_RR, 12, 12), "nothing changed");
    // Another thread of the caller's process: its OS thread is the one to adjust.
    let (r, fx) = set(0, 2, SCHED_FIFO, 20);
    assert_eq!(r, Ok(Step::Done(12)), "the previous priority");
    assert_eq!(&fx.prio[..], &[(4242, 20)]);
    assert_eq!(get(0, 2), (SCHED_FIFO, 20, 20));
    assert_eq!(b.tables(|t| t.threads.at(worker.index).base_prio), 20);
    // SCHED_NOCHANGE keeps the policy.
    assert_eq!(set(0, 2, SCHED_NOCHANGE, 7).0, Ok(Step::Done(20)));
    assert_eq!(get(0, 2), (SCHED_FIFO, 7, 7));
    // The same priority with another policy: nothing to apply to the OS thread.
    let (r, fx) = set(0, 2, SCHED_OTHER, 7);
    assert_eq!(r, Ok(Step::Done(7)));
    assert!(fx.prio.is_empty());
    assert_eq!(get(0, 2), (SCHED_OTHER, 7, 7));
    // Another process's thread, and the caller itself (tid 0, pid ignored).
    assert_eq!(set(qpid, 1, SCHED_RR, 40).0, Ok(Step::Done(15)));
    assert_eq!(b.prio(far), 40);
    assert_eq!(set(-5, 0, SCHED_FIFO, 11).0, Ok(Step::Done(10)));
    assert_eq!(get(0, 0), (SCHED_FIFO, 11, 11));
    // The caller's SetPriority keeps its policy.
    assert_eq!(
        b.run(|t, fx| process::set_priority(t, me, 12, fx)).0,
        Ok(Step::Done(11))
    );
    assert_eq!(get(0, 0), (SCHED_FIFO, 12, 12));
}

#[test]
fn sched_set_of_a_send_blocked_thread_moves_it_in_the_queue_and_boosts_the_server() {
    let b = Bench::new();
    let server = b.spawn(10);
    let chid = b.channel(server, 0);
    let ch = b.chan(server, chid);
    let (cp, cpid) = b.process();
    let low = b.thread(cp, 11);
    let high = b.thread(cp, 14);
    let (lc, hc) = (b.attach(low, server, chid), b.attach(high, server, chid));
    // The server received once on the channel (its boost applies to it), then serves `high`
    // while `low` queues behind nobody.
    let r = b.exchange(server, chid, high, hc, Buf::new(b"h"), Buf::zeroed(4));
    assert_eq!(b.prio(server), 14, "took the client's priority");
    assert_eq!(
        b.send(low, lc, Buf::new(b"l"), Buf::zeroed(4)).0,
        Ok(Step::Block)
    );
    let other = b.thread(cp, 12);
    let oc = b.attach(other, server, chid);
    assert_eq!(
        b.send(other, oc, Buf::new(b"o"), Buf::zeroed(4)).0,
        Ok(Step::Block)
    );
    assert_eq!(
        b.sendq(ch),
        [
            Entry::Thread(other.thread.index),
            Entry::Thread(low.thread.index)
        ]
    );
    // Raised by another thread (by pid and tid), `low` goes to the head with its message at
    // its new priority, and boosts the server past what it inherited.
    let (r2, fx) = b.run(|t, fx| process::sched_set(t, server, cpid, 1, SCHED_NOCHANGE, 30, fx));
    assert_eq!(r2, Ok(Step::Done(11)));
    assert_eq!(
        b.sendq(ch),
        [
            Entry::Thread(low.thread.index),
            Entry::Thread(other.thread.index)
        ]
    );
    assert_eq!(b.tables(|t| t.threads.at(low.thread.index).send.prio), 30);
    assert_eq!(b.prio(server), 30, "boosted by its raised client");
    assert!(fx.prio.contains(&(0, 30)));
    // Lowered below the other, it goes back behind it.
    let _ = b.run(|t, fx| process::sched_set(t, server, cpid, 1, SCHED_NOCHANGE, 5, fx));
    assert_eq!(
        b.sendq(ch),
        [
            Entry::Thread(other.thread.index),
            Entry::Thread(low.thread.index)
        ]
    );
    let _ = r;
}

#[test]
fn process_destroy_releases_the_peers_of_its_channels_and_frees_its_objects() {
    let b = Bench::new();
    let (sp, _) = b.process();
    let server = b.thread(sp, 10);
    let chid = b.channel(server, 0);
    let (cp, _) = b.process();
    let replied = b.thread(cp, 10);
    let queued = b.thread(cp, 10);
    let coid = b.attach(replied, server, chid);
    let reply = Buf::zeroed(4);
    b.exchange(server, chid, replied, coid, Buf::new(b"1"), reply);
    assert_eq!(
        b.send(queued, coid, Buf::new(b"2"), reply).0,
        Ok(Step::Block)
    );
    let live = b.live();

    let (r, fx) = destroy(&b, sp);
    assert_eq!(r, Ok(Step::Done(0)));
    let mut woken = fx.wake.to_vec();
    woken.sort_unstable();
    assert_eq!(woken, [replied.thread.index, queued.thread.index]);
    for c in [replied, queued] {
        assert_eq!(b.result(c), CallResult::Err(Errno::ESRCH.0));
        b.collect(c);
    }
    let now = b.live();
    assert_eq!(
        (now.procs, now.threads, now.chans),
        (live.procs - 1, live.threads - 1, live.chans - 1)
    );
    assert_eq!(
        now.conns, live.conns,
        "the client's connection stays until it detaches"
    );
    let pid = b.pid(replied);
    assert_eq!(b.tables(|t| t.proc_by_pid(pid)), Some(cp));
    assert_eq!(
        b.send(replied, coid, Buf::new(b"3"), reply).0,
        Err(Errno::EBADF)
    );
    assert_eq!(destroy(&b, sp).0, Err(Errno::ESRCH), "already gone");
}

#[test]
fn process_destroy_of_a_client_detaches_its_connections_and_the_server_gets_disconnect() {
    let b = Bench::new();
    let server = b.spawn(10);
    let chid = b.channel(server, _NTO_CHF_DISCONNECT);
    let ch = b.chan(server, chid);
    let client = b.spawn(9);
    let coid = b.attach(client, server, chid);
    let scoid = b.scoid(client, coid);
    let reply = Buf::zeroed(4);
    let rcvid = b.exchange(server, chid, client, coid, Buf::new(b"1"), reply);
    let live = b.live();

    let (r, fx) = destroy(&b, client.proc);
    assert_eq!(r, Ok(Step::Done(0)));
    assert_eq!(&fx.wake[..], &[client.thread.index], "released with ESRCH");
    assert_eq!(b.live().procs, live.procs - 1);
    assert_eq!(b.live().threads, live.threads - 1);
    assert_eq!(
        b.sendq(ch),
        [Entry::Pulse {
            code: _PULSE_CODE_DISCONNECT,
            value: 0,
            prio: 9
        }]
    );
    assert_eq!(b.reply(server, rcvid, 0, Buf::empty()).0, Err(Errno::ESRCH));
    let rbuf = Buf::zeroed(32);
    assert_eq!(b.receive(server, chid, rbuf, 0).0, Ok(Step::Done(0)));
    assert_eq!(rbuf.pulse().scoid, scoid);
    assert_eq!(
        b.run(|t, fx| connect::connect_detach(t, server, scoid, fx))
            .0,
        Ok(Step::Done(0))
    );
    assert_eq!(b.live().conns, live.conns - 1);
}

#[test]
fn a_client_held_on_an_unblock_channel_outlives_its_process_until_the_server_answers() {
    let b = Bench::new();
    let server = b.spawn(10);
    let chid = b.channel(server, _NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT);
    let ch = b.chan(server, chid);
    let client = b.spawn(11);
    let coid = b.attach(client, server, chid);
    let pid = b.pid(client);
    let reply = Buf::zeroed(4);
    let rcvid = b.exchange(server, chid, client, coid, Buf::new(b"1"), reply);
    let live = b.live();

    let (r, fx) = destroy(&b, client.proc);
    assert_eq!(r, Ok(Step::Done(0)));
    assert!(fx.wake.is_empty());
    assert!(
        matches!(b.state(client), KState::Reply { .. }),
        "held by the server"
    );
    assert!(b.tables(|t| t.threads.at(client.thread.index).zombie));
    assert_eq!(
        b.tables(|t| t.procs.at(client.proc.index).state),
        ProcState::Exiting
    );
    assert_eq!(b.live().procs, live.procs);
    assert_eq!(
        b.sendq(ch),
        [Entry::Pulse {
            code: _PULSE_CODE_UNBLOCK,
            value: rcvid as u64,
            prio: 11
        }]
    );
    // Exiting: no new connections, no second destroy.
    let other = b.spawn(10);
    let r = b
        .run(|t, _| connect::connect_attach(t, other, 0, pid, 1, 0, 0))
        .0;
    assert_eq!(r, Err(Errno::ENXIO));
    assert_eq!(destroy(&b, client.proc).0, Err(Errno::ESRCH));
    let r = b.tables(|t| process::thread_create(t, client.proc, 10, 0));
    assert_eq!(r.err(), Some(Errno::ENXIO));

    // The answer ends the thread, then the process; the unblock pulse goes, the disconnect comes.
    let (r, fx) = b.reply(server, rcvid, 0, Buf::empty());
    assert_eq!(r, Ok(Step::Done(0)));
    assert_eq!(&fx.wake[..], &[client.thread.index]);
    assert!(
        b.tables(|t| t.threads.get(client.thread).is_none()),
        "the thread ended"
    );
    assert_eq!(
        b.live().procs,
        live.procs,
        "the other process replaces it in the count"
    );
    assert_eq!(b.tables(|t| t.proc_by_pid(pid)), None);
    assert_eq!(
        b.sendq(ch),
        [Entry::Pulse {
            code: _PULSE_CODE_DISCONNECT,
            value: 0,
            prio: 11
        }]
    );
}

/// A program's first thread joins at what the thread that started it recorded on its own
/// process (pid = its Linux pid): an earlier image of the program's Linux pid (`exec`) first,
/// else its Linux parent; a simulated process, or a process of the program's own image, is
/// never looked at; a record of none (0) gives none; the record follows the thread's policy
/// and base priority at the time.
#[test]
fn the_first_thread_of_a_spawned_or_exec_d_program_joins_at_its_spawner_s_record() {
    let b = Bench::new();
    let (me, parent, image) = (7_001, 7_000, 0x5eed_u64);
    let own = |pid: i32, img: u64| {
        b.tables(|t| {
            let id = process::process_create_as(t, pid, pid, "p").unwrap();
            t.procs.at_mut(id.index).os_image = img;
            id
        })
    };
    let found = || b.tables(|t| process::spawn_sched_for(t, me, image, parent));
    let record = |proc, from| b.tables(|t| process::record_spawn_sched(t, proc, from));
    assert_eq!(found(), None, "no process, no record");

    let par = own(parent, 1);
    let spawner = b.thread(par, 21);
    assert_eq!(found(), None, "the parent recorded nothing");
    record(par, Some(spawner.thread)).unwrap();
    assert_eq!(found(), Some((SCHED_RR as u8, 21)), "the parent's record");
    b.tables(|t| {
        let th = t.threads.at_mut(spawner.thread.index);
        (th.policy, th.base_prio) = (SCHED_FIFO as u8, 30);
    });
    assert_eq!(
        found(),
        Some((SCHED_RR as u8, 21)),
        "as it was at the spawn"
    );
    record(par, Some(spawner.thread)).unwrap();
    assert_eq!(found(), Some((SCHED_FIFO as u8, 30)), "the last spawn's");
    assert_eq!(
        b.tables(|t| process::spawn_sched_for(t, me, image, 0)),
        None,
        "no parent"
    );

    // The program's own earlier image (what `exec` replaced) comes first when it has a record
    // (without one, the parent's counts); a process of this image is not an earlier one.
    let old = own(me, image ^ 1);
    let execer = b.thread(old, 40);
    b.tables(|t| t.threads.at_mut(execer.thread.index).policy = SCHED_OTHER as u8);
    assert_eq!(
        found(),
        Some((SCHED_FIFO as u8, 30)),
        "no record: the parent's"
    );
    record(old, Some(execer.thread)).unwrap();
    assert_eq!(
        found(),
        Some((SCHED_OTHER as u8, 40)),
        "the earlier image's"
    );
    b.tables(|t| t.procs.at_mut(old.index).os_image = image);
    assert_eq!(
        found(),
        Some((SCHED_FIFO as u8, 30)),
        "a process of this image is not an earlier one"
    );

    // Recording none clears; a simulated process is nobody's parent.
    record(par, None).unwrap();
    assert_eq!(found(), None);
    let (sim, sim_pid) = b.process();
    let t = b.thread(sim, 50);
    record(sim, Some(t.thread)).unwrap();
    assert_eq!(
        b.tables(|t| process::spawn_sched_for(t, me, image, sim_pid)),
        None,
        "only a program's own process (pid = its Linux pid) is looked at"
    );
    assert_eq!(
        b.tables(|t| process::record_spawn_sched(t, Id::NONE, None)),
        Err(Errno::ESRCH)
    );
}
