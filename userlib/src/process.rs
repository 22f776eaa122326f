//! Simulated processes: several can live in one OS process, each with its own pid, chids and
//! coids. A [`Process`] owns one; dropping it is process exit.

use crate::current;
use kernel_sim::consts::{PRIO_DEFAULT, PRIO_MAX, PRIO_MIN};
use kernel_sim::{Errno, KResult, Kernel, Pid, ProcCounters};
use std::thread::JoinHandle;

/// A simulated process. Dropping it tears the process down: its channels are destroyed (their
/// blocked peers get ESRCH), its connections detached, its remaining threads released.
#[derive(Debug)]
pub struct Process {
    kernel: Kernel,
    pid: Pid,
}

impl Process {
    /// A new process on the default kernel.
    pub fn new() -> KResult<Process> {
        Process::new_in(current::default_kernel()?)
    }

    /// A new process on `kernel`.
    pub fn new_in(kernel: &Kernel) -> KResult<Process> {
        Ok(Process {
            kernel: kernel.clone(),
            pid: kernel.process_create()?,
        })
    }

    /// Its pid.
    pub fn pid(&self) -> i32 {
        self.pid.pid
    }

    /// Its kernel.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// Binds the calling OS thread to this process at `priority` (replacing any binding it
    /// had: that kernel thread exits).
    pub fn bind_current_thread(&self, priority: i16) -> KResult<()> {
        let ctx = self.kernel.thread_attach(self.pid, priority)?;
        drop(current::bind(ctx));
        Ok(())
    }

    /// Spawns an OS thread that is a kernel thread of this process at the default priority
    /// (10), and runs `f` in it.
    pub fn spawn<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> KResult<JoinHandle<T>> {
        self.spawn_with_priority(PRIO_DEFAULT, f)
    }

    /// Spawns a kernel thread of this process at `priority` (1..=255, else EINVAL).
    pub fn spawn_with_priority<T: Send + 'static>(
        &self,
        priority: i16,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> KResult<JoinHandle<T>> {
        if !(PRIO_MIN..=PRIO_MAX).contains(&priority) {
            return Err(Errno::EINVAL);
        }
        let ctx = self.kernel.thread_attach_for_another(self.pid, priority)?;
        Ok(std::thread::spawn(move || {
            ctx.adopt_os_thread();
            drop(current::bind(ctx));
            let r = f();
            drop(current::unbind());
            r
        }))
    }

    /// What the process's threads did in the kernel.
    pub fn counters(&self) -> KResult<ProcCounters> {
        self.kernel.process_counters(self.pid.pid)
    }

    /// Ends the process now (what dropping it does): its channels are destroyed, its
    /// connections detached (servers with `_NTO_CHF_DISCONNECT` get their pulse), its timers
    /// freed, its threads released.
    pub fn exit(self) {
        drop(self);
    }

    pub(crate) fn raw(&self) -> Pid {
        self.pid
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.kernel.process_destroy(self.pid);
    }
}

/// Spawns an OS thread that is a kernel thread of the calling thread's process (the default
/// process if the caller is unbound), at the caller's base priority, as QNX's `pthread_create`
/// makes a thread of the calling process that inherits its priority; runs `f` in it. A plain
/// `std::thread::spawn` makes a thread that joins the default process on its first call
/// instead. Errors: EAGAIN when the kernel has no room for another thread.
pub fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> KResult<JoinHandle<T>> {
    let (kernel, pid, prio) = current::with_current(|c| {
        let (base, _) = c.priority()?;
        Ok((c.kernel().clone(), c.process(), i16::from(base)))
    })?;
    let ctx = kernel.thread_attach_for_another(pid, prio)?;
    Ok(std::thread::spawn(move || {
        ctx.adopt_os_thread();
        drop(current::bind(ctx));
        let r = f();
        drop(current::unbind());
        r
    }))
}
