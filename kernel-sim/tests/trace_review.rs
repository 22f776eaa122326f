//! Review of the kernel's trace events: what a subscriber may meet.
//!
//! A `qnx::call` event is emitted outside the kernel lock, and outside the kernel as signals
//! see it. A signal that arrived while a subscriber handled one ran its handler at once, on
//! top of the subscriber: a handler's kernel call (`MsgSendPulse` from a timer's handler, the
//! common case) then emitted its own events into the subscriber that was interrupted, which
//! deadlocks on any lock the subscriber holds (the recorders' mutexes, the step mode's). The
//! call events now keep signals for after the event, as the kernel does for its own work.
#![cfg(not(loom))]

mod support;

use std::cell::Cell;
use std::mem::MaybeUninit;
use support::*;
use tracing::Dispatch;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

thread_local! {
    /// The test thread's binding, for the handler's kernel call.
    static CTX: Cell<*const ThreadCtx> = const { Cell::new(std::ptr::null()) };
    /// Which call event raises the signal next ("enter" or "exit"; empty: none).
    static ARM: Cell<&'static str> = const { Cell::new("") };
    /// Inside the subscriber's handling of an event.
    static INSIDE: Cell<bool> = const { Cell::new(false) };
    /// The signal this thread's test raises.
    static SIG: Cell<i32> = const { Cell::new(0) };
}

thread_local! {
    /// Events the subscriber was handed while it was handling another one on this thread.
    static REENTERED: Cell<u32> = const { Cell::new(0) };
    /// Handler runs on this thread (each makes a kernel call).
    static HANDLED: Cell<u32> = const { Cell::new(0) };
}

extern "C" fn handler(_: i32) {
    HANDLED.with(|h| h.set(h.get() + 1));
    let p = CTX.with(Cell::get);
    if !p.is_null() {
        // SAFETY: the test keeps the binding alive while it is published.
        let ctx = unsafe { &*p };
        let _ = ctx.channel_create(0);
    }
}

/// A subscriber that raises a signal while handling the armed call event.
struct Raiser;

impl<S: tracing::Subscriber> Layer<S> for Raiser {
    fn on_event(&self, event: &tracing::Event<'_>, _cx: Context<'_, S>) {
        if event.metadata().target() != "qnx::call" {
            return;
        }
        if INSIDE.with(|i| i.replace(true)) {
            // A real recorder would now wait on a lock it holds itself.
            REENTERED.with(|r| r.set(r.get() + 1));
            return;
        }
        let mut what = String::new();
        struct W<'a>(&'a mut String);
        impl tracing::field::Visit for W<'_> {
            fn record_str(&mut self, f: &tracing::field::Field, v: &str) {
                if f.name() == "what" {
                    *self.0 = v.to_string();
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        event.record(&mut W(&mut what));
        if !ARM.with(Cell::get).is_empty() && ARM.with(Cell::get) == what {
            ARM.with(|a| a.set(""));
            // SAFETY: raising a signal whose handler is installed.
            unsafe { libc::raise(SIG.with(Cell::get)) };
        }
        INSIDE.with(|i| i.set(false));
    }
}

fn install(sig: i32) {
    // SAFETY: an all-zero sigaction is valid; installs a plain handler.
    unsafe {
        let mut act: libc::sigaction = MaybeUninit::zeroed().assume_init();
        act.sa_sigaction = handler as *const () as usize;
        libc::sigemptyset(&mut act.sa_mask);
        assert_eq!(libc::sigaction(sig, &act, std::ptr::null_mut()), 0);
    }
}

fn check(which: &'static str, sig: i32) {
    let k = Kernel::new(Config::small()).unwrap();
    install(sig);
    // The global default, as the recorders install themselves (a scoped one drops the events
    // emitted while it handles one: tracing's own guard, which the global one has not).
    static GLOBAL: std::sync::Once = std::sync::Once::new();
    GLOBAL.call_once(|| {
        let d = Dispatch::new(tracing_subscriber::registry().with(Raiser));
        tracing::dispatcher::set_global_default(d).unwrap();
    });
    SIG.with(|s| s.set(sig));
    let p = k.process_create().unwrap();
    let ctx = k.thread_attach(p, 10).unwrap();
    CTX.with(|c| c.set(&ctx));
    let (re0, h0) = (REENTERED.with(Cell::get), HANDLED.with(Cell::get));
    ARM.with(|a| a.set(which));
    let chid = ctx.channel_create(0).unwrap();
    assert!(chid > 0);
    CTX.with(|c| c.set(std::ptr::null()));
    assert_eq!(HANDLED.with(Cell::get), h0 + 1, "the handler ran");
    assert_eq!(
        REENTERED.with(Cell::get),
        re0,
        "a signal handler's kernel call reached the subscriber while it handled the {which} event"
    );
}

#[test]
fn a_signal_during_a_call_enter_event_runs_its_handler_after_the_event() {
    check("enter", libc::SIGRTMIN() + 6);
}

#[test]
fn a_signal_during_a_call_exit_event_runs_its_handler_after_the_event() {
    check("exit", libc::SIGRTMIN() + 7);
}
