//! The asyncmsg tests' helpers: bounded gets and puts, connection attributes, a callback
//! recorder, and a message encoding that makes loss, duplication and reordering visible.

use super::{wait_until, LONG, SHORT};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::{Duration, Instant};
use userlib::asyncmsg::*;
use userlib::consts::*;
use userlib::{Errno, KResult, MsgInfo};

/// `asyncmsg_get` bounded by a one-shot TimerTimeout.
pub fn get_within(chid: i32, within: Duration) -> KResult<AsyncBatch> {
    userlib::qnx::timer_timeout(
        1,
        _NTO_TIMEOUT_RECEIVE,
        Some(u64::try_from(within.as_nanos()).unwrap()),
    )
    .expect("timer_timeout");
    asyncmsg_get(chid)
}

/// One received message, copied out of its batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Got {
    /// Its `_msg_info`.
    pub info: MsgInfo,
    /// Its error (0 or EMSGSIZE).
    pub err: i32,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// A batch's messages, in order.
pub fn messages(b: &AsyncBatch) -> Vec<Got> {
    b.iter()
        .map(|m| Got {
            info: m.info,
            err: m.err,
            data: m.data.to_vec(),
        })
        .collect()
}

/// Takes exactly `n` messages (failing the test if they do not come within [`LONG`]).
/// Returns them and the size of each batch.
pub fn take(chid: i32, n: usize) -> (Vec<Got>, Vec<usize>) {
    let deadline = Instant::now() + LONG;
    let (mut got, mut sizes) = (Vec::new(), Vec::new());
    while got.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "only {} of {n} messages arrived",
            got.len()
        );
        match get_within(chid, left) {
            Ok(b) => {
                assert!(!b.is_empty(), "asyncmsg_get returned an empty batch");
                sizes.push(b.len());
                got.extend(messages(&b));
            }
            Err(e) => panic!("asyncmsg_get failed after {} of {n}: {e:?}", got.len()),
        }
    }
    assert_eq!(got.len(), n, "more messages than expected");
    (got, sizes)
}

/// Asserts nothing more arrives on blocking channel `chid` for a short while.
pub fn assert_nothing_more(chid: i32) {
    match get_within(chid, SHORT) {
        Err(Errno::ETIMEDOUT) => {}
        Ok(b) => panic!("unexpected messages: {:?}", messages(&b)),
        Err(e) => panic!("expected ETIMEDOUT, got {e:?}"),
    }
}

/// A message naming its producer and sequence number (16 bytes, with a check word each).
pub fn encode(producer: u32, seq: u32) -> Vec<u8> {
    [producer, seq, !producer, !seq]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect()
}

/// The `(producer, seq)` of an [`encode`]d message (panics on a corrupt one).
pub fn decode(d: &[u8]) -> (u32, u32) {
    assert_eq!(d.len(), 16, "message length");
    let w = |i: usize| u32::from_le_bytes(d[i * 4..i * 4 + 4].try_into().unwrap());
    assert_eq!((w(2), w(3)), (!w(0), !w(1)), "corrupt message {d:?}");
    (w(0), w(1))
}

/// Connection attributes.
pub fn attr(trigger_num_msg: u32, trigger_time: Duration, max_num_buffer: u32) -> AsyncConnAttr {
    AsyncConnAttr {
        call_back: None,
        buffer_size: 64,
        max_num_buffer,
        trigger_num_msg,
        trigger_time,
    }
}

/// Attaches an asyncmsg connection to channel `chid` of process `pid`.
pub fn connect(pid: i32, chid: i32, flags: u32, a: &AsyncConnAttr) -> i32 {
    asyncmsg_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, flags, a).expect("connect_attach")
}

/// Puts, failing the test on an error (bounded: a full queue fails after [`LONG`]).
pub fn put(coid: i32, buf: Vec<u8>, handle: u32) {
    if let Err(e) = asyncmsg_put_timeout(coid, buf, handle, None, LONG) {
        panic!(
            "asyncmsg_put({coid}, handle {handle}) failed: {:?}",
            e.errno
        );
    }
}

/// A callback invocation.
#[derive(Debug)]
pub struct Call {
    /// Its err.
    pub err: i32,
    /// Its handle.
    pub handle: u32,
    /// The buffer handed back.
    pub buf: AsyncBuf,
    /// The thread it ran on.
    pub thread: ThreadId,
}

/// Records callback invocations.
#[derive(Clone, Debug, Default)]
pub struct Recorder(Arc<Mutex<Vec<Call>>>);

impl Recorder {
    /// A callback that records into this recorder.
    pub fn callback(&self) -> AsyncCallback {
        let r = self.0.clone();
        Arc::new(move |err, buf, handle| {
            r.lock().unwrap_or_else(|p| p.into_inner()).push(Call {
                err,
                handle,
                buf,
                thread: std::thread::current().id(),
            })
        })
    }

    /// Invocations so far.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Waits until `n` invocations are recorded, then a little longer (to catch extra ones),
    /// and returns them all.
    pub fn wait(&self, n: usize) -> Vec<Call> {
        wait_until(&format!("{n} callbacks"), || self.len() >= n);
        std::thread::sleep(SHORT);
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The `(err, handle)` pairs of `calls`.
    pub fn pairs(calls: &[Call]) -> Vec<(i32, u32)> {
        calls.iter().map(|c| (c.err, c.handle)).collect()
    }
}

// ------------------------------------------------------------------ send buffers

// (A shared kernel is a real memory file: not under loom.)
#[cfg(not(loom))]
pub use send_buffers::*;

#[cfg(not(loom))]
mod send_buffers {

    /// A kernel shared by programs (`Kernel::create_shared`) in a private temporary directory,
    /// removed when this is dropped (the kernel keeps its mapping of the unlinked file).
    pub struct SharedKernel {
        pub k: userlib::Kernel,
        dir: std::path::PathBuf,
    }

    impl Drop for SharedKernel {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// A shared kernel whose queue arena has `async_queue_pages` pages (a program's send buffers:
    /// a quarter of them, its largest buffer a quarter of that).
    pub fn shared_kernel(async_queue_pages: u32) -> SharedKernel {
        use std::os::unix::fs::DirBuilderExt;
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "qnxsim-userlib-shared-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .expect("creating a temporary directory");
        let sk = SharedKernel {
            k: userlib::Kernel::create_shared(
                &dir.join("kernel"),
                userlib::Config {
                    async_queue_pages,
                    ..userlib::Config::default()
                },
            )
            .expect("Kernel::create_shared"),
            dir,
        };
        assert!(sk.k.is_shared());
        sk
    }

    /// Message `seq` of `len` bytes (at least 4): its number, then bytes that depend on `seq` and
    /// the position.
    pub fn long_message(seq: u32, len: usize) -> Vec<u8> {
        let mut m = seq.to_le_bytes().to_vec();
        m.extend((4..len).map(|i| {
            (i as u32)
                .wrapping_mul(31)
                .wrapping_add(seq.wrapping_mul(7)) as u8
        }));
        m
    }
}
