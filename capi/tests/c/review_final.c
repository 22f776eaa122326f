/* review_final.c: a program of a shared kernel in a plain memory file (QNXSIM_KERNEL), linked
 * with libqnxsim. It makes one channel, says "ready <pid>", and waits in MsgReceive (the
 * harness kills it). Its kernel's timer service looks for dead programs meanwhile. */
#include <stdio.h>
#include <unistd.h>
#include <sys/neutrino.h>

int main(void)
{
    int chid = ChannelCreate(0);
    if (chid < 0) {
        perror("ChannelCreate");
        return 1;
    }
    printf("ready %d\n", (int)getpid());
    fflush(stdout);
    char buf[16];
    for (;;) {
        if (MsgReceive(chid, buf, sizeof buf, NULL) < 0) {
            perror("MsgReceive");
            return 1;
        }
    }
}
