/*
 * porter_names_client.c: clients of porter_names_server.c, whose server is killed with SIGKILL
 * and restarted under them by procnto-sim/tests/c_porter_names.rs:
 * `porter_names_client NAME MODE [ARGS]` on the kernel QNXSIM_KERNEL names. Every send is
 * bounded (TimerTimeout on SEND|REPLY, 10 s: a call that times out is a HANG).
 *
 * Modes:
 *   worker ID [coiddeath]  a channel of its own (with coiddeath: _NTO_CHF_COID_DISCONNECT),
 *               a thread receiving on it (the server's events, COIDDEATH pulses), and a main
 *               thread that name_opens NAME, asks the pid (PN_WHO), registers a SIGEV_PULSE
 *               event on a coid to its own channel (PN_REGISTER), and sends echo, slow, held
 *               and who requests until the line "stop" on its stdin. A call that fails must
 *               fail with ESRCH (in flight when the server died) or EBADF (its server gone
 *               before); the next send on that coid must fail with EBADF; name_close of it
 *               works; then it opens the name again (ENOENT while no server has it) and must
 *               reach another server than the dead one. Prints "joined" once ready, then at
 *               "stop" what it saw, "N passed, M failed", and ends.
 *   probe PID   name_open reaches server PID (PN_WHO), echoes, name_close; a send on the
 *               closed coid fails with EBADF.
 *   hold        name_open, prints "holding PID", and is REPLY-blocked in a request held for
 *               ever (PN_HOLD 0), until killed.
 *   stats       prints "stats " and the server's struct pn_stats, in order.
 *   quit        asks the server to end (PN_QUIT).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
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

#define CODE_EVENT (_PULSE_CODE_MINAVAIL + 5)
#define CODE_QUIT (_PULSE_CODE_MINAVAIL + 6)
#define EVENT_MAGIC 0x5E00

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

static const char *name;

static void bound(_Uint64t ns) {
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, NULL, &ns, NULL);
}

static long send_msg(int coid, struct pn_msg *m, void *reply, size_t rbytes) {
    bound(10000000000ULL);
    return MsgSend(coid, m, sizeof *m, reply, rbytes);
}

static long send_type(int coid, int type, int value) {
    struct pn_msg m;
    memset(&m, 0, sizeof m);
    m.type = (_Uint16t)type;
    m.value = value;
    return send_msg(coid, &m, NULL, 0);
}

static int open_name(void) {
    bound(10000000000ULL);
    return name_open(name, 0);
}

/* ------------------------------------------------------------------ worker */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int stopping;
static int worker_id;
static int coiddeath_mode;
static int chid = -1;

/* What the event thread saw. */
static int events, bad_event_values, coiddeaths, coiddeath_unknown, bogus_pulses, bogus_msgs;
static int event_errors, last_bogus_code;

/* Every coid name_open gave (COIDDEATH names one of them). */
#define MAX_COIDS 256
static int coids[MAX_COIDS];
static int ncoids;

static int is_stopping(void) {
    int s;
    pthread_mutex_lock(&mu);
    s = stopping;
    pthread_mutex_unlock(&mu);
    return s;
}

static int known_coid(int coid) {
    int i, found = 0;
    pthread_mutex_lock(&mu);
    for (i = 0; i < ncoids; i++) {
        if (coids[i] == coid) {
            found = 1;
        }
    }
    pthread_mutex_unlock(&mu);
    return found;
}

static void remember_coid(int coid) {
    pthread_mutex_lock(&mu);
    if (ncoids < MAX_COIDS && !(ncoids > 0 && coids[ncoids - 1] == coid)) {
        int i, found = 0;
        for (i = 0; i < ncoids; i++) {
            found |= coids[i] == coid;
        }
        if (!found) {
            coids[ncoids++] = coid;
        }
    }
    pthread_mutex_unlock(&mu);
}

