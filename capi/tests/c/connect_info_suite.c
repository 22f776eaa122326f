/*
 * connect_info_suite.c: ConnectClientInfo, ConnectServerInfo, ConnectFlags and MsgCurrent (and
 * their _r twins) as QNX documents them, for a C (and C++) program.
 *
 *   connect_info_suite                  one program on its own kernel: a thread's message and
 *                                       its scoid, the ids the server learns, ngroups, the
 *                                       scoid held after the client's detach, iofunc_client_info
 *                                       on the same client, a process's connections walked,
 *                                       CLOEXEC set and cleared, a server taking up a client's
 *                                       priority again with MsgCurrent, the errors
 *   connect_info_suite server           on a shared kernel: prints "ready PID CHID", takes one
 *                                       client's message, prints "client PID uid UID", answers
 *                                       what it learned, then sees the client go
 *   connect_info_suite client PID CHID  on a shared kernel: tells the server who it is and
 *                                       checks the server learned the same
 *
 * Each prints "N passed, M failed" last. No call may block forever: every receive and send is
 * armed with TimerTimeout first, and every wait is bounded.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* getresuid, getresgid */
#endif
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/dispatch.h>
#include <sys/iofunc.h>
#include <sys/neutrino.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define MS 1000000ULL
#define LONG_MS 10000
/* The message between the two programs (a type above _IO_MAX). */
#define CI_HELLO 0x200
/* The groups the suite gives itself when it may (more than a struct _cred_info holds). */
#define MANY_GROUPS 12

struct ci_msg {
    _Uint16t type;
    _Uint16t subtype;
    _Int32t pid;
    _Uint32t uid;
    _Uint32t gid;
    _Int32t sid;
};

struct ci_reply {
    _Int32t pid;
    _Uint32t euid;
    _Uint32t ruid;
    _Uint32t egid;
    _Int32t sid;
    _Uint32t ngroups;
};

static void arm_rx(unsigned long long ms) {
    _Uint64t ns = ms * MS;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
}

static void arm_sr(unsigned long long ms) {
    _Uint64t ns = ms * MS;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* This process's supplementary groups (at most 64) and their count. */
static gid_t my_groups[64];
static int my_ngroups;

static void read_groups(void) {
    my_ngroups = getgroups(64, my_groups);
    if (my_ngroups < 0) {
        my_ngroups = 0;
    }
}

static unsigned min_u(unsigned a, unsigned b) {
    return a < b ? a : b;
}

/* The grouplist of a _client_info, as a pointer (a caller may have made room past its 8). */
static const gid_t *groups_of(const struct _client_info *ci) {
    return (const gid_t *)((const char *)ci + offsetof(struct _client_info, cred) +
                           offsetof(struct _cred_info, grouplist));
}

/* Whether ci holds this process's ids, and its first n groups. */
static int ids_are_mine(const struct _client_info *ci, unsigned n) {
    uid_t r, e, s;
    gid_t rg, eg, sg;
    unsigned i;
    getresuid(&r, &e, &s);
    getresgid(&rg, &eg, &sg);
    if (ci->cred.ruid != r || ci->cred.euid != e || ci->cred.suid != s ||
        ci->cred.rgid != rg || ci->cred.egid != eg || ci->cred.sgid != sg) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (groups_of(ci)[i] != my_groups[i]) {
            return 0;
        }
    }
    return 1;
}

/* ------------------------------------------------------------------ one program */

static void *client_thread(void *arg) {
    int coid = *(int *)arg;
    char reply[8];
    arm_sr(LONG_MS);
    return (void *)(long)MsgSend(coid, "hello", 6, reply, sizeof reply);
}

static int on_message(message_context_t *ctp, int code, unsigned flags, void *handle) {
    (void)ctp;
    (void)code;
    (void)flags;
    (void)handle;
    return 0;
}

/* iofunc_client_info on a context carrying the message's info gives what ConnectClientInfo
 * gives with NGROUPS_MAX_QNX; on a context not filled by a receive, the Linux process its
 * info.pid names. */
