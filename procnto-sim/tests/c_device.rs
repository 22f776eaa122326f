//! QNX's device memory from C (`capi/tests/c/device_suite.c`), as a porter's driver uses it,
//! on the simulated physical memory: the suite on the program's own kernel, compiled as C99
//! (linked shared and static) and as C++17 (a driver thread and a device thread sharing a
//! register block and an interrupt, a UART's I/O ports, the string and le/be forms of
//! `<hw/inout.h>`, sub-page offsets, overlapping mappings, contents that persist across
//! munmap, read-only mappings, every errno, a forked child's mapping). `<hw/inout.h>`,
//! `<sys/mman.h>` and `<qnxsim/interrupt.h>` compile alone and beside the system's headers with
//! `-Wall -Wextra -Werror`, as C99 and C++17, and their programs run.
//!
//! And across processes: a C driver program and a C device program sharing the registers and
//! the interrupt on a supervised kernel named by `QNXSIM_KERNEL=NAME` (a private
//! `XDG_RUNTIME_DIR`; the first program starts the supervisor), whose `NAME.sock.phys` holds what
//! they wrote and is gone once the supervisor ends; and on a kernel in a memory file
//! (`QNXSIM_KERNEL=PATH`), sharing `PATH.phys`.
//!
//! Every program runs bounded in time and is killed on every exit path (`Running`, `Prog` and
//! `AutoStarted` kill on drop); every file lives in a temporary directory removed on every
//! exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, build_suite, Lang, Link, Running};
use common::prog::{expect_ok, Prog};
use common::*;
use procs::TempDir;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Duration;

/// The checks device_suite.c makes at the least.
const MIN_CHECKS: u32 = 140;
/// The bound on one run of it.
const RUN_WITHIN: Duration = Duration::from_secs(90);
/// An empty `QNXSIM_KERNEL` (taken for unset): the program's own kernel, whatever the test's
/// environment says.
const OWN_KERNEL: &[(&str, &str)] = &[("QNXSIM_KERNEL", "")];

c_suite_tests!("device_suite", MIN_CHECKS, RUN_WITHIN, env = OWN_KERNEL);

/// A program with its own kernel forks before its first device call; then the parent and the
/// child each map physical 0xfe270000 and the child writes there. On QNX both map the same
/// RAM; userlib's `device` documents its program-alone memory as "inherited by its forked
/// children". Here the child makes a memory file of its own, as the parent had none yet when it
/// forked: the child's write never reaches the parent (a child forked after the parent's first
/// device call does share it: the suite's `test_forked_child_shares`).
#[test]
fn a_child_forked_before_the_first_device_call_shares_the_physical_memory() {
    let dir = TempDir::new("c-device-fork");
    let exe = build_suite(&dir, "device_suite", Lang::C99, Link::Shared);
    let (status, out, err) = Running::start(&exe, &["fork-first"], OWN_KERNEL).finish(WITHIN);
    let out = expect_ok("fork-first", (status, out, err), 3);
    assert!(
        out.lines().any(|l| l == "shared 1"),
        "the child's write to physical 0xfe270000 reached the parent's mapping:\n{out}"
    );
}

// ------------------------------------------------------------------ headers

/// What each header alone must give (it includes what it needs), as a program's body.
const ALONE: &[(&str, &str)] = &[
    (
        "hw/inout.h",
        r#"
int main(void) {
    uintptr_t io = mmap_device_io(2, 0x80);
    if (io == MAP_DEVICE_FAILED) return 1;
    out8(io, 0x5a);
    outbe16(io, 0x1234);
    if (in8(io) != 0x12 || inle16(io) != 0x3412) return 2;
    return munmap_device_io(io, 2) == 0 ? 0 : 3;
}
"#,
    ),
    (
        "sys/mman.h",
        r#"
int main(void) {
    void *p = mmap_device_memory(NULL, 8, PROT_READ | PROT_WRITE | PROT_NOCACHE, 0, 0x1004);
    if (p == MAP_FAILED) return 1;
    if (munmap_device_memory(p, 8) != 0) return 2;
    uintptr_t io = mmap_device_io(1, 0x80);
    if (io == MAP_DEVICE_FAILED || munmap_device_io(io, 1) != 0) return 3;
    /* The system's <sys/mman.h> is there too (#include_next). */
    void *a = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, NOFD, 0);
    if (a == MAP_FAILED || munmap(a, 4096) != 0) return 4;
    return 0;
}
"#,
    ),
    (
        "qnxsim/interrupt.h",
        r#"
int main(void) { return qnxsim_interrupt_raise(-1) == -1 ? 0 : 1; }
"#,
    ),
];

