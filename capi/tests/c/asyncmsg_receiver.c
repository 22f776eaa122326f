/*
 * asyncmsg_receiver.c: the receiving half of a two-program asyncmsg test on a shared kernel.
 * Usage: asyncmsg_receiver N READY_FILE. Creates an asyncmsg channel, writes "ready PID CHID"
 * to READY_FILE, takes N messages ("msg I" then I % 50 bytes of 'a' + I % 26) and checks that
 * each arrived once, in order, whole, all from one other process, whose pid it prints as
 * "from PID".
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/asyncmsg.h>
#include <sys/neutrino.h>

#include "check.h"

/* Message i as the sender builds it; returns its length. */
static size_t message(int i, char *out, size_t room) {
    int n = snprintf(out, room, "msg %d ", i);
    int pad = i % 50;
    int k;
    for (k = 0; k < pad && (size_t)(n + k) < room - 1; k++) {
        out[n + k] = (char)('a' + i % 26);
    }
    out[n + k] = '\0';
    return (size_t)(n + k) + 1;
}

int main(int argc, char **argv) {
    int n, chid, got = 0, in_order = 1, whole = 1, one_sender = 1, batches = 0;
    pid_t sender = 0;
    char tmp[4096];
    FILE *f;
    if (argc != 3) {
        fprintf(stderr, "usage: %s N READY_FILE\n", argv[0]);
        return 2;
    }
    n = atoi(argv[1]);
    chid = asyncmsg_channel_create(0, 0600, 256, 16, NULL, NULL, NULL);
    CHECK(chid > 0, "asyncmsg_channel_create");
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
    f = fopen(tmp, "w");
    CHECK(f != NULL, "the ready file");
    if (f == NULL) {
        return SUMMARY();
    }
    fprintf(f, "ready %d %d\n", (int)getpid(), chid);
    fclose(f);
    CHECK(rename(tmp, argv[2]) == 0, "the ready file in place");

    while (got < n) {
        struct _asyncmsg_get_header *list, *h;
        _Uint64t ns = 10000000000u;
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
        list = asyncmsg_get(chid);
        CHECK(list != NULL, "asyncmsg_get");
        if (list == NULL) {
            break;
        }
        batches++;
        for (h = list; h != NULL;) {
            struct _asyncmsg_get_header *next = h->next;
            char want[128];
            size_t len = message(got, want, sizeof want);
            int seq = -1;
            if (h->err != 0 || h->iov->iov_len < 5 ||
                sscanf((const char *)h->iov->iov_base, "msg %d", &seq) != 1) {
                seq = -1;
            }
            in_order &= seq == got;
            whole &= h->err == 0 && h->parts == 1 && h->iov->iov_len == len &&
                     h->info.msglen == (ssize_t)len &&
                     memcmp(h->iov->iov_base, want, len) == 0;
            if (sender == 0) {
                sender = h->info.pid;
            }
            one_sender &= h->info.pid == sender;
            got++;
            asyncmsg_free(h);
            h = next;
        }
    }
    CHECK(got == n, "every message arrived");
    CHECK(in_order, "each once, in order");
    CHECK(whole, "each whole");
    CHECK(one_sender && sender != 0 && sender != getpid(), "all from the one other process");
    CHECK(batches <= n, "in batches");
    printf("from %d\n", (int)sender);
    CHECK(asyncmsg_channel_destroy(chid) == 0, "asyncmsg_channel_destroy");
    return SUMMARY();
}
