/*
 * <gulliver.h>: QNX's endian and unaligned-access macros (libqnxsim, QNX Neutrino on Linux).
 * Written for this project from QNX's public documentation; not QNX's header. Header-only.
 *
 *   ENDIAN_LE16/32/64(x)   x converted between little-endian and this machine's order
 *   ENDIAN_BE16/32/64(x)   x converted between big-endian and this machine's order
 *   ENDIAN_RET16/32/64(x)  x with its bytes reversed
 *   ENDIAN_SWAP16/32/64(p) reverses the bytes of the value *p, in place
 *   ENDIAN_STRINGNAME      "le" or "be": this machine's order
 *   UNALIGNED_RET16/32/64(p)     the value at p (any alignment), in this machine's order
 *   UNALIGNED_PUT16/32/64(p, v)  stores v at p (any alignment), in this machine's order
 *
 * (ENDIAN_CHKMSG is not provided: see docs/c-api.md.)
 */
#ifndef _QNXSIM_GULLIVER_H
#define _QNXSIM_GULLIVER_H

/* A system header, as QNX's own are: a program's extra warnings (-Wcast-qual and the like)
 * are about the program, not about these definitions. */
#if defined(__GNUC__)
#pragma GCC system_header
#endif

#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

static inline uint16_t __qnxsim_ret16(uint16_t x) { return __builtin_bswap16(x); }
static inline uint32_t __qnxsim_ret32(uint32_t x) { return __builtin_bswap32(x); }
static inline uint64_t __qnxsim_ret64(uint64_t x) { return __builtin_bswap64(x); }

static inline void __qnxsim_swap16(volatile void *p) {
    volatile uint16_t *v = (volatile uint16_t *)p;
    *v = __builtin_bswap16(*v);
}
static inline void __qnxsim_swap32(volatile void *p) {
    volatile uint32_t *v = (volatile uint32_t *)p;
    *v = __builtin_bswap32(*v);
}
static inline void __qnxsim_swap64(volatile void *p) {
    volatile uint64_t *v = (volatile uint64_t *)p;
    *v = __builtin_bswap64(*v);
}

static inline uint16_t __qnxsim_uget16(const volatile void *p) {
    uint16_t v;
    memcpy(&v, (const void *)p, sizeof v);
    return v;
}
static inline uint32_t __qnxsim_uget32(const volatile void *p) {
    uint32_t v;
    memcpy(&v, (const void *)p, sizeof v);
    return v;
}
static inline uint64_t __qnxsim_uget64(const volatile void *p) {
    uint64_t v;
    memcpy(&v, (const void *)p, sizeof v);
    return v;
}
static inline void __qnxsim_uput16(volatile void *p, uint16_t v) {
    memcpy((void *)p, &v, sizeof v);
}
static inline void __qnxsim_uput32(volatile void *p, uint32_t v) {
    memcpy((void *)p, &v, sizeof v);
}
static inline void __qnxsim_uput64(volatile void *p, uint64_t v) {
    memcpy((void *)p, &v, sizeof v);
}

#define ENDIAN_RET16(x) __qnxsim_ret16((uint16_t)(x))
#define ENDIAN_RET32(x) __qnxsim_ret32((uint32_t)(x))
#define ENDIAN_RET64(x) __qnxsim_ret64((uint64_t)(x))

#define ENDIAN_SWAP16(p) __qnxsim_swap16(p)
#define ENDIAN_SWAP32(p) __qnxsim_swap32(p)
#define ENDIAN_SWAP64(p) __qnxsim_swap64(p)

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define ENDIAN_STRINGNAME "be"
#define ENDIAN_LE16(x) ENDIAN_RET16(x)
#define ENDIAN_LE32(x) ENDIAN_RET32(x)
#define ENDIAN_LE64(x) ENDIAN_RET64(x)
#define ENDIAN_BE16(x) ((uint16_t)(x))
#define ENDIAN_BE32(x) ((uint32_t)(x))
#define ENDIAN_BE64(x) ((uint64_t)(x))
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ENDIAN_STRINGNAME "le"
#define ENDIAN_LE16(x) ((uint16_t)(x))
#define ENDIAN_LE32(x) ((uint32_t)(x))
#define ENDIAN_LE64(x) ((uint64_t)(x))
#define ENDIAN_BE16(x) ENDIAN_RET16(x)
#define ENDIAN_BE32(x) ENDIAN_RET32(x)
#define ENDIAN_BE64(x) ENDIAN_RET64(x)
#else
#error "<gulliver.h>: the compiler does not say this machine's byte order (__BYTE_ORDER__)"
#endif

#define UNALIGNED_RET16(p) __qnxsim_uget16(p)
#define UNALIGNED_RET32(p) __qnxsim_uget32(p)
#define UNALIGNED_RET64(p) __qnxsim_uget64(p)
#define UNALIGNED_PUT16(p, v) __qnxsim_uput16((p), (uint16_t)(v))
#define UNALIGNED_PUT32(p, v) __qnxsim_uput32((p), (uint32_t)(v))
#define UNALIGNED_PUT64(p, v) __qnxsim_uput64((p), (uint64_t)(v))

#ifdef __cplusplus
}
#endif

#endif
