/*
 * <devctl.h>: QNX's device control. devctl(), devctlv() and _devctl() send an _IO_DEVCTL
 * message to the resource manager behind an fd (libqnxsim's open gives such fds for paths a
 * resource manager attached). The command word: bit 31 DEVDIR_TO (data to the server), bit 30
 * DEVDIR_FROM (data back), bits 29..16 the size of the argument type (informational), 15..8
 * the class, 7..0 the command. devctl() returns EOK or the errno value itself (never -1, errno
 * untouched); ENOSYS from the server is ENOTTY. Written for this project from QNX's
 * documented interface.
 */
#ifndef QNXSIM_DEVCTL_H
#define QNXSIM_DEVCTL_H

#include <stddef.h>
#include <sys/uio.h>
#include <sys/dcmd_all.h>

#ifdef __cplusplus
extern "C" {
#endif

#define _POSIX_DEVDIR_NONE 0u
#define _POSIX_DEVDIR_TO 0x80000000u
#define _POSIX_DEVDIR_FROM 0x40000000u
#define _POSIX_DEVDIR_TOFROM (_POSIX_DEVDIR_TO | _POSIX_DEVDIR_FROM)
#define DEVDIR_NONE _POSIX_DEVDIR_NONE
#define DEVDIR_TO _POSIX_DEVDIR_TO
#define DEVDIR_FROM _POSIX_DEVDIR_FROM
#define DEVDIR_TOFROM _POSIX_DEVDIR_TOFROM
#define DEVDIR_CMD_MASK 0x0000FFFFu

/* Command words (int, as devctl takes them). */
#define __DION(class, cmd) ((int)(((unsigned)(class) << 8) + (unsigned)(cmd) + _POSIX_DEVDIR_NONE))
#define __DIOF(class, cmd, data)                                                           \
    ((int)(((unsigned)sizeof(data) << 16) + ((unsigned)(class) << 8) + (unsigned)(cmd) +   \
           _POSIX_DEVDIR_FROM))
#define __DIOT(class, cmd, data)                                                           \
    ((int)(((unsigned)sizeof(data) << 16) + ((unsigned)(class) << 8) + (unsigned)(cmd) +   \
           _POSIX_DEVDIR_TO))
#define __DIOTF(class, cmd, data)                                                          \
    ((int)(((unsigned)sizeof(data) << 16) + ((unsigned)(class) << 8) + (unsigned)(cmd) +   \
           _POSIX_DEVDIR_TOFROM))

#define get_device_command(dcmd) ((unsigned)(dcmd) & DEVDIR_CMD_MASK)
#define get_device_direction(dcmd) ((unsigned)(dcmd) & DEVDIR_TOFROM)
#define set_device_direction(dcmd, dir) ((int)((unsigned)(dcmd) | (unsigned)(dir)))

/* Classes. */
#define _DCMD_ALL 0x01
#define _DCMD_FSYS 0x02
#define _DCMD_BLK _DCMD_FSYS
#define _DCMD_CHR 0x03
#define _DCMD_NET 0x04
#define _DCMD_MISC 0x05
#define _DCMD_IP 0x06
#define _DCMD_MIXER 0x07
#define _DCMD_PROC 0x08
#define _DCMD_MEM 0x09
#define _DCMD_INPUT 0x0A
#define _DCMD_PHOTON 0x0B
#define _DCMD_CAM 0x0C
#define _DCMD_USB 0x0D
#define _DCMD_MEDIA 0x0E
#define _DCMD_CAM_SIM 0x0F
#define _DCMD_MEMCLASS 0x10
#define _DCMD_PARTITION 0x11

/* _devctl()'s flags. */
#define _DEVCTL_FLAG_NORETVAL 0x00000001u /* return 0, not the reply's ret_val */
#define _DEVCTL_FLAG_NOTTY 0x00000002u    /* ENOSYS from the server becomes ENOTTY */
#define _DEVCTL_FLAG_NOCANCEL 0x00000004u /* not a cancellation point */

int devctl(int fd, int dcmd, void *dev_data_ptr, size_t n_bytes, int *dev_info_ptr);
int devctlv(int fd, int dcmd, int sparts, int rparts, const struct iovec *sv,
            const struct iovec *rv, int *dev_info_ptr);
int _devctl(int fd, int dcmd, void *data_ptr, size_t nbytes, unsigned flags);

#ifdef __cplusplus
}
#endif

#endif
