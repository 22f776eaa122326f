//! Simulated device memory (`userlib::device`, QNX's `mmap_device_memory` and
//! `mmap_device_io`): two mappings of one physical address are the same bytes, in one program
//! and across programs of one kernel; bounds are EINVAL; a register outside a mapping is a
//! panic, not a stray access; and a driver woken by its interrupt reads what the device wrote.

#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use procs::{child_role, child_setup, tell_parent, Child, TempDir};
use std::time::Duration;
use userlib::device::{DeviceMemory, IO_PORTS, PHYS_SIZE};
use userlib::interrupt::{
    interrupt_attach_event, interrupt_raise, interrupt_unmask, interrupt_wait,
};
use userlib::{Errno, SigEvent};

const WITHIN: Duration = Duration::from_secs(20);

#[test]
fn two_mappings_of_a_physical_address_are_the_same_registers() {
    let a = DeviceMemory::map(0x4000_0000, 0x2000).unwrap();
    let b = DeviceMemory::map(0x4000_1000, 0x1000).unwrap(); // the second page of `a`
    a.write32(0x1008, 0x1234_5678);
    assert_eq!(b.read32(0x8), 0x1234_5678);
    b.write16(0xffe, 0xabcd);
    assert_eq!(a.read16(0x1ffe), 0xabcd);
    assert_eq!(a.read8(0x1ffe), 0xcd, "little-endian bytes");
    // Not page aligned: byte 0 of the mapping is the physical address asked for.
    let c = DeviceMemory::map(0x4000_1004, 8).unwrap();
    assert_eq!(c.read32(4), 0x1234_5678);
    assert_eq!(c.len(), 8);
    // Unmapped and mapped again: the memory stays, as a device's registers do.
    drop((a, b, c));
    let d = DeviceMemory::map(0x4000_1000, 0x10).unwrap();
    assert_eq!(d.read32(0x8), 0x1234_5678);
}

#[test]
fn io_ports_are_a_space_of_their_own() {
    let uart = DeviceMemory::map_io(0x3f8, 8).unwrap();
    let again = DeviceMemory::map_io(0x3f8, 8).unwrap();
    uart.write8(5, 0x60);
    assert_eq!(again.read8(5), 0x60);
    // Port 0x3f8 is not physical address 0x3f8.
    let mem = DeviceMemory::map(0x3f8, 8).unwrap();
    mem.write8(5, 0x11);
    assert_eq!(uart.read8(5), 0x60);
    assert!(
        DeviceMemory::map_io(IO_PORTS - 4, 4).is_ok(),
        "the last ports"
    );
}

