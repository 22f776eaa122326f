//! Simulated device memory: QNX's `mmap_device_memory` and `mmap_device_io` over a
//! *physical memory* that the programs of one kernel share, so that a driver and a simulated
//! device (a test, or a program standing in for the hardware) see the same registers: the
//! device writes a status register and raises its interrupt level
//! ([`crate::interrupt::interrupt_raise`]); the driver, woken, reads the register, acknowledges
//! it and unmasks.
//!
//! The physical memory is a sparse file of [`PHYS_SIZE`] bytes, addressed by physical address,
//! with the I/O port space (65,536 ports, what `mmap_device_io` maps) after it; pages that are
//! never touched take no memory. Which file follows the kernel the program uses
//! ([`crate::current::KERNEL_ENV`]): for a supervised kernel `NAME.sock.phys` beside its
//! socket (removed by the supervisor when it ends, and by the next supervisor of that name if
//! it was killed), for a kernel in a memory file `PATH.phys` beside it, both mode 0600 and
//! never reached through a symbolic link (EACCES), for a kernel of this program alone an
//! anonymous memory file shared by its threads (and inherited by its forked children).
//!
//! ```
//! use userlib::device::DeviceMemory;
//!
//! let regs = DeviceMemory::map(0xfe20_0000, 0x1000).unwrap(); // the driver's view
//! let device = DeviceMemory::map(0xfe20_0000, 0x1000).unwrap(); // the device's
//! device.write32(0x10, 0xbeef); // the device sets a status register
//! assert_eq!(regs.read32(0x10), 0xbeef);
//! ```

use kernel_sim::{Errno, KResult};
use std::fs::File;
use std::os::fd::AsFd;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::OnceLock;

/// Bytes of physical address space (1 TiB): `mmap_device_memory` maps below it.
pub const PHYS_SIZE: u64 = 1 << 40;
/// I/O ports (`mmap_device_io`).
pub const IO_PORTS: u64 = 1 << 16;

/// The physical memory file of the program's kernel (made on first use; a failure, say the
/// kernel not running yet, is not kept: the next call tries again).
pub fn phys_file() -> KResult<&'static File> {
    static FILE: OnceLock<File> = OnceLock::new();
    static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    if let Some(f) = FILE.get() {
        return Ok(f);
    }
    // (One maker at a time: two threads must not make two memory files.)
    let _making = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(f) = FILE.get() {
        return Ok(f);
    }
    let f = open_phys()?;
    Ok(FILE.get_or_init(|| f))
}

/// Makes sure a program that has no physical memory yet makes it before it forks, so that a
/// forked child always shares it with its parent, as a child shares the machine's memory on
/// QNX (whoever maps first). Called when the program's own kernel is made, and by libqnxsim
/// when it is loaded.
#[cfg(not(loom))]
pub fn share_with_forked_children() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    extern "C" fn prepare() {
        // Only a program's own kernel's memory (a memfd) needs making now: a named file is
        // found by the child under its name. (Before fork, in the parent: an ordinary context.
        // An error is found again, and reported, by the first device call that needs it.)
        if std::env::var_os(crate::current::KERNEL_ENV).is_none_or(|v| v.is_empty()) {
            let _ = phys_file();
        }
    }
    ONCE.call_once(|| {
        // SAFETY: registers a handler with no preconditions; `prepare` only makes the file.
        unsafe { libc::pthread_atfork(Some(prepare), None, None) };
    });
}

#[cfg(not(loom))]
fn io_errno(e: &std::io::Error) -> Errno {
    Errno(e.raw_os_error().unwrap_or(libc::EIO))
}

#[cfg(not(loom))]
fn open_phys() -> Result<File, Errno> {
    let size = PHYS_SIZE + IO_PORTS;
    let value = std::env::var_os(crate::current::KERNEL_ENV).filter(|v| !v.is_empty());
    let file = match value {
        None => {
            let fd = nix::sys::memfd::memfd_create(
                c"qnxsim-phys",
                nix::sys::memfd::MFdFlags::MFD_CLOEXEC,
            )
            .map_err(|e| Errno(e as i32))?;
            File::from(fd)
        }
        Some(v) => {
            use crate::current::{kernel_named, KernelNamed};
            let named = kernel_named(&v)?;
            // (The kernel joined first: a new kernel, or a supervisor starting, removes the
            // file an earlier kernel of the name left, which must not be the one mapped here.)
            crate::current::default_kernel()?;
            let path = match named {
                KernelNamed::Supervised(name) => {
                    kernel_sim::supervisor::phys_path(&kernel_sim::supervisor::socket_path(&name)?)
                }
                KernelNamed::File(path) => phys_beside(&path),
            };
            open_private(&path)?
        }
    };
    // (Only ever grown to this one size, by whichever program comes first: never shrunk.)
    if file.metadata().map_err(|e| io_errno(&e))?.len() < size {
        file.set_len(size).map_err(|e| io_errno(&e))?;
    }
    Ok(file)
}

