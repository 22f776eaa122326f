//! The timing and ability calls from C (`capi/tests/c/clock_suite.c`): `ClockCycles`
//! (monotonic, advancing, at `SYSPAGE_ENTRY(qtime)->cycles_per_sec`, `CLOCK_MONOTONIC_RAW`
//! itself), `<sys/syspage.h>` (`_syspage_ptr` valid in a constructor before main, `num_cpu`,
//! `boot_time`, the page read-only), `ClockTime` and `ClockPeriod` (both clocks, every errno,
//! the `_r` forms) and `procmgr_ability` (the lists accepted, every error, the walk's bound),
//! compiled as C99 (linked shared and static) and as C++17. Also: the counter is the same in
//! every program (a program's reading lies between two of this test's own), the members the
//! system page leaves out do not compile, nor does assigning `_syspage_ptr`, and, when the
//! test runs as root, the suite once more as an unprivileged user (for setting
//! `CLOCK_REALTIME`'s EPERM, which root skips).
//!
//! Every program runs bounded in time and is killed on every exit path (`Running` kills and
//! reaps on drop); every file lives in a temporary directory removed on every exit path.

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build_suite, cflags, Lang, Link, Running};
use procs::TempDir;
use std::process::Command;
use std::time::Duration;

/// The checks clock_suite.c makes at the least (as root: setting `CLOCK_REALTIME` skipped).
const MIN_CHECKS: u32 = 125;
/// The bound on one run of it.
const RUN_WITHIN: Duration = Duration::from_secs(60);

c_suite_tests!("clock_suite", MIN_CHECKS, RUN_WITHIN);

/// `CLOCK_MONOTONIC_RAW` in ns, as this test reads it.
fn monotonic_raw_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is ours and writable.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_RAW, &mut ts) };
    assert_eq!(r, 0, "clock_gettime(CLOCK_MONOTONIC_RAW)");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// `ClockCycles()` is one counter for the machine: what another program reads lies between
/// this process's readings of `CLOCK_MONOTONIC_RAW` before it started and after it ended.
#[test]
fn clock_cycles_is_the_same_counter_in_every_program() {
    let dir = TempDir::new("c-clock-cycles");
    for link in [Link::Shared, Link::Static] {
        let exe = build_suite(&dir, "clock_suite", Lang::C99, link);
        let mut last = 0;
        for _ in 0..3 {
            let before = monotonic_raw_ns();
            let (status, out, err) =
                Running::start(&exe, &["cycles"], &[] as &[(&str, &str)]).finish(RUN_WITHIN);
            let after = monotonic_raw_ns();
            assert!(status.success(), "{link:?}: {status}\n{out}\n{err}");
            let cycles: u64 = out
                .trim()
                .parse()
                .unwrap_or_else(|e| panic!("{link:?}: {out:?}: {e}"));
            assert!(
                before <= cycles && cycles <= after,
                "{link:?}: the program's ClockCycles {cycles} outside this test's \
                 CLOCK_MONOTONIC_RAW readings [{before}, {after}]"
            );
            assert!(
                cycles > last,
                "{link:?}: a later program's reading is later"
            );
            last = cycles;
        }
    }
}

/// Compiles `text` (C99 and C++17, warnings as errors): whether each compiler accepted it,
/// and what it said.
fn compiles(dir: &TempDir, name: &str, text: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    for (ext, compiler, std) in [
        (
            "c",
            std::env::var("CC").unwrap_or_else(|_| "cc".into()),
            "-std=c99",
        ),
        (
            "cc",
            std::env::var("CXX").unwrap_or_else(|_| "c++".into()),
            "-std=c++17",
        ),
    ] {
        let src = dir.join(&format!("{name}.{ext}"));
        std::fs::write(&src, text).expect("writing a source");
        let output = Command::new(&compiler)
            .args([std, "-Wall", "-Wextra", "-Werror", "-c", "-o"])
            .arg(src.with_extension("o"))
            .args(cflags())
            .arg(&src)
            .output()
            .unwrap_or_else(|e| panic!("running {compiler}: {e}"));
        out.push((
            output.status.success(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ));
    }
    out
}

/// The system page has only what this library fills: a program reading one of QNX's other
/// members (the tick-updated `nsec`, `nsec_tod_adjust`; `type`, `cpuinfo`) fails to compile
/// rather than reading a made-up value, and `_syspage_ptr` cannot be assigned; the uses QNX
/// programs make of it compile.
#[test]
fn the_system_page_has_only_what_it_can_fill_and_cannot_be_repointed() {
    let dir = TempDir::new("c-clock-syspage");
    let good = "#include <sys/syspage.h>\n\
                int main(void) {\n\
                    struct qtime_entry *q = SYSPAGE_ENTRY(qtime);\n\
                    struct syspage_entry *sp = _syspage_ptr;\n\
                    return (int)(q->cycles_per_sec + q->boot_time + sp->num_cpu\n\
                                 + _syspage_ptr->size + SYSPAGE_ENTRY_SIZE(qtime));\n\
                }\n";
    for (ok, err) in compiles(&dir, "good", good) {
        assert!(ok, "QNX's uses of the system page compile:\n{good}\n{err}");
    }
    let bad = [
        ("nsec", "return (int)SYSPAGE_ENTRY(qtime)->nsec;"),
        ("tod", "return (int)SYSPAGE_ENTRY(qtime)->nsec_tod_adjust;"),
        ("nsec_inc", "return (int)SYSPAGE_ENTRY(qtime)->nsec_inc;"),
        ("type", "return (int)_syspage_ptr->type;"),
        ("cpuinfo", "return (int)_syspage_ptr->cpuinfo.entry_off;"),
        ("assign", "_syspage_ptr = 0; return 0;"),
    ];
    for (name, body) in bad {
        let text = format!("#include <sys/syspage.h>\nint main(void) {{ {body} }}\n");
        for (ok, _) in compiles(&dir, name, &text) {
            assert!(!ok, "this must not compile:\n{text}");
        }
    }
}

/// Run as root, the suite skips setting `CLOCK_REALTIME` (it would set the machine's clock):
/// then it runs once more as an unprivileged user (uid 65534, through `setpriv`), where the
/// set must fail with EPERM. Not root: the suites above made that check already.
#[test]
fn as_an_unprivileged_user_setting_the_realtime_clock_is_eperm() {
    let dir = TempDir::new("c-clock-nonroot");
    let exe = build_suite(&dir, "clock_suite", Lang::C99, Link::Static);
    let Some((status, out, err)) = common::cc::as_nobody(&dir, &exe, &[], RUN_WITHIN) else {
        return;
    };
    assert!(
        !out.contains("skipped: setting CLOCK_REALTIME"),
        "the unprivileged run skipped the check:\n{out}"
    );
    common::cc::expect_summary(
        "clock_suite as uid 65534",
        (status, out, err),
        MIN_CHECKS + 3,
    );
}
