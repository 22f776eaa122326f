/*
 * bad_input.c: an attacker's and a porter's probe of the C API. The ranked calls of
 * c-abi-scope.md that the headers declare, each given bad input: NULL pointers, negative or
 * huge lengths, sizes and counts, ids that name nothing (coid, chid, rcvid, timer, fd, name
 * handles, link ids), unknown flags, objects destroyed or detached already, the double frees
 * (ChannelDestroy, ConnectDetach, name_detach, name_close, resmgr_detach, dispatch_destroy,
 * thread_pool_destroy, TimerDestroy twice) and the _r forms (-errno, errno untouched). Each
 * check expects QNX's errno (qnx-api.md, qnx-resmgr.md) or, where docs/deviations.md lists a
 * difference, the documented one; and the program must neither crash, abort nor hang.
 *
 * Every call that could block is bounded: a TimerTimeout before each receive and send, and
 * the helper threads bound their own. Prints "N passed, M failed".
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <devctl.h>
#include <sys/iofunc.h>
#include <sys/dispatch.h>
#include <sys/neutrino.h>
#include <sys/netmgr.h>
#include <sys/siginfo.h>

#include "check.h"

#define MS 1000000ULL
#define LONG_MS 5000
/* An errno value nothing here sets, to see that the _r forms leave errno alone. */
#define SENTINEL 12345

static void arm_rx(unsigned long long ms) {
    _Uint64t ns = ms * MS;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
}

static void arm_sr(unsigned long long ms) {
    _Uint64t ns = ms * MS;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
}

/* -1 with errno e. */
#define FAILS(expr, e) ((errno = 0, (expr) == -1) && errno == (e))
/* NULL with errno e. */
#define NULLS(expr, e) ((errno = 0, (expr) == NULL) && errno == (e))
/* The _r form: -e, errno untouched. */
#define R_FAILS(expr, e) ((errno = SENTINEL, (expr) == -(e)) && errno == SENTINEL)

/* ------------------------------------------------------------------ channels and connections */

static void channels_and_connections(void) {
    int chid, coid, coid2;

    /* ChannelCreate: flags it does not implement are EINVAL (deviations.md, "Calls",
     * ChannelCreate); _NTO_CHF_NET_MSG is EPERM (qnx-api.md 2.2). */
    CHECK(FAILS(ChannelCreate(_NTO_CHF_GLOBAL), EINVAL), "ChannelCreate(_NTO_CHF_GLOBAL): EINVAL");
    CHECK(FAILS(ChannelCreate(0x80000000u), EINVAL), "ChannelCreate(unknown high bit): EINVAL");
    CHECK(FAILS(ChannelCreate(_NTO_CHF_NET_MSG), EPERM), "ChannelCreate(_NTO_CHF_NET_MSG): EPERM");
    CHECK(R_FAILS(ChannelCreate_r(_NTO_CHF_GLOBAL), EINVAL), "ChannelCreate_r: -EINVAL");

    /* ChannelDestroy: EINVAL for an invalid chid (qnx-api.md 2.2). */
    CHECK(FAILS(ChannelDestroy(-1), EINVAL), "ChannelDestroy(-1): EINVAL");
    CHECK(FAILS(ChannelDestroy(0), EINVAL), "ChannelDestroy(0): EINVAL");
    CHECK(FAILS(ChannelDestroy(INT_MAX), EINVAL), "ChannelDestroy(INT_MAX): EINVAL");
    CHECK(FAILS(ChannelDestroy(INT_MIN), EINVAL), "ChannelDestroy(INT_MIN): EINVAL");
    CHECK(FAILS(ChannelDestroy(_NTO_SIDE_CHANNEL | 5), EINVAL), "ChannelDestroy(side bit): EINVAL");
    CHECK(R_FAILS(ChannelDestroy_r(-1), EINVAL), "ChannelDestroy_r(-1): -EINVAL");

    chid = ChannelCreate(0);
    CHECK(chid > 0, "ChannelCreate(0)");
    coid = ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(coid > 0 && (coid & _NTO_SIDE_CHANNEL), "ConnectAttach to it");
    CHECK(ChannelDestroy(chid) == 0, "ChannelDestroy");
    CHECK(FAILS(ChannelDestroy(chid), EINVAL), "ChannelDestroy twice: EINVAL");
    CHECK(R_FAILS(ChannelDestroy_r(chid), EINVAL), "ChannelDestroy_r twice: -EINVAL");

    /* A coid whose channel is gone: sends and pulses EBADF until ConnectDetach (2.2). */
    arm_sr(LONG_MS);
    CHECK(FAILS(MsgSend(coid, "x", 1, NULL, 0), EBADF), "MsgSend on a destroyed channel: EBADF");
    CHECK(FAILS(MsgSendPulse(coid, -1, 1, 0), EBADF), "MsgSendPulse on it: EBADF");
    CHECK(ConnectDetach(coid) == 0, "ConnectDetach the dead coid");
    CHECK(FAILS(ConnectDetach(coid), EINVAL), "ConnectDetach twice: EINVAL");
    CHECK(R_FAILS(ConnectDetach_r(coid), EINVAL), "ConnectDetach_r twice: -EINVAL");
    CHECK(FAILS(MsgSendPulse(coid, -1, 1, 0), EBADF), "MsgSendPulse on a detached coid: EBADF");

    /* ConnectAttach: ESRCH no such process or channel; EINVAL unknown flags or an index at
     * or beyond the fd table (2.3; deviations.md, "Calls", ConnectAttach). */
    CHECK(FAILS(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0), ESRCH),
          "ConnectAttach to a destroyed chid: ESRCH");
    CHECK(FAILS(ConnectAttach(0, 0, -1, _NTO_SIDE_CHANNEL, 0), ESRCH), "ConnectAttach chid -1: ESRCH");
    CHECK(FAILS(ConnectAttach(0, 0, INT_MAX, _NTO_SIDE_CHANNEL, 0), ESRCH),
          "ConnectAttach chid INT_MAX: ESRCH");
    CHECK(FAILS(ConnectAttach(0, 0x7ffffff0, 1, _NTO_SIDE_CHANNEL, 0), ESRCH),
          "ConnectAttach to no such pid: ESRCH");
    CHECK(R_FAILS(ConnectAttach_r(0, 0, -1, _NTO_SIDE_CHANNEL, 0), ESRCH), "ConnectAttach_r: -ESRCH");

    chid = ChannelCreate(0);
    CHECK(FAILS(ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0x8000), EINVAL),
          "ConnectAttach unknown flags: EINVAL");
    CHECK(FAILS(ConnectAttach(0, 0, chid, 100000, 0), EINVAL),
          "ConnectAttach index beyond the fd table: EINVAL");
    CHECK(FAILS(ConnectAttach(0, 0, chid, 0x3fffffff, 0), EINVAL),
          "ConnectAttach index 0x3fffffff: EINVAL");
    coid = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0);
    coid2 = ConnectAttach(0, 0, chid, 0, 0);
    CHECK(coid2 >= 0 && !(coid2 & _NTO_SIDE_CHANNEL), "ConnectAttach in the fd space");

    /* ConnectDetach of ids that name nothing. */
    CHECK(FAILS(ConnectDetach(-1), EINVAL), "ConnectDetach(-1): EINVAL");
    CHECK(FAILS(ConnectDetach(INT_MAX), EINVAL), "ConnectDetach(INT_MAX): EINVAL");
    CHECK(FAILS(ConnectDetach(_NTO_SIDE_CHANNEL | 0xfffff), EINVAL),
          "ConnectDetach(side-channel id never given): EINVAL");
    CHECK(FAILS(ConnectDetach(_NTO_SIDE_CHANNEL), EINVAL), "ConnectDetach(SYSMGR_COID): EINVAL");

    CHECK(ConnectDetach(coid2) == 0 && FAILS(ConnectDetach(coid2), EINVAL),
          "fd-space coid: ConnectDetach twice: EINVAL");
    CHECK(ConnectDetach(coid) == 0, "ConnectDetach");
    CHECK(ChannelDestroy(chid) == 0, "ChannelDestroy");
}