/// A body that uses every form of `<hw/inout.h>` and the device calls, for the orders.
const EVERY_FORM: &str = r#"
int main(void) {
    void *p = mmap_device_memory(NULL, 64, PROT_READ | PROT_WRITE | PROT_NOCACHE, 0, 0xfe280000ULL);
    if (p == MAP_FAILED) return 1;
    uintptr_t m = (uintptr_t)p;
    uint8_t b[4] = {1, 2, 3, 4};
    uint16_t w[2] = {5, 6};
    uint32_t l[2] = {7, 8};
    out8(m, 1); out16(m + 2, 2); out32(m + 4, 3); out64(m + 8, 4);
    if (in8(m) != 1 || in16(m + 2) != 2 || in32(m + 4) != 3 || in64(m + 8) != 4) return 2;
    out8s(b, 4, m + 16); out16s(w, 2, m + 18); out32s(l, 2, m + 20);
    if (in8s(b, 4, m + 16) != (void *)(b + 4) || in16s(w, 2, m + 18) != (void *)(w + 2) ||
        in32s(l, 2, m + 20) != (void *)(l + 2)) return 3;
    if (b[3] != 4 || w[1] != 6 || l[1] != 8) return 4;
    outle16(m + 24, 0x0102); outbe16(m + 26, 0x0102);
    outle32(m + 28, 0x01020304); outbe32(m + 32, 0x01020304);
    if (inle16(m + 24) != 0x0102 || inbe16(m + 26) != 0x0102) return 5;
    if (inle32(m + 28) != 0x01020304 || inbe32(m + 32) != 0x01020304) return 6;
    if (in8(m + 26) != 0x01 || in8(m + 28) != 0x04) return 7;
    if (munmap_device_memory(p, 64) != 0) return 8;
    struct sigevent ev;
    SIGEV_INTR_INIT(&ev);
    if (SIGEV_GET_TYPE(&ev) != SIGEV_INTR || qnxsim_interrupt_raise(256) != -1) return 9;
    return 0;
}
"#;

fn includes(names: &[&str]) -> String {
    names.iter().map(|h| format!("#include <{h}>\n")).collect()
}

/// Builds `src` (written to `dir/name.c`) as `lang` with the strict flags, runs it on its own
/// kernel, and expects exit status 0.
fn build_and_run(dir: &TempDir, name: &str, src: &str, lang: Lang) {
    let path = dir.join(&format!("{name}.c"));
    std::fs::write(&path, src).expect("writing a source");
    let exe = dir.join(&format!("{name}-{lang:?}"));
    build(&[path], &exe, lang, Link::Shared);
    let (status, out, err) = Running::start(&exe, &[], OWN_KERNEL).finish(WITHIN);
    assert!(
        status.success(),
        "{name} ({lang:?}): {status}\nsource:\n{src}\nstdout:\n{out}\nstderr:\n{err}"
    );
}

#[test]
fn inout_mman_and_interrupt_headers_compile_alone_and_with_the_system_headers_strictly() {
    let dir = TempDir::new("c-device-headers");
    for (i, (h, body)) in ALONE.iter().enumerate() {
        let src = format!("#include <{h}>\n{body}");
        for lang in [Lang::C99, Lang::Cxx17] {
            build_and_run(&dir, &format!("alone{i}"), &src, lang);
        }
    }
    let ours = ["hw/inout.h", "sys/mman.h", "qnxsim/interrupt.h"];
    let reversed = ["qnxsim/interrupt.h", "sys/mman.h", "hw/inout.h"];
    let system = [
        "stdint.h",
        "stddef.h",
        "string.h",
        "signal.h",
        "unistd.h",
        "pthread.h",
        "sys/neutrino.h",
        "sys/siginfo.h",
    ];
    let orders = [
        format!("{}{}", includes(&ours), includes(&system)),
        format!("{}{}", includes(&system), includes(&ours)),
        format!(
            "{}{}{}",
            includes(&system[..4]),
            includes(&reversed),
            includes(&system[4..])
        ),
    ];
    for (i, order) in orders.iter().enumerate() {
        let src = format!("{order}{EVERY_FORM}");
        for lang in [Lang::C99, Lang::Cxx17] {
            build_and_run(&dir, &format!("order{i}"), &src, lang);
        }
    }
}

