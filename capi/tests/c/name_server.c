/*
 * name_server.c: a QNX server found by its name, in its own program, on a kernel shared with
 * its clients (QNXSIM_KERNEL names it): `name_server NAME [global] [CLIENTS]`.
 * name_attach(NULL, NAME, 0 or NAME_FLAG_ATTACH_GLOBAL), prints "ready", answers each
 * name_open's _IO_CONNECT with MsgReply(rcvid, EOK, NULL, 0), serves the messages below, and
 * ends once CLIENTS (default 1) client connections are gone (their disconnect pulses); then
 * name_detach, and "N passed, M failed" for its own checks. Every receive is bounded.
 *
 * The messages (the same layout in name_client.c and in procnto-sim/tests/c_names.rs):
 *   struct nm_msg { _Uint16t type; _Uint16t subtype; _Int32t value; char data[32]; }
 *                                                                       -- 40 bytes
 *   NM_ECHO     reply data[0..value], status value
 *   NM_CONNECT  reply the last struct _io_connect received (44 bytes), status: opens so far
 *   NM_ERROR    MsgError(rcvid, value)
 *   NM_PID      status: the client's pid (its _msg_info)
 *   other _IO_* and unknown types: MsgError(rcvid, ENOSYS)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/dispatch.h>
#include <sys/iomsg.h>
#include <sys/neutrino.h>
#include <unistd.h>

#include "check.h"

enum {
    NM_ECHO = _IO_MAX + 1,
    NM_CONNECT,
    NM_ERROR,
    NM_PID
};

struct nm_msg {
    _Uint16t type;
    _Uint16t subtype;
    _Int32t value;
    char data[32];
};

/* Each receive waits at most this long (ns). */
#define BOUND 15000000000ULL

int main(int argc, char **argv) {
    union {
        struct _io_connect c;
        char connect_bytes[128];
        struct _pulse p;
        struct nm_msg m;
        _Uint16t type;
    } u;
    struct _io_connect last;
    struct _msg_info info;
    name_attach_t *attach;
    unsigned flags = 0;
    int clients = 1, disconnects = 0, opens = 0, served = 0, i;
    _Uint64t bound = BOUND;

    if (argc < 2) {
        fprintf(stderr, "usage: name_server NAME [global] [CLIENTS]\n");
        return 2;
    }
    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "global") == 0) {
            flags |= NAME_FLAG_ATTACH_GLOBAL;
        } else {
            clients = atoi(argv[i]);
        }
    }
    CHECK(sizeof(struct nm_msg) == 40 && sizeof(struct _io_connect) == 44, "the layouts");
    attach = name_attach(NULL, argv[1], flags);
    CHECK(attach != NULL && attach->chid > 0 && attach->dpp == NULL, "name_attach");
    if (attach == NULL) {
        return SUMMARY();
    }
    printf("ready\n");
    fflush(stdout);
    memset(&last, 0, sizeof last);

    while (disconnects < clients) {
        rcvid_t rcvid;
        memset(&u, 0, sizeof u);
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &bound, NULL);
        rcvid = MsgReceive(attach->chid, &u, sizeof u, &info);
        if (rcvid == -1) {
            CHECK(0, "MsgReceive (the clients never disconnected?)");
            break;
        }
        if (rcvid == 0) {
            if (u.p.code == _PULSE_CODE_DISCONNECT) {
                CHECK(ConnectDetach(u.p.scoid) == 0, "ConnectDetach(the disconnect's scoid)");
                disconnects++;
            }
            continue;
        }
        if (u.type == _IO_CONNECT) {
            opens++;
            last = u.c;
            CHECK(u.c.subtype == _IO_CONNECT_OPEN && u.c.file_type == _FTYPE_NAME &&
                      u.c.path_len == 1 && u.c.path[0] == '\0',
                  "an _IO_CONNECT_OPEN for _FTYPE_NAME, with the empty path");
            MsgReply(rcvid, EOK, NULL, 0);
            continue;
        }
        served++;
        switch (u.type) {
        case NM_ECHO:
            if (u.m.value < 0 || u.m.value > (int)sizeof u.m.data) {
                MsgError(rcvid, EINVAL);
                break;
            }
            MsgReply(rcvid, u.m.value, u.m.data, (size_t)u.m.value);
            break;
        case NM_CONNECT:
            MsgReply(rcvid, opens, &last, sizeof last);
            break;
        case NM_ERROR:
            MsgError(rcvid, u.m.value);
            break;
        case NM_PID:
            MsgReply(rcvid, info.pid, NULL, 0);
            break;
        default:
            MsgError(rcvid, ENOSYS);
            break;
        }
    }
    CHECK(opens > 0 && served > 0, "the clients opened the name and were served");
    CHECK(name_detach(attach, 0) == 0, "name_detach");
    return SUMMARY();
}