/* ------------------------------------------------------------------ sends, receives, pulses */

static int srv_chid;
static int srv_coid;

struct client_arg {
    const void *smsg;
    size_t sbytes;
    void *rmsg;
    size_t rbytes;
    long ret;
    int err;
};

static void *client(void *p) {
    struct client_arg *a = (struct client_arg *)p;
    arm_sr(LONG_MS);
    errno = 0;
    a->ret = MsgSend(srv_coid, a->smsg, a->sbytes, a->rmsg, a->rbytes);
    a->err = errno;
    return NULL;
}

/* Receives (bounded) the message of a client thread started now. */
static rcvid_t start_client(pthread_t *t, struct client_arg *a, char *buf, size_t len) {
    rcvid_t rcvid;
    pthread_create(t, NULL, client, a);
    arm_rx(LONG_MS);
    rcvid = MsgReceive(srv_chid, buf, len, NULL);
    return rcvid;
}

static void sends_receives_pulses(void) {
    char buf[64], reply[16];
    iov_t iov[2];
    struct _msg_info info;
    struct _pulse pulse;
    rcvid_t rcvid;
    pthread_t t;
    struct client_arg a;
    long r;

    srv_chid = ChannelCreate(0);
    srv_coid = ConnectAttach(0, 0, srv_chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(srv_chid > 0 && srv_coid > 0, "a channel and a connection to it");

    /* Invalid coids: EBADF (2.4). */
    arm_sr(LONG_MS);
    CHECK(FAILS(MsgSend(-1, "x", 1, NULL, 0), EBADF), "MsgSend(coid -1): EBADF");
    arm_sr(LONG_MS);
    CHECK(FAILS(MsgSend(INT_MAX, "x", 1, NULL, 0), EBADF), "MsgSend(coid INT_MAX): EBADF");
    arm_sr(LONG_MS);
    CHECK(FAILS(MsgSend(_NTO_SIDE_CHANNEL | 0xffff, "x", 1, NULL, 0), EBADF),
          "MsgSend(side coid never given): EBADF");
    arm_sr(LONG_MS);
    CHECK(R_FAILS(MsgSend_r(-1, "x", 1, NULL, 0), EBADF), "MsgSend_r(coid -1): -EBADF");
    arm_sr(LONG_MS);
    CHECK(FAILS(MsgSendnc(-1, "x", 1, NULL, 0), EBADF), "MsgSendnc(coid -1): EBADF");
    SETIOV(&iov[0], buf, 4);
    arm_sr(LONG_MS);
    CHECK(FAILS(MsgSendv(-1, iov, 1, iov, 1), EBADF), "MsgSendv(coid -1): EBADF");
    arm_sr(LONG_MS);
    CHECK(R_FAILS(MsgSendv_r(-1, iov, 1, iov, 1), EBADF), "MsgSendv_r(coid -1): -EBADF");

    /* Bad buffers: EFAULT before anything moves (deviations.md, "The C API", Buffers). No
     * receiver waits, so a send that went ahead would time out instead. */
    arm_sr(200);
    CHECK(FAILS(MsgSend(srv_coid, NULL, 8, NULL, 0), EFAULT), "MsgSend(NULL smsg, 8): EFAULT");
    arm_sr(200);
    CHECK(FAILS(MsgSend(srv_coid, "x", 1, NULL, 8), EFAULT), "MsgSend(NULL rmsg, 8): EFAULT");
    arm_sr(200);
    CHECK(FAILS(MsgSend(srv_coid, buf, SIZE_MAX, NULL, 0), EOVERFLOW), "MsgSend(sbytes SIZE_MAX > SSIZE_MAX): EOVERFLOW");
    arm_sr(200);
    CHECK(FAILS(MsgSend(srv_coid, buf, (size_t)-8, NULL, 0), EOVERFLOW),
          "MsgSend(sbytes negative as size_t): EOVERFLOW");
    arm_sr(200);
    CHECK(FAILS(MsgSend(srv_coid, (const void *)(~(uintptr_t)0 - 3), 64, NULL, 0), EFAULT),
          "MsgSend(a range past the end of the address space): EFAULT");
    arm_sr(200);
    CHECK(FAILS(MsgSend(srv_coid, "x", 1, reply, SIZE_MAX), EOVERFLOW), "MsgSend(rbytes SIZE_MAX): EOVERFLOW");
    arm_sr(200);
    CHECK(R_FAILS(MsgSend_r(srv_coid, NULL, 8, NULL, 0), EFAULT), "MsgSend_r(NULL smsg): -EFAULT");
    arm_sr(200);
    CHECK(FAILS(MsgSendv(srv_coid, NULL, 1, NULL, 0), EFAULT), "MsgSendv(NULL iov, 1 part): EFAULT");
    arm_sr(200);
    CHECK(FAILS(MsgSendv(srv_coid, iov, 100000, NULL, 0), EFAULT), "MsgSendv(100000 parts): EFAULT");
    arm_sr(200);
    CHECK(FAILS(MsgSendv(srv_coid, iov, SIZE_MAX, NULL, 0), EFAULT), "MsgSendv(SIZE_MAX parts): EFAULT");
    SETIOV(&iov[1], NULL, 4);
    arm_sr(200);
    CHECK(FAILS(MsgSendv(srv_coid, iov, 2, NULL, 0), EFAULT), "MsgSendv(a NULL part): EFAULT");
    arm_sr(200);
    CHECK(FAILS(MsgSendsv(srv_coid, "x", 1, NULL, 2), EFAULT), "MsgSendsv(NULL riov): EFAULT");
    arm_sr(200);
    CHECK(FAILS(MsgSendvs(srv_coid, NULL, 3, reply, sizeof reply), EFAULT), "MsgSendvs(NULL siov): EFAULT");
    SETIOV(&iov[0], buf, SIZE_MAX);
    arm_sr(200);
    CHECK(FAILS(MsgSendv(srv_coid, iov, 1, NULL, 0), EOVERFLOW), "MsgSendv(part of SIZE_MAX bytes): EOVERFLOW");
    SETIOV(&iov[0], buf, SIZE_MAX / 2 + 1);
    SETIOV(&iov[1], buf, SIZE_MAX / 2 + 1);
    arm_sr(200);
    r = MsgSendv(srv_coid, iov, 2, NULL, 0);
    CHECK(r == -1 && (errno == EFAULT || errno == EOVERFLOW), "MsgSendv(lengths that overflow): EFAULT/EOVERFLOW");

    /* Receives on chids that name nothing: ESRCH (2.5). */
    arm_rx(LONG_MS);
    CHECK(FAILS(MsgReceive(INT_MAX, buf, sizeof buf, NULL), ESRCH), "MsgReceive(chid INT_MAX): ESRCH");
    arm_rx(LONG_MS);
    CHECK(FAILS(MsgReceive(0, buf, sizeof buf, NULL), ESRCH), "MsgReceive(chid 0): ESRCH");
    arm_rx(LONG_MS);
    CHECK(FAILS(MsgReceive(-5, buf, sizeof buf, NULL), ESRCH), "MsgReceive(chid -5): ESRCH");
    arm_rx(LONG_MS);
    CHECK(R_FAILS(MsgReceive_r(INT_MAX, buf, sizeof buf, NULL), ESRCH), "MsgReceive_r: -ESRCH");
    arm_rx(LONG_MS);
    CHECK(FAILS(MsgReceivePulse(INT_MAX, &pulse, sizeof pulse, NULL), ESRCH),
          "MsgReceivePulse(chid INT_MAX): ESRCH");
    arm_rx(LONG_MS);
    CHECK(R_FAILS(MsgReceivePulse_r(INT_MAX, &pulse, sizeof pulse, NULL), ESRCH),
          "MsgReceivePulse_r: -ESRCH");
    SETIOV(&iov[0], buf, sizeof buf);
    arm_rx(LONG_MS);
    CHECK(FAILS(MsgReceivev(INT_MAX, iov, 1, NULL), ESRCH), "MsgReceivev(chid INT_MAX): ESRCH");

    /* Receive buffers that are bad: EFAULT. */
    arm_rx(200);
    CHECK(FAILS(MsgReceive(srv_chid, NULL, 64, NULL), EFAULT), "MsgReceive(NULL, 64): EFAULT");
    arm_rx(200);
    CHECK(FAILS(MsgReceive(srv_chid, buf, SIZE_MAX, NULL), EOVERFLOW), "MsgReceive(SIZE_MAX bytes): EOVERFLOW");
    arm_rx(200);
    CHECK(FAILS(MsgReceivev(srv_chid, NULL, 2, NULL), EFAULT), "MsgReceivev(NULL iov): EFAULT");
    arm_rx(200);
    CHECK(FAILS(MsgReceivev(srv_chid, iov, 1u << 20, NULL), EFAULT), "MsgReceivev(2^20 parts): EFAULT");
    arm_rx(200);
    CHECK(FAILS(MsgReceivePulse(srv_chid, NULL, sizeof pulse, NULL), EFAULT),
          "MsgReceivePulse(NULL): EFAULT");

    /* A buffer smaller than a pulse: EFAULT, and the pulse is lost (2.5, [D7]). */
    CHECK(MsgSendPulse(srv_coid, -1, 7, 70) == 0, "MsgSendPulse");
    arm_rx(LONG_MS);
    CHECK(FAILS(MsgReceive(srv_chid, buf, 4, NULL), EFAULT), "MsgReceive of a pulse into 4 bytes: EFAULT");
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
    CHECK(FAILS(MsgReceive(srv_chid, buf, sizeof buf, NULL), ETIMEDOUT),
          "the pulse is lost (an immediate timeout: ETIMEDOUT)");
    CHECK(MsgSendPulse(srv_coid, -1, 7, 70) == 0, "MsgSendPulse");
    arm_rx(LONG_MS);
    CHECK(FAILS(MsgReceivePulse(srv_chid, buf, 0, NULL), EFAULT), "MsgReceivePulse into 0 bytes: EFAULT");

    /* MsgSendPulse: EBADF coid; EINVAL priority 0 or beyond the highest, codes outside
     * 0..127 (2.8; deviations.md, "Calls", MsgSendPulse). */
    CHECK(FAILS(MsgSendPulse(-1, -1, 1, 0), EBADF), "MsgSendPulse(coid -1): EBADF");
    CHECK(FAILS(MsgSendPulse(INT_MAX, 10, 1, 0), EBADF), "MsgSendPulse(coid INT_MAX): EBADF");
    CHECK(R_FAILS(MsgSendPulse_r(-1, -1, 1, 0), EBADF), "MsgSendPulse_r(coid -1): -EBADF");
    CHECK(FAILS(MsgSendPulse(srv_coid, 0, 1, 0), EINVAL), "MsgSendPulse(priority 0): EINVAL");
    CHECK(FAILS(MsgSendPulse(srv_coid, 256, 1, 0), EINVAL), "MsgSendPulse(priority 256): EINVAL");
    CHECK(FAILS(MsgSendPulse(srv_coid, INT_MAX, 1, 0), EINVAL), "MsgSendPulse(priority INT_MAX): EINVAL");
    CHECK(FAILS(MsgSendPulse(srv_coid, -2, 1, 0), EINVAL), "MsgSendPulse(priority -2): EINVAL");
    CHECK(FAILS(MsgSendPulse(srv_coid, -1, 128, 0), EINVAL), "MsgSendPulse(code 128): EINVAL");
    CHECK(FAILS(MsgSendPulse(srv_coid, -1, -33, 0), EINVAL), "MsgSendPulse(code -33): EINVAL");
    CHECK(FAILS(MsgSendPulse(srv_coid, -1, INT_MIN, 0), EINVAL), "MsgSendPulse(code INT_MIN): EINVAL");
    CHECK(R_FAILS(MsgSendPulse_r(srv_coid, 0, 1, 0), EINVAL), "MsgSendPulse_r(priority 0): -EINVAL");
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL);
    CHECK(FAILS(MsgReceive(srv_chid, buf, sizeof buf, NULL), ETIMEDOUT), "none of them was queued");

    /* rcvids that name nothing: ESRCH (2.6, 2.7). */
    CHECK(FAILS(MsgReply(0, 0, NULL, 0), ESRCH), "MsgReply(rcvid 0, a pulse's): ESRCH");
    CHECK(FAILS(MsgReply(-1, 0, NULL, 0), ESRCH), "MsgReply(rcvid -1): ESRCH");
    CHECK(FAILS(MsgReply(INT_MAX, 0, NULL, 0), ESRCH), "MsgReply(rcvid INT_MAX): ESRCH");
    CHECK(FAILS(MsgReply(12345, 0, "x", 1), ESRCH), "MsgReply(rcvid 12345): ESRCH");
    CHECK(R_FAILS(MsgReply_r(INT_MAX, 0, NULL, 0), ESRCH), "MsgReply_r: -ESRCH");
    SETIOV(&iov[0], buf, 4);
    CHECK(FAILS(MsgReplyv(INT_MAX, 0, iov, 1), ESRCH), "MsgReplyv(rcvid INT_MAX): ESRCH");
    CHECK(FAILS(MsgError(INT_MAX, EINVAL), ESRCH), "MsgError(rcvid INT_MAX): ESRCH");
    CHECK(FAILS(MsgError(-1, EOK), ESRCH), "MsgError(rcvid -1): ESRCH");
    CHECK(R_FAILS(MsgError_r(INT_MAX, EINVAL), ESRCH), "MsgError_r: -ESRCH");
    CHECK(FAILS(MsgRead(INT_MAX, buf, 4, 0), ESRCH), "MsgRead(rcvid INT_MAX): ESRCH");
    CHECK(R_FAILS(MsgRead_r(INT_MAX, buf, 4, 0), ESRCH), "MsgRead_r: -ESRCH");
    CHECK(FAILS(MsgReadv(-1, iov, 1, 0), ESRCH), "MsgReadv(rcvid -1): ESRCH");
    CHECK(FAILS(MsgWrite(INT_MAX, buf, 4, 0), ESRCH), "MsgWrite(rcvid INT_MAX): ESRCH");
    CHECK(R_FAILS(MsgWrite_r(INT_MAX, buf, 4, 0), ESRCH), "MsgWrite_r: -ESRCH");
    CHECK(FAILS(MsgWritev(-1, iov, 1, 0), ESRCH), "MsgWritev(rcvid -1): ESRCH");
    CHECK(FAILS(MsgInfo(INT_MAX, &info), ESRCH), "MsgInfo(rcvid INT_MAX): ESRCH");
    CHECK(R_FAILS(MsgInfo_r(-1, &info), ESRCH), "MsgInfo_r(rcvid -1): -ESRCH");

    /* A live rcvid with bad server-side input. */
    memset(&a, 0, sizeof a);
    a.smsg = "hello";
    a.sbytes = 6;
    a.rmsg = reply;
    a.rbytes = sizeof reply;
    rcvid = start_client(&t, &a, buf, sizeof buf);
    CHECK(rcvid > 0, "a client's message");
    if (rcvid > 0) {
        CHECK(FAILS(MsgInfo(rcvid, NULL), EFAULT), "MsgInfo(info NULL): EFAULT");
        CHECK(R_FAILS(MsgInfo_r(rcvid, NULL), EFAULT), "MsgInfo_r(info NULL): -EFAULT");
        /* The server's own buffer NULL with a length: EFAULT before anything moves, the
         * client left REPLY-blocked (deviations.md, "The C API", Buffers; QNX's kernel gives
         * ESRVRFAULT and, for MsgReply, releases the client with it). */
        CHECK(FAILS(MsgRead(rcvid, NULL, 4, 0), EFAULT), "MsgRead(NULL, 4): EFAULT");
        CHECK(FAILS(MsgWrite(rcvid, NULL, 4, 0), EFAULT), "MsgWrite(NULL, 4): EFAULT");
        CHECK(FAILS(MsgRead(rcvid, buf, SIZE_MAX, 0), EOVERFLOW), "MsgRead(SIZE_MAX bytes): EOVERFLOW");
        CHECK(FAILS(MsgReadv(rcvid, NULL, 2, 0), EFAULT), "MsgReadv(NULL iov): EFAULT");
        CHECK(R_FAILS(MsgRead_r(rcvid, NULL, 4, 0), EFAULT), "MsgRead_r(NULL, 4): -EFAULT");
        CHECK(MsgRead(rcvid, buf, sizeof buf, 1000) == 0, "MsgRead beyond the message: 0");
        CHECK(MsgRead(rcvid, buf, sizeof buf, SIZE_MAX) == 0, "MsgRead(offset SIZE_MAX): 0");
        CHECK(MsgWrite(rcvid, "abc", 3, SIZE_MAX) == 0, "MsgWrite(offset SIZE_MAX): 0");
        CHECK(MsgRead(rcvid, buf, 0, 0) == 0, "MsgRead of 0 bytes: 0");
        /* MsgError with an errno out of range: EINVAL, the client stays REPLY-blocked
         * (deviations.md, "Calls", MsgError). */
        CHECK(FAILS(MsgError(rcvid, 100000), EINVAL), "MsgError(err 100000): EINVAL");
        CHECK(FAILS(MsgError(rcvid, -5), EINVAL), "MsgError(err -5): EINVAL");
        CHECK(FAILS(MsgError(rcvid, -1), EINVAL), "MsgError(-1) for a client that did not ask: EINVAL");
        CHECK(FAILS(MsgReply(rcvid, 0, NULL, 8), EFAULT), "MsgReply(NULL, 8): EFAULT");
        CHECK(FAILS(MsgReply(rcvid, 0, buf, SIZE_MAX), EOVERFLOW), "MsgReply(SIZE_MAX bytes): EOVERFLOW");
        CHECK(FAILS(MsgReplyv(rcvid, 0, NULL, 3), EFAULT), "MsgReplyv(NULL iov): EFAULT");
        CHECK(R_FAILS(MsgReply_r(rcvid, 0, NULL, 8), EFAULT), "MsgReply_r(NULL, 8): -EFAULT");
        CHECK(MsgInfo(rcvid, &info) == 0, "the client is still REPLY-blocked");
        CHECK(MsgReply(rcvid, 42, "ok", 3) == 0, "a proper reply");
        pthread_join(t, NULL);
        CHECK(a.ret == 42 && strcmp(reply, "ok") == 0, "the client got it");
        /* The rcvid is spent. */
        CHECK(FAILS(MsgReply(rcvid, 0, NULL, 0), ESRCH), "MsgReply of a spent rcvid: ESRCH");
        CHECK(FAILS(MsgError(rcvid, EOK), ESRCH), "MsgError of a spent rcvid: ESRCH");
        CHECK(FAILS(MsgRead(rcvid, buf, 4, 0), ESRCH), "MsgRead of a spent rcvid: ESRCH");
        CHECK(FAILS(MsgWrite(rcvid, buf, 4, 0), ESRCH), "MsgWrite of a spent rcvid: ESRCH");
        CHECK(FAILS(MsgInfo(rcvid, &info), ESRCH), "MsgInfo of a spent rcvid: ESRCH");
    }

    /* Events: ESRCH a bad rcvid, EFAULT a NULL event, EINVAL a bad one (2.9). */
    {
        struct sigevent ev;
        SIGEV_PULSE_INIT(&ev, srv_coid, SIGEV_PULSE_PRIO_INHERIT, 3, 0);
        CHECK(FAILS(MsgDeliverEvent(INT_MAX, &ev), ESRCH), "MsgDeliverEvent(rcvid INT_MAX): ESRCH");
        CHECK(R_FAILS(MsgDeliverEvent_r(-1, &ev), ESRCH), "MsgDeliverEvent_r(rcvid -1): -ESRCH");
        CHECK(FAILS(MsgDeliverEvent(0, NULL), EFAULT), "MsgDeliverEvent(event NULL): EFAULT");
        CHECK(FAILS(MsgVerifyEvent(0, NULL), EFAULT), "MsgVerifyEvent(event NULL): EFAULT");
        memset(&ev, 0, sizeof ev);
        ev.sigev_notify = 0x7e;
        CHECK(FAILS(MsgVerifyEvent(0, &ev), EINVAL), "MsgVerifyEvent(unknown type): EINVAL");
        CHECK(FAILS(MsgDeliverEvent(0, &ev), EINVAL), "MsgDeliverEvent(unknown type): EINVAL");
        SIGEV_PULSE_INIT(&ev, -1, SIGEV_PULSE_PRIO_INHERIT, 3, 0);
        CHECK(MsgVerifyEvent(0, &ev) == -1, "MsgVerifyEvent(a pulse on coid -1) fails");
        CHECK(MsgDeliverEvent(0, &ev) == -1, "MsgDeliverEvent(a pulse on coid -1) fails");
        SIGEV_SIGNAL_INIT(&ev, 100000);
        CHECK(FAILS(MsgVerifyEvent(0, &ev), EINVAL), "MsgVerifyEvent(signal 100000): EINVAL");
    }

    CHECK(ConnectDetach(srv_coid) == 0 && ChannelDestroy(srv_chid) == 0, "clean up");
}

