//! `qnxsim-install --prefix DIR`: installs libqnxsim for C and C++ programs, laid out as
//! cargo-c lays out a Rust library with a C interface:
//!
//! * `DIR/lib/libqnxsim.so`, `DIR/lib/libqnxsim.a`;
//! * `DIR/include/qnxsim/...`: the QNX headers (`sys/neutrino.h`, `process.h`, ...), in a
//!   directory of their own so that they never shadow the system's for other programs;
//! * `DIR/lib/pkgconfig/qnxsim.pc`, so that `cc prog.c $(pkg-config --cflags --libs qnxsim)`
//!   builds a QNX program;
//! * `DIR/bin/procnto-sim`, `DIR/bin/pidin-sim` and `DIR/bin/intr-sim`: the supervisor that
//!   programs sharing a kernel start by themselves when it is on their `PATH`, its inspector,
//!   and the tool that raises simulated interrupts.
//!
//! A prefix whose absolute path holds whitespace or a character pkg-config or the shell treats
//! specially is refused: `$(pkg-config ...)` is split at spaces, whatever the `.pc` file says.
//!
//! It installs what cargo built: the library and programs are taken from the directory this
//! program runs from (`target/release` after `cargo build --release -p qnxsim -p procnto-sim`),
//! or from `--from DIR`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: qnxsim-install --prefix DIR [--from DIR]

Installs libqnxsim (lib/), the QNX headers (include/qnxsim/), lib/pkgconfig/qnxsim.pc and the
procnto-sim supervisor, pidin-sim and intr-sim (bin/) under --prefix, from what cargo built
(--from: default, the directory this program is in). The prefix's path may not hold whitespace
or any of $ ` \\ \" ' # (the flags pkg-config gives would break at them). Build first with:
  cargo build --release -p qnxsim -p procnto-sim";

struct Args {
    prefix: PathBuf,
    from: PathBuf,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut prefix = None;
    let mut from = None;
    while let Some(a) = args.next() {
        let (key, inline) = match a.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("{name} needs a directory"))
        };
        match key.as_str() {
            "--prefix" => prefix = Some(PathBuf::from(value("--prefix")?)),
            "--from" => from = Some(PathBuf::from(value("--from")?)),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let prefix = prefix.ok_or("--prefix is required")?;
    let from = match from {
        Some(f) => f,
        None => std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_path_buf))
            .ok_or("cannot tell where this program is: give --from")?,
    };
    Ok(Args { prefix, from })
}

/// `name` in `from` or in its `deps/` (where cargo leaves a library it built for a test).
fn built(from: &Path, name: &str) -> Option<PathBuf> {
    [from.join(name), from.join("deps").join(name)]
        .into_iter()
        .find(|p| p.is_file())
}

fn copy(src: &Path, dst: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = dst.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    // Replace, not overwrite in place: a running program may have the old library mapped.
    let tmp = dst.with_extension("qnxsim-install.tmp");
    std::fs::copy(src, &tmp)
        .map_err(|e| format!("copying {} to {}: {e}", src.display(), tmp.display()))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("setting the mode of {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, dst).map_err(|e| format!("installing {}: {e}", dst.display()))?;
    println!("installed {}", dst.display());
    Ok(())
}

fn copy_tree(src: &Path, dst: &Path) -> Result<(), String> {
    let entries = std::fs::read_dir(src).map_err(|e| format!("reading {}: {e}", src.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("reading {}: {e}", src.display()))?;
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &dst.join(entry.file_name()))?;
        } else if path.extension().is_some_and(|x| x == "h") {
            copy(&path, &dst.join(entry.file_name()), 0o644)?;
        }
    }
    Ok(())
}

fn pc_file(prefix: &Path) -> String {
    format!(
        "prefix={}
exec_prefix=${{prefix}}
libdir=${{exec_prefix}}/lib
includedir=${{prefix}}/include

Name: qnxsim
Description: QNX Neutrino message passing on Linux: QNX's C API over a simulated kernel
Version: {}
Cflags: -I${{includedir}}/qnxsim -D_DEFAULT_SOURCE
Libs: -L${{libdir}} -Wl,-rpath,${{libdir}} -lqnxsim
Libs.private: -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
",
        prefix.display(),
        env!("CARGO_PKG_VERSION")
    )
}

/// Why the flags a `.pc` file gives for `prefix` would not survive `$(pkg-config ...)`, if
/// they would not: the shell splits the output at whitespace (pkg-config's `\ ` escapes do not
/// help there), and pkg-config itself gives `$`, quotes, `\` and `#` meanings in the file.
fn unusable_prefix(prefix: &Path) -> Option<String> {
    let Some(s) = prefix.to_str() else {
        return Some("is not UTF-8".to_string());
    };
    s.chars()
        .find(|c| c.is_whitespace() || "$`\\\"'#".contains(*c))
        .map(|c| {
            format!(
                "holds {c:?}: the flags `pkg-config --cflags --libs qnxsim` would give for it \
                 break apart in a shell command; choose a prefix without whitespace or any of \
                 $ ` \\ \" ' #"
            )
        })
}

fn install(a: &Args) -> Result<(), String> {
    let prefix =
        std::path::absolute(&a.prefix).map_err(|e| format!("{}: {e}", a.prefix.display()))?;
    let lib = prefix.join("lib");
    let so = built(&a.from, "libqnxsim.so").ok_or_else(|| {
        format!(
            "no libqnxsim.so in {}: build it first (cargo build --release -p qnxsim)",
            a.from.display()
        )
    })?;
    copy(&so, &lib.join("libqnxsim.so"), 0o755)?;
    if let Some(a_file) = built(&a.from, "libqnxsim.a") {
        copy(&a_file, &lib.join("libqnxsim.a"), 0o644)?;
    }
    let headers = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    copy_tree(&headers, &prefix.join("include").join("qnxsim"))?;
    let pc = lib.join("pkgconfig").join("qnxsim.pc");
    std::fs::create_dir_all(lib.join("pkgconfig"))
        .map_err(|e| format!("creating {}: {e}", lib.join("pkgconfig").display()))?;
    std::fs::write(&pc, pc_file(&prefix)).map_err(|e| format!("writing {}: {e}", pc.display()))?;
    println!("installed {}", pc.display());
    for prog in ["procnto-sim", "pidin-sim", "intr-sim"] {
        match built(&a.from, prog) {
            Some(p) => copy(&p, &prefix.join("bin").join(prog), 0o755)?,
            None => eprintln!(
                "note: no {prog} in {}: programs that share a kernel need procnto-sim on their \
                 PATH (cargo build --release -p procnto-sim, then run this again)",
                a.from.display()
            ),
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("qnxsim-install: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Some(why) = std::path::absolute(&args.prefix)
        .ok()
        .and_then(|p| unusable_prefix(&p))
    {
        eprintln!("qnxsim-install: the prefix {} {why}", args.prefix.display());
        return ExitCode::from(2);
    }
    match install(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qnxsim-install: {e}");
            ExitCode::FAILURE
        }
    }
}
