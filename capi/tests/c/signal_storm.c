/*
 * signal_storm.c: round trips under a storm of signals, as QNX promises them: a signal never
 * loses a message or a reply. Clients send numbered requests on an _NTO_CHF_UNBLOCK channel
 * to two server threads while a storm thread sends SIGUSR1 to every thread, client and
 * server, as fast as it can. A client interrupted SEND-blocked gets EINTR (its request was
 * not received) and sends it again; one interrupted REPLY-blocked stays blocked (the server
 * gets an unblock pulse) until its answer comes. Each reply must echo its own request. The
 * handler itself makes a kernel call (MsgSendPulse), which QNX allows.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/iomsg.h>
#include <sys/neutrino.h>
#include <time.h>

#include "check.h"

#define CLIENTS 4
#define ROUNDS 3000
#define SERVERS 2
#define BOUND_NS 10000000000ULL

struct req {
    _Uint16t type;
    _Uint16t client;
    _Uint32t seq;
};

static int chid, pulse_chid, pulse_coid;
static volatile sig_atomic_t signals_seen;
static volatile int stop_storm;
/* Clients stay alive until the storm has stopped: a signal must never go to a thread that may
 * have ended (pthread_kill on an ended thread is undefined). */
static pthread_mutex_t calm_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t calm = PTHREAD_COND_INITIALIZER;
static int clients_done, storm_over;
static pthread_t threads[CLIENTS + SERVERS];
static int nthreads;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long unblock_pulses, served, eintr_sends, bad_echo, other_errors;

static void on_usr1(int signo) {
    (void)signo;
    signals_seen++;
    /* A kernel call from a handler (QNX allows it; errors are ignored: the queue may be full). */
    MsgSendPulse_r(pulse_coid, -1, 1, 0);
}

static void bound(int flags) {
    _Uint64t ns = BOUND_NS;
    TimerTimeout(CLOCK_MONOTONIC, flags, NULL, &ns, NULL);
}

static void *server(void *arg) {
    union {
        struct req r;
        struct _pulse p;
    } msg;
    (void)arg;
    for (;;) {
        bound(_NTO_TIMEOUT_RECEIVE);
        rcvid_t rcvid = MsgReceive(chid, &msg, sizeof msg, NULL);
        if (rcvid == -1) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != ESRCH) { /* ESRCH: the channel was destroyed, the end */
                printf("MsgReceive failed: %s\n", strerror(errno));
                pthread_mutex_lock(&lock);
                other_errors++;
                pthread_mutex_unlock(&lock);
            }
            return NULL;
        }
        if (rcvid == 0) {
            if (msg.p.code == _PULSE_CODE_UNBLOCK) {
                pthread_mutex_lock(&lock);
                unblock_pulses++;
                pthread_mutex_unlock(&lock);
            }
            continue;
        }
        pthread_mutex_lock(&lock);
        served++;
        pthread_mutex_unlock(&lock);
        if (MsgReply(rcvid, (long)msg.r.seq, &msg.r, sizeof msg.r) == -1) {
            printf("MsgReply failed: %s\n", strerror(errno));
            pthread_mutex_lock(&lock);
            other_errors++;
            pthread_mutex_unlock(&lock);
        }
    }
}

static void *client(void *arg) {
    int me = (int)(intptr_t)arg;
    int coid = ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
    struct req q, r;
    _Uint32t seq;
    for (seq = 1; seq <= ROUNDS; seq++) {
        long status;
        q.type = _IO_MAX + 1;
        q.client = (_Uint16t)me;
        q.seq = seq;
        for (;;) {
            bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
            status = MsgSend(coid, &q, sizeof q, &r, sizeof r);
            if (status == -1 && errno == EINTR) {
                pthread_mutex_lock(&lock);
                eintr_sends++;
                pthread_mutex_unlock(&lock);
                continue;
            }
            break;
        }
        if (status != (long)seq || r.seq != seq || r.client != (_Uint16t)me) {
            pthread_mutex_lock(&lock);
            bad_echo++;
            pthread_mutex_unlock(&lock);
            if (status == -1) {
                printf("client %d seq %u: MsgSend failed: %s\n", me, seq, strerror(errno));
                break;
            }
        }
    }
    ConnectDetach(coid);
    pthread_mutex_lock(&calm_lock);
    clients_done++;
    pthread_cond_broadcast(&calm);
    while (!storm_over) {
        pthread_cond_wait(&calm, &calm_lock);
    }
    pthread_mutex_unlock(&calm_lock);
    return NULL;
}