static void check_iofunc_client_info(const struct _msg_info *info, const struct _client_info *ci) {
    dispatch_t *dpp = dispatch_create();
    resmgr_context_t *ctp;
    struct _client_info got;
    CHECK(dpp != NULL, "dispatch_create");
    if (dpp == NULL) {
        return;
    }
    CHECK(message_attach(dpp, NULL, 0x3000, 0x3000, on_message, NULL) == 0, "message_attach");
    ctp = (resmgr_context_t *)dispatch_context_alloc(dpp);
    CHECK(ctp != NULL, "dispatch_context_alloc");
    if (ctp != NULL) {
        ctp->info = *info;
        memset(&got, 0x5a, sizeof got);
        CHECK(iofunc_client_info(ctp, 0, &got) == EOK && got.pid == ci->pid &&
                  got.sid == ci->sid && got.nd == 0 && got.cred.euid == ci->cred.euid &&
                  got.cred.egid == ci->cred.egid && got.cred.ngroups == ci->cred.ngroups &&
                  ids_are_mine(&got, got.cred.ngroups),
              "iofunc_client_info: the message's client, as ConnectClientInfo gives it");
        ctp->info.scoid = 0;
        ctp->info.pid = getpid();
        memset(&got, 0x5a, sizeof got);
        CHECK(iofunc_client_info(ctp, 0, &got) == EOK && got.pid == getpid() &&
                  got.cred.ngroups == min_u((unsigned)my_ngroups, NGROUPS_MAX_QNX) &&
                  ids_are_mine(&got, got.cred.ngroups),
              "iofunc_client_info: no scoid: the Linux process info.pid names");
        dispatch_context_free((dispatch_context_t *)ctp);
    }
    dispatch_destroy(dpp);
}

