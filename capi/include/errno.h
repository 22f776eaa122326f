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
#define ENOREMOTE 300 /* must be done on a remote node */
#endif
#ifndef ENONDP
#define ENONDP 301 /* needs an NDP (8087) to run */
#endif
#ifndef EBADFSYS
#define EBADFSYS 302 /* corrupted file system detected */
#endif
#ifndef EMORE
#define EMORE 309 /* more to do, send message again */
#endif
#ifndef ECTRLTERM
#define ECTRLTERM 310 /* remap to the controlling terminal */
#endif
#ifndef ENOLIC
#define ENOLIC 311 /* no license */
#endif
#ifndef ESRVRFAULT
#define ESRVRFAULT 312 /* server fault on msg pass */
#endif
#ifndef EENDIAN
#define EENDIAN 313 /* endian not supported */
#endif
#ifndef ESECTYPEINVAL
#define ESECTYPEINVAL 314 /* invalid security type */
#endif
#endif