/* Takes the handlers' pulses, so that they never fill the kernel's pulse pool: with none left,
 * an unblock pulse could not be queued and a REPLY-blocked client would leave at once with
 * EINTR, as on QNX. */
static void *drain(void *arg) {
    struct _pulse p;
    (void)arg;
    for (;;) {
        bound(_NTO_TIMEOUT_RECEIVE);
        if (MsgReceivePulse(pulse_chid, &p, sizeof p, NULL) == -1 && errno != EINTR &&
            errno != ETIMEDOUT) {
            return NULL; /* the channel was destroyed */
        }
    }
}

static void *storm(void *arg) {
    struct timespec pause = {0, 20000};
    (void)arg;
    while (!stop_storm) {
        int i;
        for (i = 0; i < nthreads; i++) {
            pthread_kill(threads[i], SIGUSR1);
        }
        nanosleep(&pause, NULL);
    }
    return NULL;
}

int main(void) {
    struct sigaction sa;
    pthread_t storm_thread, drain_thread;
    int i;
    long sent_signals;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
    chid = ChannelCreate(_NTO_CHF_UNBLOCK);
    pulse_chid = ChannelCreate(0);
    pulse_coid = ConnectAttach(ND_LOCAL_NODE, 0, pulse_chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(chid > 0 && pulse_chid > 0 && pulse_coid != -1, "the channels");

    pthread_create(&drain_thread, NULL, drain, NULL);
    for (i = 0; i < SERVERS; i++) {
        pthread_create(&threads[nthreads++], NULL, server, NULL);
    }
    for (i = 0; i < CLIENTS; i++) {
        pthread_create(&threads[nthreads++], NULL, client, (void *)(intptr_t)i);
    }
    pthread_create(&storm_thread, NULL, storm, NULL);
    pthread_mutex_lock(&calm_lock);
    while (clients_done < CLIENTS) {
        pthread_cond_wait(&calm, &calm_lock);
    }
    pthread_mutex_unlock(&calm_lock);
    stop_storm = 1;
    pthread_join(storm_thread, NULL);
    pthread_mutex_lock(&calm_lock);
    storm_over = 1;
    pthread_cond_broadcast(&calm);
    pthread_mutex_unlock(&calm_lock);
    for (i = SERVERS; i < SERVERS + CLIENTS; i++) {
        pthread_join(threads[i], NULL);
    }
    sent_signals = signals_seen;
    ChannelDestroy(chid); /* the servers leave with ESRCH */
    for (i = 0; i < SERVERS; i++) {
        pthread_join(threads[i], NULL);
    }
    ChannelDestroy(pulse_chid);
    pthread_join(drain_thread, NULL);

    CHECK(bad_echo == 0, "every reply echoes its own request");
    CHECK(served >= (long)CLIENTS * ROUNDS, "every request was served (at least once each)");
    CHECK(served == (long)CLIENTS * ROUNDS, "and exactly once: a request interrupted SEND-blocked was not received");
    CHECK(other_errors == 0, "no server call failed");
    CHECK(sent_signals > 100, "the storm hit (handlers ran)");
    printf("signals handled %ld, EINTR sends %ld, unblock pulses %ld\n", sent_signals,
           eintr_sends, unblock_pulses);
    return SUMMARY();
}
