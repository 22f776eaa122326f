/*
 * <qnxsim/interrupt.h>: libqnxsim's extension for simulated devices and tests. Not QNX's: on
 * QNX the hardware raises interrupts; here a program stands in for it.
 */
#ifndef _QNXSIM_QNXSIM_INTERRUPT_H
#define _QNXSIM_QNXSIM_INTERRUPT_H

#ifdef __cplusplus
extern "C" {
#endif

/* Raises level intr (0 to 255) of the calling thread's kernel (QNXSIM_KERNEL's, as every
 * call's), as a device's interrupt request would: delivered now to every attachment on the
 * level (InterruptAttach, InterruptAttachEvent) if it is unmasked, else latched (one request,
 * however many raises) and delivered when its mask count falls to 0. Returns how many
 * attachments it went to now (0: none, or the level is masked), or -1 and errno EINVAL for a
 * bad level. */
int qnxsim_interrupt_raise(int intr);

#ifdef __cplusplus
}
#endif

#endif