/* ------------------------------------------------------------------ timers, signals, ThreadCtl */

static void timers_and_more(void) {
    _Uint64t ns = 10 * MS;
    struct _itimer it;
    struct _timer_info ti;
    int id, chid;
    char buf[64];

    /* TimerTimeout: EINVAL for a bad clock (2.13; clock ids are Linux's, deviations.md). */
    CHECK(FAILS(TimerTimeout(99, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL), EINVAL),
          "TimerTimeout(clock 99): EINVAL");
    CHECK(FAILS(TimerTimeout(-1, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL), EINVAL),
          "TimerTimeout(clock -1): EINVAL");
    CHECK(R_FAILS(TimerTimeout_r(99, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL), EINVAL),
          "TimerTimeout_r(clock 99): -EINVAL");
    /* A huge timeout still leaves the next kernel call bounded by the re-armed one. */
    chid = ChannelCreate(0);
    ns = UINT64_MAX;
    CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL) != -1,
          "TimerTimeout(UINT64_MAX ns) accepted");
    CHECK(TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, NULL, NULL) != -1,
          "re-armed as immediate");
    CHECK(FAILS(MsgReceive(chid, buf, sizeof buf, NULL), ETIMEDOUT), "the immediate one counts: ETIMEDOUT");
    ChannelDestroy(chid);

    /* Timers: EINVAL bad clock, bad ids, twice destroyed; EFAULT NULL itime or info. */
    CHECK(FAILS(TimerCreate(99, NULL), EINVAL), "TimerCreate(clock 99): EINVAL");
    CHECK(R_FAILS(TimerCreate_r(99, NULL), EINVAL), "TimerCreate_r(clock 99): -EINVAL");
    CHECK(FAILS(TimerDestroy(-1), EINVAL), "TimerDestroy(-1): EINVAL");
    CHECK(FAILS(TimerDestroy(INT_MAX), EINVAL), "TimerDestroy(INT_MAX): EINVAL");
    CHECK(R_FAILS(TimerDestroy_r(0), EINVAL), "TimerDestroy_r(0): -EINVAL");
    memset(&it, 0, sizeof it);
    CHECK(FAILS(TimerSettime(-1, 0, &it, NULL), EINVAL), "TimerSettime(-1): EINVAL");
    CHECK(FAILS(TimerInfo(getpid(), -1, 0, &ti), EINVAL), "TimerInfo(-1): EINVAL");
    id = TimerCreate(CLOCK_MONOTONIC, NULL);
    CHECK(id > 0, "TimerCreate");
    CHECK(FAILS(TimerSettime(id, 0, NULL, NULL), EFAULT), "TimerSettime(itime NULL): EFAULT");
    CHECK(FAILS(TimerInfo(getpid(), id, 0, NULL), EFAULT), "TimerInfo(info NULL): EFAULT");
    CHECK(TimerDestroy(id) == 0, "TimerDestroy");
    CHECK(FAILS(TimerDestroy(id), EINVAL), "TimerDestroy twice: EINVAL");
    CHECK(R_FAILS(TimerDestroy_r(id), EINVAL), "TimerDestroy_r twice: -EINVAL");
    CHECK(FAILS(TimerSettime(id, 0, &it, NULL), EINVAL), "TimerSettime of a destroyed timer: EINVAL");

    /* SignalKill: ESRCH no such process or thread; EINVAL a bad signal. */
    CHECK(FAILS(SignalKill(0, 0x7ffffff0, 0, SIGUSR1, SI_USER, 0), ESRCH), "SignalKill(no such pid): ESRCH");
    CHECK(FAILS(SignalKill(0, getpid(), 100000, SIGUSR1, SI_USER, 0), ESRCH),
          "SignalKill(no such tid): ESRCH");
    CHECK(FAILS(SignalKill(0, getpid(), 0, 100000, SI_USER, 0), EINVAL), "SignalKill(signal 100000): EINVAL");
    CHECK(FAILS(SignalKill(0, getpid(), 0, -1, SI_USER, 0), EINVAL), "SignalKill(signal -1): EINVAL");
    CHECK(R_FAILS(SignalKill_r(0, 0x7ffffff0, 0, SIGUSR1, SI_USER, 0), ESRCH), "SignalKill_r: -ESRCH");

    /* ThreadCtl: unknown commands EINVAL (deviations.md, "The C API", ThreadCtl). */
    CHECK(FAILS(ThreadCtl(100000, NULL), EINVAL), "ThreadCtl(100000): EINVAL");
    CHECK(FAILS(ThreadCtl(-1, NULL), EINVAL), "ThreadCtl(-1): EINVAL");
    CHECK(R_FAILS(ThreadCtl_r(100000, NULL), EINVAL), "ThreadCtl_r(100000): -EINVAL");
    CHECK(FAILS(ThreadCtl(_NTO_TCTL_RUNMASK_GET_AND_SET, NULL), EFAULT),
          "ThreadCtl(RUNMASK_GET_AND_SET, NULL): EFAULT");
    CHECK(ThreadCtl(_NTO_TCTL_IO, NULL) == 0, "ThreadCtl(_NTO_TCTL_IO) still works");
}

