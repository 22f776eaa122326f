/*
 * <stdlib.h>: the system's, plus QNX's min() and max() macros (libqnxsim, QNX Neutrino on
 * Linux). As in QNX's <stdlib.h>, they are defined for C only (in C++ they would break
 * std::min and std::max) and only where the program has not defined them already. Each
 * evaluates the argument it picks twice.
 */
/* (#include_next is a GNU extension: this pragma keeps -Wpedantic quiet about it.) */
#if defined(__GNUC__)
#pragma GCC system_header
#endif
#include_next <stdlib.h>

#ifndef _QNXSIM_STDLIB_H
#define _QNXSIM_STDLIB_H
#ifndef __cplusplus
#ifndef max
#define max(a, b) (((a) > (b)) ? (a) : (b))
#endif
#ifndef min
#define min(a, b) (((a) < (b)) ? (a) : (b))
#endif
#endif
#endif
