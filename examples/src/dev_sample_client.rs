//! The client of `dev-sample`, a program of its own: it uses `/dev/sample` as a QNX program
//! uses a device, through QNX's POSIX calls (`userlib::io`: each sends the I/O message QNX's
//! libc sends), and prints each call and what it gave. See `dev-sample` for how to run them.
//!
//! The steps: `open` the device, `write` the text, `lseek` back to the start, `read` it back,
//! ask the size with `devctl(DCMD_SAMPLE_GET_SIZE)`, empty it with `devctl(DCMD_SAMPLE_CLEAR)`,
//! arm `ionotify` for input on the empty device, let another thread open it and write, and
//! receive the notification pulse; then `fstat` and `close`. With `--hold` it then keeps a
//! descriptor open for that long, for you to kill it and watch the server close its OCB.
//!
//! Exit status: 0 when every step did what it should, 1 when one failed (it says which, and
//! with which errno), 2 for bad options.

use clap::Parser;
use examples::{Context, Failure};
use std::time::Duration;
use userlib::consts::*;
use userlib::io;
use userlib::iomsg::*;
use userlib::qnx::*;

/// `dev-sample`'s commands (the same definitions as in `src/dev_sample.rs`: a client and
/// its server share them, as a QNX device's header would hold them).
const DCMD_SAMPLE_GET_SIZE: i32 = diof(_DCMD_MISC, 1, 4);
const DCMD_SAMPLE_CLEAR: i32 = dion(_DCMD_MISC, 2);

#[derive(Parser, Debug)]
#[command(
    name = "dev-sample-client",
    version,
    about = "The client of dev-sample, a program of its own on a shared kernel (QNXSIM_KERNEL)"
)]
struct Args {
    /// What to write, then read back.
    #[arg(default_value = "hello, world")]
    text: String,
    /// The device's path.
    #[arg(long, default_value = "/dev/sample")]
    path: String,
    /// Seconds to wait for the notification pulse, 1 to 3600.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
    /// Then keep a descriptor open for this many seconds, 0 to 3600 (kill it meanwhile).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=3600))]
    hold: u64,
}

