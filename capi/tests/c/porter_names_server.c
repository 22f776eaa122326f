/*
 * porter_names_server.c: a name server as QNX porters write them, killed with SIGKILL and
 * restarted under its clients by procnto-sim/tests/c_porter_names.rs:
 * `porter_names_server NAME [wait] [retry]` on the kernel QNXSIM_KERNEL names (with wait:
 * joins the kernel, prints "waiting" and attaches at a line on its stdin; with retry: an
 * EEXIST from name_attach is retried, for at most 3 s).
 *
 * The common QNX shape: name_attach(NULL, NAME, 0) (no dispatch handle), a MsgReceive loop on
 * attach->chid switching on the message's type; pulses (rcvid 0): _PULSE_CODE_DISCONNECT ->
 * ConnectDetach(scoid), _PULSE_CODE_UNBLOCK -> MsgError(rcvid, EINTR) of the held request, a
 * timer_create(SIGEV_PULSE) tick every 10 ms; _IO_CONNECT answered EOK, the other _IO_* types
 * ENOSYS; an unblocked held request is answered, and a second answer must fail with ESRCH.
 * Prints "ready PID CHID EEXISTS" once attached ("attach failed ERRNO" else).
 *
 * The messages (the same layout in porter_names_client.c):
 *   struct pn_msg { _Uint16t type; _Uint16t subtype; _Int32t value; struct sigevent ev;
 *                   char data[16]; }
 *   PN_ECHO      reply data (16 bytes), status value
 *   PN_WHO       status: the server's pid
 *   PN_SLOW      sleeps value ms (at most 50) before replying value: the others queue
 *                SEND-blocked meanwhile
 *   PN_HOLD      held, answered value ticks later (status value); 0: held until the client
 *                unblocks or goes
 *   PN_REGISTER  keeps ev and the rcvid: every 5th tick MsgDeliverEvent(rcvid, ev) until the
 *                client's disconnect (or a delivery fails); status 0
 *   PN_STATS     reply struct pn_stats
 *   PN_QUIT      status 0, then the server ends: timer_delete, name_detach, a "stats" line,
 *                "N passed, M failed"
 * The server ends by itself after 120 s.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>
#include <sys/dispatch.h>
#include <sys/iomsg.h>
#include <sys/neutrino.h>
#include <sys/siginfo.h>

#include "check.h"

enum {
    PN_ECHO = _IO_MAX + 1,
    PN_WHO,
    PN_SLOW,
    PN_HOLD,
    PN_REGISTER,
    PN_STATS,
    PN_QUIT
};

#define CODE_TICK (_PULSE_CODE_MINAVAIL + 3)

struct pn_msg {
    _Uint16t type;
    _Uint16t subtype;
    _Int32t value;
    struct sigevent ev;
    char data[16];
};

struct pn_stats {
    int pid, opens, disconnects, detach_failed, unblocks, unblock_unknown;
    int held, held_now, held_unblocked_esrch, held_unblocked_ok, held_unblocked_other;
    int held_at_disconnect, released, release_failed;
    int registered, delivered, deliver_failed, ticks, bad_pulses, enosys, second_reply_esrch;
};

#define MAX_HELD 64
#define MAX_REG 64

struct held {
    rcvid_t rcvid;
    int scoid;
    int ticks;
};

struct reg {
    rcvid_t rcvid;
    int scoid;
    struct sigevent ev;
};

static struct held held[MAX_HELD];
static int nheld;
static struct reg regs[MAX_REG];
static int nregs;
static struct pn_stats st;

static void drop_held(int i) {
    held[i] = held[--nheld];
}

static void drop_reg(int i) {
    regs[i] = regs[--nregs];
}

static void on_tick(void) {
    int i;
    st.ticks++;
    for (i = 0; i < nheld;) {
        if (held[i].ticks > 0 && --held[i].ticks == 0) {
            if (MsgReply(held[i].rcvid, 0, NULL, 0) == 0) {
                st.released++;
            } else {
                st.release_failed++;
            }
            drop_held(i);
            continue;
        }
        i++;
    }
    if (st.ticks % 5 != 0) {
        return;
    }
    for (i = 0; i < nregs;) {
        if (MsgDeliverEvent(regs[i].rcvid, &regs[i].ev) == 0) {
            st.delivered++;
            i++;
        } else {
            st.deliver_failed++;
            drop_reg(i);
        }
    }
}

int main(int argc, char **argv) {
    union {
        _Uint16t type;
        struct _io_connect connect;
        char connect_bytes[128];
        struct _pulse pulse;
        struct pn_msg m;
    } u;
    struct _msg_info info;
    name_attach_t *attach;
    struct sigevent tev;
    struct itimerspec its;
    timer_t timer;
    int self, quit = 0, i, retry = 0, eexist = 0;
    time_t started = time(NULL);

    if (argc < 2) {
        fprintf(stderr, "usage: porter_names_server NAME [wait]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (i = 2; i < argc; i++) {
        retry |= strcmp(argv[i], "retry") == 0;
    }
    if (argc > 2 && strcmp(argv[2], "wait") == 0) {
        /* Started ahead: joined the kernel, it attaches at the driver's word. */
        char line[16];
        if (getprio(0) < 0) {
            printf("attach failed: getprio errno %d\n", errno);
            return 1;
        }
        printf("waiting\n");
        if (fgets(line, sizeof line, stdin) == NULL) {
            return 1;
        }
    }
    /* At once, the previous server just killed: the name must be free for us. With retry,
     * an EEXIST is retried every millisecond for at most 3 s (and counted). */
    attach = name_attach(NULL, argv[1], 0);
    while (attach == NULL && errno == EEXIST && retry && eexist < 3000) {
        eexist++;
        usleep(1000);
        attach = name_attach(NULL, argv[1], 0);
    }
    if (attach == NULL) {
        printf("attach failed %d\n", errno);
        return 1;
    }
    st.pid = getpid();

    /* The tick: a pulse to our own channel. */
    self = ConnectAttach(ND_LOCAL_NODE, 0, attach->chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(self != -1, "ConnectAttach to our own channel");
    SIGEV_PULSE_INIT(&tev, self, SIGEV_PULSE_PRIO_INHERIT, CODE_TICK, 0);
    CHECK(timer_create(CLOCK_MONOTONIC, &tev, &timer) == 0, "timer_create(SIGEV_PULSE)");
    memset(&its, 0, sizeof its);
    its.it_value.tv_nsec = 10000000;
    its.it_interval.tv_nsec = 10000000;
    CHECK(timer_settime(timer, 0, &its, NULL) == 0, "timer_settime");
    printf("ready %d %d %d\n", (int)getpid(), attach->chid, eexist);

    while (!quit) {
        rcvid_t rcvid;
        memset(&u, 0, sizeof u);
        rcvid = MsgReceive(attach->chid, &u, sizeof u, &info);
        if (rcvid == -1) {
            CHECK(0, "MsgReceive");
            break;
        }
        if (rcvid == 0) {
            switch (u.pulse.code) {
            case CODE_TICK:
                on_tick();
                if (time(NULL) - started > 120) {
                    printf("NOTE: 120 s, ending\n");
                    quit = 1;
                }
                break;
            case _PULSE_CODE_DISCONNECT:
                st.disconnects++;
                /* Whatever that client left here goes with it. */
                for (i = 0; i < nheld;) {
                    if (held[i].scoid == u.pulse.scoid) {
                        st.held_at_disconnect++;
                        MsgError(held[i].rcvid, EINTR);
                        drop_held(i);
                        continue;
                    }
                    i++;
                }
                for (i = 0; i < nregs;) {
                    if (regs[i].scoid == u.pulse.scoid) {
                        drop_reg(i);
                        continue;
                    }
                    i++;
                }
                if (ConnectDetach(u.pulse.scoid) != 0) {
                    st.detach_failed++;
                }
                break;
            case _PULSE_CODE_UNBLOCK: {
                int found = 0;
                st.unblocks++;
                for (i = 0; i < nheld; i++) {
                    if (held[i].rcvid == (rcvid_t)u.pulse.value.sival_int) {
                        int r = MsgError(held[i].rcvid, EINTR);
                        if (r == -1 && errno == ESRCH) {
                            st.held_unblocked_esrch++;
                        } else if (r == 0) {
                            st.held_unblocked_ok++;
                        } else {
                            st.held_unblocked_other++;
                        }
                        /* Answered: the rcvid names nobody any more. */
                        if (MsgReply(held[i].rcvid, 0, NULL, 0) == -1 && errno == ESRCH) {
                            st.second_reply_esrch++;
                        }
                        drop_held(i);
                        found = 1;
                        break;
                    }
                }
                if (!found) {
                    st.unblock_unknown++;
                }
                break;
            }
            default:
                st.bad_pulses++;
                printf("NOTE: pulse code %d value %d\n", u.pulse.code, u.pulse.value.sival_int);
                break;
            }
            continue;
        }
        if (u.type == _IO_CONNECT) {
            st.opens++;
            MsgReply(rcvid, EOK, NULL, 0);
            continue;
        }
        if (u.type >= _IO_BASE && u.type <= _IO_MAX) {
            st.enosys++;
            MsgError(rcvid, ENOSYS);
            continue;
        }
        switch (u.type) {
        case PN_ECHO:
            MsgReply(rcvid, u.m.value, u.m.data, sizeof u.m.data);
            break;
        case PN_WHO:
            MsgReply(rcvid, (int)getpid(), NULL, 0);
            break;
        case PN_SLOW:
            if (u.m.value > 0 && u.m.value <= 50) {
                usleep((useconds_t)u.m.value * 1000);
            }
            MsgReply(rcvid, u.m.value, NULL, 0);
            break;
        case PN_HOLD:
            if (nheld == MAX_HELD || u.m.value < 0) {
                MsgError(rcvid, EAGAIN);
                break;
            }
            held[nheld].rcvid = rcvid;
            held[nheld].scoid = info.scoid;
            held[nheld].ticks = u.m.value;
            nheld++;
            st.held++;
            break;
        case PN_REGISTER:
            for (i = 0; i < nregs; i++) {
                if (regs[i].scoid == info.scoid) {
                    break;
                }
            }
            if (i == MAX_REG) {
                MsgError(rcvid, EAGAIN);
                break;
            }
            if (i == nregs) {
                nregs++;
            }
            regs[i].rcvid = rcvid;
            regs[i].scoid = info.scoid;
            regs[i].ev = u.m.ev;
            st.registered++;
            MsgReply(rcvid, 0, NULL, 0);
            break;
        case PN_STATS:
            st.held_now = nheld;
            MsgReply(rcvid, 0, &st, sizeof st);
            break;
        case PN_QUIT:
            MsgReply(rcvid, 0, NULL, 0);
            quit = 1;
            break;
        default:
            st.enosys++;
            MsgError(rcvid, ENOSYS);
            break;
        }
    }
    CHECK(timer_delete(timer) == 0, "timer_delete");
    CHECK(ConnectDetach(self) == 0, "ConnectDetach of our own connection");
    for (i = 0; i < nheld; i++) {
        MsgError(held[i].rcvid, ESRCH);
    }
    CHECK(name_detach(attach, 0) == 0, "name_detach");
    CHECK(st.bad_pulses == 0 && st.detach_failed == 0, "no stray pulses, every scoid detached");
    printf("stats opens %d disconnects %d unblocks %d held %d released %d delivered %d "
           "deliver_failed %d ticks %d\n",
           st.opens, st.disconnects, st.unblocks, st.held, st.released, st.delivered,
           st.deliver_failed, st.ticks);
    return SUMMARY();
}
