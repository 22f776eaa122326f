/*
 * names_suite.c: <sys/dispatch.h>'s names in one threaded program on its own kernel:
 * name_attach, name_open (the _IO_CONNECT the server gets, and answers), application messages
 * over the coid, name_close (the server's _PULSE_CODE_DISCONNECT), name_detach with and without
 * NAME_FLAG_DETACH_SAVEDPP, the local and global namespaces, and every documented error.
 * Each name's server is a thread of this program receiving on attach->chid; every blocking
 * call is bounded with TimerTimeout, every wait for a server with a timed condition wait.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/dispatch.h>
#include <sys/iomsg.h>
#include <sys/neutrino.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* The application's messages, numbered from _IO_MAX + 1 as QNX programs number theirs. */
enum {
    NM_ECHO = _IO_MAX + 1, /* reply data[0..value], status: the server's id */
    NM_STOP                /* reply 0, and the server's thread ends */
};

struct nm_msg {
    _Uint16t type;
    _Uint16t subtype;
    _Int32t value;
    char data[32];
};

/* Each blocking call waits at most this long (ns); each wait for a server, WAIT_S seconds. */
#define BOUND 10000000000ULL
#define WAIT_S 10

static void bound(int states) {
    _Uint64t ns = BOUND;
    TimerTimeout(CLOCK_MONOTONIC, states, NULL, &ns, NULL);
}

/* ---------------------------------------------------------------- the servers */

