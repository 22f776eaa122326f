/*
 * <hw/inout.h> (libqnxsim, QNX Neutrino on Linux): QNX's device register accesses. A port is
 * an address: what mmap_device_io() or mmap_device_memory() returned, plus the register's
 * offset; each access is one volatile access of the register's width, as QNX's are on ARM.
 * The registers are simulated physical memory that every program of the kernel shares
 * (<sys/mman.h>), so a simulated device in another thread or program reads and writes them.
 * in8s/in16s/in32s read len registers from one port (a FIFO) into buff and return the byte
 * after them; out8s/out16s/out32s write len of them; the le/be forms swap to and from
 * little- and big-endian registers.
 */
#ifndef _QNXSIM_HW_INOUT_H
#define _QNXSIM_HW_INOUT_H

/* A system header, as QNX's own are: a program's extra warnings (-Wcast-qual and the like)
 * are about the program, not about these definitions. */
#if defined(__GNUC__)
#pragma GCC system_header
#endif
#include <stdint.h>
#include <sys/mman.h>

#ifdef __cplusplus
extern "C" {
#endif

static inline uint8_t in8(uintptr_t port) { return *(volatile uint8_t *)port; }
static inline uint16_t in16(uintptr_t port) { return *(volatile uint16_t *)port; }
static inline uint32_t in32(uintptr_t port) { return *(volatile uint32_t *)port; }
static inline uint64_t in64(uintptr_t port) { return *(volatile uint64_t *)port; }
static inline void out8(uintptr_t port, uint8_t val) { *(volatile uint8_t *)port = val; }
static inline void out16(uintptr_t port, uint16_t val) { *(volatile uint16_t *)port = val; }
static inline void out32(uintptr_t port, uint32_t val) { *(volatile uint32_t *)port = val; }
static inline void out64(uintptr_t port, uint64_t val) { *(volatile uint64_t *)port = val; }

static inline void *in8s(void *buff, unsigned len, uintptr_t port) {
    uint8_t *p = (uint8_t *)buff;
    while (len--) {
        *p++ = in8(port);
    }
    return p;
}
static inline void *in16s(void *buff, unsigned len, uintptr_t port) {
    uint16_t *p = (uint16_t *)buff;
    while (len--) {
        *p++ = in16(port);
    }
    return p;
}
static inline void *in32s(void *buff, unsigned len, uintptr_t port) {
    uint32_t *p = (uint32_t *)buff;
    while (len--) {
        *p++ = in32(port);
    }
    return p;
}
static inline void out8s(const void *buff, unsigned len, uintptr_t port) {
    const uint8_t *p = (const uint8_t *)buff;
    while (len--) {
        out8(port, *p++);
    }
}
static inline void out16s(const void *buff, unsigned len, uintptr_t port) {
    const uint16_t *p = (const uint16_t *)buff;
    while (len--) {
        out16(port, *p++);
    }
}
static inline void out32s(const void *buff, unsigned len, uintptr_t port) {
    const uint32_t *p = (const uint32_t *)buff;
    while (len--) {
        out32(port, *p++);
    }
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define _QNXSIM_LE16(x) __builtin_bswap16(x)
#define _QNXSIM_LE32(x) __builtin_bswap32(x)
#define _QNXSIM_BE16(x) (x)
#define _QNXSIM_BE32(x) (x)
#else
#define _QNXSIM_LE16(x) (x)
#define _QNXSIM_LE32(x) (x)
#define _QNXSIM_BE16(x) __builtin_bswap16(x)
#define _QNXSIM_BE32(x) __builtin_bswap32(x)
#endif
static inline uint16_t inle16(uintptr_t port) { return (uint16_t)_QNXSIM_LE16(in16(port)); }
static inline uint32_t inle32(uintptr_t port) { return (uint32_t)_QNXSIM_LE32(in32(port)); }
static inline uint16_t inbe16(uintptr_t port) { return (uint16_t)_QNXSIM_BE16(in16(port)); }
static inline uint32_t inbe32(uintptr_t port) { return (uint32_t)_QNXSIM_BE32(in32(port)); }
static inline void outle16(uintptr_t port, uint16_t v) { out16(port, (uint16_t)_QNXSIM_LE16(v)); }
static inline void outle32(uintptr_t port, uint32_t v) { out32(port, (uint32_t)_QNXSIM_LE32(v)); }
static inline void outbe16(uintptr_t port, uint16_t v) { out16(port, (uint16_t)_QNXSIM_BE16(v)); }
static inline void outbe32(uintptr_t port, uint32_t v) { out32(port, (uint32_t)_QNXSIM_BE32(v)); }

#ifdef __cplusplus
}
#endif
#endif
