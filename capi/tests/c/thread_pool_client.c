/*
 * thread_pool_client.c: a client of thread_pool_server.c, in its own program on the same
 * kernel: `thread_pool_client NAME INDEX`. It finds the server by name, sends a TP_GATHER
 * (answered once every client's is in a handler at once), three TP_ECHOs and a TP_QUIT, each
 * bounded, and prints "N passed, M failed".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/dispatch.h>
#include <sys/neutrino.h>

#include "check.h"

#define TP_GATHER (_IO_MAX + 1)
#define TP_ECHO (_IO_MAX + 2)
#define TP_QUIT (_IO_MAX + 3)

struct tp_msg {
    _Uint16t type;
    _Uint16t zero;
    _Int32t value;
};

static long send_msg(int coid, int type, int value) {
    struct tp_msg m;
    _Uint64t ns = 20000000000ULL;
    memset(&m, 0, sizeof m);
    m.type = (_Uint16t)type;
    m.value = value;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
    return MsgSend(coid, &m, sizeof m, NULL, 0);
}

int main(int argc, char **argv) {
    _Uint64t ns = 20000000000ULL;
    int coid, i, index;

    if (argc != 3) {
        fprintf(stderr, "usage: thread_pool_client NAME INDEX\n");
        return 2;
    }
    index = atoi(argv[2]);
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
    coid = name_open(argv[1], 0);
    CHECK(coid != -1, "name_open finds the pool server");
    if (coid == -1) {
        return SUMMARY();
    }
    CHECK(send_msg(coid, TP_GATHER, index) == index,
          "the gather answered (every client in a handler at once)");
    for (i = 0; i < 3; i++) {
        CHECK(send_msg(coid, TP_ECHO, index * 10 + i) == index * 10 + i, "an echo");
    }
    CHECK(send_msg(coid, TP_QUIT, 0) == 0, "the quit answered");
    name_close(coid);
    return SUMMARY();
}
