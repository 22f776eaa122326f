/* smoke.c: a C program using the QNX headers as a QNX program would, in one process. */
#include <pthread.h>
#include <process.h>
#include <sys/neutrino.h>

#include "check.h"

static int chid;

static void *server(void *arg) {
    char buf[64];
    struct _msg_info info;
    (void)arg;
    rcvid_t rcvid = MsgReceive(chid, buf, sizeof buf, &info);
    CHECK(rcvid > 0, "MsgReceive returns an rcvid");
    CHECK(info.msglen == 5 && memcmp(buf, "ping", 5) == 0, "the message arrives whole");
    MsgReply(rcvid, EOK, "pong", 5);
    return NULL;
}

int main(void) {
    char reply[8] = {0};
    chid = ChannelCreate(0);
    CHECK(chid > 0, "ChannelCreate");
    CHECK(pthread_create(NULL, NULL, server, NULL) == 0, "pthread_create with a NULL thread");
    int coid = ConnectAttach(ND_LOCAL_NODE, getpid(), chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(coid == (_NTO_SIDE_CHANNEL | 1), "ConnectAttach to our own pid");
    CHECK(MsgSend(coid, "ping", 5, reply, sizeof reply) == EOK, "MsgSend");
    CHECK(strcmp(reply, "pong") == 0, "the reply arrives");
    CHECK(gettid() == 1, "the main thread is tid 1");
    return SUMMARY();
}