#[test]
fn bounds_are_einval() {
    assert_eq!(DeviceMemory::map(0, 0).err(), Some(Errno::EINVAL));
    assert_eq!(
        DeviceMemory::map(PHYS_SIZE - 4, 8).err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(
        DeviceMemory::map(u64::MAX - 2, 8).err(),
        Some(Errno::EINVAL)
    );
    assert!(
        DeviceMemory::map(PHYS_SIZE - 8, 8).is_ok(),
        "the last bytes"
    );
    assert_eq!(DeviceMemory::map_io(0, 0).err(), Some(Errno::EINVAL));
    assert_eq!(
        DeviceMemory::map_io(IO_PORTS - 1, 2).err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(DeviceMemory::map_io(u64::MAX, 1).err(), Some(Errno::EINVAL));
}

#[test]
#[should_panic(expected = "outside the mapping")]
fn a_register_past_the_mapping_is_a_panic_not_a_stray_access() {
    let m = DeviceMemory::map(0x5000_0000, 0x10).unwrap();
    m.read32(0x10);
}

#[test]
#[should_panic(expected = "misaligned")]
fn a_misaligned_register_is_a_panic() {
    let m = DeviceMemory::map(0x5000_0000, 0x10).unwrap();
    m.write32(2, 1);
}

/// The device's registers, for the tests that have a driver and a device.
const REGS: u64 = 0x6000_0000;
const STATUS: u64 = 0x0;
const DATA: u64 = 0x4;
const ACK: u64 = 0x8;
const LEVEL: i32 = 40;

#[test]
fn a_driver_woken_by_its_interrupt_reads_what_the_device_wrote() {
    let regs = DeviceMemory::map(REGS, 0x10).unwrap();
    let id = interrupt_attach_event(LEVEL, &SigEvent::intr(), 0).unwrap();
    let device = userlib::spawn(move || {
        let regs = DeviceMemory::map(REGS, 0x10).unwrap();
        for n in 1..=5u32 {
            regs.write32(DATA, n * 11);
            regs.write32(STATUS, 1);
            assert_eq!(interrupt_raise(LEVEL), Ok(1), "the driver unmasked");
            // The driver acknowledges by writing the value back.
            let until = std::time::Instant::now() + WITHIN;
            while regs.read32(ACK) != n * 11 {
                assert!(std::time::Instant::now() < until, "no acknowledgement");
                std::thread::yield_now();
            }
        }
    })
    .unwrap();
    for n in 1..=5u32 {
        interrupt_wait(0).unwrap();
        assert_eq!(regs.read32(STATUS), 1);
        let data = regs.read32(DATA);
        assert_eq!(data, n * 11);
        regs.write32(STATUS, 0);
        // Unmask before acknowledging: the device raises again only once acknowledged.
        assert_eq!(interrupt_unmask(LEVEL, id), Ok(0));
        regs.write32(ACK, data);
    }
    device.join().unwrap();
    userlib::interrupt::interrupt_detach(id).unwrap();
}

// ------------------------------------------------------------------ across programs

/// A device program: maps the registers, writes DATA, raises LEVEL, and says so.
fn device_program() {
    let regs = DeviceMemory::map(REGS, 0x10).unwrap();
    regs.write32(DATA, 0xfeed);
    let n = interrupt_raise(LEVEL).unwrap();
    tell_parent(&format!("raised {n}"));
}

/// A driver program: attaches, says ready, and reports what the device wrote when woken.
fn driver_program() {
    let regs = DeviceMemory::map(REGS, 0x10).unwrap();
    let id = interrupt_attach_event(LEVEL, &SigEvent::intr(), 0).unwrap();
    tell_parent("ready");
    userlib::qnx::timer_timeout(
        userlib::consts::CLOCK_MONOTONIC,
        userlib::consts::_NTO_TIMEOUT_INTR,
        Some(WITHIN.as_nanos() as u64),
    )
    .unwrap();
    interrupt_wait(0).unwrap();
    tell_parent(&format!("data {:#x}", regs.read32(DATA)));
    interrupt_unmask(LEVEL, id).unwrap();
}

/// Where a child starts; ignored in a normal run.
#[test]
#[ignore = "the entry point of this binary's child processes, not a test of its own"]
fn child_entry() {
    let Some((role, _)) = child_role() else {
        return;
    };
    child_setup();
    match role.as_str() {
        "driver" => driver_program(),
        "device" => device_program(),
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn a_driver_and_a_device_in_two_programs_share_registers_beside_their_kernel_file() {
    let dir = TempDir::new("device");
    let kernel = dir.join("kernel");
    let kernel = kernel.to_str().unwrap();
    let env = [(userlib::current::KERNEL_ENV, kernel)];
    let driver = Child::spawn_with_env("driver", "", &env);
    assert_eq!(driver.line(WITHIN), "ready");
    let device = Child::spawn_with_env("device", "", &env);
    assert_eq!(device.line(WITHIN), "raised 1");
    assert_eq!(driver.line(WITHIN), "data 0xfeed");
    assert!(driver.wait(WITHIN).success());
    assert!(device.wait(WITHIN).success());
    let phys = std::path::PathBuf::from(format!("{kernel}.phys"));
    let m = std::fs::metadata(&phys).expect("the physical memory beside the kernel file");
    assert_eq!(m.len(), PHYS_SIZE + IO_PORTS);
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        assert_eq!(
            m.permissions().mode() & 0o777,
            0o600,
            "the kernel file's mode"
        );
        assert!(m.blocks() < 1024, "sparse: {} blocks", m.blocks());
    }
}
