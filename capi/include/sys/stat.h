/*
 * <sys/stat.h>: the system's, plus QNX's special named files (libqnxsim, QNX Neutrino on
 * Linux): the file type S_IFNAM (0x5000, which Linux does not use), S_ISNAM(), and the
 * subtypes QNX keeps in st_rdev for them: S_INSEM (a semaphore), S_INSHD (shared memory),
 * S_INMQ (a message queue), S_INTMO (a typed memory object); S_IPERMS, the permission bits. A
 * resource manager's attribute may take the type (iofunc_attr_init(&attr, S_IFNAM | 0666,
 * NULL, NULL), as QNX's sample resource managers do); its clients' fstat and stat report it in
 * st_mode. struct stat and the other S_* names are Linux's (S_TYPEISMQ, S_TYPEISSEM and
 * S_TYPEISSHM among them: glibc's, always 0).
 */
/* (#include_next is a GNU extension: this pragma keeps -Wpedantic quiet about it.) */
#if defined(__GNUC__)
#pragma GCC system_header
#endif
#include_next <sys/stat.h>

#ifndef _QNXSIM_SYS_STAT_H
#define _QNXSIM_SYS_STAT_H

#ifndef _S_IFNAM
#define _S_IFNAM 0x5000 /* special named file */
#endif
#ifndef S_IFNAM
#define S_IFNAM _S_IFNAM
#endif
#ifndef S_ISNAM
#define S_ISNAM(m) (((m) & 0xF000) == _S_IFNAM)
#endif

/* The subtype of a special named file, in st_rdev. */
#ifndef _S_INSEM
#define _S_INSEM 00001 /* semaphore */
#endif
#ifndef _S_INSHD
#define _S_INSHD 00002 /* shared data */
#endif
#ifndef _S_INMQ
#define _S_INMQ 00003 /* message queue */
#endif
#ifndef _S_INTMO
#define _S_INTMO 00004 /* typed memory object */
#endif
#ifndef S_INSEM
#define S_INSEM _S_INSEM
#endif
#ifndef S_INSHD
#define S_INSHD _S_INSHD
#endif
#ifndef S_INMQ
#define S_INMQ _S_INMQ
#endif
#ifndef S_INTMO
#define S_INTMO _S_INTMO
#endif

#ifndef S_IPERMS
#define S_IPERMS 000777 /* the permission bits */
#endif

#endif