struct server {
    int id;         /* what NM_ECHO answers as its status */
    int chid;       /* the channel it receives on */
    int connect_err; /* how it answers _IO_CONNECT: 0 MsgReply(EOK), else MsgError(it) */
    pthread_t thread;
    /* What it saw (under lock). */
    int connects;
    struct _io_connect connect; /* the last _IO_CONNECT */
    char connect_path0;         /* its path's first byte */
    ssize_t connect_msglen;
    int connect_scoid;
    int messages;
    int message_scoid;
    int io_others; /* other _IO_* messages, answered ENOSYS */
    int disconnects;
    int disconnect_scoid;
    int scoid_detached; /* ConnectDetach(scoid) succeeded */
    int coid_deaths;
    int coid_death_value;
    int done;
    int end_errno; /* 0: stopped by NM_STOP */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;

static void *serve(void *arg) {
    struct server *s = (struct server *)arg;
    union {
        struct _io_connect c;
        char connect_bytes[128];
        struct _pulse p;
        struct nm_msg m;
        _Uint16t type;
    } u;
    struct _msg_info info;
    int stop = 0;

    while (!stop) {
        rcvid_t rcvid;
        memset(&u, 0, sizeof u);
        bound(_NTO_TIMEOUT_RECEIVE);
        rcvid = MsgReceive(s->chid, &u, sizeof u, &info);
        pthread_mutex_lock(&lock);
        if (rcvid == -1) {
            s->end_errno = errno;
            stop = 1;
        } else if (rcvid == 0) {
            if (u.p.code == _PULSE_CODE_DISCONNECT) {
                s->disconnect_scoid = u.p.scoid;
                s->scoid_detached += ConnectDetach(u.p.scoid) == 0;
                s->disconnects++;
            } else if (u.p.code == _PULSE_CODE_COIDDEATH) {
                s->coid_death_value = u.p.value.sival_int;
                s->coid_deaths++;
            }
        } else if (u.type == _IO_CONNECT) {
            s->connect = u.c;
            s->connect_path0 = u.c.path[0];
            s->connect_msglen = info.msglen;
            s->connect_scoid = info.scoid;
            s->connects++;
            if (s->connect_err != 0) {
                MsgError(rcvid, s->connect_err);
            } else {
                MsgReply(rcvid, EOK, NULL, 0);
            }
        } else if (u.type >= _IO_BASE && u.type <= _IO_MAX) {
            s->io_others++;
            MsgError(rcvid, ENOSYS);
        } else if (u.type == NM_ECHO) {
            int n = u.m.value < 0 || u.m.value > (int)sizeof u.m.data ? 0 : u.m.value;
            s->messages++;
            s->message_scoid = info.scoid;
            MsgReply(rcvid, s->id, u.m.data, (size_t)n);
        } else if (u.type == NM_STOP) {
            MsgReply(rcvid, EOK, NULL, 0);
            stop = 1;
        } else {
            MsgError(rcvid, ENOSYS);
        }
        if (stop) {
            s->done = 1;
        }
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void start(struct server *s, int id, int chid, int connect_err) {
    memset(s, 0, sizeof *s);
    s->id = id;
    s->chid = chid;
    s->connect_err = connect_err;
    if (pthread_create(&s->thread, NULL, serve, s) != 0) {
        s->done = 1;
        s->end_errno = EAGAIN;
    }
}

/* Waits (at most WAIT_S) until *field reaches want; returns whether it did. */
static int wait_for(const int *field, int want) {
    struct timespec until;
    int ok;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_S;
    pthread_mutex_lock(&lock);
    while (*field < want) {
        if (pthread_cond_timedwait(&changed, &lock, &until) != 0) {
            break;
        }
    }
    ok = *field >= want;
    pthread_mutex_unlock(&lock);
    return ok;
}

/* A field's value, read under the lock. */
static int get(const int *field) {
    int v;
    pthread_mutex_lock(&lock);
    v = *field;
    pthread_mutex_unlock(&lock);
    return v;
}

/* Waits (bounded) for the server's thread to end, and joins it. */
static int finish(struct server *s) {
    int ended = wait_for(&s->done, 1);
    if (ended) {
        pthread_join(s->thread, NULL);
    }
    return ended;
}

/* ---------------------------------------------------------------- the client's side */

/* NM_ECHO of `text` on coid: the status (the server's id), and the echo in `back`. */
static long echo(int coid, const char *text, char *back) {
    struct nm_msg m;
    memset(&m, 0, sizeof m);
    m.type = NM_ECHO;
    m.value = (int)strlen(text);
    memcpy(m.data, text, strlen(text));
    memset(back, 0, sizeof m.data);
    bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
    return MsgSend(coid, &m, sizeof m, back, sizeof m.data);
}

static long send_type(int coid, int type) {
    struct nm_msg m;
    memset(&m, 0, sizeof m);
    m.type = (_Uint16t)type;
    bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
    return MsgSend(coid, &m, sizeof m, NULL, 0);
}

/* name_open, bounded. */
static int open_name(const char *name) {
    bound(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY);
    return name_open(name, 0);
}

/* name_attach's failure errno (0: it succeeded, and the name was detached again). */
static int attach_fails(dispatch_t *dpp, const char *path, unsigned flags) {
    name_attach_t *a;
    errno = 0;
    a = name_attach(dpp, path, flags);
    if (a != NULL) {
        name_detach(a, 0);
        return 0;
    }
    return errno;
}

static int fails_with(int r, int e) {
    return r == -1 && errno == e;
}

/* ---------------------------------------------------------------- the checks */

/* The layouts: name_attach_t and struct _io_connect as QNX 7.1's on LP64. */
static void layouts(void) {
    CHECK(sizeof(name_attach_t) == 24 && offsetof(name_attach_t, chid) == 8 &&
              offsetof(name_attach_t, mntid) == 12 && offsetof(name_attach_t, zero) == 16,
          "name_attach_t's layout");
    CHECK(offsetof(struct _io_connect, file_type) == 4 &&
              offsetof(struct _io_connect, reply_max) == 8 &&
              offsetof(struct _io_connect, handle) == 16 &&
              offsetof(struct _io_connect, ioflag) == 20 &&
              offsetof(struct _io_connect, sflag) == 28 &&
              offsetof(struct _io_connect, access) == 30 &&
              offsetof(struct _io_connect, path_len) == 34 &&
              offsetof(struct _io_connect, eflag) == 36 &&
              offsetof(struct _io_connect, extra_len) == 38 &&
              offsetof(struct _io_connect, path) == 40 && sizeof(struct _io_connect) == 44,
          "struct _io_connect's layout");
    CHECK(_IO_CONNECT == 0x100 && _IO_CONNECT_OPEN == 2 && _FTYPE_NAME == 12 &&
              _FTYPE_ANY == 0 && NAME_FLAG_ATTACH_GLOBAL == 0x2 &&
              NAME_FLAG_DETACH_SAVEDPP == 0x1,
          "the constants' values");
}

/* A name's life: attach, open (the _IO_CONNECT), messages, close (the disconnect pulse). */
static void a_name_s_life(struct server *s) {
    name_attach_t *a;
    char back[32];
    int coid, coid2, scoid;
    long r;

    a = name_attach(NULL, "qnxsim/names/life", 0);
    CHECK(a != NULL, "name_attach(NULL, \"qnxsim/names/life\", 0)");
    if (a == NULL) {
        return;
    }
    CHECK(a->dpp == NULL && a->chid > 0 && a->zero[0] == 0 && a->zero[1] == 0,
          "name_attach_t: dpp NULL, a chid, zero zeroed");
    start(s, 1, a->chid, 0);

    coid = open_name("qnxsim/names/life");
    CHECK(coid != -1 && (coid & _NTO_SIDE_CHANNEL) != 0, "name_open: a side-channel coid");
    CHECK(wait_for(&s->connects, 1), "the server got an _IO_CONNECT");
    pthread_mutex_lock(&lock);
    CHECK(s->connect.type == _IO_CONNECT && s->connect.subtype == _IO_CONNECT_OPEN &&
              s->connect.file_type == _FTYPE_NAME,
          "_IO_CONNECT: subtype _IO_CONNECT_OPEN, file_type _FTYPE_NAME");
    CHECK(s->connect.path_len == 1 && s->connect_path0 == '\0' &&
              s->connect_msglen >= (ssize_t)offsetof(struct _io_connect, path) + 1,
          "_IO_CONNECT: the empty path (path_len 1)");
    CHECK(s->connect.ioflag == 3 && s->connect.access == (_IO_FLAG_RD | _IO_FLAG_WR) &&
              s->connect.sflag == 0x40 && s->connect.extra_type == _IO_CONNECT_EXTRA_NONE &&
              s->connect.extra_len == 0,
          "_IO_CONNECT: ioflag O_RDWR + 1, access RD|WR, sflag SH_DENYNO, no extra");
    CHECK(s->connect.handle == (_Uint32t)a->mntid, "_IO_CONNECT: handle, the name's mntid");
    scoid = s->connect_scoid;
    pthread_mutex_unlock(&lock);
    if (coid == -1) {
        name_detach(a, 0);
        return;
    }

    r = echo(coid, "hello", back);
    CHECK(r == 1 && memcmp(back, "hello", 5) == 0, "an application message over the coid");
    CHECK(get(&s->message_scoid) == scoid, "it comes on the connection the open made");
    CHECK(fails_with((int)send_type(coid, _IO_READ), ENOSYS),
          "another _IO_* message: the server's ENOSYS");

    /* A second open in the same process shares the connection: one scoid, and the
       disconnect pulse only when the last coid goes. */
    coid2 = open_name("qnxsim/names/life");
    CHECK(coid2 != -1 && coid2 != coid && (coid2 & _NTO_SIDE_CHANNEL) != 0,
          "a second name_open: another coid");
    CHECK(wait_for(&s->connects, 2) && get(&s->connect_scoid) == scoid,
          "its _IO_CONNECT comes on the same connection");
    CHECK(name_close(coid2) == 0, "name_close(the second coid)");
    r = echo(coid, "still", back);
    CHECK(r == 1 && memcmp(back, "still", 5) == 0 && get(&s->disconnects) == 0,
          "the first coid still works, and no disconnect yet");

    CHECK(name_close(coid) == 0, "name_close(coid)");
    CHECK(wait_for(&s->disconnects, 1), "the server got _PULSE_CODE_DISCONNECT");
    CHECK(get(&s->disconnect_scoid) == scoid && get(&s->scoid_detached) == 1,
          "the pulse names the connection's scoid; ConnectDetach(scoid) succeeded");
    CHECK(fails_with((int)send_type(coid, NM_ECHO), EBADF), "a send after name_close: EBADF");
    CHECK(fails_with(name_close(coid), EINVAL), "name_close of a closed coid: EINVAL");

    /* Stop the server through a new open, then detach the name. */
    coid = open_name("qnxsim/names/life");
    CHECK(coid != -1 && send_type(coid, NM_STOP) == 0 && finish(s),
          "the server stops on NM_STOP");
    name_close(coid);
    CHECK(name_detach(a, 0) == 0, "name_detach(attach, 0)");
    CHECK(fails_with(open_name("qnxsim/names/life"), ENOENT),
          "name_open after name_detach: ENOENT");
}

/* Every error. */
static void errors(void) {
    char long_name[130];
    name_attach_t *a, *copy;
    dispatch_t *dpp;

    CHECK(attach_fails(NULL, NULL, 0) == EINVAL, "name_attach(NULL path): EINVAL");
    CHECK(attach_fails(NULL, "", 0) == EINVAL, "name_attach(\"\"): EINVAL");
    CHECK(attach_fails(NULL, "/abs", 0) == EINVAL, "name_attach(\"/abs\"): EINVAL");
    CHECK(attach_fails(NULL, "a/../b", 0) == EINVAL, "name_attach(\"a/../b\"): EINVAL");
    CHECK(attach_fails(NULL, "..", 0) == EINVAL, "name_attach(\"..\"): EINVAL");
    dpp = dispatch_create();
    a = dpp != NULL ? name_attach(dpp, "qnxsim/names/dpp", 0) : NULL;
    CHECK(a != NULL && a->dpp == dpp && a->chid > 0,
          "name_attach with a dispatch handle names its channel (attach->dpp is it)");
    if (a != NULL) {
        name_detach(a, 0); /* destroys dpp too */
    } else if (dpp != NULL) {
        dispatch_destroy(dpp);
    }
    CHECK(attach_fails(NULL, "qnxsim/names/flags", 0x100) == EINVAL,
          "name_attach with an unknown flag: EINVAL");
    CHECK(attach_fails(NULL, "qnxsim/\xff\xfe", 0) == EINVAL,
          "name_attach of a path that is not UTF-8: EINVAL");

    memset(long_name, 'n', sizeof long_name);
    long_name[128] = '\0';
    CHECK(attach_fails(NULL, long_name, 0) == ENAMETOOLONG,
          "name_attach of 128 bytes: ENAMETOOLONG");
    long_name[127] = '\0';
    CHECK(attach_fails(NULL, long_name, 0) == 0, "name_attach of 127 bytes succeeds");

    a = name_attach(NULL, "qnxsim/names/taken", 0);
    CHECK(a != NULL, "name_attach(\"qnxsim/names/taken\")");
    CHECK(attach_fails(NULL, "qnxsim/names/taken", 0) == EEXIST,
          "name_attach of a name taken: EEXIST");
    CHECK(fails_with(name_detach(a, 0x100), EINVAL), "name_detach with an unknown flag: EINVAL");
    /* A copy of a detached name is not ours any more (malloc'd: a wrong success frees it). */
    copy = (name_attach_t *)malloc(sizeof *copy);
    if (a != NULL && copy != NULL) {
        *copy = *a;
        CHECK(name_detach(a, 0) == 0, "name_detach");
        CHECK(fails_with(name_detach(copy, 0), EINVAL), "name_detach of a name detached: EINVAL");
    }
    free(copy);
    CHECK(fails_with(name_detach(NULL, 0), EINVAL), "name_detach(NULL): EINVAL");

    errno = 0;
    CHECK(fails_with(open_name(NULL), EINVAL), "name_open(NULL): EINVAL");
    CHECK(fails_with(open_name(""), EINVAL), "name_open(\"\"): EINVAL");
    CHECK(fails_with(open_name("/abs"), EINVAL), "name_open(\"/abs\"): EINVAL");
    CHECK(fails_with(open_name("qnxsim/names/nobody"), ENOENT),
          "name_open of an unknown name: ENOENT");
    CHECK(fails_with(name_close(12345), EINVAL), "name_close of an unknown coid: EINVAL");
}

/* A server that answers _IO_CONNECT with MsgError(EACCES): name_open fails with EACCES. */
static void refused(void) {
    struct server s;
    name_attach_t *a = name_attach(NULL, "qnxsim/names/refuses", 0);
    int coid;
    CHECK(a != NULL, "name_attach(\"qnxsim/names/refuses\")");
    if (a == NULL) {
        return;
    }
    start(&s, 2, a->chid, EACCES);
    CHECK(fails_with(open_name("qnxsim/names/refuses"), EACCES),
          "name_open refused by the server: its EACCES");
    CHECK(get(&s.connects) == 1, "the server got the _IO_CONNECT it refused");
    CHECK(wait_for(&s.disconnects, 1),
          "the refused open's connection goes (the server's disconnect pulse)");
    /* Answered this time: the server stops. */
    pthread_mutex_lock(&lock);
    s.connect_err = 0;
    pthread_mutex_unlock(&lock);
    coid = open_name("qnxsim/names/refuses");
    CHECK(coid != -1 && send_type(coid, NM_STOP) == 0 && finish(&s),
          "the server accepts the next open, and stops");
    name_close(coid);
    name_detach(a, 0);
}

/* name_detach with NAME_FLAG_DETACH_SAVEDPP keeps the channel; without, it goes. */
static void detaching(struct server *death) {
    struct server s;
    name_attach_t *a;
    char back[32];
    int coid, chid;
    long r;

    a = name_attach(NULL, "qnxsim/names/saved", 0);
    CHECK(a != NULL, "name_attach(\"qnxsim/names/saved\")");
    if (a == NULL) {
        return;
    }
    chid = a->chid;
    start(&s, 3, chid, 0);
    coid = open_name("qnxsim/names/saved");
    CHECK(coid != -1, "name_open(\"qnxsim/names/saved\")");
    CHECK(name_detach(a, NAME_FLAG_DETACH_SAVEDPP) == 0,
          "name_detach(attach, NAME_FLAG_DETACH_SAVEDPP)");
    CHECK(fails_with(open_name("qnxsim/names/saved"), ENOENT),
          "the name is gone: name_open ENOENT");
    r = echo(coid, "kept", back);
    CHECK(r == 3 && memcmp(back, "kept", 4) == 0, "the channel stays: the client's send works");
    CHECK(name_close(coid) == 0 && wait_for(&s.disconnects, 1),
          "name_close: the kept channel's server gets its disconnect pulse");
    CHECK(ChannelDestroy(chid) == 0, "the kept channel is the caller's to ChannelDestroy");
    CHECK(finish(&s) && s.end_errno != 0, "its server's receive ends");

    a = name_attach(NULL, "qnxsim/names/gone", 0);
    CHECK(a != NULL, "name_attach(\"qnxsim/names/gone\")");
    if (a == NULL) {
        return;
    }
    chid = a->chid;
    start(&s, 4, chid, 0);
    coid = open_name("qnxsim/names/gone");
    CHECK(coid != -1, "name_open(\"qnxsim/names/gone\")");
    CHECK(name_detach(a, 0) == 0, "name_detach(attach, 0)");
    CHECK(finish(&s) && s.end_errno == ESRCH, "the channel is destroyed: its receiver gets ESRCH");
    CHECK(fails_with(ChannelDestroy(chid), EINVAL), "the channel is gone: ChannelDestroy EINVAL");
    CHECK(fails_with((int)send_type(coid, NM_ECHO), EBADF),
          "a connected client's send fails (EBADF)");
    /* The process's first name_attach channel is its _NTO_CHF_COID_DISCONNECT channel. */
    CHECK(wait_for(&death->coid_deaths, 1) && get(&death->coid_death_value) == coid,
          "the first name's channel gets _PULSE_CODE_COIDDEATH for the client's coid");
    CHECK(name_close(coid) == 0, "name_close of the dead coid");
}

/* The local and global namespaces. */
static void namespaces(void) {
    struct server local, global;
    name_attach_t *l, *g, *g2;
    char back[32];
    int coid;

    l = name_attach(NULL, "qnxsim/names/both", 0);
    g = name_attach(NULL, "qnxsim/names/both", NAME_FLAG_ATTACH_GLOBAL);
    CHECK(l != NULL && g != NULL && l->chid != g->chid,
          "the same name attaches locally and globally (two channels)");
    if (l == NULL || g == NULL) {
        return;
    }
    CHECK(attach_fails(NULL, "qnxsim/names/both", NAME_FLAG_ATTACH_GLOBAL) == EEXIST,
          "a global name taken: EEXIST");
    start(&local, 10, l->chid, 0);
    start(&global, 20, g->chid, 0);

    coid = open_name("qnxsim/names/both");
    CHECK(coid != -1 && echo(coid, "x", back) == 10 && get(&global.connects) == 0,
          "name_open finds the local name first");
    name_close(coid);
    CHECK(name_detach(l, 0) == 0, "name_detach(the local one)");
    CHECK(finish(&local), "the local server ends with its channel");
    coid = open_name("qnxsim/names/both");
    CHECK(coid != -1 && echo(coid, "y", back) == 20, "then name_open finds the global one");
    CHECK(send_type(coid, NM_STOP) == 0 && finish(&global), "the global server stops");
    name_close(coid);
    CHECK(name_detach(g, 0) == 0, "name_detach(the global one)");
    CHECK(fails_with(open_name("qnxsim/names/both"), ENOENT), "both gone: ENOENT");

    g2 = name_attach(NULL, "qnxsim/names/global-only", NAME_FLAG_ATTACH_GLOBAL);
    CHECK(g2 != NULL, "a global name alone");
    if (g2 != NULL) {
        start(&global, 30, g2->chid, 0);
        coid = open_name("qnxsim/names/global-only");
        CHECK(coid != -1 && echo(coid, "z", back) == 30, "name_open finds a global name");
        send_type(coid, NM_STOP);
        finish(&global);
        name_close(coid);
        CHECK(name_detach(g2, 0) == 0, "name_detach(the global-only name)");
    }
}

int main(void) {
    static struct server first, death;
    name_attach_t *d;
    int coid;

    layouts();

    /* The process's first named channel, kept all along: its _NTO_CHF_COID_DISCONNECT
       channel, which hears of its coids whose channels go. */
    d = name_attach(NULL, "qnxsim/names/death", 0);
    CHECK(d != NULL, "name_attach(\"qnxsim/names/death\")");
    if (d == NULL) {
        return SUMMARY();
    }
    start(&death, 99, d->chid, 0);

    a_name_s_life(&first);
    errors();
    refused();
    detaching(&death);
    namespaces();

    coid = open_name("qnxsim/names/death");
    CHECK(coid != -1 && send_type(coid, NM_STOP) == 0 && finish(&death), "the last server stops");
    name_close(coid);
    CHECK(name_detach(d, 0) == 0, "name_detach(the first name)");
    return SUMMARY();
}