/// The physical memory file of the kernel in memory file `kernel`: `PATH.phys`.
#[cfg(not(loom))]
pub(crate) fn phys_beside(kernel: &std::path::Path) -> std::path::PathBuf {
    let mut p = kernel.as_os_str().to_owned();
    p.push(".phys");
    std::path::PathBuf::from(p)
}

/// Opens (or makes, mode 0600) the physical memory file at `path`, as a kernel's own file is
/// kept: EACCES for a symbolic link (never followed), a file that is not a regular one, or
/// one another user owns or others may open, which no program of ours made.
#[cfg(not(loom))]
fn open_private(path: &std::path::Path) -> Result<File, Errno> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            // (O_NOFOLLOW's answer for a link.)
            Some(libc::ELOOP) => Errno::EACCES,
            _ => io_errno(&e),
        })?;
    let m = file.metadata().map_err(|e| io_errno(&e))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if !m.file_type().is_file() || m.uid() != me || m.permissions().mode() & 0o077 != 0 {
        return Err(Errno::EACCES);
    }
    Ok(file)
}

#[cfg(loom)]
fn open_phys() -> Result<File, Errno> {
    Err(Errno::ENOTSUP)
}

/// Maps `len` bytes of the physical memory at file offset `offset` (any alignment: the
/// mapping starts at the page below), readable and writable as `prot` says (Linux's
/// `PROT_READ`/`PROT_WRITE`; other bits ignored). Returns the address of byte `offset`.
/// EINVAL for a zero length or a range past the end.
pub fn map_raw(offset: u64, len: u64, prot: i32) -> KResult<*mut u8> {
    let end = offset.checked_add(len).ok_or(Errno::EINVAL)?;
    if len == 0 || end > PHYS_SIZE + IO_PORTS {
        return Err(Errno::EINVAL);
    }
    let page = 4096u64;
    let start = offset & !(page - 1);
    let span = usize::try_from(end - start).map_err(|_| Errno::EINVAL)?;
    let mut p = nix::sys::mman::ProtFlags::empty();
    if prot & libc::PROT_READ != 0 {
        p |= nix::sys::mman::ProtFlags::PROT_READ;
    }
    if prot & libc::PROT_WRITE != 0 {
        p |= nix::sys::mman::ProtFlags::PROT_WRITE;
    }
    let file = phys_file()?;
    let len = std::num::NonZeroUsize::new(span).ok_or(Errno::EINVAL)?;
    // SAFETY: a new shared mapping of our own file, at an address the kernel chooses; it
    // aliases only other mappings of the same file (which is what physical memory is), never
    // Rust-owned memory.
    let base = unsafe {
        nix::sys::mman::mmap(
            None,
            len,
            p,
            nix::sys::mman::MapFlags::MAP_SHARED,
            file.as_fd(),
            start as i64,
        )
    }
    .map_err(|e| Errno(e as i32))?;
    // SAFETY: `offset - start` is below a page, inside the mapping.
    Ok(unsafe { base.as_ptr().cast::<u8>().add((offset - start) as usize) })
}

/// Unmaps what [`map_raw`] mapped at `addr` for `len` bytes. EINVAL for a null address or a
/// zero length.
///
/// # Safety
/// `addr`/`len` are a mapping [`map_raw`] returned, no longer used.
pub unsafe fn unmap_raw(addr: *mut u8, len: u64) -> KResult<()> {
    if addr.is_null() || len == 0 {
        return Err(Errno::EINVAL);
    }
    let start = (addr as usize) & !4095;
    let span = (addr as usize - start)
        .checked_add(usize::try_from(len).map_err(|_| Errno::EINVAL)?)
        .ok_or(Errno::EINVAL)?;
    let ptr = std::ptr::NonNull::new(start as *mut std::ffi::c_void).ok_or(Errno::EINVAL)?;
    // SAFETY: the caller's contract: a mapping of ours, no longer used.
    unsafe { nix::sys::mman::munmap(ptr, span) }.map_err(|e| Errno(e as i32))
}