static void check_client_info(void) {
    int chid = ChannelCreate(_NTO_CHF_DISCONNECT);
    int coid = ConnectAttach(0, getpid(), chid, _NTO_SIDE_CHANNEL, 0);
    pthread_t th;
    struct _msg_info info;
    struct _client_info ci;
    struct {
        struct _client_info ci;
        gid_t more[56];
    } big;
    struct _pulse pulse;
    char buf[64];
    int rcvid, scoid, started, r;
    void *sent = NULL;
    unsigned have = (unsigned)my_ngroups;

    CHECK(chid > 0 && coid > 0, "ChannelCreate, ConnectAttach");
    started = pthread_create(&th, NULL, client_thread, &coid) == 0;
    CHECK(started, "a client thread");
    arm_rx(LONG_MS);
    rcvid = MsgReceive(chid, buf, sizeof buf, &info);
    CHECK(rcvid > 0 && info.pid == getpid(), "the client's message");
    scoid = info.scoid;
    CHECK((scoid & _NTO_SIDE_CHANNEL) != 0, "info.scoid is a side-channel id");

    memset(&ci, 0x5a, sizeof ci);
    r = ConnectClientInfo(scoid, &ci, NGROUPS_MAX_QNX);
    CHECK(r == 0, "ConnectClientInfo(info.scoid, &ci, NGROUPS_MAX_QNX)");
    CHECK(ci.nd == 0 && ci.pid == getpid() && ci.pid == info.pid, "nd 0, pid the client's");
    CHECK(ci.sid == getsid(0), "sid: the session");
    CHECK((ci.flags & (_NTO_CI_STOPPED | _NTO_CI_ENDIAN_BIG)) == 0, "flags: not stopped");
    CHECK(ci.cred.ngroups == min_u(have, NGROUPS_MAX_QNX), "cred.ngroups: those written");
    CHECK(ids_are_mine(&ci, ci.cred.ngroups), "the ids and groups are the process's");

    /* ngroups 0: none written, cred.ngroups is how many the process has. */
    memset(&ci, 0x5a, sizeof ci);
    CHECK(ConnectClientInfo(scoid, &ci, 0) == 0 && ci.cred.ngroups == have &&
              ci.cred.grouplist[0] == (gid_t)0x5a5a5a5a && ids_are_mine(&ci, 0),
          "ngroups 0: the count, no group written");
    /* ngroups 1: one written, nothing past it. */
    memset(&ci, 0x5a, sizeof ci);
    CHECK(ConnectClientInfo(scoid, &ci, 1) == 0 && ci.cred.ngroups == min_u(have, 1) &&
              ids_are_mine(&ci, ci.cred.ngroups) && ci.cred.grouplist[1] == (gid_t)0x5a5a5a5a,
          "ngroups 1: at most one group, nothing past it");
    /* Room for 64: every group (past the struct's 8 when the process has more). */
    memset(&big, 0x5a, sizeof big);
    CHECK(ConnectClientInfo(scoid, &big.ci, 64) == 0 && big.ci.cred.ngroups == have &&
              ids_are_mine(&big.ci, have) &&
              (have >= 64 || groups_of(&big.ci)[have] == (gid_t)0x5a5a5a5a),
          "ngroups 64: every group, in the room the caller made");
    if (have > NGROUPS_MAX_QNX) {
        CHECK(big.ci.cred.ngroups > NGROUPS_MAX_QNX, "more than 8 groups reported");
    }

    /* The _r twin, and -1: the caller itself. */
    memset(&ci, 0, sizeof ci);
    CHECK(ConnectClientInfo_r(scoid, &ci, NGROUPS_MAX_QNX) == EOK && ci.pid == getpid(),
          "ConnectClientInfo_r");
    memset(&ci, 0, sizeof ci);
    CHECK(ConnectClientInfo(-1, &ci, NGROUPS_MAX_QNX) == 0 && ci.pid == getpid() &&
              ids_are_mine(&ci, ci.cred.ngroups),
          "scoid -1: the calling process");

    check_iofunc_client_info(&info, &ci);

    CHECK(MsgReply(rcvid, 0, "ok", 3) == 0, "MsgReply");
    if (started) {
        pthread_join(th, &sent);
    }
    CHECK(sent == (void *)0, "the client's MsgSend returned 0");

    /* The client's last detach: the scoid stays while the server holds it. */
    CHECK(ConnectDetach(coid) == 0, "the client detaches");
    arm_rx(LONG_MS);
    CHECK(MsgReceive(chid, &pulse, sizeof pulse, NULL) == 0 &&
              pulse.code == _PULSE_CODE_DISCONNECT && pulse.scoid == scoid,
          "_PULSE_CODE_DISCONNECT on the scoid");
    memset(&ci, 0, sizeof ci);
    CHECK(ConnectClientInfo(scoid, &ci, NGROUPS_MAX_QNX) == 0 && ci.pid == getpid(),
          "the held scoid still names its client");
    CHECK(ConnectDetach(scoid) == 0, "the server detaches the scoid");
    errno = 0;
    CHECK(ConnectClientInfo(scoid, &ci, NGROUPS_MAX_QNX) == -1 && errno == EINVAL,
          "then: EINVAL");

    /* Errors. */
    errno = 0;
    CHECK(ConnectClientInfo(0, &ci, NGROUPS_MAX_QNX) == -1 && errno == EINVAL, "scoid 0: EINVAL");
    errno = 0;
    CHECK(ConnectClientInfo(_NTO_SIDE_CHANNEL | 0x3fff, &ci, NGROUPS_MAX_QNX) == -1 &&
              errno == EINVAL,
          "no such scoid: EINVAL");
    errno = 0;
    CHECK(ConnectClientInfo(-2, &ci, NGROUPS_MAX_QNX) == -1 && errno == EINVAL,
          "scoid -2: EINVAL");
    errno = 0;
    CHECK(ConnectClientInfo(-1, NULL, NGROUPS_MAX_QNX) == 0, "info NULL: the scoid checked");
    errno = 0;
    CHECK(ConnectClientInfo(-2, NULL, NGROUPS_MAX_QNX) == -1 && errno == EINVAL,
          "info NULL, no such scoid: EINVAL");
    errno = 0;
    CHECK(ConnectClientInfo(-1, &ci, -1) == -1 && errno == EINVAL, "ngroups -1: EINVAL");
    errno = 1234;
    CHECK(ConnectClientInfo_r(0, &ci, NGROUPS_MAX_QNX) == -EINVAL && errno == 1234,
          "ConnectClientInfo_r: -EINVAL, errno untouched");
    CHECK(ConnectClientInfo_r(-1, NULL, 0) == 0 && errno == 1234,
          "ConnectClientInfo_r: NULL info, 0");
    CHECK(ChannelDestroy(chid) == 0, "ChannelDestroy");
}

/* The scoid the server sees coid's pulses come through (0 if none came). */
static int scoid_of(int coid, int chid) {
    struct _pulse p;
    memset(&p, 0, sizeof p);
    if (MsgSendPulse(coid, -1, 5, coid) != 0) {
        return 0;
    }
    arm_rx(LONG_MS);
    if (MsgReceivePulse(chid, &p, sizeof p, NULL) != 0 || p.value.sival_int != coid) {
        return 0;
    }
    return p.scoid;
}

