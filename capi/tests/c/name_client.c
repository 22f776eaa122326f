/*
 * name_client.c: a QNX client that finds its server by name, in its own program, on a kernel
 * shared with it (QNXSIM_KERNEL names it): `name_client NAME`. No pid or chid is passed:
 * name_open(NAME, 0) finds the server of name_server.c, then the client checks what it
 * answers, closes (the server then ends) and prints "N passed, M failed". Every send is
 * bounded.
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

static void bound(void) {
    _Uint64t ns = 10000000000ULL;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
}

static long send_type(int coid, int type, int value, void *reply, size_t rbytes) {
    struct nm_msg m;
    memset(&m, 0, sizeof m);
    m.type = (_Uint16t)type;
    m.value = value;
    bound();
    return MsgSend(coid, &m, sizeof m, reply, rbytes);
}

static int open_name(const char *name) {
    bound();
    return name_open(name, 0);
}

int main(int argc, char **argv) {
    struct nm_msg m;
    struct _io_connect seen;
    char reply[32];
    int coid, coid2;
    long r;

    if (argc != 2) {
        fprintf(stderr, "usage: name_client NAME\n");
        return 2;
    }

    CHECK(open_name(NULL) == -1 && errno == EINVAL, "name_open(NULL): EINVAL");
    CHECK(open_name("qnxsim/nobody/here") == -1 && errno == ENOENT,
          "name_open of an unknown name: ENOENT");

    coid = open_name(argv[1]);
    CHECK(coid != -1 && (coid & _NTO_SIDE_CHANNEL) != 0,
          "name_open finds the server of another program: a side-channel coid");
    if (coid == -1) {
        return SUMMARY();
    }

    memset(&m, 0, sizeof m);
    m.type = NM_ECHO;
    m.value = 5;
    memcpy(m.data, "hello", 5);
    bound();
    r = MsgSend(coid, &m, sizeof m, reply, sizeof reply);
    CHECK(r == 5 && memcmp(reply, "hello", 5) == 0, "an echo");

    memset(&seen, 0, sizeof seen);
    r = send_type(coid, NM_CONNECT, 0, &seen, sizeof seen);
    CHECK(r == 1, "the server saw one open");
    CHECK(seen.type == _IO_CONNECT && seen.subtype == _IO_CONNECT_OPEN &&
              seen.file_type == _FTYPE_NAME && seen.path_len == 1,
          "it came as an _IO_CONNECT_OPEN for _FTYPE_NAME, path \"\"");
    CHECK(seen.ioflag == 3 && seen.access == (_IO_FLAG_RD | _IO_FLAG_WR) && seen.sflag == 0x40,
          "with ioflag 3, access RD|WR, sflag SH_DENYNO");

    r = send_type(coid, NM_PID, 0, NULL, 0);
    CHECK(r == (long)getpid(), "the server's _msg_info names this program's pid");
    r = send_type(coid, NM_ERROR, EPERM, NULL, 0);
    CHECK(r == -1 && errno == EPERM, "the server's MsgError(EPERM)");
    r = send_type(coid, NM_ERROR, EOK, NULL, 0);
    CHECK(r == 0, "the server's MsgError(EOK)");
    r = send_type(coid, _IO_READ, 0, NULL, 0);
    CHECK(r == -1 && errno == ENOSYS, "an _IO_READ: the server's ENOSYS");
    r = send_type(coid, _IO_MAX + 100, 0, NULL, 0);
    CHECK(r == -1 && errno == ENOSYS, "an unknown type: ENOSYS");

    /* A second open shares the connection: the server sees a second open, and its
       disconnect pulse waits for the last close. */
    coid2 = open_name(argv[1]);
    CHECK(coid2 != -1 && coid2 != coid, "a second name_open: another coid");
    r = send_type(coid2, NM_CONNECT, 0, &seen, sizeof seen);
    CHECK(r == 2, "the server saw two opens");
    CHECK(name_close(coid2) == 0, "name_close(the second coid)");
    r = send_type(coid, NM_ECHO, 0, NULL, 0);
    CHECK(r == 0, "the first coid still works");

    CHECK(name_close(coid) == 0, "name_close");
    r = send_type(coid, NM_ECHO, 0, NULL, 0);
    CHECK(r == -1 && errno == EBADF, "a send after name_close: EBADF");
    CHECK(name_close(coid) == -1 && errno == EINVAL, "name_close again: EINVAL");
    return SUMMARY();
}
