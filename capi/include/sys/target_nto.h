/*
 * <sys/target_nto.h>: QNX's fixed-width integer names (libqnxsim, QNX Neutrino on Linux).
 * Written for this project from QNX's public documentation; not QNX's header.
 */
#ifndef _QNXSIM_SYS_TARGET_NTO_H
#define _QNXSIM_SYS_TARGET_NTO_H

#include <stdint.h>

typedef int8_t _Int8t;
typedef uint8_t _Uint8t;
typedef int16_t _Int16t;
typedef uint16_t _Uint16t;
typedef int32_t _Int32t;
typedef uint32_t _Uint32t;
typedef int64_t _Int64t;
typedef uint64_t _Uint64t;
typedef intptr_t _Intptrt;
typedef uintptr_t _Uintptrt;

#ifndef __QNXNTO__
/* QNX programs test __QNX__ / __QNXNTO__ for QNX-only code: this is QNX's API. */
#define __QNXNTO__ 1
#endif
#ifndef __QNX__
#define __QNX__ 710
#endif

#endif
