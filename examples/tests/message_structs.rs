//! A program's own message structs derive zerocopy's traits through `userlib::zerocopy`. This
//! crate depends on userlib and not on zerocopy, as a porter's crate would, so this file
//! compiles only while userlib re-exports zerocopy and its derives can be pointed at it.

use std::time::{Duration, Instant};
use userlib::zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};
use userlib::{Channel, Connection, ReceivedStruct};

const BOUND: Duration = Duration::from_secs(20);

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Clone, Copy, Debug, PartialEq, Eq)]
#[zerocopy(crate = "userlib::zerocopy")]
#[repr(C)]
struct Reading {
    sensor: u32,
    pad: u32,
    seq: u64,
}

#[test]
fn a_crate_without_zerocopy_of_its_own_sends_and_receives_its_structs() {
    let chan = Channel::create(0).unwrap();
    let chid = chan.chid();
    let client = std::thread::spawn(move || {
        let conn = Connection::attach(0, chid)?;
        let r = Reading {
            sensor: 3,
            pad: 0,
            seq: 99,
        };
        conn.send_struct_timeout::<_, Reading>(&r, BOUND)
    });
    match chan.receive_struct_timeout::<Reading>(BOUND).unwrap() {
        ReceivedStruct::Message { mut msg, rcvid, .. } => {
            msg.seq += 1;
            rcvid.reply_struct(0, &msg).unwrap();
        }
        ReceivedStruct::Pulse(p) => panic!("unexpected pulse {p:?}"),
    }
    let end = Instant::now() + BOUND;
    while !client.is_finished() {
        assert!(Instant::now() < end, "the client did not finish");
        std::thread::sleep(Duration::from_millis(1));
    }
    let (status, back) = client.join().unwrap().unwrap();
    assert_eq!(
        (status, back),
        (
            0,
            Reading {
                sensor: 3,
                pad: 0,
                seq: 100
            }
        )
    );
}