static void check_server_info(void) {
    int chid = ChannelCreate(0);
    int a = ConnectAttach(0, 0, chid, 0, 0);
    int b = ConnectAttach(0, 0, chid, (unsigned)a + 2, _NTO_COF_NOSHARE);
    int s = ConnectAttach(0, getpid(), chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE | _NTO_COF_CLOEXEC);
    struct _server_info si;
    int seen[3] = {-1, -1, -1}, mine[3], order_ok = 1, fields_ok = 1, last = -1, n = 0, c, r, i;
    mine[0] = a;
    mine[1] = b;
    mine[2] = s;

    CHECK(chid > 0 && a >= 0 && b > a && (s & _NTO_SIDE_CHANNEL) != 0, "three connections");
    CHECK(sizeof(struct _server_info) == 64 && sizeof(struct _client_info) == 76 &&
              sizeof(struct _cred_info) == 60,
          "struct sizes: _server_info 64, _client_info 76, _cred_info 60");

    /* Walk: ascending coids, fd-space ones then side-channel ones, ours among them. */
    errno = 0;
    for (c = 0; n < 5000 && (r = ConnectServerInfo(0, c, &si)) != -1; c = r + 1, n++) {
        if (r < c || r <= last || si.coid != r) {
            order_ok = 0;
        }
        last = r;
        for (i = 0; i < 3; i++) {
            if (r == mine[i]) {
                seen[i] = n;
                if (si.pid != getpid() || si.chid != chid || si.nd != 0 ||
                    si.scoid != scoid_of(r, chid) ||
                    (si.flags & _NTO_COF_CLOEXEC) != (i == 2 ? _NTO_COF_CLOEXEC : 0) ||
                    (si.flags & _NTO_COF_DEAD) != 0 || si.tid != 0 || si.msglen != 0) {
                    fields_ok = 0;
                    printf("coid %#x: pid %d chid %d scoid %#x flags %#x\n", r, si.pid,
                           si.chid, si.scoid, si.flags);
                }
            }
        }
    }
    CHECK(n < 5000 && errno == EINVAL, "the walk ends with EINVAL");
    CHECK(order_ok, "coids ascending, each the one asked for or the next");
    CHECK(seen[0] >= 0 && seen[0] < seen[1] && seen[1] < seen[2], "ours in order: fd, fd, side");
    CHECK(fields_ok, "pid, chid, nd, scoid (the server's), flags (CLOEXEC as attached)");

    r = ConnectServerInfo(0, a + 1, &si);
    CHECK(r > a && r <= b, "from a coid with none: the next one");
    CHECK(ConnectServerInfo(getpid(), a, &si) == a && si.chid == chid,
          "pid getpid(): the caller's process, as 0");
    CHECK(ConnectServerInfo_r(0, s, &si) == s, "ConnectServerInfo_r");

    errno = 0;
    CHECK(ConnectServerInfo(0, -1, &si) == -1 && errno == EINVAL, "coid -1: EINVAL");
    errno = 0;
    CHECK(ConnectServerInfo(0, _NTO_SIDE_CHANNEL | 0x3fffffff, &si) == -1 && errno == EINVAL,
          "none after the coid: EINVAL");
    errno = 0;
    CHECK(ConnectServerInfo(0x7ffffff0, 0, &si) == -1 && errno == ESRCH, "no such pid: ESRCH");
    errno = 0;
    CHECK(ConnectServerInfo(0, 0, NULL) == ConnectServerInfo(0, 0, &si),
          "info NULL: the same first live connection");
    errno = 1234;
    CHECK(ConnectServerInfo_r(0x7ffffff0, 0, &si) == -ESRCH && errno == 1234,
          "ConnectServerInfo_r: -ESRCH, errno untouched");
    CHECK(ConnectServerInfo_r(0, -1, &si) == -EINVAL && ConnectServerInfo_r(0, -1, NULL) == -EINVAL &&
              errno == 1234,
          "ConnectServerInfo_r: -EINVAL, with or without info");

    /* The channel gone: the connection is dead. */
    CHECK(ChannelDestroy(chid) == 0, "ChannelDestroy");
    memset(&si, 0, sizeof si);
    CHECK(ConnectServerInfo(0, a, &si) == a && (si.flags & _NTO_COF_DEAD) != 0 &&
              si.scoid == 0 && si.chid == chid && si.pid == getpid(),
          "a connection whose channel is gone: _NTO_COF_DEAD");
    CHECK(ConnectDetach(a) == 0 && ConnectDetach(b) == 0 && ConnectDetach(s) == 0, "detached");
    CHECK(ConnectServerInfo(0, a, &si) != a, "a detached coid is not reported");
}