static void *stdin_thread(void *arg) {
    char line[64];
    (void)arg;
    while (fgets(line, sizeof line, stdin) != NULL) {
        if (strncmp(line, "stop", 4) == 0) {
            break;
        }
    }
    pthread_mutex_lock(&mu);
    stopping = 1;
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void *event_thread(void *arg) {
    union {
        struct _pulse pulse;
        char bytes[64];
    } u;
    (void)arg;
    for (;;) {
        rcvid_t rcvid;
        _Uint64t ns = 1000000000ULL;
        TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &ns, NULL);
        rcvid = MsgReceive(chid, &u, sizeof u, NULL);
        if (rcvid == -1) {
            if (errno == ETIMEDOUT) {
                continue;
            }
            event_errors++;
            printf("FAIL event thread: MsgReceive errno %d\n", errno);
            return NULL;
        }
        if (rcvid > 0) {
            bogus_msgs++;
            MsgError(rcvid, ENOSYS);
            continue;
        }
        if (u.pulse.code == CODE_QUIT) {
            return NULL;
        }
        if (u.pulse.code == CODE_EVENT) {
            events++;
            if (u.pulse.value.sival_int != EVENT_MAGIC + worker_id) {
                bad_event_values++;
            }
            continue;
        }
        if (u.pulse.code == _PULSE_CODE_COIDDEATH && coiddeath_mode) {
            coiddeaths++;
            if (!known_coid(u.pulse.value.sival_int)) {
                coiddeath_unknown++;
                printf("NOTE COIDDEATH of coid %#x, not one of ours\n",
                       (unsigned)u.pulse.value.sival_int);
            }
            continue;
        }
        bogus_pulses++;
        last_bogus_code = u.pulse.code;
        printf("NOTE bogus pulse code %d value %d scoid %d\n", u.pulse.code,
               u.pulse.value.sival_int, u.pulse.scoid);
    }
}