/* ------------------------------------------------------------------ names */

static void names(void) {
    char longname[200];
    name_attach_t *at, *at2;
    int coid;

    /* EINVAL: NULL, "", leading '/', "..", unknown flags; ENAMETOOLONG (2.14; c-api.md). */
    CHECK(NULLS(name_attach(NULL, NULL, 0), EINVAL), "name_attach(path NULL): EINVAL");
    CHECK(NULLS(name_attach(NULL, "", 0), EINVAL), "name_attach(\"\"): EINVAL");
    CHECK(NULLS(name_attach(NULL, "/qnxsim/bad", 0), EINVAL), "name_attach(leading /): EINVAL");
    CHECK(NULLS(name_attach(NULL, "qnxsim/../bad", 0), EINVAL), "name_attach(..): EINVAL");
    CHECK(NULLS(name_attach(NULL, "..", 0), EINVAL), "name_attach(\"..\"): EINVAL");
    CHECK(NULLS(name_attach(NULL, "qnxsim/bad-flags", 0x8000), EINVAL), "name_attach(unknown flags): EINVAL");
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK(NULLS(name_attach(NULL, longname, 0), ENAMETOOLONG), "name_attach(199 bytes): ENAMETOOLONG");

    CHECK(FAILS(name_detach(NULL, 0), EINVAL), "name_detach(NULL): EINVAL");
    CHECK(FAILS(name_open(NULL, 0), EINVAL), "name_open(NULL): EINVAL");
    CHECK(FAILS(name_open("", 0), EINVAL), "name_open(\"\"): EINVAL");
    CHECK(FAILS(name_open("/qnxsim/bad", 0), EINVAL), "name_open(leading /): EINVAL");
    CHECK(FAILS(name_open("qnxsim/no-such-name", 0), ENOENT), "name_open(no such name): ENOENT");
    CHECK(FAILS(name_open(longname, 0), ENOENT) || errno == ENAMETOOLONG,
          "name_open(199 bytes): ENOENT or ENAMETOOLONG");
    CHECK(FAILS(name_close(-1), EINVAL), "name_close(-1): EINVAL");
    CHECK(FAILS(name_close(INT_MAX), EINVAL), "name_close(INT_MAX): EINVAL");

    at = name_attach(NULL, "qnxsim/bad-input", 0);
    CHECK(at != NULL && at->chid > 0, "name_attach");
    if (at == NULL) {
        return;
    }
    CHECK(NULLS(name_attach(NULL, "qnxsim/bad-input", 0), EEXIST), "name_attach a taken name: EEXIST");
    /* name_open's flags must be 0 (deviations.md, "Names"). */
    CHECK(FAILS(name_open("qnxsim/bad-input", 1), EINVAL), "name_open(flags 1): EINVAL");
    CHECK(FAILS(name_detach(at, 0x8000), EINVAL), "name_detach(unknown flags): EINVAL, not freed");
    CHECK(at->chid > 0, "the attach is still there");
    CHECK(name_detach(at, 0) == 0, "name_detach");
    CHECK(FAILS(name_detach(at, 0), EINVAL), "name_detach twice: EINVAL");
    CHECK(FAILS(name_open("qnxsim/bad-input", 0), ENOENT), "name_open of a detached name: ENOENT");

    /* A name whose server answers from a thread: name_close twice. */
    at2 = name_attach(NULL, "qnxsim/bad-input2", 0);
    CHECK(at2 != NULL, "a second name");
    if (at2 != NULL) {
        int chid = at2->chid;
        coid = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0);
        CHECK(coid > 0, "a raw connection to the name's channel");
        CHECK(name_close(coid) == 0, "name_close of it");
        CHECK(FAILS(name_close(coid), EINVAL), "name_close twice: EINVAL");
        CHECK(name_detach(at2, NAME_FLAG_DETACH_SAVEDPP) == 0, "name_detach SAVEDPP");
        CHECK(ChannelDestroy(chid) == 0, "SAVEDPP left the channel, the caller's to destroy");
        CHECK(FAILS(ChannelDestroy(chid), EINVAL), "and once only: EINVAL");
    }
}

