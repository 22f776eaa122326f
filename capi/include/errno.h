/*
 * <errno.h>: the system's, plus QNX's EOK and QNX-only error names (libqnxsim, QNX Neutrino
 * on Linux). POSIX errors keep Linux's numbers; the QNX-only ones take QNX's, which Linux
 * does not use.
 */
/* (#include_next is a GNU extension: this pragma keeps -Wpedantic quiet about it.) */
#if defined(__GNUC__)
#pragma GCC system_header
#endif
#include_next <errno.h>

#ifndef _QNXSIM_ERRNO_H
#define _QNXSIM_ERRNO_H
#ifndef EOK
#define EOK 0
#endif
#ifndef ENOREMOTE
#define ENOREMOTE 300
#endif
#ifndef ESRVRFAULT
#define ESRVRFAULT 312
#endif
#endif
