//! The C `struct sigevent`: glibc's own struct, with QNX's member names and `SIGEV_*` values
//! laid over it by `<sys/siginfo.h>` (so a program that also includes `<signal.h>` sees one
//! struct), and its translation to the kernel's [`SigEvent`].
//!
//! | QNX member | glibc member it is | offset |
//! |---|---|---|
//! | `sigev_value` | `sigev_value` | 0 |
//! | `sigev_signo`, `sigev_coid`, `sigev_id` | `sigev_signo` | 8 |
//! | `sigev_notify` | `sigev_notify` | 12 |
//! | `sigev_code` | `_sigev_un._pad[4]` | 32 |
//! | `sigev_priority` | `_sigev_un._pad[5]` | 36 |
//!
//! `sigev_notify` holds QNX 7's 64-bit values (`SIGEV_PULSE` is `0x84`, `SIGEV_NONE` 0), which
//! no glibc value but 0 shares: the calls that hand an event to glibc (`timer_create`)
//! translate it.

use kernel_sim::types::{sigev, SigEvent};
use kernel_sim::{Errno, KResult};

/// `SIGEV_64BIT`: the flag QNX 7's 64-bit headers set in every `SIGEV_*` value but
/// `SIGEV_NONE`.
pub const SIGEV_64BIT: i32 = 0x80;

/// The C `struct sigevent` (glibc's layout, 64 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CSigEvent {
    /// `union sigval sigev_value`.
    pub sigev_value: u64,
    /// `sigev_signo` (QNX: also `sigev_coid`, `sigev_id`).
    pub sigev_signo: i32,
    /// `sigev_notify`: QNX 7's values.
    pub sigev_notify: i32,
    /// glibc's `_sigev_un`: `_pad[0..2]` the thread function, `_pad[2..4]` its attributes,
    /// `_pad[4]` QNX's `sigev_code`, `_pad[5]` its `sigev_priority`.
    pub un: [i32; 12],
}

const _: () = assert!(std::mem::size_of::<CSigEvent>() == 64);

impl CSigEvent {
    /// The QNX type (`SIGEV_GET_TYPE` without the 64-bit flag: 0 to 8), or EINVAL for a value
    /// that is no QNX event type.
    pub fn kind(&self) -> KResult<i32> {
        let t = self.sigev_notify & 0xff;
        match t {
            0 => Ok(sigev::SIGEV_NONE),
            _ if t & SIGEV_64BIT != 0 && (1..=8).contains(&(t & 0x7f)) => Ok(t & 0x7f),
            _ => Err(Errno::EINVAL),
        }
    }

    /// `sigev_code`.
    pub fn code(&self) -> i32 {
        self.un[4]
    }

    /// `sigev_priority`.
    pub fn priority(&self) -> i32 {
        self.un[5]
    }

    /// The kernel's event for this one (EINVAL: no QNX event type, or a pulse code or
    /// priority out of range). Only the members the type uses are read, as QNX's `SIGEV_*_INIT`
    /// macros set only those: an event made with `SIGEV_UNBLOCK_INIT` on an uninitialised
    /// struct holds whatever the stack had in the others.
    pub fn to_kernel(&self) -> KResult<SigEvent> {
        use sigev::*;
        let kind = self.kind()?;
        let (signo, value, code, priority) = match kind {
            SIGEV_NONE | SIGEV_UNBLOCK | SIGEV_INTR => (0, 0, 0, 0),
            SIGEV_SIGNAL | SIGEV_THREAD => (self.sigev_signo, self.sigev_value, 0, 0),
            SIGEV_SIGNAL_CODE | SIGEV_SIGNAL_THREAD => {
                let code = i16::try_from(self.code()).map_err(|_| Errno::EINVAL)?;
                (self.sigev_signo, self.sigev_value, code, 0)
            }
            _ => {
                // SIGEV_PULSE: the coid, its code (8 bits) and priority.
                let code = i16::try_from(self.code()).map_err(|_| Errno::EINVAL)?;
                let priority = i16::try_from(self.priority()).map_err(|_| Errno::EINVAL)?;
                if i8::try_from(code).is_err() {
                    return Err(Errno::EINVAL);
                }
                (self.sigev_signo, self.sigev_value, code, priority)
            }
        };
        Ok(SigEvent {
            sigev_notify: kind,
            sigev_signo: i64::from(signo),
            sigev_value: value,
            sigev_code: code,
            sigev_priority: priority,
            ..SigEvent::default()
        })
    }

