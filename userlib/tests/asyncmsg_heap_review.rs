//! Review of b36fab4 (asyncmsg send buffers in a shared kernel's region): tests of what the
//! review found, fixed since: a region buffer put on a connection of another kernel (or of a
//! kernel of one program) is delivered, not read at a meaningless address; a buffer of another
//! process of the program is delivered; `view_raw` makes no second handle on an owned buffer;
//! a torn-down process's buffers never overlap another's (send buffers belong to the program);
//! send buffers leave room for queues; a forked child's send buffers are copies of its
//! parent's, as a QNX child's `malloc` memory is.
//!
//! Shared kernels live in temporary directories removed on every exit path; the one test that
//! may crash runs its scenario in a child process (this binary re-run in a role, bounded and
//! killed on every exit path; kernel-sim's tests/support/procs.rs), and the fork test's child
//! only writes memory and leaves with `_exit`.
#![cfg(not(loom))]

#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;
mod support;

use procs::{child_role, child_setup, tell_parent, Child};
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;
use support::asyncmsg::*;
use support::*;
use userlib::asyncmsg::*;

/// A region send buffer of `len` bytes of process `p`'s heap, every byte `fill`.
fn region_buffer(p: &userlib::Process, len: usize, fill: u8) -> SharedBuf {
    let _b = bind(p);
    let mut b = asyncmsg_malloc_shared(len).expect("asyncmsg_malloc_shared");
    assert!(
        b.in_region(),
        "a shared kernel's send buffer is in its region"
    );
    b.fill(fill);
    b
}

/// Puts `b` with `asyncmsg_put_shared` on a connection of the calling thread's process to its
/// own channel, and takes it: the message as the receiver got it (err, bytes).
fn put_shared_to_self(b: SharedBuf) -> (i32, Vec<u8>) {
    let chid = asyncmsg_channel_create(0, 0o600, 4096, 8, None, None).expect("channel");
    let coid = connect(0, chid, 0, &attr(1, Duration::ZERO, 8));
    asyncmsg_put_shared(coid, b, 1, None).expect("asyncmsg_put_shared");
    let (got, _) = take(chid, 1);
    asyncmsg_connect_detach(coid).expect("detach");
    asyncmsg_channel_destroy(chid).expect("destroy");
    (got[0].err, got[0].data.clone())
}

// ------------------------------------------------------------------ finding 1

/// Finding 1 (a): a region buffer put (safe Rust) on a connection of a kernel of one program.
/// The put names it `IN_REGION | offset`; that queue is not in a region, so the kernel, in the
/// receiver's thread, takes the descriptor for an address and copies from
/// `0x8000_0000_0000_0000 | offset`: the program dies of SIGSEGV. Run in a child process.
fn region_buffer_on_a_kernel_of_one_program() {
    let sk = shared_kernel(256);
    let owner = process(&sk.k);
    let b = region_buffer(&owner, 1000, 0xAB);
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let (err, data) = put_shared_to_self(b);
    tell_parent(&format!(
        "err {err} intact {}",
        data.len() == 1000 && data.iter().all(|&x| x == 0xAB)
    ));
}

#[test]
fn a_region_buffer_put_on_a_kernel_of_one_program_is_delivered_not_a_crash() {
    let child = Child::spawn("region-buffer-on-a-kernel-of-one-program", "");
    let line = child.line_within(DEADLINE);
    let st = child.wait(DEADLINE);
    assert_eq!(
        (line.as_deref(), st.signal()),
        (Some("err 0 intact true"), None),
        "the receiver's kernel call crashed the program (signal {:?}: 11 is SIGSEGV)",
        st.signal()
    );
    assert!(st.success());
}

/// Finding 1 (b): a region buffer of one shared kernel put on a connection of another shared
/// kernel. Its offset is read in the other kernel's arena, where it names a block of the
/// sender's there (here its own queue): the receiver gets those bytes, with err 0.
#[test]
fn a_region_buffer_put_on_another_shared_kernel_delivers_its_own_bytes() {
    let k1 = shared_kernel(256);
    let owner = process(&k1.k);
    let b = region_buffer(&owner, 1000, 0xAB);
    let k2 = shared_kernel(256);
    let p = process(&k2.k);
    let _b = bind(&p);
    let (err, data) = put_shared_to_self(b);
    assert_eq!(err, 0);
    assert!(
        data.iter().all(|&x| x == 0xAB),
        "the receiver got other bytes of the other kernel's arena: {:?}...",
        &data[..16]
    );
}