static int worker(void) {
    pthread_t reader, evt;
    struct sigevent ev;
    int self, coid = -1, server_pid = 0, dead_pid = 0;
    int opens = 0, calls = 0, ok = 0, esrch = 0, ebadf_first = 0, ebadf_after = 0;
    int not_ebadf_after = 0, close_failed = 0, deaths = 0, enoent = 0, open_esrch = 0;
    int open_other = 0, hangs = 0, odd = 0, stale = 0, wrong = 0, registered = 0;
    unsigned seed = (unsigned)(getpid() * 2654435761u);

    chid = ChannelCreate(coiddeath_mode ? _NTO_CHF_COID_DISCONNECT : 0);
    CHECK(chid != -1, "ChannelCreate of the client's own channel");
    self = ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(self != -1, "ConnectAttach to the client's own channel");
    if (chid == -1 || self == -1) {
        return SUMMARY();
    }
    SIGEV_PULSE_INIT(&ev, self, SIGEV_PULSE_PRIO_INHERIT, CODE_EVENT, EVENT_MAGIC + worker_id);
    CHECK(pthread_create(&evt, NULL, event_thread, NULL) == 0, "the event thread");
    CHECK(pthread_create(&reader, NULL, stdin_thread, NULL) == 0, "the stdin thread");
    printf("joined\n");

    while (!is_stopping()) {
        struct pn_msg m;
        char reply[16];
        long r;
        int op, value = 0, e;

        memset(&m, 0, sizeof m);
        if (coid == -1) {
            coid = open_name();
            if (coid == -1) {
                e = errno;
                if (e == ENOENT) {
                    enoent++;
                } else if (e == ESRCH || e == EBADF) {
                    /* The server died in the middle of our open. */
                    open_esrch++;
                } else if (e == ETIMEDOUT) {
                    hangs++;
                    printf("HANG name_open\n");
                } else {
                    open_other++;
                    printf("NOTE name_open errno %d (%s)\n", e, strerror(e));
                }
                usleep(1000);
                continue;
            }
            opens++;
            remember_coid(coid);
            r = send_type(coid, PN_WHO, 0);
            if (r > 0) {
                server_pid = (int)r;
                if (server_pid == dead_pid) {
                    stale++;
                    printf("FAIL name_open reached the dead server %d\n", dead_pid);
                }
                memset(&m, 0, sizeof m);
                m.type = PN_REGISTER;
                m.ev = ev;
                r = send_msg(coid, &m, NULL, 0);
                if (r == 0) {
                    registered++;
                    continue;
                }
            }
            /* Failed: handled below as any call. */
            calls++;
            goto failed;
        }

        op = (int)(rand_r(&seed) % 20);
        memset(&m, 0, sizeof m);
        if (op < 10) {
            m.type = PN_ECHO;
            value = (int)(rand_r(&seed) % 1000);
            snprintf(m.data, sizeof m.data, "w%d-%d", worker_id, value);
        } else if (op < 14) {
            m.type = PN_SLOW;
            value = 2 + (int)(rand_r(&seed) % 9);
        } else if (op < 17) {
            m.type = PN_HOLD;
            value = 1 + (int)(rand_r(&seed) % 10);
        } else {
            m.type = PN_WHO;
        }
        m.value = value;
        memset(reply, 0, sizeof reply);
        calls++;
        r = send_msg(coid, &m, reply, sizeof reply);
        if (r != -1) {
            int good;
            switch (m.type) {
            case PN_ECHO:
                good = r == value && memcmp(reply, m.data, sizeof reply) == 0;
                break;
            case PN_WHO:
                good = r == server_pid;
                break;
            case PN_HOLD:
                good = r == 0;
                break;
            default:
                good = r == value;
                break;
            }
            if (good) {
                ok++;
            } else {
                wrong++;
                printf("FAIL type %d value %d: status %ld\n", m.type, value, r);
            }
            continue;
        }
    failed:
        e = errno;
        if (e == ESRCH) {
            esrch++;
        } else if (e == EBADF) {
            ebadf_first++;
        } else if (e == ETIMEDOUT) {
            hangs++;
            printf("HANG type %d: no answer within 10 s\n", m.type);
        } else {
            odd++;
            printf("FAIL a call failed with errno %d (%s)\n", e, strerror(e));
        }
        /* The old coid is dead: EBADF from now on, and name_close releases it. */
        r = send_type(coid, PN_ECHO, 1);
        if (r == -1 && errno == EBADF) {
            ebadf_after++;
        } else {
            not_ebadf_after++;
            printf("FAIL a send on the old coid after errno %d: %ld errno %d\n", e, r, errno);
        }
        if (name_close(coid) != 0) {
            close_failed++;
            printf("FAIL name_close of the old coid: errno %d\n", errno);
        }
        coid = -1;
        dead_pid = server_pid;
        deaths++;
    }

    if (coid != -1) {
        CHECK(name_close(coid) == 0, "name_close at the end");
    }
    CHECK(MsgSendPulse(self, -1, CODE_QUIT, 0) == 0, "the quit pulse to our own channel");
    pthread_join(evt, NULL);
    pthread_join(reader, NULL);
    CHECK(ConnectDetach(self) == 0, "ConnectDetach of our own connection");
    CHECK(ChannelDestroy(chid) == 0, "ChannelDestroy of our own channel");

    printf("client %d opens %d calls %d ok %d esrch %d ebadf_first %d ebadf_after %d deaths %d "
           "enoent %d open_esrch %d registered %d events %d coiddeaths %d bogus %d\n",
           worker_id, opens, calls, ok, esrch, ebadf_first, ebadf_after, deaths, enoent,
           open_esrch, registered, events, coiddeaths, bogus_pulses + bogus_msgs);
    CHECK(hangs == 0, "no call hung");
    CHECK(wrong == 0, "every answer right");
    CHECK(odd == 0 && open_other == 0, "calls failed only with ESRCH or EBADF");
    CHECK(not_ebadf_after == 0, "a send on a dead server's coid: EBADF");
    CHECK(close_failed == 0, "name_close of a dead server's coid works");
    CHECK(stale == 0, "name_open never reaches a dead server");
    CHECK(ok > 0 && opens > 0 && registered > 0, "served");
    CHECK(deaths > 0 && esrch + ebadf_first == deaths, "saw its servers die");
    CHECK(events > 0 && bad_event_values == 0, "the server's events came, with our value");
    CHECK(bogus_pulses == 0 && bogus_msgs == 0 && event_errors == 0,
          "no bogus pulse or message on our own channel");
    if (coiddeath_mode) {
        CHECK(coiddeaths > 0 && coiddeath_unknown == 0,
              "COIDDEATH for our coids to the dead servers");
        CHECK(coiddeaths <= opens, "at most one COIDDEATH per coid");
    } else {
        CHECK(coiddeaths == 0, "no COIDDEATH without _NTO_CHF_COID_DISCONNECT");
    }
    return SUMMARY();
}

/* ------------------------------------------------------------------ the others */

