/*
 * <atomic.h>: QNX's atomic operations on an unsigned int in memory (libqnxsim, QNX Neutrino on
 * Linux). Written for this project from QNX's public documentation; not QNX's header.
 *
 * Each is a static inline function over the GCC/Clang __atomic builtins, sequentially
 * consistent, as QNX's are full barriers: nothing to link. atomic_add, atomic_sub,
 * atomic_set (OR the bits in), atomic_clr (clear the bits), atomic_toggle (XOR the bits);
 * the _value forms return the value *loc held just before the operation.
 */
#ifndef _QNXSIM_ATOMIC_H
#define _QNXSIM_ATOMIC_H

#ifdef __cplusplus
extern "C" {
#endif

static inline void atomic_add(volatile unsigned *loc, unsigned incr) {
    (void)__atomic_fetch_add(loc, incr, __ATOMIC_SEQ_CST);
}
static inline unsigned atomic_add_value(volatile unsigned *loc, unsigned incr) {
    return __atomic_fetch_add(loc, incr, __ATOMIC_SEQ_CST);
}
static inline void atomic_sub(volatile unsigned *loc, unsigned decr) {
    (void)__atomic_fetch_sub(loc, decr, __ATOMIC_SEQ_CST);
}
static inline unsigned atomic_sub_value(volatile unsigned *loc, unsigned decr) {
    return __atomic_fetch_sub(loc, decr, __ATOMIC_SEQ_CST);
}
static inline void atomic_set(volatile unsigned *loc, unsigned bits) {
    (void)__atomic_fetch_or(loc, bits, __ATOMIC_SEQ_CST);
}
static inline unsigned atomic_set_value(volatile unsigned *loc, unsigned bits) {
    return __atomic_fetch_or(loc, bits, __ATOMIC_SEQ_CST);
}
static inline void atomic_clr(volatile unsigned *loc, unsigned bits) {
    (void)__atomic_fetch_and(loc, ~bits, __ATOMIC_SEQ_CST);
}
static inline unsigned atomic_clr_value(volatile unsigned *loc, unsigned bits) {
    return __atomic_fetch_and(loc, ~bits, __ATOMIC_SEQ_CST);
}
static inline void atomic_toggle(volatile unsigned *loc, unsigned bits) {
    (void)__atomic_fetch_xor(loc, bits, __ATOMIC_SEQ_CST);
}
static inline unsigned atomic_toggle_value(volatile unsigned *loc, unsigned bits) {
    return __atomic_fetch_xor(loc, bits, __ATOMIC_SEQ_CST);
}

#ifdef __cplusplus
}
#endif

#endif