/// Finding 1 (c): a region buffer of one process put on a connection of another process of the
/// same kernel and program (a buffer is only memory, on QNX any put may send it): EFAULT.
#[test]
fn a_region_buffer_of_another_process_of_the_program_is_delivered() {
    let sk = shared_kernel(256);
    let owner = process(&sk.k);
    let b = region_buffer(&owner, 1000, 0xAB);
    let p = process(&sk.k);
    let _b = bind(&p);
    let (err, data) = put_shared_to_self(b);
    assert_eq!(err, 0, "EFAULT is 14");
    assert!(data.iter().all(|&x| x == 0xAB));
}

// ------------------------------------------------------------------ finding 2

/// Finding 2: `SharedBuf::view_raw` is a safe function that makes a second `SharedBuf` (with
/// `DerefMut`) over any buffer of any heap of the program, not only one given up with
/// `into_raw`: two mutable views of the same bytes from safe code, and the view outlives the
/// buffer's free (the next allocation hands the same bytes out again).
#[test]
fn view_raw_gives_no_second_handle_on_a_buffer_that_is_still_owned() {
    let sk = shared_kernel(256);
    let p = process(&sk.k);
    let _b = bind(&p);
    let mut a = asyncmsg_malloc_shared(1000).expect("a buffer");
    a.fill(1);
    let ptr = a.as_mut_ptr();
    // (Safe today; `unsafe` once fixed, when this call breaks its contract: the point.)
    // SAFETY: none: `ptr` is a buffer `a` still owns, which a sound `view_raw` must refuse.
    #[allow(unused_unsafe)]
    let view = unsafe { SharedBuf::view_raw(ptr) };
    if let Some(mut v) = view {
        v[0] = 2;
        let aliased = a[0] == 2;
        drop(a);
        let c = asyncmsg_malloc_shared(1000).expect("a buffer");
        panic!(
            "view_raw made a second handle on an owned buffer (writes through it show in the \
             owner: {aliased}); after the owner's free it still names bytes now handed out \
             again: {}",
            c.as_ptr() == v.as_ptr()
        );
    }
}

// ------------------------------------------------------------------ finding 3

/// Finding 3: a simulated process torn down while a buffer of its heap is still held (here by
/// the program; equally by a connection's slot or a callback's `AsyncBuf::Shared`). The kernel
/// frees the process's blocks and gives the pages to the next process that asks; the old
/// heap's buffer still names them: two live `SharedBuf`s over the same bytes.
#[test]
fn a_buffer_of_a_torn_down_process_never_overlaps_a_buffer_of_another() {
    let sk = shared_kernel(256);
    let a = process(&sk.k);
    let mut old = region_buffer(&a, 1000, 0x11);
    drop(a); // process_destroy: the kernel frees every block of the process
    let b = process(&sk.k);
    let new = region_buffer(&b, 1000, 0x22);
    old.fill(0x33);
    assert!(
        new.iter().all(|&x| x == 0x22),
        "a write through the torn-down process's buffer landed in another process's buffer \
         (same address: {})",
        old.as_ptr() == new.as_ptr()
    );
}

// ------------------------------------------------------------------ finding 4