static int probe(int pid) {
    char reply[16];
    struct pn_msg m;
    long r;
    int coid = open_name();
    CHECK(coid != -1 && (coid & _NTO_SIDE_CHANNEL) != 0, "name_open: a side-channel coid");
    if (coid == -1) {
        return SUMMARY();
    }
    r = send_type(coid, PN_WHO, 0);
    CHECK(r == pid, "name_open reaches the new server");
    if (r != pid) {
        printf("probe: reached %ld, expected %d\n", r, pid);
    }
    memset(&m, 0, sizeof m);
    m.type = PN_ECHO;
    m.value = 7;
    memcpy(m.data, "probe", 6);
    r = send_msg(coid, &m, reply, sizeof reply);
    CHECK(r == 7 && strcmp(reply, "probe") == 0, "echo");
    CHECK(send_type(coid, _IO_READ, 0) == -1 && errno == ENOSYS, "an _IO_READ: ENOSYS");
    CHECK(name_close(coid) == 0, "name_close");
    CHECK(send_type(coid, PN_ECHO, 0) == -1 && errno == EBADF, "a send after name_close: EBADF");
    /* getprio/setprio of another program: its thread 1 (QNX's rule). */
    {
        int p = getprio(pid);
        CHECK(p >= 1 && p <= 255, "getprio(the server's pid): its thread 1's priority");
        if (p >= 1 && p < 255) {
            /* (Its current priority follows the clients it receives from: the base is what
             * setprio sets, as SchedGet shows it.) */
            struct sched_param sp;
            int r = setprio(pid, 254);
            CHECK(r >= 1 && r <= 255, "setprio(the server's pid) returns its old priority");
            memset(&sp, 0, sizeof sp);
            CHECK(SchedGet(pid, 1, &sp) != -1 && sp.sched_priority == 254,
                  "SchedGet(the server's pid, 1) sees the priority setprio set");
            CHECK(setprio(pid, p) >= 1, "setprio(the server's pid) back");
        }
        errno = 0;
        CHECK(getprio(0x7ffffff0) == -1 && errno == ESRCH, "getprio of a pid no process has: ESRCH");
        errno = 0;
        CHECK(setprio(0x7ffffff0, 10) == -1 && errno == ESRCH, "setprio of a pid no process has: ESRCH");
        errno = 0;
        CHECK(getprio(-2) == -1 && errno == ESRCH, "getprio(-2): ESRCH");
    }
    return SUMMARY();
}

static int hold(void) {
    struct pn_msg m;
    long r;
    int coid = open_name();
    CHECK(coid != -1, "name_open");
    if (coid == -1) {
        return SUMMARY();
    }
    r = send_type(coid, PN_WHO, 0);
    printf("holding %ld\n", r);
    fflush(stdout);
    bound(30000000000ULL);
    memset(&m, 0, sizeof m);
    m.type = PN_HOLD;
    r = MsgSend(coid, &m, sizeof m, NULL, 0);
    printf("the held request returned %ld errno %d\n", r, errno);
    return SUMMARY();
}

static int stats(void) {
    struct pn_stats s;
    struct pn_msg m;
    long r;
    int coid = open_name();
    CHECK(coid != -1, "name_open");
    if (coid == -1) {
        return SUMMARY();
    }
    memset(&m, 0, sizeof m);
    m.type = PN_STATS;
    memset(&s, 0, sizeof s);
    r = send_msg(coid, &m, &s, sizeof s);
    CHECK(r == 0, "PN_STATS");
    printf("stats %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d\n", s.pid, s.opens,
           s.disconnects, s.detach_failed, s.unblocks, s.unblock_unknown, s.held, s.held_now,
           s.held_unblocked_esrch, s.held_unblocked_ok, s.held_unblocked_other,
           s.held_at_disconnect, s.released, s.release_failed, s.registered, s.delivered,
           s.deliver_failed, s.ticks, s.bad_pulses, s.enosys, s.second_reply_esrch);
    CHECK(name_close(coid) == 0, "name_close");
    return SUMMARY();
}

static int quit(void) {
    int coid = open_name();
    CHECK(coid != -1, "name_open");
    if (coid == -1) {
        return SUMMARY();
    }
    CHECK(send_type(coid, PN_QUIT, 0) == 0, "PN_QUIT");
    CHECK(name_close(coid) == 0, "name_close");
    return SUMMARY();
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: porter_names_client NAME worker ID [coiddeath]|probe PID|hold|"
                        "stats|quit\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    name = argv[1];
    if (strcmp(argv[2], "worker") == 0 && argc >= 4) {
        worker_id = atoi(argv[3]);
        coiddeath_mode = argc > 4 && strcmp(argv[4], "coiddeath") == 0;
        return worker();
    }
    if (strcmp(argv[2], "probe") == 0 && argc == 4) {
        return probe(atoi(argv[3]));
    }
    if (strcmp(argv[2], "hold") == 0) {
        return hold();
    }
    if (strcmp(argv[2], "stats") == 0) {
        return stats();
    }
    if (strcmp(argv[2], "quit") == 0) {
        return quit();
    }
    fprintf(stderr, "porter_names_client: unknown mode %s\n", argv[2]);
    return 2;
}
