/*
 * <sys/slog.h>: QNX's system-log calls (libqnxsim, QNX Neutrino on Linux). Written for this
 * project from QNX's public documentation; not QNX's header.
 *
 * There is no slogger here: a message goes to Linux's syslog (vsyslog, the severity mapped
 * to syslog's: _SLOG_SHUTDOWN LOG_EMERG, _SLOG_CRITICAL LOG_CRIT, _SLOG_ERROR LOG_ERR,
 * _SLOG_WARNING LOG_WARNING, _SLOG_NOTICE LOG_NOTICE, _SLOG_INFO LOG_INFO, _SLOG_DEBUG1 and
 * _SLOG_DEBUG2 LOG_DEBUG), and also to stderr as one line when QNXSIM_SLOG=stderr is set
 * (QNXSIM_SLOG=off: nowhere). See docs/c-api.md.
 *
 * slogf and vslogf return the size of the message logged (bytes, at most 1023: a longer one
 * is cut), or -1 with errno set (EINVAL: a NULL format, a severity outside 0..7).
 */
#ifndef _QNXSIM_SYS_SLOG_H
#define _QNXSIM_SYS_SLOG_H

#include <errno.h>
#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Severities. */
#define _SLOG_SHUTDOWN 0
#define _SLOG_CRITICAL 1
#define _SLOG_ERROR 2
#define _SLOG_WARNING 3
#define _SLOG_NOTICE 4
#define _SLOG_INFO 5
#define _SLOG_DEBUG1 6
#define _SLOG_DEBUG2 7

/* A message's code: a major code (who logs: _SLOGC_*) and a minor code of its own. */
#define _SLOG_SETCODE(major, minor) ((int)((((unsigned)(major)) << 8) | ((unsigned)(minor) & 0xffu)))
#define _SLOG_GETMAJOR(code) ((int)(((unsigned)(code)) >> 8))
#define _SLOG_GETMINOR(code) ((int)(((unsigned)(code)) & 0xffu))

/* Major codes. */
#define _SLOGC_TEST 0
#define _SLOGC_PRIVATE_START 10000
#define _SLOGC_PRIVATE_END 10999

/* Logs a message formatted as printf formats it. */
int vslogf(int opcode, int severity, const char *fmt, va_list arg);

/* Logs size bytes of binary data (written as hex here). */
int slogb(int opcode, int severity, void *data, int size);

#if defined(__GNUC__)
__attribute__((__format__(__printf__, 3, 4)))
#endif
static inline int slogf(int opcode, int severity, const char *fmt, ...) {
    va_list ap;
    int r;
    va_start(ap, fmt);
    r = vslogf(opcode, severity, fmt, ap);
    va_end(ap);
    return r;
}

/* Logs nargs integers (0 to 32) as binary data: slogb of their bytes. */
static inline int slogi(int opcode, int severity, int nargs, ...) {
    int v[32];
    int i;
    va_list ap;
    if (nargs < 0 || nargs > 32) {
        errno = EINVAL;
        return -1;
    }
    va_start(ap, nargs);
    for (i = 0; i < nargs; i++) {
        v[i] = va_arg(ap, int);
    }
    va_end(ap);
    return slogb(opcode, severity, v, nargs * (int)sizeof(int));
}

#ifdef __cplusplus
}
#endif

#endif