/* ------------------------------------------------------------------ two programs */

static int serve(void) {
    int chid = ChannelCreate(_NTO_CHF_DISCONNECT);
    struct ci_msg m;
    struct ci_reply rep;
    struct _msg_info info;
    struct _client_info ci;
    struct _server_info si;
    struct _pulse pulse;
    int rcvid, c, r, n, found = 0, gone = 0;
    long long until;

    CHECK(chid > 0, "ChannelCreate");
    printf("ready %d %d\n", getpid(), chid);
    fflush(stdout);
    memset(&m, 0, sizeof m);
    arm_rx(LONG_MS);
    rcvid = MsgReceive(chid, &m, sizeof m, &info);
    CHECK(rcvid > 0 && m.type == CI_HELLO, "the client's message");
    if (rcvid <= 0) {
        return SUMMARY();
    }
    memset(&ci, 0, sizeof ci);
    CHECK(ConnectClientInfo(info.scoid, &ci, NGROUPS_MAX_QNX) == 0, "ConnectClientInfo");
    CHECK(ci.pid == m.pid && ci.pid == info.pid, "the client's Linux pid");
    CHECK(ci.cred.euid == m.uid && ci.cred.egid == m.gid, "the client's uid and gid");
    CHECK(ci.sid == m.sid, "the client's session");
    printf("client %d uid %u\n", ci.pid, (unsigned)ci.cred.euid);
    fflush(stdout);

    /* The client's connections, as another process: one of them is ours. */
    for (c = 0, n = 0; n < 5000 && (r = ConnectServerInfo(ci.pid, c, &si)) != -1; c = r + 1, n++) {
        if (si.pid == getpid() && si.chid == chid) {
            found = si.scoid == info.scoid && r == info.coid;
        }
    }
    CHECK(found, "ConnectServerInfo(the client's pid): its coid to us, our scoid");

    rep.pid = ci.pid;
    rep.euid = ci.cred.euid;
    rep.ruid = ci.cred.ruid;
    rep.egid = ci.cred.egid;
    rep.sid = ci.sid;
    rep.ngroups = ci.cred.ngroups;
    CHECK(MsgReply(rcvid, 0, &rep, sizeof rep) == 0, "MsgReply");

    arm_rx(LONG_MS);
    CHECK(MsgReceive(chid, &pulse, sizeof pulse, NULL) == 0 &&
              pulse.code == _PULSE_CODE_DISCONNECT && pulse.scoid == info.scoid,
          "the client's disconnect pulse");
    /* Once the client program has ended: ESRCH (bounded wait). */
    until = now_ms() + LONG_MS;
    while (!gone && now_ms() < until) {
        errno = 0;
        gone = ConnectClientInfo(info.scoid, &ci, 0) == -1 && errno == ESRCH;
        if (!gone) {
            delay(10);
        }
    }
    CHECK(gone, "the client ended: ESRCH");
    CHECK(ConnectDetach(info.scoid) == 0, "ConnectDetach(scoid)");
    errno = 0;
    CHECK(ConnectClientInfo(info.scoid, &ci, 0) == -1 && errno == EINVAL, "then: EINVAL");
    ChannelDestroy(chid);
    return SUMMARY();
}