/// A mapping of device registers (physical memory), unmapped when dropped. Every access is one
/// access of the register's width (an atomic one, as the device is another thread or program),
/// as `in32`/`out32` are.
#[derive(Debug)]
pub struct DeviceMemory {
    base: *mut u8,
    len: u64,
}

// SAFETY: the mapping is shared memory reached only through volatile accesses of whole
// registers; any thread may make them (as any CPU may touch a device).
unsafe impl Send for DeviceMemory {}
// SAFETY: as above.
unsafe impl Sync for DeviceMemory {}

impl DeviceMemory {
    /// `mmap_device_memory(NULL, len, PROT_READ|PROT_WRITE|PROT_NOCACHE, 0, physical)`.
    /// EINVAL a zero length or a range past [`PHYS_SIZE`].
    pub fn map(physical: u64, len: u64) -> KResult<DeviceMemory> {
        if physical.checked_add(len).is_none_or(|e| e > PHYS_SIZE) {
            return Err(Errno::EINVAL);
        }
        let base = map_raw(physical, len, libc::PROT_READ | libc::PROT_WRITE)?;
        Ok(DeviceMemory { base, len })
    }

    /// `mmap_device_io(len, port)`: the I/O ports `port` to `port + len - 1`, whose offsets
    /// here are port numbers relative to `port`. EINVAL past port 65535.
    pub fn map_io(port: u64, len: u64) -> KResult<DeviceMemory> {
        if port.checked_add(len).is_none_or(|e| e > IO_PORTS) {
            return Err(Errno::EINVAL);
        }
        let base = map_raw(PHYS_SIZE + port, len, libc::PROT_READ | libc::PROT_WRITE)?;
        Ok(DeviceMemory { base, len })
    }

    /// Bytes mapped.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Always false: a mapping has at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }

    fn at<T>(&self, off: u64) -> *mut T {
        let size = std::mem::size_of::<T>() as u64;
        assert!(
            off.checked_add(size).is_some_and(|e| e <= self.len),
            "register offset {off:#x} outside the mapping"
        );
        // (Aligned in memory, not only in the mapping: a mapping may start at any byte.)
        let at = (self.base as u64).wrapping_add(off);
        assert!(
            at.is_multiple_of(size),
            "register offset {off:#x} misaligned"
        );
        // SAFETY: checked inside the mapping just above.
        unsafe { self.base.add(off as usize).cast() }
    }

    /// The 8-bit register at `off` (`in8`). Panics outside the mapping.
    pub fn read8(&self, off: u64) -> u8 {
        // SAFETY: `at` checked the register lies in the live mapping, aligned; the mapping's
        // bytes are only ever reached through atomics of whole registers (or by C's volatile
        // accesses of the same widths, in another program).
        unsafe { std::sync::atomic::AtomicU8::from_ptr(self.at::<u8>(off)) }.load(SeqCst)
    }
    /// The 16-bit register at `off` (`in16`). Panics outside the mapping or misaligned.
    pub fn read16(&self, off: u64) -> u16 {
        // SAFETY: as `read8`.
        unsafe { std::sync::atomic::AtomicU16::from_ptr(self.at::<u16>(off)) }.load(SeqCst)
    }
    /// The 32-bit register at `off` (`in32`). Panics outside the mapping or misaligned.
    pub fn read32(&self, off: u64) -> u32 {
        // SAFETY: as `read8`.
        unsafe { std::sync::atomic::AtomicU32::from_ptr(self.at::<u32>(off)) }.load(SeqCst)
    }
    /// Writes the 8-bit register at `off` (`out8`).
    pub fn write8(&self, off: u64, v: u8) {
        // SAFETY: as `read8`.
        unsafe { std::sync::atomic::AtomicU8::from_ptr(self.at::<u8>(off)) }.store(v, SeqCst)
    }
    /// Writes the 16-bit register at `off` (`out16`).
    pub fn write16(&self, off: u64, v: u16) {
        // SAFETY: as `read8`.
        unsafe { std::sync::atomic::AtomicU16::from_ptr(self.at::<u16>(off)) }.store(v, SeqCst)
    }
    /// Writes the 32-bit register at `off` (`out32`).
    pub fn write32(&self, off: u64, v: u32) {
        // SAFETY: as `read8`.
        unsafe { std::sync::atomic::AtomicU32::from_ptr(self.at::<u32>(off)) }.store(v, SeqCst)
    }
}

impl Drop for DeviceMemory {
    fn drop(&mut self) {
        // SAFETY: our own mapping, unused from now on.
        let _ = unsafe { unmap_raw(self.base, self.len) };
    }
}
