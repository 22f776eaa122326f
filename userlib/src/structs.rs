//! What the `*_struct` helpers of both layers share: a zeroed buffer sized for a message struct
//! (and for a pulse, where a receive may get one), and the struct read back from it. The
//! conversions are zerocopy's, checked by its derives; nothing here is `unsafe`.

use kernel_sim::MsgInfo;
use smallvec::SmallVec;
use zerocopy::FromBytes;

/// Room for one message struct, zeroed: on the stack for the sizes messages usually have.
pub(crate) type Buf = SmallVec<[u8; 256]>;

/// A zeroed buffer of `len` bytes.
pub(crate) fn zeroed(len: usize) -> Buf {
    SmallVec::from_elem(0, len)
}

/// A zeroed buffer that holds a `T` and, for a receive, a pulse.
pub(crate) fn receive_buf<T>() -> Buf {
    zeroed(size_of::<T>().max(kernel_sim::PULSE_SIZE))
}

/// The `T` in the first `size_of::<T>()` bytes of `buf` (bytes the kernel did not write are
/// still zero).
pub(crate) fn read<T: FromBytes>(buf: &[u8]) -> T {
    match T::read_from_prefix(buf) {
        Ok((t, _)) => t,
        // Every caller sizes `buf` for a `T`.
        Err(_) => unreachable!("a buffer of {} bytes for {}", buf.len(), size_of::<T>()),
    }
}

/// `info.msglen` as bytes of the struct: a receive buffer larger than `T` (room for a pulse)
/// must not make a longer message look as if all of it landed in the struct.
pub(crate) fn cap_msglen<T>(info: &mut MsgInfo) {
    info.msglen = info.msglen.min(size_of::<T>() as i64);
}
