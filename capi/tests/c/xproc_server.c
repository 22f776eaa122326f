/*
 * xproc_server.c: a QNX server in its own program, on a kernel shared with its client
 * (QNXSIM_KERNEL names it). Creates a channel with _NTO_CHF_DISCONNECT, prints
 * "ready <pid> <chid>", serves the requests below, and ends once its client's connection is
 * gone (the disconnect pulse), printing "N passed, M failed" for its own checks. Every
 * receive is bounded (TimerTimeout): a server whose client never comes ends with a failure.
 *
 * The messages (the same layout in xproc_client.c and in procnto-sim/tests/c_xproc.rs):
 *   struct xp_msg { _Uint16t type; _Uint16t subtype; _Int32t value;
 *                   struct sigevent event; char data[64]; }          -- 136 bytes
 *   XP_ECHO    reply data[0..value], status value
 *   XP_LONG    the message goes on past the struct: MsgRead all of it in 100-byte pieces;
 *              status = the sum of its bytes past the struct, reply the count (an _Int64t)
 *   XP_INFO    reply struct xp_info: the client's pid and tid, msglen, srcmsglen, dstmsglen
 *   XP_EVENT   MsgVerifyEvent(event), reply its result as status, then MsgDeliverEvent
 *   XP_ERROR   MsgError(rcvid, value)
 *   XP_PULSES  status = the pulses of code 1 received so far
 *   other      MsgError(rcvid, ENOSYS)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/iomsg.h>
#include <sys/neutrino.h>
#include <sys/netmgr.h>
#include <unistd.h>

#include "check.h"

enum {
    XP_ECHO = _IO_MAX + 1,
    XP_LONG,
    XP_INFO,
    XP_EVENT,
    XP_ERROR,
    XP_PULSES
};

struct xp_msg {
    _Uint16t type;
    _Uint16t subtype;
    _Int32t value;
    struct sigevent event;
    char data[64];
};

struct xp_info {
    _Int32t pid;
    _Int32t tid;
    _Int64t msglen;
    _Int64t srcmsglen;
    _Int64t dstmsglen;
};

/* Each receive waits at most this long (ns). */
#define BOUND 15000000000ULL

int main(void) {
    union {
        struct xp_msg m;
        struct _pulse p;
    } u;
    struct _msg_info info;
    int chid, pulses = 0, served = 0, client_scoid = -1, done = 0;
    _Uint64t bound = BOUND;

    CHECK(sizeof(struct xp_msg) == 136, "the message layout");
    chid = ChannelCreate(_NTO_CHF_DISCONNECT);
    CHECK(chid > 0, "ChannelCreate(_NTO_CHF_DISCONNECT)");
    if (chid <= 0) {
        return SUMMARY();
    }
    printf("ready %d %d\n", (int)getpid(), chid);
    fflush(stdout);

    while (!done) {
        rcvid_t rcvid;
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &bound, NULL);
        rcvid = MsgReceive(chid, &u, sizeof u, &info);
        if (rcvid == -1) {
            CHECK(0, "MsgReceive (the client never disconnected?)");
            break;
        }
        if (rcvid == 0) {
            if (u.p.code == _PULSE_CODE_DISCONNECT) {
                CHECK(client_scoid == -1 || u.p.scoid == client_scoid,
                      "the disconnect pulse names the client's connection");
                CHECK(ConnectDetach(u.p.scoid) == 0, "ConnectDetach(scoid)");
                done = 1;
            } else if (u.p.code == 1) {
                pulses++;
            }
            continue;
        }
        served++;
        client_scoid = info.scoid;
        switch (u.m.type) {
        case XP_ECHO:
            if (u.m.value < 0 || u.m.value > (int)sizeof u.m.data) {
                MsgError(rcvid, EINVAL);
                break;
            }
            MsgReply(rcvid, u.m.value, u.m.data, (size_t)u.m.value);
            break;
        case XP_LONG: {
            char piece[100];
            _Int64t total = 0;
            long sum = 0;
            ssize_t n;
            size_t off = sizeof(struct xp_msg);
            while ((n = MsgRead(rcvid, piece, sizeof piece, off)) > 0) {
                ssize_t i;
                for (i = 0; i < n; i++) {
                    sum += (unsigned char)piece[i];
                }
                total += n;
                off += (size_t)n;
            }
            CHECK(n == 0, "MsgRead reaches the end with 0");
            CHECK(total + (ssize_t)sizeof(struct xp_msg) == info.srcmsglen,
                  "MsgRead reads all srcmsglen bytes");
            MsgReply(rcvid, sum, &total, sizeof total);
            break;
        }
        case XP_INFO: {
            struct xp_info r;
            r.pid = info.pid;
            r.tid = info.tid;
            r.msglen = info.msglen;
            r.srcmsglen = info.srcmsglen;
            r.dstmsglen = info.dstmsglen;
            MsgReply(rcvid, 0, &r, sizeof r);
            break;
        }
        case XP_EVENT: {
            struct sigevent ev = u.m.event;
            int v = MsgVerifyEvent(rcvid, &ev);
            MsgReply(rcvid, v, NULL, 0);
            CHECK(MsgDeliverEvent(rcvid, &ev) == 0, "MsgDeliverEvent to the client");
            break;
        }
        case XP_ERROR:
            MsgError(rcvid, u.m.value);
            break;
        case XP_PULSES:
            MsgReply(rcvid, pulses, NULL, 0);
            break;
        default:
            MsgError(rcvid, ENOSYS);
            break;
        }
    }
    CHECK(served > 0, "the client's requests were served");
    CHECK(ChannelDestroy(chid) == 0, "ChannelDestroy");
    return SUMMARY();
}