/// Finding 4 (fixed): a forked child's send buffers are its own. `asyncmsg_malloc` on QNX is
/// `malloc`: a forked child gets a copy of each buffer as it was at the fork, and neither side's
/// writes reach the other's. Here the buffers are pages of the region's `MAP_SHARED` mapping,
/// which the child's fork handler replaces with private copies. The parent rewrites its buffer
/// after the fork, then lets the child look: the child's copy still holds the bytes of the
/// fork; the child rewrites its copy; the parent's holds its own bytes. (A buffer of the next
/// size class's chunk, and a large one of a block of its own, are checked too.) The child
/// reports by its exit status and leaves with `_exit`; the parent waits at most 10 s.
#[test]
fn a_forked_childs_write_to_an_inherited_send_buffer_leaves_the_parents_alone() {
    // (1024 pages: a program's largest buffer is then 256 KiB, room for a large one.)
    let sk = shared_kernel(1024);
    let p = process(&sk.k);
    let mut bufs = [
        region_buffer(&p, 4096, 0x11),
        region_buffer(&p, 300, 0x12),
        region_buffer(&p, 100 * 1024, 0x13),
    ];
    let views: Vec<(*mut u8, usize, u8)> = bufs
        .iter_mut()
        .zip([0x11u8, 0x12, 0x13])
        .map(|(b, fill)| (b.as_mut_ptr(), b.len(), fill))
        .collect();
    let mut go = [0 as libc::c_int; 2];
    // SAFETY: pipe writes the two descriptors into `go`.
    assert_eq!(unsafe { libc::pipe(go.as_mut_ptr()) }, 0);
    // SAFETY: the child only reads a pipe, reads and writes its copies of the buffers' bytes
    // and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: each view is the child's inherited mapping of a live buffer; nothing else
        // runs in the child.
        unsafe {
            let mut byte = 0u8;
            let got = libc::read(go[0], (&mut byte as *mut u8).cast(), 1);
            let mut status = if got == 1 { 0 } else { 3 };
            for &(at, len, fill) in &views {
                if !std::slice::from_raw_parts(at, len)
                    .iter()
                    .all(|&x| x == fill)
                {
                    status = 1; // the parent's write after the fork reached the child
                }
                std::ptr::write_bytes(at, 0x22, len);
            }
            libc::_exit(status);
        }
    }
    for b in &mut bufs {
        b.fill(0x33);
    }
    // SAFETY: writes one byte from a local to the pipe we made.
    assert_eq!(unsafe { libc::write(go[1], [1u8].as_ptr().cast(), 1) }, 1);
    let mut status = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        // SAFETY: waitpid writes only `status`.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        if std::time::Instant::now() > deadline {
            // SAFETY: our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            // SAFETY: as above.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            panic!("the forked child did not finish within 10 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: closes the pipe we made.
    unsafe {
        libc::close(go[0]);
        libc::close(go[1]);
    }
    assert!(
        libc::WIFEXITED(status),
        "the child died: status {status:#x}"
    );
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "the child's copy changed with the parent's write after the fork"
    );
    for b in &bufs {
        assert!(
            b.iter().all(|&x| x == 0x33),
            "the child's write changed the parent's send buffer"
        );
    }
}

// ------------------------------------------------------------------ finding 5

/// Finding 5: "a quarter of the arena per process, so that queues still find room" bounds each
/// process, not their sum, and the kernel enforces nothing. Four processes that each hold one
/// small send buffer (a 64 KiB chunk each, kept while the heap lives) take a 64-page arena;
/// then no process can attach an asyncmsg connection (ENOMEM).
#[test]
fn send_buffers_of_several_processes_leave_room_for_a_queue() {
    let sk = shared_kernel(64);
    let procs: Vec<_> = (0..4).map(|_| process(&sk.k)).collect();
    let held: Vec<SharedBuf> = procs.iter().map(|p| region_buffer(p, 300, 1)).collect();
    let p = process(&sk.k);
    let _b = bind(&p);
    let chid = asyncmsg_channel_create(0, 0o600, 1024, 8, None, None).expect("channel");
    let r = asyncmsg_connect_attach(
        0,
        0,
        chid,
        userlib::consts::_NTO_SIDE_CHANNEL,
        0,
        &attr(1, Duration::ZERO, 8),
    );
    assert!(
        r.is_ok(),
        "a connection's queue found no room: {r:?} ({} of 64 pages held by {} one-buffer heaps)",
        sk.k.async_queue_pages_in_use(),
        held.len()
    );
}

// ------------------------------------------------------------------ children

/// Where a child starts; ignored in a normal run.
#[test]
#[ignore = "the entry point of this binary's child processes, not a test of its own"]
fn child_entry() {
    let Some((role, _arg)) = child_role() else {
        return;
    };
    child_setup();
    match role.as_str() {
        "region-buffer-on-a-kernel-of-one-program" => region_buffer_on_a_kernel_of_one_program(),
        other => panic!("unknown role {other}"),
    }
}
