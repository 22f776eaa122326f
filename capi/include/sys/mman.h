/*
 * <sys/mman.h>: the system's, plus QNX's device mappings (libqnxsim, QNX Neutrino on Linux):
 * mmap_device_memory / munmap_device_memory over the simulated physical memory that every
 * program of the kernel shares (a driver and a simulated device see the same registers), and
 * mmap_device_io / munmap_device_io over its 65,536 simulated I/O ports (also in <hw/inout.h>).
 * PROT_NOCACHE is accepted and has no effect. MAP_PHYS (a plain mmap of physical memory) is not
 * there: use mmap_device_memory.
 */
#if defined(__GNUC__)
#pragma GCC system_header
#endif
#include_next <sys/mman.h>

#ifndef _QNXSIM_SYS_MMAN_H
#define _QNXSIM_SYS_MMAN_H
#include <stddef.h>
#include <stdint.h>

#ifndef PROT_NOCACHE
#define PROT_NOCACHE 0x800
#endif
#ifndef NOFD
#define NOFD (-1)
#endif
#define MAP_DEVICE_FAILED ((uintptr_t)MAP_FAILED)

#ifdef __cplusplus
extern "C" {
#endif

void *mmap_device_memory(void *addr, size_t len, int prot, int flags, uint64_t physical);
int munmap_device_memory(void *addr, size_t len);
uintptr_t mmap_device_io(size_t len, uint64_t io);
int munmap_device_io(uintptr_t io, size_t len);

#ifdef __cplusplus
}
#endif
#endif
