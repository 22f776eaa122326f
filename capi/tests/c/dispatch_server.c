/*
 * dispatch_server.c: name_server.c's protocol served through the dispatch layer, in its own
 * program on a kernel shared with its clients (QNXSIM_KERNEL names it): `dispatch_server NAME`.
 * It makes a dispatch handle, name_attach'es NAME to it, attaches a handler for
 * _IO_CONNECT (to count the opens and keep the last connect message), one for its messages
 * and one for _PULSE_CODE_DISCONNECT, prints "ready", and loops dispatch_block /
 * dispatch_handler until its client's connection goes; then name_detach, and "N passed,
 * M failed". Every block is bounded by dispatch_timeout.
 *
 *   NM_ECHO     reply data[0..value], status value
 *   NM_CONNECT  reply the last struct _io_connect received (44 bytes), status: opens so far
 *   NM_ERROR    MsgError(rcvid, value)
 *   NM_PID      status: the client's pid (its _msg_info)
 *   other _IO_* and unknown types: the dispatch layer's ENOSYS
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/dispatch.h>
#include <sys/iomsg.h>
#include <sys/neutrino.h>
#include <time.h>

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

struct state {
    int opens;
    struct _io_connect last;
    int messages;
    int disconnects;
};

static int on_connect(message_context_t *ctp, int code, unsigned flags, void *handle) {
    struct state *s = (struct state *)handle;
    (void)code;
    (void)flags;
    s->opens++;
    memcpy(&s->last, ctp->msg, sizeof s->last);
    MsgReply(ctp->rcvid, EOK, NULL, 0);
    return 0;
}

static int on_message(message_context_t *ctp, int code, unsigned flags, void *handle) {
    struct state *s = (struct state *)handle;
    struct nm_msg *m = (struct nm_msg *)(void *)ctp->msg;
    (void)flags;
    s->messages++;
    switch (code) {
    case NM_ECHO:
        if (m->value < 0 || m->value > (int)sizeof m->data) {
            MsgError(ctp->rcvid, EINVAL);
            break;
        }
        MsgReply(ctp->rcvid, m->value, m->data, (size_t)m->value);
        break;
    case NM_CONNECT:
        MsgReply(ctp->rcvid, s->opens, &s->last, sizeof s->last);
        break;
    case NM_ERROR:
        MsgError(ctp->rcvid, m->value);
        break;
    case NM_PID:
        MsgReply(ctp->rcvid, ctp->info.pid, NULL, 0);
        break;
    default:
        MsgError(ctp->rcvid, ENOSYS);
        break;
    }
    return 0;
}

static int on_disconnect(message_context_t *ctp, int code, unsigned flags, void *handle) {
    struct state *s = (struct state *)handle;
    (void)code;
    (void)flags;
    s->disconnects++;
    ConnectDetach(ctp->msg->pulse.scoid);
    return 0;
}

int main(int argc, char **argv) {
    static struct state st;
    struct timespec wait = {10, 0};
    dispatch_t *dpp;
    dispatch_context_t *ctp;
    name_attach_t *a;
    int r, blocks = 0, failed_blocks = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: dispatch_server NAME\n");
        return 2;
    }
    dpp = dispatch_create();
    CHECK(dpp != NULL, "dispatch_create");
    a = dpp != NULL ? name_attach(dpp, argv[1], 0) : NULL;
    CHECK(a != NULL && a->dpp == dpp, "name_attach with the dispatch handle");
    if (a == NULL) {
        return SUMMARY();
    }
    r = message_attach(dpp, NULL, _IO_CONNECT, _IO_CONNECT, on_connect, &st);
    r |= message_attach(dpp, NULL, NM_ECHO, NM_PID, on_message, &st);
    r |= pulse_attach(dpp, 0, _PULSE_CODE_DISCONNECT, on_disconnect, &st) == _PULSE_CODE_DISCONNECT
             ? 0
             : -1;
    CHECK(r == 0, "message_attach and pulse_attach");
    ctp = dispatch_context_alloc(dpp);
    CHECK(ctp != NULL, "dispatch_context_alloc");
    if (ctp == NULL) {
        return SUMMARY();
    }
    dispatch_timeout(dpp, &wait);
    printf("ready\n");
    fflush(stdout);
    while (st.disconnects == 0 && blocks < 100) {
        blocks++;
        if (dispatch_block(ctp) == NULL || ctp->resmgr_context.rcvid == -1) {
            failed_blocks++;
            break;
        }
        dispatch_handler(ctp);
    }
    CHECK(failed_blocks == 0, "every block brought something");
    CHECK(st.opens == 2 && st.messages >= 7, "two opens and the client's messages");
    CHECK(st.disconnects == 1, "the client's disconnect");
    dispatch_context_free(ctp);
    CHECK(name_detach(a, 0) == 0, "name_detach (and dispatch_destroy)");
    return SUMMARY();
}
