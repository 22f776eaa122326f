/*
 * exec_image.c: a QNX server that replaces itself with exec() on a shared kernel (QNXSIM_KERNEL
 * names it), and its client. The new image keeps the pid, as on QNX, and is a new process to
 * the kernel: the old image's channel went with it, and its blocked client was released.
 *
 *   exec_image server       ChannelCreate, prints "chid C pid P", receives one message and,
 *                           holding its sender REPLY-blocked, execs itself as
 *                           `exec_image after P` (prints "exec failed" if exec fails)
 *   exec_image after P      the new image: its pid is P, ChannelCreate gives chid 1 again,
 *                           it serves one message ("second") and prints "N passed, M failed"
 *   exec_image client P C   sends to the first image's channel C (ESRCH once the image is
 *                           replaced), then to the new image's channel 1 ("second"); prints
 *                           "N passed, M failed"
 *
 * Every send and receive is bounded by TimerTimeout.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/neutrino.h>
#include <sys/netmgr.h>
#include <unistd.h>

#include "check.h"

/* 10 s, in ns: the bound on every blocking call. */
#define BOUND 10000000000ULL

static void bound(int states) {
    uint64_t ns = BOUND;
    if (TimerTimeout(CLOCK_MONOTONIC, states, NULL, &ns, NULL) == -1) {
        perror("TimerTimeout");
        exit(2);
    }
}

static int server(const char *self) {
    int chid = ChannelCreate(0);
    if (chid == -1) {
        perror("ChannelCreate");
        return 2;
    }
    printf("chid %d pid %d\n", chid, (int)getpid());
    fflush(stdout);
    char msg[16];
    bound(_NTO_TIMEOUT_RECEIVE);
    int rcvid = MsgReceive(chid, msg, sizeof msg, NULL);
    if (rcvid <= 0) {
        perror("MsgReceive");
        return 2;
    }
    printf("received\n");
    fflush(stdout);
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    /* The client stays REPLY-blocked on us: the new image must release it. */
    execl(self, self, "after", pid, (char *)NULL);
    printf("exec failed: %s\n", strerror(errno));
    return 2;
}

static int after(int was_pid) {
    CHECK(getpid() == was_pid, "the new image keeps the pid");
    int chid = ChannelCreate(0);
    CHECK(chid == 1, "the new image is a new process: its first channel is chid 1");
    printf("after chid %d\n", chid);
    fflush(stdout);
    char msg[16] = {0};
    bound(_NTO_TIMEOUT_RECEIVE);
    int rcvid = MsgReceive(chid, msg, sizeof msg, NULL);
    CHECK(rcvid > 0, "the new image receives");
    CHECK(strcmp(msg, "again") == 0, "the client's second message");
    CHECK(MsgReply(rcvid, EOK, "second", 7) == 0, "MsgReply");
    printf("served\n");
    return SUMMARY();
}

static int client(int pid, int chid) {
    int coid = ConnectAttach(ND_LOCAL_NODE, pid, chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(coid != -1, "ConnectAttach to the first image");
    char reply[16] = {0};
    bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
    long r = MsgSend(coid, "first", 6, reply, sizeof reply);
    int e = errno;
    CHECK(r == -1 && e == ESRCH, "REPLY-blocked on the replaced image: ESRCH");
    printf("first send: %ld %s\n", r, r == -1 ? strerror(e) : reply);
    fflush(stdout);
    /* The new image makes its channel 1 when it gets there: try for the bound. */
    int served = 0;
    for (int i = 0; i < 1000 && !served; i++) {
        int c2 = ConnectAttach(ND_LOCAL_NODE, pid, 1, _NTO_SIDE_CHANNEL, 0);
        if (c2 == -1) {
            delay(10);
            continue;
        }
        memset(reply, 0, sizeof reply);
        bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
        r = MsgSend(c2, "again", 6, reply, sizeof reply);
        served = r == 0 && strcmp(reply, "second") == 0;
        ConnectDetach(c2);
        if (!served) {
            delay(10);
        }
    }
    CHECK(served, "the new image's channel 1 answers");
    printf("second reply: %s\n", reply);
    return SUMMARY();
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "server") == 0) {
        return server(argv[0]);
    }
    if (argc == 3 && strcmp(argv[1], "after") == 0) {
        return after(atoi(argv[2]));
    }
    if (argc == 4 && strcmp(argv[1], "client") == 0) {
        return client(atoi(argv[2]), atoi(argv[3]));
    }
    fprintf(stderr, "usage: %s server | after PID | client PID CHID\n", argv[0]);
    return 2;
}