// ------------------------------------------------------------------ across processes

/// The interrupt level the programs share, and the rounds the driver serves.
const LEVEL: &str = "42";
const ROUNDS: u32 = 25;
/// The register block, as device_suite.c lays it out.
const REGS_PHYS: u64 = 0xfe20_0000;
const REG_ID: u64 = 0x00;
const REG_STATUS: u64 = 0x04;
const REG_COUNT: u64 = 0x08;
const REG_ACK: u64 = 0x0c;
const REG_FIFO: u64 = 0x10;
const DEV_ID: u32 = 0x1655_0a01;
/// A physical memory file's size: 1 TiB and the 65,536 ports.
const PHYS_FILE_LEN: u64 = (1 << 40) + 65536;

fn status_of(i: u32) -> u32 {
    0x8000_0000 | i
}
fn fifo_of(i: u32) -> u32 {
    0xc0de_0000 + i
}
fn ack_of(i: u32) -> u32 {
    0xa5a5_0000 ^ i
}

/// The 32-bit register at `off` of the block, read from the physical memory file.
fn reg_in_file(phys: &Path, off: u64) -> u32 {
    let f = std::fs::File::open(phys).unwrap_or_else(|e| panic!("{}: {e}", phys.display()));
    let mut b = [0u8; 4];
    f.read_exact_at(&mut b, REGS_PHYS + off)
        .unwrap_or_else(|e| panic!("reading {}: {e}", phys.display()));
    u32::from_ne_bytes(b)
}

/// The driver program (attached, "ready" said) and the device program, on the kernel `env`
/// names, through `ROUNDS` interrupts: each one the driver served with what the device wrote.
/// Returns the driver, which said "done" and waits for "quit".
fn driver_and_device(exe: &Path, env: &[(&str, String)]) -> Prog {
    let rounds = ROUNDS.to_string();
    let mut driver = Prog::start(exe, &["driver", LEVEL, &rounds], env);
    let line = driver.line();
    let ready: Vec<i64> = numbers(
        line.strip_prefix("ready ")
            .unwrap_or_else(|| panic!("{}: {line:?}", driver.what)),
    );
    assert_eq!(ready[0], i64::from(driver.pid()), "{line:?}");
    assert!(ready[1] > 0, "the driver's InterruptAttachEvent: {line:?}");
    let device = Prog::start(exe, &["device", LEVEL, &rounds], env);
    for i in 1..=ROUNDS {
        assert_eq!(
            driver.line(),
            format!("irq {i} {:08x} {:08x}", status_of(i), fifo_of(i)),
            "the driver's round {i}: the status and FIFO word the device program wrote"
        );
    }
    assert_eq!(driver.line(), "done");
    expect_ok("the device program", device.finish(WITHIN), 2);
    driver
}

/// What the two programs left in the physical memory file `phys`: the last round's registers.
fn expect_registers_in(phys: &Path) {
    let len = std::fs::metadata(phys)
        .unwrap_or_else(|e| panic!("{}: {e}", phys.display()))
        .len();
    assert_eq!(len, PHYS_FILE_LEN, "{}'s size", phys.display());
    assert_eq!(
        reg_in_file(phys, REG_ID),
        DEV_ID,
        "ID in {}",
        phys.display()
    );
    assert_eq!(reg_in_file(phys, REG_STATUS), status_of(ROUNDS), "STATUS");
    assert_eq!(
        reg_in_file(phys, REG_ACK),
        ack_of(ROUNDS),
        "the driver's last ACK"
    );
    assert_eq!(reg_in_file(phys, REG_FIFO), fifo_of(ROUNDS), "FIFO");
    assert_eq!(
        reg_in_file(phys, REG_COUNT),
        0,
        "the FIFO drained by the driver"
    );
}

/// The supervisors of kernel `name` (by their command line), killed on drop: the one a program
/// started is not the test's child.
struct AutoStarted(String);

impl AutoStarted {
    fn pids(&self) -> Vec<i32> {
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        procs
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                    return false;
                };
                let args: Vec<&[u8]> = cmd.split(|&b| b == 0).collect();
                args.first().is_some_and(|a| a.ends_with(b"procnto-sim"))
                    && args
                        .windows(2)
                        .any(|w| w[0] == b"--kernel" && w[1] == self.0.as_bytes())
            })
            .collect()
    }
}