static int client(int pid, int chid) {
    int coid = ConnectAttach(0, pid, chid, _NTO_SIDE_CHANNEL, 0);
    struct ci_msg m;
    struct ci_reply rep;
    struct _server_info si;
    long st;

    CHECK(coid > 0, "ConnectAttach to the server");
    memset(&si, 0, sizeof si);
    CHECK(ConnectServerInfo(0, coid, &si) == coid && si.pid == pid && si.chid == chid &&
              si.coid == coid && (si.scoid & _NTO_SIDE_CHANNEL) != 0,
          "ConnectServerInfo: the server's pid and chid");
    memset(&m, 0, sizeof m);
    m.type = CI_HELLO;
    m.pid = getpid();
    m.uid = geteuid();
    m.gid = getegid();
    m.sid = getsid(0);
    memset(&rep, 0, sizeof rep);
    arm_sr(LONG_MS);
    st = MsgSend(coid, &m, sizeof m, &rep, sizeof rep);
    CHECK(st == 0, "MsgSend");
    CHECK(rep.pid == getpid() && rep.euid == geteuid() && rep.ruid == getuid() &&
              rep.egid == getegid() && rep.sid == getsid(0),
          "the server learned our pid, ids and session");
    CHECK(rep.ngroups == min_u((unsigned)my_ngroups, NGROUPS_MAX_QNX), "and our groups' count");
    CHECK(ConnectDetach(coid) == 0, "ConnectDetach");
    return SUMMARY();
}

/* ------------------------------------------------------------------ ConnectFlags */

static void check_connect_flags(void) {
    int chid = ChannelCreate(0);
    int a = ConnectAttach(0, 0, chid, 0, 0);
    int shared = ConnectAttach(0, 0, chid, 0, 0);
    int own = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE | _NTO_COF_CLOEXEC);
    struct _server_info si;
    CHECK(chid > 0 && a >= 0 && shared > a && own > 0, "ConnectFlags: three connections");

    CHECK(ConnectFlags(0, a, 0, 0) == 0, "ConnectFlags(mask 0): a query, CLOEXEC clear");
    CHECK(ConnectFlags(0, own, 0, 0) == _NTO_COF_CLOEXEC, "CLOEXEC as attached");
    CHECK(ConnectFlags(0, a, _NTO_COF_CLOEXEC, _NTO_COF_CLOEXEC) == 0,
          "set CLOEXEC: the flags as they were");
    CHECK(ConnectFlags(getpid(), a, 0, _NTO_COF_CLOEXEC) == _NTO_COF_CLOEXEC,
          "set, by getpid(); bits outside the mask change nothing");
    CHECK(ConnectServerInfo(0, a, &si) == a && (si.flags & _NTO_COF_CLOEXEC) != 0,
          "ConnectServerInfo reports it");
    CHECK(ConnectFlags(0, shared, 0, 0) == _NTO_COF_CLOEXEC,
          "a coid sharing the connection sees it (the flags are the connection's)");
    CHECK(ConnectFlags_r(0, a, _NTO_COF_CLOEXEC, 0) == _NTO_COF_CLOEXEC &&
              ConnectFlags(0, a, 0, 0) == 0,
          "ConnectFlags_r clears it");
    CHECK(ConnectFlags(0, own, _NTO_COF_CLOEXEC, 0) == _NTO_COF_CLOEXEC &&
              ConnectFlags(0, own, 0, 0) == 0,
          "cleared on a NOSHARE side-channel connection");

    errno = 0;
    CHECK(ConnectFlags(0, a, _NTO_COF_NOSHARE | _NTO_COF_CLOEXEC, _NTO_COF_CLOEXEC) == -1 &&
              errno == ENOTSUP && ConnectFlags(0, a, 0, 0) == 0,
          "another flag in the mask: ENOTSUP, nothing changed");
    errno = 0;
    CHECK(ConnectFlags(0, 0x3fff0000, 0, 0) == -1 && errno == EBADF, "no such coid: EBADF");
    errno = 0;
    CHECK(ConnectFlags(0, -1, 0, 0) == -1 && errno == EBADF, "coid -1: EBADF");
    errno = 0;
    CHECK(ConnectFlags(0x7ffffff0, a, 0, 0) == -1 && errno == ESRCH, "no such pid: ESRCH");
    errno = 1234;
    CHECK(ConnectFlags_r(0, -1, 0, 0) == -EBADF && ConnectFlags_r(0x7ffffff0, a, 0, 0) == -ESRCH &&
              ConnectFlags_r(0, a, 0x8000, 0) == -ENOTSUP && errno == 1234,
          "ConnectFlags_r: -errno, errno untouched");

    CHECK(ConnectDetach(a) == 0 && ConnectDetach(shared) == 0 && ConnectDetach(own) == 0,
          "detached");
    errno = 0;
    CHECK(ConnectFlags(0, a, 0, 0) == -1 && errno == EBADF, "a detached coid: EBADF");
    CHECK(ChannelDestroy(chid) == 0, "ChannelDestroy");
}