/* ------------------------------------------------------------------ dispatch */

static int on_msg(message_context_t *ctp, int code, unsigned flags, void *handle) {
    (void)code;
    (void)flags;
    (void)handle;
    MsgReply(ctp->rcvid, 0, NULL, 0);
    return 0;
}

static void dispatch_calls(void) {
    dispatch_t *dpp;
    dispatch_context_t *ctp;
    message_attr_t mattr;
    struct timespec ts = {0, 1000000};

    CHECK(NULLS(dispatch_create_channel(-5, 0), EINVAL), "dispatch_create_channel(-5): EINVAL");
    CHECK(NULLS(dispatch_create_channel(0, 0), EINVAL), "dispatch_create_channel(0): EINVAL");
    CHECK(NULLS(dispatch_create_channel(-1, 0x8000), EINVAL), "dispatch_create_channel(bad flags): EINVAL");
    CHECK(FAILS(dispatch_destroy(NULL), EINVAL), "dispatch_destroy(NULL): EINVAL");
    CHECK(NULLS(dispatch_context_alloc(NULL), EINVAL), "dispatch_context_alloc(NULL): EINVAL");
    dispatch_context_free(NULL);
    CHECK(1, "dispatch_context_free(NULL) returns");
    CHECK(NULLS(dispatch_block(NULL), EINVAL), "dispatch_block(NULL): NULL, EINVAL");
    CHECK(dispatch_handler(NULL) == -1, "dispatch_handler(NULL): -1");
    dispatch_unblock(NULL);
    CHECK(1, "dispatch_unblock(NULL) returns");
    CHECK(FAILS(dispatch_timeout(NULL, &ts), EINVAL), "dispatch_timeout(NULL): EINVAL");
    CHECK(FAILS(message_attach(NULL, NULL, 0x200, 0x210, on_msg, NULL), EINVAL), "message_attach(NULL): EINVAL");
    CHECK(FAILS(message_detach(NULL, 0x200, 0x210, 0), EINVAL), "message_detach(NULL): EINVAL");
    CHECK(FAILS(pulse_attach(NULL, 0, 5, on_msg, NULL), EINVAL), "pulse_attach(NULL): EINVAL");
    CHECK(FAILS(pulse_detach(NULL, 5, 0), EINVAL), "pulse_detach(NULL): EINVAL");
    CHECK(FAILS(message_connect(NULL, MSG_FLAG_SIDE_CHANNEL), EINVAL), "message_connect(NULL): EINVAL");

    dpp = dispatch_create();
    CHECK(dpp != NULL, "dispatch_create");
    if (dpp == NULL) {
        return;
    }
    CHECK(NULLS(dispatch_context_alloc(dpp), EINVAL), "dispatch_context_alloc before any attach: EINVAL");
    CHECK(dispatch_timeout(dpp, NULL) == 0, "dispatch_timeout(dpp, NULL): 0");
    CHECK(FAILS(message_attach(dpp, NULL, 0x210, 0x200, on_msg, NULL), EINVAL), "message_attach(low > high): EINVAL");
    CHECK(FAILS(message_attach(dpp, NULL, 0x200, 0x210, NULL, NULL), EINVAL), "message_attach(func NULL): EINVAL");
    memset(&mattr, 0, sizeof mattr);
    mattr.flags = 0x80000000u;
    CHECK(FAILS(message_attach(dpp, &mattr, 0x200, 0x210, on_msg, NULL), EINVAL),
          "message_attach(unknown attr flags): EINVAL");
    mattr.flags = MSG_FLAG_TYPE_SELECT;
    CHECK(FAILS(message_attach(dpp, &mattr, 0x200, 0x210, on_msg, NULL), EINVAL),
          "message_attach(MSG_FLAG_TYPE_SELECT): EINVAL");
    CHECK(FAILS(pulse_attach(dpp, 0, 200, on_msg, NULL), EINVAL), "pulse_attach(code 200): EINVAL");
    CHECK(FAILS(pulse_attach(dpp, 0, -200, on_msg, NULL), EINVAL), "pulse_attach(code -200): EINVAL");
    CHECK(FAILS(pulse_attach(dpp, 0x8000, 5, on_msg, NULL), EINVAL), "pulse_attach(unknown flags): EINVAL");
    CHECK(FAILS(pulse_attach(dpp, 0, 5, NULL, NULL), EINVAL), "pulse_attach(func NULL): EINVAL");
    CHECK(FAILS(message_detach(dpp, 0x300, 0x310, 0), EINVAL), "message_detach(not attached): EINVAL");
    CHECK(FAILS(pulse_detach(dpp, 9, 0), EINVAL), "pulse_detach(not attached): EINVAL");
    CHECK(message_attach(dpp, NULL, 0x200, 0x210, on_msg, NULL) == 0, "message_attach");
    CHECK(message_detach(dpp, 0x200, 0x210, 0) == 0, "message_detach");
    CHECK(FAILS(message_detach(dpp, 0x200, 0x210, 0), EINVAL), "message_detach twice: EINVAL");
    CHECK(pulse_attach(dpp, 0, 5, on_msg, NULL) == 5, "pulse_attach");
    CHECK(pulse_detach(dpp, 5, 0) == 0, "pulse_detach");
    CHECK(FAILS(pulse_detach(dpp, 5, 0), EINVAL), "pulse_detach twice: EINVAL");
    CHECK(FAILS(message_connect(dpp, 0x8000), EINVAL), "message_connect(unknown flags): EINVAL");
    CHECK(message_attach(dpp, NULL, 0x200, 0x210, on_msg, NULL) == 0, "message_attach again");
    ctp = dispatch_context_alloc(dpp);
    CHECK(ctp != NULL, "dispatch_context_alloc");
    if (ctp != NULL) {
        /* dispatch_block bounded: a dispatch_timeout gives rcvid -1 (qnx-resmgr.md 1.5). */
        CHECK(dispatch_timeout(dpp, &ts) == 0, "dispatch_timeout 1 ms");
        CHECK(dispatch_block(ctp) == ctp && ctp->message_context.rcvid == -1, "dispatch_block times out: rcvid -1");
        CHECK(dispatch_handler(ctp) == -1, "dispatch_handler of a timeout's context: -1");
        dispatch_context_free(ctp);
    }
    CHECK(dispatch_destroy(dpp) == 0, "dispatch_destroy");
    /* The handle is freed; a second destroy of the stale pointer is refused (deviations.md,
     * "Dispatch": later calls EINVAL). */
    CHECK(FAILS(dispatch_destroy(dpp), EINVAL), "dispatch_destroy twice: EINVAL");
}

