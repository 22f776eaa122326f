/*
 * <sys/siginfo.h>: QNX's struct sigevent names and SIGEV_* values over glibc's struct sigevent
 * (libqnxsim, QNX Neutrino on Linux). Written for this project from QNX's public
 * documentation; not QNX's header.
 *
 * The struct is glibc's own (so a program may include <signal.h> too); QNX's members are
 * names for parts of it: sigev_coid and sigev_id are sigev_signo, sigev_code and
 * sigev_priority live in its padding. The SIGEV_* values are QNX 7's 64-bit ones. Every file
 * that includes this header calls libqnxsim's timer_create (and timer_settime, timer_gettime,
 * timer_getoverrun, timer_delete), which give a SIGEV_PULSE, SIGEV_UNBLOCK,
 * SIGEV_SIGNAL_CODE or SIGEV_SIGNAL_THREAD timer to the simulated kernel and the others to
 * glibc.
 */
#ifndef _QNXSIM_SYS_SIGINFO_H
#define _QNXSIM_SYS_SIGINFO_H

#include <signal.h>
#include <stdint.h>
#include <time.h>

#if defined(__GLIBC__) && (!defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 199309L)
#error "QNX's headers need POSIX's declarations, which glibc hides under a strict -std=c99: build with -D_DEFAULT_SOURCE (pkg-config --cflags qnxsim from qnxsim-install adds it) or -std=gnu99"
#endif

#ifdef __cplusplus
extern "C" {
#endif

#undef SIGEV_NONE
#undef SIGEV_SIGNAL
#undef SIGEV_THREAD

#define SIGEV_64BIT 0x80
#define SIGEV_NONE 0
#define SIGEV_SIGNAL (1 | SIGEV_64BIT)
#define SIGEV_SIGNAL_CODE (2 | SIGEV_64BIT)
#define SIGEV_SIGNAL_THREAD (3 | SIGEV_64BIT)
#define SIGEV_PULSE (4 | SIGEV_64BIT)
#define SIGEV_UNBLOCK (5 | SIGEV_64BIT)
#define SIGEV_INTR (6 | SIGEV_64BIT)
#define SIGEV_THREAD (7 | SIGEV_64BIT)

#define SIGEV_TYPE_MASK 0x000000ff
#define SIGEV_FLAG_CRITICAL 0x00000100
#define SIGEV_FLAG_OVERDRIVE 0x00000200 /* a hint for the CPU's frequency: no effect here */
#define SIGEV_FLAG_UPDATEABLE 0x00000400
#define SIGEV_FLAG_SIVAL_INT 0x00000800
#define SIGEV_FLAG_NOQUEUE 0x00001000
#define SIGEV_FLAG_HANDLE 0x00002000 /* registered (MsgRegisterEvent, <sys/neutrino.h>) */
#define SIGEV_FLAG_CODE_UPDATEABLE 0x00004000

#define SIGEV_PULSE_PRIO_INHERIT (-1)

#define SI_MINAVAIL (-128)
#define SI_MAXAVAIL (-64)
#ifndef SI_NOTIFY
#define SI_NOTIFY (-6) /* the code of select's and ionotify's pulses and signals */
#endif

/* QNX's members, as names for parts of glibc's struct. */
#define sigev_coid sigev_signo
#define sigev_id sigev_signo
#define sigev_code _sigev_un._pad[4]
#define sigev_priority _sigev_un._pad[5]

#define __QNXSIM_SIGVAL_PTR(v) ((void *)(intptr_t)(v))

#define SIGEV_GET_TYPE(e) ((e)->sigev_notify & SIGEV_TYPE_MASK)
#define SIGEV_SET_TYPE(e, t) \
    ((e)->sigev_notify = ((e)->sigev_notify & ~SIGEV_TYPE_MASK) | (t))
#define SIGEV_MAKE_CRITICAL(e) ((e)->sigev_notify |= SIGEV_FLAG_CRITICAL)
#define SIGEV_CLEAR_CRITICAL(e) ((e)->sigev_notify &= ~SIGEV_FLAG_CRITICAL)
#define SIGEV_GET_CRITICAL(e) (((e)->sigev_notify & SIGEV_FLAG_CRITICAL) != 0)
#define SIGEV_MAKE_OVERDRIVE(e) ((e)->sigev_notify |= SIGEV_FLAG_OVERDRIVE)
#define SIGEV_CLEAR_OVERDRIVE(e) ((e)->sigev_notify &= ~SIGEV_FLAG_OVERDRIVE)
#define SIGEV_MAKE_UPDATEABLE(e) ((e)->sigev_notify |= SIGEV_FLAG_UPDATEABLE)
#define SIGEV_CLEAR_UPDATEABLE(e) ((e)->sigev_notify &= ~SIGEV_FLAG_UPDATEABLE)

#define SIGEV_NONE_INIT(e) ((e)->sigev_notify = SIGEV_NONE)
#define SIGEV_UNBLOCK_INIT(e) ((e)->sigev_notify = SIGEV_UNBLOCK)
#define SIGEV_INTR_INIT(e) ((e)->sigev_notify = SIGEV_INTR)
#define SIGEV_SIGNAL_INIT(e, s) \
    ((e)->sigev_notify = SIGEV_SIGNAL, (e)->sigev_signo = (s))
#define SIGEV_SIGNAL_VALUE_INIT(e, s, v) \
    ((e)->sigev_notify = SIGEV_SIGNAL, (e)->sigev_signo = (s), \
     (e)->sigev_value.sival_ptr = __QNXSIM_SIGVAL_PTR(v))
#define SIGEV_SIGNAL_CODE_INIT(e, s, v, c) \
    ((e)->sigev_notify = SIGEV_SIGNAL_CODE, (e)->sigev_signo = (s), \
     (e)->sigev_value.sival_ptr = __QNXSIM_SIGVAL_PTR(v), (e)->sigev_code = (c))
#define SIGEV_SIGNAL_THREAD_INIT(e, s, v, c) \
    ((e)->sigev_notify = SIGEV_SIGNAL_THREAD, (e)->sigev_signo = (s), \
     (e)->sigev_value.sival_ptr = __QNXSIM_SIGVAL_PTR(v), (e)->sigev_code = (c))
#define SIGEV_PULSE_INIT(e, c, p, cd, v) \
    ((e)->sigev_notify = SIGEV_PULSE, (e)->sigev_coid = (c), (e)->sigev_priority = (p), \
     (e)->sigev_code = (cd), (e)->sigev_value.sival_ptr = __QNXSIM_SIGVAL_PTR(v))
#define SIGEV_THREAD_INIT(e, f, v, a) \
    ((e)->sigev_notify = SIGEV_THREAD, (e)->sigev_notify_function = (f), \
     (e)->sigev_value.sival_ptr = __QNXSIM_SIGVAL_PTR(v), (e)->sigev_notify_attributes = (a))

/* POSIX timers that understand QNX's events (see above). */
int qnxsim_timer_create(clockid_t clock_id, struct sigevent *evp, timer_t *timerid);
int qnxsim_timer_settime(timer_t timerid, int flags, const struct itimerspec *value,
                         struct itimerspec *ovalue);
int qnxsim_timer_gettime(timer_t timerid, struct itimerspec *value);
int qnxsim_timer_getoverrun(timer_t timerid);
int qnxsim_timer_delete(timer_t timerid);
#define timer_create qnxsim_timer_create
#define timer_settime qnxsim_timer_settime
#define timer_gettime qnxsim_timer_gettime
#define timer_getoverrun qnxsim_timer_getoverrun
#define timer_delete qnxsim_timer_delete

#ifdef __cplusplus
}
#endif

#endif
