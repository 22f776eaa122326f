/*
 * xproc_client.c: a QNX client in its own program, on a kernel shared with its server
 * (QNXSIM_KERNEL names it): `xproc_client <pid> <chid>`. Connects with
 * ConnectAttach(ND_LOCAL_NODE, pid, chid, _NTO_SIDE_CHANNEL, 0), checks what the server of
 * xproc_server.c (or the Rust one of procnto-sim/tests/c_xproc.rs) answers, detaches (the
 * server then ends) and prints "N passed, M failed". Every send and receive is bounded.
 */
#include <errno.h>
#include <process.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/iomsg.h>
#include <sys/neutrino.h>
#include <sys/netmgr.h>
#include <sys/siginfo.h>
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

#define LONG_LEN 5000

static void arm(int flags) {
    _Uint64t ns = 10000000000ULL;
    TimerTimeout(CLOCK_MONOTONIC, flags, NULL, &ns, NULL);
}

static long send_type(int coid, int type, int value, void *reply, size_t rbytes) {
    struct xp_msg m;
    memset(&m, 0, sizeof m);
    m.type = (_Uint16t)type;
    m.value = value;
    arm(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
    return MsgSend(coid, &m, sizeof m, reply, rbytes);
}

int main(int argc, char **argv) {
    struct xp_msg m;
    char reply[64];
    int pid, chid, coid, i;
    long r;

    if (argc != 3) {
        fprintf(stderr, "usage: xproc_client PID CHID\n");
        return 2;
    }
    pid = atoi(argv[1]);
    chid = atoi(argv[2]);

    coid = ConnectAttach(ND_LOCAL_NODE, pid, chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(coid > 0 && (coid & _NTO_SIDE_CHANNEL) != 0, "ConnectAttach to the server");
    if (coid <= 0) {
        return SUMMARY();
    }

    /* An echo. */
    memset(&m, 0, sizeof m);
    m.type = XP_ECHO;
    m.value = 12;
    memcpy(m.data, "across procs", 12);
    memset(reply, 0, sizeof reply);
    arm(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
    r = MsgSend(coid, &m, sizeof m, reply, sizeof reply);
    CHECK(r == 12 && memcmp(reply, "across procs", 12) == 0, "an echo across processes");

    /* Send and reply from one buffer. */
    memset(&m, 0, sizeof m);
    m.type = XP_ECHO;
    m.value = 6;
    memcpy(m.data, "shared", 6);
    arm(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
    r = MsgSend(coid, &m, sizeof m, &m, sizeof m);
    CHECK(r == 6 && memcmp(&m, "shared", 6) == 0, "send and reply from one buffer");

    /* A gathered send. */
    {
        iov_t s[2], rv[2];
        char a[4], b[8];
        memset(&m, 0, sizeof m);
        m.type = XP_ECHO;
        m.value = 10;
        SETIOV(&s[0], &m, offsetof(struct xp_msg, data));
        SETIOV(&s[1], "0123456789", 10);
        SETIOV(&rv[0], a, sizeof a);
        SETIOV(&rv[1], b, sizeof b);
        arm(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
        r = MsgSendv(coid, s, 2, rv, 2);
        CHECK(r == 10 && memcmp(a, "0123", 4) == 0 && memcmp(b, "456789", 6) == 0,
              "MsgSendv: gathered and scattered");
    }

    /* What the server learns about us. */
    {
        struct xp_info info;
        memset(&info, 0, sizeof info);
        r = send_type(coid, XP_INFO, 0, &info, sizeof info);
        CHECK(r == 0, "XP_INFO");
        CHECK(info.pid == getpid(), "the server sees our pid");
        CHECK(info.tid == gettid() && info.tid == 1, "and our tid");
        CHECK(info.msglen == (_Int64t)sizeof m && info.srcmsglen == (_Int64t)sizeof m,
              "msglen and srcmsglen");
        CHECK(info.dstmsglen == (_Int64t)sizeof info, "dstmsglen");
    }

    /* A long message, read by the server in pieces. */
    {
        char *big = (char *)malloc(sizeof m + LONG_LEN);
        long sum = 0;
        _Int64t count = 0;
        CHECK(big != NULL, "malloc");
        if (big != NULL) {
            memset(&m, 0, sizeof m);
            m.type = XP_LONG;
            memcpy(big, &m, sizeof m);
            for (i = 0; i < LONG_LEN; i++) {
                big[sizeof m + (size_t)i] = (char)(i * 13 + 1);
                sum += (unsigned char)big[sizeof m + (size_t)i];
            }
            arm(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
            r = MsgSend(coid, big, sizeof m + LONG_LEN, &count, sizeof count);
            CHECK(r == sum, "the server's MsgRead saw every byte (the sum)");
            CHECK(count == LONG_LEN, "in LONG_LEN bytes");
            free(big);
        }
    }

    /* An event: a pulse to our own channel, delivered by the server. */
    {
        struct _pulse p;
        int evch = ChannelCreate(0);
        int evcoid = ConnectAttach(ND_LOCAL_NODE, getpid(), evch, _NTO_SIDE_CHANNEL, 0);
        CHECK(evch > 0 && evcoid > 0, "our own channel for the event");
        memset(&m, 0, sizeof m);
        m.type = XP_EVENT;
        SIGEV_PULSE_INIT(&m.event, evcoid, SIGEV_PULSE_PRIO_INHERIT, 12, 0x5150);
        arm(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
        r = MsgSend(coid, &m, sizeof m, NULL, 0);
        CHECK(r == 0, "the server's MsgVerifyEvent accepts the event");
        memset(&p, 0, sizeof p);
        arm(_NTO_TIMEOUT_RECEIVE);
        CHECK(MsgReceivePulse(evch, &p, sizeof p, NULL) == 0, "the event's pulse arrives");
        CHECK(p.code == 12 && p.value.sival_int == 0x5150, "with its code and value");
        CHECK((p.scoid & _NTO_SIDE_CHANNEL) != 0, "through our connection");
        CHECK(ConnectDetach(evcoid) == 0 && ChannelDestroy(evch) == 0, "cleaned up");
    }

    /* Errors from the server. */
    errno = 0;
    r = send_type(coid, XP_ERROR, EPERM, NULL, 0);
    CHECK(r == -1 && errno == EPERM, "MsgError(EPERM) across processes");
    {
        memset(&m, 0, sizeof m);
        m.type = XP_ERROR;
        m.value = EOK;
        arm(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
        CHECK(MsgSend(coid, &m, sizeof m, NULL, 0) == 0, "MsgError(EOK): 0");
        m.value = ENOTSUP;
        errno = 99;
        arm(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
        CHECK(MsgSend_r(coid, &m, sizeof m, NULL, 0) == -ENOTSUP && errno == 99,
              "MsgSend_r: -ENOTSUP, errno untouched");
    }
    errno = 0;
    r = send_type(coid, _IO_MAX + 100, 0, NULL, 0);
    CHECK(r == -1 && errno == ENOSYS, "an unknown type: ENOSYS");

    /* Pulses to the server, queued ahead of our next message. */
    for (i = 0; i < 3; i++) {
        CHECK(MsgSendPulse(coid, -1, 1, i) == 0, "MsgSendPulse to another process");
    }
    r = send_type(coid, XP_PULSES, 0, NULL, 0);
    CHECK(r == 3, "the server received the three pulses first");

    /* Errors of our own. */
    errno = 0;
    CHECK(ConnectAttach(ND_LOCAL_NODE, pid, chid + 1000, _NTO_SIDE_CHANNEL, 0) == -1 &&
              errno == ESRCH,
          "ConnectAttach to an unknown chid of the server: ESRCH");

    /* Detach: the server gets its disconnect pulse and ends. */
    CHECK(ConnectDetach(coid) == 0, "ConnectDetach");
    errno = 0;
    arm(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
    CHECK(MsgSend(coid, "x", 2, NULL, 0) == -1 && errno == EBADF,
          "MsgSend on a detached coid: EBADF");
    return SUMMARY();
}
