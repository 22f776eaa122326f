//! `mmap_device_memory`, `munmap_device_memory`, `mmap_device_io` and `munmap_device_io`
//! (`<sys/mman.h>`, `<hw/inout.h>`) over the simulated physical memory of
//! [`userlib::device`]: every program of a kernel that maps a physical address sees the same
//! bytes, so a driver's `in32`/`out32` reach the registers a simulated device (a test, or a
//! program standing in for the hardware) reads and writes.

use kernel_sim::Errno;
use libc::{c_int, c_void, size_t};
use userlib::device;

/// QNX's `PROT_NOCACHE` (`<sys/mman.h>` here): accepted, and meaningless for simulated memory.
pub const PROT_NOCACHE: c_int = 0x800;

/// The mapping's address, or `MAP_FAILED` with `errno`.
fn mapped(r: kernel_sim::KResult<*mut u8>) -> *mut c_void {
    match r {
        Ok(p) => p.cast(),
        Err(e) => {
            crate::set_errno(e);
            libc::MAP_FAILED
        }
    }
}

fn prot_of(prot: c_int) -> kernel_sim::KResult<c_int> {
    let known = libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC | PROT_NOCACHE;
    if prot & !known != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(prot & (libc::PROT_READ | libc::PROT_WRITE))
}

/// `mmap_device_memory(addr, len, prot, flags, physical)`: maps `len` bytes of the simulated
/// physical memory at `physical` (below 1 TiB). `addr` is a hint, ignored; `flags` 0
/// (`MAP_FIXED` is EINVAL here); `prot` `PROT_READ`, `PROT_WRITE`, `PROT_NOCACHE` (no effect),
/// `PROT_EXEC` (not granted). `MAP_FAILED` and errno: EINVAL a zero length, a range past 1
/// TiB, unknown prot bits or `MAP_FIXED`; ENOMEM or the system's error for the mapping.
///
/// # Safety
/// None beyond C's: the result is memory the caller may use until it unmaps it.
#[no_mangle]
pub unsafe extern "C" fn mmap_device_memory(
    _addr: *mut c_void,
    len: size_t,
    prot: c_int,
    flags: c_int,
    physical: u64,
) -> *mut c_void {
    mapped(crate::guard(|| {
        if flags & libc::MAP_FIXED != 0 {
            return Err(Errno::EINVAL);
        }
        let prot = prot_of(prot)?;
        let len = len as u64;
        if physical
            .checked_add(len)
            .is_none_or(|e| e > device::PHYS_SIZE)
        {
            return Err(Errno::EINVAL);
        }
        device::map_raw(physical, len, prot)
    }))
}

/// `munmap_device_memory(addr, len)`: 0, or -1 and errno (EINVAL a NULL address or a zero
/// length).
///
/// # Safety
/// `addr`/`len` are a mapping `mmap_device_memory` returned, no longer used.
#[no_mangle]
pub unsafe extern "C" fn munmap_device_memory(addr: *mut c_void, len: size_t) -> c_int {
    // SAFETY: our caller's promise.
    crate::plain(crate::guard(|| unsafe {
        device::unmap_raw(addr.cast(), len as u64).map(|()| 0)
    }))
}

/// `mmap_device_io(len, io)`: the simulated I/O ports `io` to `io + len - 1` (of 65,536), as an
/// address that `in8`/`out8` and the rest take (`port + n` is port `io + n`).
/// `MAP_DEVICE_FAILED` and errno EINVAL for a zero length or ports past 65535.
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn mmap_device_io(len: size_t, io: u64) -> usize {
    let r = crate::guard(|| {
        let len = len as u64;
        if io.checked_add(len).is_none_or(|e| e > device::IO_PORTS) {
            return Err(Errno::EINVAL);
        }
        device::map_raw(
            device::PHYS_SIZE + io,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
        )
    });
    mapped(r) as usize
}

/// `munmap_device_io(io, len)`: 0, or -1 and errno (EINVAL a zero address or length).
///
/// # Safety
/// `io`/`len` are what `mmap_device_io` returned and was given, no longer used.
#[no_mangle]
pub unsafe extern "C" fn munmap_device_io(io: usize, len: size_t) -> c_int {
    // SAFETY: our caller's promise.
    crate::plain(crate::guard(|| unsafe {
        device::unmap_raw(io as *mut u8, len as u64).map(|()| 0)
    }))
}
