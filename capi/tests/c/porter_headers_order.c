/*
 * porter_headers_order.c: porter_headers.c's second translation unit, with the existing QNX
 * headers included before the new ones (<atomic.h>, <gulliver.h>, <sys/slog.h>,
 * <sys/procmgr.h>), which porter_headers.c includes first.
 */
#include <process.h>
#include <sys/dispatch.h>
#include <sys/iofunc.h>
#include <sys/iomsg.h>
#include <sys/neutrino.h>
#include <sys/siginfo.h>

#include <atomic.h>
#include <gulliver.h>
#include <sys/procmgr.h>
#include <sys/slog.h>

#ifdef __cplusplus
extern "C" {
#endif
int porter_order_check(void);
#ifdef __cplusplus
}
#endif

/* 0 if the macros and inline functions work here too. */
int porter_order_check(void) {
    volatile unsigned v = 1;
    unsigned char b[5] = {0, 0, 0, 0, 0};
    int bad = 0;
    bad |= atomic_add_value(&v, 1) != 1 || v != 2;
    bad |= ENDIAN_RET16(0x0102) != 0x0201;
    UNALIGNED_PUT32(b + 1, 0x01020304u);
    bad |= UNALIGNED_RET32(b + 1) != 0x01020304u;
    bad |= _SLOG_GETMINOR(_SLOG_SETCODE(_SLOGC_TEST, 9)) != 9;
    bad |= (PROCMGR_DAEMON_NOCHDIR | PROCMGR_DAEMON_NOCLOSE | PROCMGR_DAEMON_NODEVNULL |
            PROCMGR_DAEMON_KEEPUMASK) != 0xfu;
    bad |= SIGEV_FLAG_HANDLE != 0x2000 || SIGEV_FLAG_OVERDRIVE != 0x200 || _NTO_REGEVENT_ALLOW_ANY_SERVER != -1;
    return bad;
}