    /// The C event for a kernel one (what `TimerInfo` reports).
    pub fn from_kernel(e: &SigEvent) -> CSigEvent {
        let kind = e.kind();
        let mut un = [0i32; 12];
        un[4] = i32::from(e.sigev_code);
        un[5] = i32::from(e.sigev_priority);
        CSigEvent {
            sigev_value: e.sigev_value,
            sigev_signo: e.sigev_signo as i32,
            sigev_notify: if kind == sigev::SIGEV_NONE {
                0
            } else {
                kind | SIGEV_64BIT
            },
            un,
        }
    }
}

/// The kernel's event for the C event at `ev` (NULL: `None`).
///
/// # Safety
/// `ev` is NULL or points at a readable `struct sigevent`.
pub(crate) unsafe fn event_in(ev: *const CSigEvent) -> KResult<Option<SigEvent>> {
    // SAFETY: our caller's promise.
    match unsafe { ev.as_ref() } {
        None => Ok(None),
        Some(e) => e.to_kernel().map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c_event(notify: i32, signo: i32, value: u64, code: i32, prio: i32) -> CSigEvent {
        let mut un = [0; 12];
        un[4] = code;
        un[5] = prio;
        CSigEvent {
            sigev_value: value,
            sigev_signo: signo,
            sigev_notify: notify,
            un,
        }
    }

    #[test]
    fn qnx_values_translate_and_glibc_ones_are_refused() {
        let e = c_event(0x84, 5, 77, 3, 21).to_kernel().unwrap();
        assert_eq!(e, SigEvent::pulse(5, 21, 3, 77));
        assert_eq!(c_event(0, 0, 0, 0, 0).to_kernel().unwrap().kind(), 0);
        assert_eq!(
            c_event(0x85, 0, 0, 0, 0).to_kernel().unwrap(),
            SigEvent::unblock()
        );
        // A flag above the type is allowed (SIGEV_FLAG_CRITICAL).
        assert_eq!(c_event(0x184, 1, 0, 0, -1).to_kernel().unwrap().kind(), 4);
        // glibc's SIGEV_NONE (1), SIGEV_THREAD (2), SIGEV_THREAD_ID (4), and 0x89.
        for bad in [1, 2, 4, 0x89, 0x80] {
            assert_eq!(
                c_event(bad, 0, 0, 0, 0).to_kernel(),
                Err(Errno::EINVAL),
                "{bad:#x}"
            );
        }
        // A pulse code beyond 8 bits, a priority beyond 16.
        assert_eq!(c_event(0x84, 1, 0, 300, 10).to_kernel(), Err(Errno::EINVAL));
        assert_eq!(
            c_event(0x84, 1, 0, 1, 70000).to_kernel(),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn only_the_members_a_type_uses_are_read() {
        // What SIGEV_UNBLOCK_INIT / SIGEV_INTR_INIT / SIGEV_NONE_INIT leave in an
        // uninitialised struct: garbage everywhere else, the event still good.
        let garbage = |notify| c_event(notify, 0x5a5a_5a5a, 0xdead_beef, 0x7fff_0000, -70000);
        assert_eq!(garbage(0x85).to_kernel().unwrap(), SigEvent::unblock());
        assert_eq!(garbage(0x86).to_kernel().unwrap().kind(), sigev::SIGEV_INTR);
        assert_eq!(garbage(0).to_kernel().unwrap(), SigEvent::none());
        // SIGEV_SIGNAL_INIT: the signal (and value) read, code and priority not.
        let e = c_event(0x81, 14, 5, 0x7fff_0000, -70000)
            .to_kernel()
            .unwrap();
        assert_eq!(
            (e.kind(), e.sigev_signo, e.sigev_code),
            (sigev::SIGEV_SIGNAL, 14, 0)
        );
        // SIGEV_SIGNAL_CODE_INIT: its code read (and checked), the priority not.
        let e = c_event(0x82, 14, 5, -3, -70000).to_kernel().unwrap();
        assert_eq!(e, SigEvent::signal_code(14, 5, -3));
        assert_eq!(
            c_event(0x82, 14, 5, 70000, 0).to_kernel(),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn kernel_events_come_back_as_they_went() {
        for e in [
            SigEvent::pulse(0x4000_0001, -1, -33, 9),
            SigEvent::signal_code(10, 4, -3),
            SigEvent::none(),
        ] {
            assert_eq!(CSigEvent::from_kernel(&e).to_kernel().unwrap(), e);
        }
    }
}