/* ------------------------------------------------------------------ MsgCurrent */

struct prio_client {
    int coid;
    int prio;
};

static void *prio_client_thread(void *arg) {
    struct prio_client *pc = (struct prio_client *)arg;
    char reply[8];
    setprio(0, pc->prio);
    arm_sr(LONG_MS);
    return (void *)(long)MsgSend(pc->coid, "cur", 4, reply, sizeof reply);
}

/* Receives the next message on chid (bounded): its rcvid, or -1. */
static int receive_one(int chid) {
    char buf[16];
    arm_rx(LONG_MS);
    return MsgReceive(chid, buf, sizeof buf, NULL);
}

static void check_msg_current_on(unsigned chflags) {
    int fixed = (chflags & _NTO_CHF_FIXED_PRIORITY) != 0;
    int base = getprio(0);
    int chid = ChannelCreate(chflags);
    struct prio_client low, high;
    pthread_t tl, th;
    int rl, rh, ok_l, ok_h;
    void *res;
    low.coid = high.coid = ConnectAttach(0, 0, chid, _NTO_SIDE_CHANNEL, 0);
    low.prio = base + 2;
    high.prio = base + 20;
    CHECK(chid > 0 && low.coid > 0, "MsgCurrent: a channel and a connection");

    ok_l = pthread_create(&tl, NULL, prio_client_thread, &low) == 0;
    rl = receive_one(chid);
    ok_h = pthread_create(&th, NULL, prio_client_thread, &high) == 0;
    rh = receive_one(chid);
    CHECK(ok_l && ok_h && rl > 0 && rh > 0, "two clients received, low then high");
    CHECK(getprio(0) == (fixed ? base : high.prio), "the receive gave the high one's priority");

    CHECK(MsgCurrent(rl) == 0, "MsgCurrent(the low client's rcvid)");
    CHECK(getprio(0) == (fixed ? base : low.prio),
          fixed ? "a fixed-priority channel: the priority stays"
                : "the low client's priority: the high one's boost is lost");
    CHECK(MsgCurrent_r(rh) == EOK && getprio(0) == (fixed ? base : high.prio),
          "MsgCurrent_r(the high one's): its priority");

    errno = 0;
    CHECK(MsgCurrent(0) == -1 && errno == ESRCH, "rcvid 0 (a pulse's): ESRCH");
    errno = 1234;
    CHECK(MsgCurrent_r(-1) == -ESRCH && errno == 1234, "MsgCurrent_r(-1): -ESRCH, errno untouched");

    CHECK(MsgReply(rl, 0, "ok", 3) == 0 && MsgReply(rh, 0, "ok", 3) == 0, "both answered");
    CHECK(pthread_join(tl, &res) == 0 && res == (void *)0 && pthread_join(th, &res) == 0 &&
              res == (void *)0,
          "both clients' MsgSend returned 0");
    errno = 0;
    CHECK(MsgCurrent(rl) == -1 && errno == ESRCH, "an rcvid already answered: ESRCH");
    setprio(0, base);
    CHECK(ConnectDetach(low.coid) == 0 && ChannelDestroy(chid) == 0, "cleaned up");
}

static void check_msg_current(void) {
    check_msg_current_on(0);
    check_msg_current_on(_NTO_CHF_FIXED_PRIORITY);
}

int main(int argc, char **argv) {
    if (geteuid() == 0 && (argc < 2 || strcmp(argv[1], "client") != 0)) {
        /* More groups than a struct _cred_info holds (before any thread exists). */
        gid_t many[MANY_GROUPS];
        int i;
        for (i = 0; i < MANY_GROUPS; i++) {
            many[i] = (gid_t)(60000 + i);
        }
        if (setgroups(MANY_GROUPS, many) != 0) {
            printf("setgroups: %s (going on with the process's groups)\n", strerror(errno));
        }
    }
    read_groups();
    if (argc >= 2 && strcmp(argv[1], "server") == 0) {
        return serve();
    }
    if (argc >= 4 && strcmp(argv[1], "client") == 0) {
        return client(atoi(argv[2]), atoi(argv[3]));
    }
    check_client_info();
    check_server_info();
    check_connect_flags();
    check_msg_current();
    return SUMMARY();
}
