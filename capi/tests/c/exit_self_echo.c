/*
 * exit_self_echo.c: a server whose first thread ends with pthread_exit once its serving thread
 * runs, as a QNX server that hands its work to a thread pool (POOL_FLAG_EXIT_SELF) does, and
 * its client, each a program of its own on the kernel QNXSIM_KERNEL names:
 *
 *   exit_self_echo server        prints "ready", then "PID CHID"; answers each message with
 *                                its length and its bytes reversed; ends at an empty one.
 *   exit_self_echo client PID CHID
 *                                sends 5000 bytes (past the region's 256-byte windows: copied
 *                                straight into the server's buffer, whose first thread has no
 *                                memory any more), checks the reversed reply, then the empty
 *                                message; prints "N passed, M failed".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/neutrino.h>

#include "check.h"

#define LONG 5000

static int chid;
static char in[70000];
static char back[70000];

static void *serve(void *arg) {
    (void)arg;
    for (;;) {
        struct _msg_info info;
        int i, n;
        rcvid_t rcvid = MsgReceive(chid, in, sizeof in, &info);
        if (rcvid <= 0) {
            continue;
        }
        n = (int)info.msglen;
        if (n == 0) {
            MsgReply(rcvid, 0, NULL, 0);
            exit(0);
        }
        for (i = 0; i < n; i++) {
            back[i] = in[n - 1 - i];
        }
        MsgReply(rcvid, n, back, (size_t)n);
    }
    return NULL;
}

static int server(void) {
    pthread_t t;
    chid = ChannelCreate(0);
    if (chid == -1 || pthread_create(&t, NULL, serve, NULL) != 0) {
        printf("setup failed (errno %d)\n", errno);
        return 1;
    }
    printf("ready\n%d %d\n", (int)getpid(), chid);
    fflush(stdout);
    pthread_exit(NULL);
}

static int client(int pid, int server_chid) {
    static char msg[LONG], reply[LONG], want[LONG];
    int i, coid;
    long r;
    _Uint64t ns = 10000000000ULL;
    for (i = 0; i < LONG; i++) {
        msg[i] = (char)(i * 13 + 1);
        want[LONG - 1 - i] = msg[i];
    }
    coid = ConnectAttach(0, pid, server_chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(coid != -1, "ConnectAttach to the server");
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
    r = MsgSend(coid, msg, LONG, reply, LONG);
    CHECK(r == LONG, "a long message to a server whose first thread ended is answered");
    CHECK(memcmp(reply, want, LONG) == 0, "its reply is the message reversed");
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
    CHECK(MsgSend(coid, msg, 0, NULL, 0) == 0, "the empty message ends the server");
    return SUMMARY();
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "server") == 0) {
        return server();
    }
    if (argc == 4 && strcmp(argv[1], "client") == 0) {
        return client(atoi(argv[2]), atoi(argv[3]));
    }
    fprintf(stderr, "usage: exit_self_echo server | client PID CHID\n");
    return 2;
}
