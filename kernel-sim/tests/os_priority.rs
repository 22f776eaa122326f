//! The opt-in OS priority mode: emulated priority changes reach the Linux thread.

mod support;

use support::*;

fn nice_of(tid: i32) -> i32 {
    // SAFETY: getpriority takes plain integers; errno is reset first to tell -1 from an error.
    unsafe {
        *libc::__errno_location() = 0;
        libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t)
    }
}

#[test]
fn nice_mode_applies_inherited_priority_to_the_linux_thread_and_off_mode_does_not() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!(
            "skipped: raising a thread's priority (negative nice) needs root or CAP_SYS_NICE"
        );
        return;
    }
    for (mode, want) in [(OsPriority::Nice, -5), (OsPriority::Off, 0)] {
        let k = Kernel::new(Config {
            os_priority: mode,
            ..Config::default()
        })
        .unwrap();
        let p = k.process_create().unwrap();
        let server = k.thread_attach(p, 10).unwrap();
        let os_tid = nix::unistd::gettid().as_raw();
        let chid = server.channel_create(0).unwrap();
        let k2 = k.clone();
        let h = std::thread::spawn(move || {
            let c = k2.thread_attach(p, 15).unwrap();
            let coid = c.connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
            c.timer_timeout(1, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, Some(LONG))
                .unwrap();
            c.msg_send(coid, b"x", &mut []).unwrap();
        });
        server
            .timer_timeout(1, _NTO_TIMEOUT_RECEIVE, Some(LONG))
            .unwrap();
        let rcvid = server.msg_receive(chid, &mut [0u8; 8], None).unwrap();
        // Priority 15 inherited: nice 10 - 15 = -5 in Nice mode; untouched (0) when Off.
        assert_eq!(server.priority().unwrap(), (10, 15));
        assert_eq!(nice_of(os_tid), want, "mode {mode:?}");
        server.msg_reply(rcvid, 0, &[]).unwrap();
        h.join().unwrap();
        // Back to the base priority when it waits again; restore nice 0 for the test thread.
        server.timer_timeout(1, _NTO_TIMEOUT_RECEIVE, None).unwrap();
        assert_eq!(
            server.msg_receive(chid, &mut [0u8; 8], None),
            Err(Errno::ETIMEDOUT)
        );
        assert_eq!(
            nice_of(os_tid),
            0,
            "mode {mode:?}: back to base priority 10 = nice 0"
        );
    }
}