/* ------------------------------------------------------------------ resource managers, devctl */

#define RM_PATH "/dev/qnxsim-bad-input"

static resmgr_connect_funcs_t connect_funcs;
static resmgr_io_funcs_t io_funcs;
static iofunc_attr_t rm_attr;
static volatile int rm_stop;

static void *rm_serve(void *arg) {
    dispatch_t *dpp = (dispatch_t *)arg;
    dispatch_context_t *ctp = dispatch_context_alloc(dpp);
    while (ctp != NULL && !rm_stop) {
        dispatch_context_t *got = dispatch_block(ctp);
        if (got == NULL) {
            continue;
        }
        ctp = got;
        dispatch_handler(ctp);
    }
    dispatch_context_free(ctp);
    return NULL;
}

static void resmgr_calls(void) {
    dispatch_t *dpp;
    pthread_t t;
    int id, fd, v = 0, info = 0;
    char longpath[300];
    struct timespec ts = {0, 20000000};

    iofunc_func_init(_RESMGR_CONNECT_NFUNCS, &connect_funcs, _RESMGR_IO_NFUNCS, &io_funcs);
    iofunc_attr_init(&rm_attr, S_IFCHR | 0666, NULL, NULL);

    CHECK(FAILS(resmgr_attach(NULL, NULL, RM_PATH, _FTYPE_ANY, 0, &connect_funcs, &io_funcs, &rm_attr), EINVAL),
          "resmgr_attach(dpp NULL): EINVAL");
    CHECK(FAILS(resmgr_detach(NULL, 0, 0), EINVAL), "resmgr_detach(dpp NULL): EINVAL");

    dpp = dispatch_create();
    CHECK(dpp != NULL, "dispatch_create");
    if (dpp == NULL) {
        return;
    }
    CHECK(FAILS(resmgr_attach(dpp, NULL, "/dev/../dev/qnxsim-x", _FTYPE_ANY, 0, &connect_funcs, &io_funcs, &rm_attr),
                EINVAL),
          "resmgr_attach(a .. path): EINVAL");
    memset(longpath, 'p', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = '\0';
    CHECK(FAILS(resmgr_attach(dpp, NULL, longpath, _FTYPE_ANY, 0, &connect_funcs, &io_funcs, &rm_attr),
                ENAMETOOLONG),
          "resmgr_attach(299-byte path): ENAMETOOLONG");
    CHECK(FAILS(resmgr_detach(dpp, 12345, 0), ENOENT), "resmgr_detach(unknown id, no layer): ENOENT");

    id = resmgr_attach(dpp, NULL, RM_PATH, _FTYPE_ANY, _RESMGR_FLAG_SELF, &connect_funcs, &io_funcs, &rm_attr);
    CHECK(id >= 0, "resmgr_attach");
    if (id < 0) {
        dispatch_destroy(dpp);
        return;
    }
    CHECK(FAILS(resmgr_detach(dpp, 12345, 0), ENOENT), "resmgr_detach(unknown id): ENOENT");
    CHECK(FAILS(resmgr_detach(dpp, -1, 0), ENOENT), "resmgr_detach(id -1): ENOENT");
    dispatch_timeout(dpp, &ts);
    pthread_create(&t, NULL, rm_serve, dpp);

    /* devctl returns the errno value itself (qnx-resmgr.md 5.3): EBADF no fd; ENOTTY what the
     * server does not handle (ENOSYS from it). */
    CHECK(devctl(-1, DCMD_ALL_GETFLAGS, &v, sizeof v, NULL) == EBADF, "devctl(fd -1): EBADF");
    CHECK(devctl(INT_MAX, DCMD_ALL_GETFLAGS, &v, sizeof v, NULL) == EBADF, "devctl(fd INT_MAX): EBADF");
    CHECK((errno = 0, _devctl(-1, DCMD_ALL_GETFLAGS, &v, sizeof v, 0)) == -1 && errno == EBADF,
          "_devctl(fd -1): -1, EBADF");
    CHECK((errno = 0, _devctl(-1, DCMD_ALL_GETFLAGS, &v, sizeof v, 0x80)) == -1 && errno == EINVAL,
          "_devctl(unknown flags): -1, EINVAL");

    fd = open(RM_PATH, O_RDWR);
    CHECK(fd >= 0, "open the resource manager's path");
    if (fd >= 0) {
        CHECK(devctl(fd, DCMD_ALL_GETFLAGS, &v, sizeof v, &info) == EOK, "devctl(DCMD_ALL_GETFLAGS)");
        CHECK(devctl(fd, (int)(0x40000000u | (4u << 16) | (0x05u << 8) | 77u), &v, sizeof v, NULL) == ENOTTY,
              "devctl(unknown dcmd): ENOTTY");
        CHECK(devctl(fd, DCMD_ALL_GETFLAGS, NULL, sizeof v, NULL) == EFAULT, "devctl(data NULL, 4 bytes): EFAULT");
        CHECK(devctl(fd, DCMD_ALL_GETFLAGS, &v, SIZE_MAX, NULL) != EOK, "devctl(SIZE_MAX bytes) fails");
        CHECK(close(fd) == 0, "close");
        CHECK(devctl(fd, DCMD_ALL_GETFLAGS, &v, sizeof v, NULL) == EBADF, "devctl on a closed fd: EBADF");
    }

    CHECK(resmgr_detach(dpp, id, 0) == 0, "resmgr_detach");
    CHECK(FAILS(resmgr_detach(dpp, id, 0), ENOENT), "resmgr_detach twice: ENOENT");
    CHECK(FAILS(open(RM_PATH, O_RDWR), ENOENT), "open of a detached path: ENOENT");
    rm_stop = 1;
    pthread_join(t, NULL);
    CHECK(dispatch_destroy(dpp) == 0, "dispatch_destroy");
}

/* ------------------------------------------------------------------ thread pools */

static void thread_pools(void) {
    thread_pool_attr_t pa;
    thread_pool_t *tpp;
    dispatch_t *dpp;

    CHECK(NULLS(thread_pool_create(NULL, 0), EINVAL), "thread_pool_create(NULL): EINVAL");
    CHECK(FAILS(thread_pool_destroy(NULL), EINVAL), "thread_pool_destroy(NULL): EINVAL");
    CHECK(FAILS(thread_pool_start(NULL), EINVAL), "thread_pool_start(NULL): EINVAL");
    CHECK(FAILS(thread_pool_limits(NULL, 1, 2, 3, 1, 0), EINVAL), "thread_pool_limits(NULL): EINVAL");
    CHECK(FAILS(thread_pool_control(NULL, NULL, 0, 1, 0), EINVAL), "thread_pool_control(NULL): EINVAL");

    dpp = dispatch_create();
    CHECK(dpp != NULL && message_attach(dpp, NULL, 0x200, 0x210, on_msg, NULL) == 0, "a dispatch handle");
    memset(&pa, 0, sizeof pa);
    pa.handle = dpp;
    pa.context_alloc = dispatch_context_alloc;
    pa.block_func = dispatch_block;
    pa.unblock_func = dispatch_unblock;
    pa.handler_func = dispatch_handler;
    pa.context_free = dispatch_context_free;
    pa.lo_water = 1;
    pa.hi_water = 2;
    pa.increment = 1;
    pa.maximum = 0;
    CHECK(NULLS(thread_pool_create(&pa, 0), EINVAL), "thread_pool_create(maximum 0): EINVAL");
    pa.maximum = 4;
    CHECK(NULLS(thread_pool_create(&pa, 0x8000), EINVAL), "thread_pool_create(unknown flags): EINVAL");
    CHECK(NULLS(thread_pool_create(&pa, POOL_FLAG_EXITING), EINVAL), "thread_pool_create(internal flag): EINVAL");
    CHECK(NULLS(thread_pool_create(&pa, POOL_FLAG_EXIT_SELF | POOL_FLAG_USE_SELF), EINVAL),
          "thread_pool_create(EXIT_SELF | USE_SELF): EINVAL");
    CHECK(NULLS(thread_pool_create(&pa, POOL_FLAG_CALL_BLOCK_ERRF), EINVAL),
          "thread_pool_create(CALL_BLOCK_ERRF, no error_func): EINVAL");
    pa.block_func = NULL;
    CHECK(NULLS(thread_pool_create(&pa, 0), EINVAL), "thread_pool_create(block_func NULL): EINVAL");
    pa.block_func = dispatch_block;

    tpp = thread_pool_create(&pa, 0);
    CHECK(tpp != NULL, "thread_pool_create");
    if (tpp != NULL) {
        CHECK(FAILS(thread_pool_control(tpp, &pa, 3, 1, 0), EINVAL), "thread_pool_control(lower > upper): EINVAL");
        CHECK(FAILS(thread_pool_control(tpp, NULL, 0, 1, THREAD_POOL_CONTROL_HIWATER), EINVAL),
              "thread_pool_control(attr NULL, a limit selected): EINVAL");
        CHECK(FAILS(thread_pool_control(tpp, &pa, 0, 1, 0x2000), EINVAL),
              "thread_pool_control(unknown flags): EINVAL");
        CHECK(FAILS(thread_pool_limits(tpp, 1, 2, 100000, 1, 0), EINVAL),
              "thread_pool_limits(maximum 100000): EINVAL");
        CHECK(thread_pool_start(tpp) == 0, "thread_pool_start");
        CHECK(FAILS(thread_pool_start(tpp), EBUSY), "thread_pool_start twice: EBUSY");
        CHECK(thread_pool_destroy(tpp) == 0, "thread_pool_destroy");
        /* Freed; the stale pointer is refused (thread_pool.rs: "destroyed" is EINVAL). */
        CHECK(FAILS(thread_pool_destroy(tpp), EINVAL), "thread_pool_destroy twice: EINVAL");
    }
    CHECK(dispatch_destroy(dpp) == 0, "dispatch_destroy");
}

/* ------------------------------------------------------------------ main */

int main(void) {
    channels_and_connections();
    sends_receives_pulses();
    timers_and_more();
    names();
    dispatch_calls();
    resmgr_calls();
    thread_pools();
    return SUMMARY();
}