fn main() {
    examples::programs::quiet_on_broken_pipe();
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("dev-sample-client: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), Failure> {
    let path = args.path.as_str();
    let text = args.text.as_bytes();

    // 1. open: the path manager says which server owns the path; the server's open handler
    //    checks our access and binds our connection to a new OCB. The fd is that connection.
    let fd = io::open(path, nix::libc::O_RDWR, 0).context(|| format!("open({path:?}, O_RDWR)"))?;
    println!("open({path:?}, O_RDWR) = fd {fd:#x}");

    // 2. write: an _IO_WRITE message with our bytes after its header.
    let n = io::write(fd, text).context(|| "write")?;
    println!("write(fd, {:?}) = {n}", args.text);
    expect(n == text.len(), "the server took every byte")?;

    // 3. lseek: the position lives in the server, in our OCB.
    let at = io::lseek(fd, 0, nix::libc::SEEK_SET).context(|| "lseek")?;
    println!("lseek(fd, 0, SEEK_SET) = {at}");

    // 4. read: an _IO_READ; the server replies with the bytes.
    let mut buf = vec![0u8; text.len() + 64];
    let n = io::read(fd, &mut buf).context(|| "read")?;
    println!(
        "read(fd, buf, {}) = {n}: {:?}",
        buf.len(),
        String::from_utf8_lossy(&buf[..n])
    );
    expect(&buf[..n] == text, "read gives back what was written")?;

    // 5. devctl: the device's own commands.
    let mut size = [0u8; 4];
    io::devctl(fd, DCMD_SAMPLE_GET_SIZE, &mut size, None)
        .context(|| "devctl(DCMD_SAMPLE_GET_SIZE)")?;
    let size = i32::from_ne_bytes(size);
    println!("devctl(fd, DCMD_SAMPLE_GET_SIZE) = EOK: size {size}");
    expect(size as usize == text.len(), "the size is what was written")?;
    io::devctl(fd, DCMD_SAMPLE_CLEAR, &mut [], None).context(|| "devctl(DCMD_SAMPLE_CLEAR)")?;
    println!("devctl(fd, DCMD_SAMPLE_CLEAR) = EOK: the device is empty");

    // 6. ionotify: "send me this pulse when there is something to read". The pulse comes to
    //    a channel of our own.
    let chid = channel_create(0).context(|| "ChannelCreate")?;
    let me = connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).context(|| "ConnectAttach")?;
    let event = sigev_pulse_init(me, 10, SI_NOTIFY as i8, 0);
    let met = io::ionotify(fd, _NOTIFY_ACTION_POLLARM, _NOTIFY_COND_INPUT, Some(&event))
        .context(|| "ionotify(_NOTIFY_ACTION_POLLARM)")?;
    println!(
        "ionotify(fd, _NOTIFY_ACTION_POLLARM, _NOTIFY_COND_INPUT) = {met:#x}: {}",
        if met == 0 {
            "nothing to read, armed"
        } else {
            "data already there, not armed"
        }
    );
    expect(met == 0, "the empty device armed us")?;

    // 7. Another thread writes (it could as well be another program), while this one waits
    //    for the pulse: the server delivers it through the rcvid of our ionotify.
    let p = path.to_string();
    let writer = std::thread::spawn(move || -> Result<(), Failure> {
        let fd2 = io::open(&p, nix::libc::O_WRONLY, 0).context(|| "open (the writer)")?;
        io::lseek(fd2, 0, nix::libc::SEEK_END).context(|| "lseek (the writer)")?;
        let n = io::write(fd2, b"more").context(|| "write (the writer)")?;
        println!("  another thread: open, write(fd2, \"more\") = {n}, close");
        io::close(fd2).context(|| "close (the writer)")
    });
    let mut pulse = [0u8; userlib::PULSE_SIZE];
    timer_timeout(
        CLOCK_MONOTONIC,
        _NTO_TIMEOUT_RECEIVE,
        Some(args.timeout * 1_000_000_000),
    )
    .context(|| "TimerTimeout")?;
    let got = msg_receive_pulse(chid, &mut pulse);
    writer
        .join()
        .map_err(|_| Failure::new("the writer thread panicked"))??;
    got.context(|| {
        format!(
            "MsgReceivePulse (waiting {} s for the notification)",
            args.timeout
        )
    })?;
    let pulse = userlib::Pulse::from_bytes(&pulse).ok_or_else(|| Failure::new("a short pulse"))?;
    let value = pulse.value as u32 as i32;
    println!(
        "pulse: code {} (SI_NOTIFY), value {value:#x}{}",
        pulse.code,
        if value & _NOTIFY_COND_INPUT != 0 {
            " (_NOTIFY_COND_INPUT): something to read"
        } else {
            ""
        }
    );
    expect(
        pulse.code == SI_NOTIFY as i8 && value & _NOTIFY_COND_INPUT != 0,
        "the pulse says input",
    )?;
    let met = io::ionotify(fd, _NOTIFY_ACTION_POLL, _NOTIFY_COND_INPUT, None)
        .context(|| "ionotify(_NOTIFY_ACTION_POLL)")?;
    println!("ionotify(fd, _NOTIFY_ACTION_POLL, _NOTIFY_COND_INPUT) = {met:#x}");

    // 8. fstat: the default handler answers from the device's attribute.
    let st = io::fstat(fd).context(|| "fstat")?;
    println!(
        "fstat(fd): size {}, mode {:#o} ({}), owner uid {}",
        st.st_size,
        st.st_mode,
        if st.st_mode & nix::libc::S_IFMT == nix::libc::S_IFCHR {
            "a character device"
        } else {
            "not a character device"
        },
        st.st_uid
    );
    expect(
        st.st_size == 4,
        "fstat's size is the 4 bytes the other thread wrote",
    )?;

    // 9. close: an _IO_CLOSE, then the connection goes; the server's close_ocb runs.
    io::close(fd).context(|| "close")?;
    println!("close(fd) = EOK");
    connect_detach(me).context(|| "ConnectDetach")?;
    channel_destroy(chid).context(|| "ChannelDestroy")?;

    if args.hold > 0 {
        let fd = io::open(path, nix::libc::O_RDONLY, 0).context(|| "open (to hold)")?;
        println!(
            "holding fd {fd:#x} open for {} s (pid {})",
            args.hold,
            std::process::id()
        );
        std::thread::sleep(Duration::from_secs(args.hold));
        io::close(fd).context(|| "close (the held fd)")?;
        println!("close(fd) = EOK");
    }
    println!("dev-sample-client: every step did what it should");
    Ok(())
}

/// Fails with `what` unless `ok`.
fn expect(ok: bool, what: &str) -> Result<(), Failure> {
    if ok {
        Ok(())
    } else {
        Err(Failure::new(format!("expected: {what}")))
    }
}