impl Drop for AutoStarted {
    fn drop(&mut self) {
        for pid in self.pids() {
            // SAFETY: kill(2) with a pid read just now from /proc, whose command line names
            // this test's own kernel (a name unique to this test run): a supervisor this test
            // caused to start.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// The names in directory `d` (for messages), or why not.
fn listing(d: &Path) -> String {
    match std::fs::read_dir(d) {
        Ok(es) => {
            let mut names: Vec<String> = es
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            format!("{names:?}")
        }
        Err(e) => format!("({e})"),
    }
}

#[test]
fn a_driver_and_a_device_program_share_registers_and_interrupt_on_a_named_kernel() {
    use std::os::unix::fs::DirBuilderExt;
    let dir = TempDir::new("c-device-named");
    let exe = build_suite(&dir, "device_suite", Lang::C99, Link::Shared);
    // A private runtime directory: the kernel's socket and physical memory go in its qnxsim/.
    let runtime = dir.join("run");
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&runtime)
        .expect("the runtime directory");
    let name = format!("dev-{}", std::process::id());
    let qnxsim_dir = runtime.join("qnxsim");
    let socket = qnxsim_dir.join(format!("{name}.sock"));
    let phys = qnxsim_dir.join(format!("{name}.sock.phys"));
    // Declared after `dir`: the supervisor is killed (if it is still there) before its
    // directory goes.
    let auto = AutoStarted(name.clone());
    let env = vec![
        (userlib::current::KERNEL_ENV, name.clone()),
        (userlib::current::SUPERVISOR_ENV, BIN.to_string()),
        ("XDG_RUNTIME_DIR", runtime.display().to_string()),
    ];
    assert!(!socket.exists() && !phys.exists());

    let driver = {
        let mut driver = driver_and_device(&exe, &env);
        assert_eq!(
            auto.pids().len(),
            1,
            "the first program started one supervisor"
        );
        assert!(
            socket.exists(),
            "the kernel's socket: {}",
            listing(&qnxsim_dir)
        );
        // The two programs shared this file: the last round's registers are in it.
        expect_registers_in(&phys);
        driver.say("quit");
        driver
    };
    expect_ok("the driver program", driver.finish(WITHIN), 4 * ROUNDS);

    // Its linger after the last program (2 s), the supervisor ends, and removes the kernel's
    // socket and its physical memory.
    wait_until("the supervisor ends", || auto.pids().is_empty());
    assert!(
        !socket.exists(),
        "the socket is gone: {}",
        listing(&qnxsim_dir)
    );
    assert!(
        !phys.exists(),
        "{} is gone once the supervisor ended: {}",
        phys.display(),
        listing(&qnxsim_dir)
    );
    assert_eq!(
        listing(&qnxsim_dir),
        "[]",
        "nothing left in the runtime directory"
    );
}

#[test]
fn a_driver_and_a_device_program_share_path_phys_beside_a_kernel_file() {
    let dir = TempDir::new("c-device-file");
    let exe = build_suite(&dir, "device_suite", Lang::C99, Link::Shared);
    let kernel = dir.join("kernel");
    let phys = dir.join("kernel.phys");
    let runtime = dir.join("run");
    let env = vec![
        (userlib::current::KERNEL_ENV, kernel.display().to_string()),
        (userlib::current::SUPERVISOR_ENV, BIN.to_string()),
        // (Nothing should go there: no supervisor for a kernel file.)
        ("XDG_RUNTIME_DIR", runtime.display().to_string()),
    ];
    assert!(!kernel.exists() && !phys.exists());
    let mut driver = driver_and_device(&exe, &env);
    assert!(kernel.exists(), "the kernel's memory file");
    expect_registers_in(&phys);
    driver.say("quit");
    expect_ok("the driver program", driver.finish(WITHIN), 4 * ROUNDS);
    // No supervisor removes it: it stays beside the kernel file, with what the programs wrote,
    // until its directory goes.
    expect_registers_in(&phys);
    assert!(
        !runtime.exists(),
        "a kernel file needs no runtime directory: {}",
        listing(&runtime)
    );
    let root = kernel.parent().expect("the directory").to_path_buf();
    drop(dir);
    assert!(
        !root.exists(),
        "the test's directory, the kernel and {} removed",
        phys.display()
    );
}
