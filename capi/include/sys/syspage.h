/*
 * <sys/syspage.h>: QNX's system page, the part programs read (libqnxsim, QNX Neutrino on
 * Linux). Written for this project from QNX's public documentation; not QNX's header.
 *
 * _syspage_ptr points to this machine's system page from before main (before the program's
 * own constructors too) to the end; the page is mapped read-only, as QNX maps it into a
 * process: a write through it is a SIGSEGV, and _syspage_ptr itself cannot be assigned.
 * SYSPAGE_ENTRY(entry) finds an entry in it, as on QNX.
 *
 * Only the members this library can fill truthfully exist; the others of QNX's structures
 * are left out, so that a program reading one fails to compile instead of reading a made-up
 * value (docs/deviations.md):
 *   _syspage_ptr->num_cpu                  the CPUs online (sysconf(_SC_NPROCESSORS_ONLN))
 *   _syspage_ptr->size, ->total_size       the sizes of struct syspage_entry and of the page
 *   SYSPAGE_ENTRY(qtime)->cycles_per_sec   1000000000: ClockCycles() counts nanoseconds
 *   SYSPAGE_ENTRY(qtime)->boot_time        seconds since the epoch at boot (/proc/stat btime)
 * qtime's nsec and nsec_tod_adjust, which QNX's kernel updates every tick, are not there (a
 * page written once would go stale): use ClockTime or clock_gettime. The offsets of the
 * members are not QNX's.
 */
#ifndef _QNXSIM_SYS_SYSPAGE_H
#define _QNXSIM_SYS_SYSPAGE_H

#include <sys/target_nto.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where an entry lies in the page: its offset from the page's start, and its size. */
struct syspage_entry_info {
    _Uint16t entry_off;
    _Uint16t entry_size;
};

/* The time entry (QNX's names; only the members filled here). */
struct qtime_entry {
    _Uint64t cycles_per_sec; /* ClockCycles() counts per second: 1000000000 */
    _Uint32t boot_time;      /* seconds since the epoch at boot */
};

/* The system page's header (QNX's names; only the members filled here). */
struct syspage_entry {
    _Uint16t size;       /* sizeof(struct syspage_entry) */
    _Uint16t total_size; /* the page's size, entries included */
    _Uint16t num_cpu;    /* the CPUs online */
    struct syspage_entry_info qtime;
};

/* This machine's system page: valid before main, read-only. */
extern struct syspage_entry *const _syspage_ptr;

#define _SYSPAGE_ENTRY(__base, __field)                                                   \
    ((struct __field##_entry *)(void *)((char *)(__base) + (__base)->__field.entry_off))
#define SYSPAGE_ENTRY(__field) _SYSPAGE_ENTRY(_syspage_ptr, __field)
#define _SYSPAGE_ENTRY_SIZE(__base, __field) ((__base)->__field.entry_size)
#define SYSPAGE_ENTRY_SIZE(__field) _SYSPAGE_ENTRY_SIZE(_syspage_ptr, __field)

#ifdef __cplusplus
}
#endif

#endif
