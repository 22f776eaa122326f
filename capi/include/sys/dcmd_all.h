/*
 * <sys/dcmd_all.h>: the devctl commands every resource manager may answer (class _DCMD_ALL).
 * fcntl(F_GETFL) and fcntl(F_SETFL) on a resource manager's fd send DCMD_ALL_GETFLAGS and
 * DCMD_ALL_SETFLAGS. Written for this project from QNX's documented interface.
 */
#ifndef QNXSIM_SYS_DCMD_ALL_H
#define QNXSIM_SYS_DCMD_ALL_H

#include <stdint.h>
#include <devctl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* DCMD_ALL_FADVISE's argument (24 bytes). */
struct _fadvise {
    int advice;
    int spare;
    int64_t offset; /* off64_t */
    int64_t len;
};

#define DCMD_ALL_GETFLAGS __DIOF(_DCMD_ALL, 1, int)                 /* 0x40040101 */
#define DCMD_ALL_SETFLAGS __DIOT(_DCMD_ALL, 2, int)                 /* 0x80040102 */
#define DCMD_ALL_GETMOUNTFLAGS __DIOF(_DCMD_ALL, 3, int)            /* 0x40040103 */
#define DCMD_ALL_GETOWN __DIOF(_DCMD_ALL, 4, int)                   /* pid_t: 0x40040104 */
#define DCMD_ALL_SETOWN __DIOT(_DCMD_ALL, 5, int)                   /* pid_t: 0x80040105 */
#define DCMD_ALL_FADVISE __DIOT(_DCMD_ALL, 6, struct _fadvise)      /* 0x80180106 */

#ifdef __cplusplus
}
#endif

#endif
