/*
 * select_suite.c: <sys/dispatch.h>'s select_attach, select_detach and select_rearm over Linux
 * fds (pipes) in one program on its own kernel: select_context_t's layout (the start of
 * resmgr_context_t), a readable pipe calling its function with SELECT_FLAG_READ through
 * dispatch_block/dispatch_handler (the SI_NOTIFY pulse, the handle, the return value), a
 * write end writable at once, re-arming (QNX's default) and SELECT_FLAG_NOREARM with
 * select_rearm, select_detach, a server thread serving many pipes, the watcher thread started
 * by the first attach and stopped by the last detach and by dispatch_destroy, and every
 * documented errno. Every block is bounded by dispatch_timeout.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/dispatch.h>
#include <sys/neutrino.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static struct timespec long_wait = {10, 0};
static struct timespec short_wait = {0, 150000000};

static int fails_with(int r, int e) {
    return r == -1 && errno == e;
}

/* One bounded block and handler: the handler's result, or -100 on the timeout (-101 error). */
static int serve(dispatch_context_t *ctp, dispatch_t *dpp, struct timespec *within) {
    dispatch_timeout(dpp, within);
    if (dispatch_block(ctp) == NULL) {
        return -101;
    }
    if (ctp->message_context.rcvid == -1) {
        return -100;
    }
    return dispatch_handler(ctp);
}

static void put(int fd) {
    if (write(fd, "x", 1) != 1) {
        printf("FAIL write\n");
    }
}

static int take(int fd) {
    char b[16];
    return (int)read(fd, b, sizeof b);
}

static int threads(void) {
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    struct dirent *e;
    if (d == NULL) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* Waits (bounded) until the program has n threads. */
static int threads_become(int n) {
    int i;
    for (i = 0; i < 2000; i++) {
        if (threads() == n) {
            return 1;
        }
        usleep(5000);
    }
    return 0;
}

/* ---------------------------------------------------------------- functions */

struct rec {
    int calls;
    int fd;
    unsigned flags;
    int rcvid;
    int code;
    void *dpp;
    int ret;
    int consume; /* read the byte */
    int rearm;   /* select_rearm once, from inside */
};

static int on_fd(select_context_t *ctp, int fd, unsigned flags, void *handle) {
    struct rec *r = (struct rec *)handle;
    r->calls++;
    r->fd = fd;
    r->flags = flags;
    r->rcvid = ctp->rcvid;
    r->code = ctp->msg->pulse.code;
    r->dpp = ctp->dpp;
    if (r->consume) {
        take(fd);
    }
    if (r->rearm) {
        r->rearm = 0;
        errno = 0;
        if (select_rearm((dispatch_context_t *)ctp, fd) != NULL || errno != 0) {
            r->ret = -50;
        }
    }
    return r->ret;
}

static int never(select_context_t *ctp, int fd, unsigned flags, void *handle) {
    (void)ctp;
    (void)fd;
    (void)flags;
    (void)handle;
    return 0;
}

/* ---------------------------------------------------------------- checks */

static void layout(void) {
    CHECK(offsetof(select_context_t, rcvid) == offsetof(resmgr_context_t, rcvid), "rcvid");
    CHECK(offsetof(select_context_t, info) == offsetof(resmgr_context_t, info), "info");
    CHECK(offsetof(select_context_t, msg) == offsetof(resmgr_context_t, msg), "msg overlay");
    CHECK(offsetof(select_context_t, dpp) == offsetof(resmgr_context_t, dpp), "dpp overlay");
    CHECK(offsetof(select_context_t, fd) == 88, "fd at 88");
    CHECK(offsetof(select_context_t, iov) == 112, "iov at 112");
    CHECK(sizeof(select_context_t) == 128, "sizeof select_context_t");
    CHECK(sizeof(select_attr_t) == 16, "sizeof select_attr_t");
    CHECK(SELECT_FLAG_READ == 0x10000000 && SELECT_FLAG_WRITE == 0x20000000 &&
              SELECT_FLAG_EXCEPT == 0x40000000,
          "condition flags");
    CHECK(SELECT_FLAG_REARM == 1 && SELECT_FLAG_SRVEXCEPT == 2 && SELECT_FLAG_NOREARM == 4,
          "other flags");
    CHECK(SI_NOTIFY == -6, "SI_NOTIFY");
}

static void errors(void) {
    int p[2];
    select_attr_t attr;
    dispatch_t *dpp = dispatch_create();
    int file = open("/proc/self/exe", O_RDONLY);
    CHECK(pipe(p) == 0, "pipe");
    memset(&attr, 0, sizeof attr);
    CHECK(fails_with(select_attach(NULL, NULL, p[0], SELECT_FLAG_READ, never, NULL), EINVAL),
          "NULL dpp");
    CHECK(fails_with(select_attach(dpp, NULL, p[0], SELECT_FLAG_READ, NULL, NULL), EINVAL),
          "NULL func");
    CHECK(fails_with(select_attach(dpp, NULL, p[0], 0, never, NULL), EINVAL), "no flags");
    CHECK(fails_with(select_attach(dpp, NULL, p[0], SELECT_FLAG_REARM, never, NULL), EINVAL),
          "no condition");
    CHECK(fails_with(select_attach(dpp, NULL, p[0], SELECT_FLAG_READ | 0x8, never, NULL),
                     EINVAL),
          "unknown flag");
    CHECK(fails_with(select_attach(dpp, NULL, -1, SELECT_FLAG_READ, never, NULL), EINVAL),
          "fd -1");
    attr.flags = 1;
    CHECK(fails_with(select_attach(dpp, &attr, p[0], SELECT_FLAG_READ, never, NULL), EINVAL),
          "attr flags");
    CHECK(fails_with(select_detach(dpp, p[0]), EINVAL), "detach before any attach");
    CHECK(fails_with(select_detach(NULL, p[0]), EINVAL), "detach NULL dpp");
    CHECK(fails_with(select_attach(dpp, NULL, 1000000, SELECT_FLAG_READ, never, NULL), EBADF),
          "fd not open");
    CHECK(fails_with(select_attach(dpp, NULL, file, SELECT_FLAG_READ, never, NULL), EPERM),
          "a regular file");
    attr.flags = 0;
    CHECK(select_attach(dpp, &attr, p[0], SELECT_FLAG_READ, never, NULL) == 0, "attach");
    CHECK(fails_with(select_attach(dpp, NULL, p[0], SELECT_FLAG_WRITE, never, NULL), EBUSY),
          "attached already");
    CHECK(fails_with(select_detach(dpp, p[1]), EINVAL), "detach not attached");
    CHECK(select_detach(dpp, p[0]) == 0, "detach");
    CHECK(fails_with(select_detach(dpp, p[0]), EINVAL), "detach twice");
    errno = 0;
    CHECK(select_rearm(NULL, p[0]) == NULL && errno == EINVAL, "rearm NULL ctp");
    CHECK(dispatch_destroy(dpp) == 0, "destroy");
    close(file);
    close(p[0]);
    close(p[1]);
}

static void readable_and_writable(void) {
    int p[2], i, res = 0, rcalls, wcalls;
    struct rec r, w;
    dispatch_t *dpp = dispatch_create();
    dispatch_context_t *ctp;
    CHECK(pipe(p) == 0, "pipe");
    memset(&r, 0, sizeof r);
    memset(&w, 0, sizeof w);
    r.ret = 7;
    r.consume = 1;
    CHECK(select_attach(dpp, NULL, p[0], SELECT_FLAG_READ, on_fd, &r) == 0, "attach read end");
    ctp = dispatch_context_alloc(dpp);
    CHECK(ctp != NULL, "a context after a select attach");
    if (ctp == NULL) {
        return;
    }
    CHECK(serve(ctp, dpp, &short_wait) == -100 && r.calls == 0, "nothing to read yet");
    put(p[1]);
    CHECK(serve(ctp, dpp, &long_wait) == 7, "dispatch_handler returns the function's result");
    CHECK(r.calls == 1 && r.fd == p[0] && r.flags == SELECT_FLAG_READ, "called with READ");
    CHECK(r.rcvid == 0 && r.code == SI_NOTIFY && r.dpp == (void *)dpp,
          "the context holds the SI_NOTIFY pulse and the handle");
    CHECK(serve(ctp, dpp, &short_wait) == -100 && r.calls == 1, "read: no more calls");
    w.ret = 3;
    CHECK(select_attach(dpp, NULL, p[1], SELECT_FLAG_WRITE | SELECT_FLAG_EXCEPT, on_fd, &w) == 0,
          "attach write end");
    CHECK(serve(ctp, dpp, &long_wait) == 3 && w.fd == p[1] && w.flags == SELECT_FLAG_WRITE,
          "writable at once, only WRITE met");
    CHECK(select_detach(dpp, p[1]) == 0 && select_detach(dpp, p[0]) == 0, "detach both");
    put(p[1]);
    rcalls = r.calls;
    wcalls = w.calls;
    /* (A pulse sent before the detach is dropped: 0, the function not called.) */
    for (i = 0; i < 4 && (res = serve(ctp, dpp, &short_wait)) == 0; i++) {
    }
    CHECK(res == -100 && r.calls == rcalls && w.calls == wcalls, "detached: not called");
    dispatch_context_free(ctp);
    CHECK(dispatch_destroy(dpp) == 0, "destroy");
    close(p[0]);
    close(p[1]);
}

static void rearming(void) {
    int p[2], i, ok = 1, r1;
    struct rec r;
    dispatch_t *dpp = dispatch_create();
    dispatch_context_t *ctp;
    CHECK(pipe(p) == 0, "pipe");
    memset(&r, 0, sizeof r);
    /* The default: armed again after each call; unread, the byte fires again and again. */
    CHECK(select_attach(dpp, NULL, p[0], SELECT_FLAG_READ, on_fd, &r) == 0, "attach");
    ctp = dispatch_context_alloc(dpp);
    if (ctp == NULL) {
        CHECK(0, "context");
        return;
    }
    put(p[1]);
    for (i = 0; i < 3; i++) {
        ok = ok && serve(ctp, dpp, &long_wait) == 0;
    }
    CHECK(ok && r.calls == 3, "re-armed after each call by default");
    take(p[0]);
    r1 = serve(ctp, dpp, &short_wait); /* a pulse sent before the read may come, once */
    CHECK(r1 == -100 || serve(ctp, dpp, &short_wait) == -100, "read: quiet");
    CHECK(select_detach(dpp, p[0]) == 0, "detach");
    /* SELECT_FLAG_NOREARM (over REARM): once, until select_rearm. */
    memset(&r, 0, sizeof r);
    CHECK(select_attach(dpp, NULL, p[0],
                        SELECT_FLAG_READ | SELECT_FLAG_REARM | SELECT_FLAG_NOREARM, on_fd,
                        &r) == 0,
          "attach NOREARM");
    put(p[1]);
    CHECK(serve(ctp, dpp, &long_wait) == 0 && r.calls == 1, "called once");
    CHECK(serve(ctp, dpp, &short_wait) == -100 && r.calls == 1, "not armed again");
    errno = 0;
    CHECK(select_rearm(ctp, p[0]) == NULL && errno == 0, "select_rearm");
    CHECK(serve(ctp, dpp, &long_wait) == 0 && r.calls == 2, "called again");
    r.rearm = 1; /* the function rearms itself once */
    CHECK(select_rearm(ctp, p[0]) == NULL, "select_rearm");
    CHECK(serve(ctp, dpp, &long_wait) == 0 && r.calls == 3, "called");
    CHECK(serve(ctp, dpp, &long_wait) == 0 && r.calls == 4, "rearmed from inside");
    CHECK(serve(ctp, dpp, &short_wait) == -100 && r.calls == 4, "then quiet");
    errno = 0;
    CHECK(select_rearm(ctp, p[1]) == NULL && errno == EINVAL, "rearm an fd not attached");
    dispatch_context_free(ctp);
    CHECK(dispatch_destroy(dpp) == 0, "destroy");
    close(p[0]);
    close(p[1]);
}

/* ---------------------------------------------------------------- a server thread */

#define NPIPES 32

struct server {
    dispatch_t *dpp;
    int served;
};

static int on_byte(select_context_t *ctp, int fd, unsigned flags, void *handle) {
    struct server *s = (struct server *)handle;
    (void)ctp;
    if (flags == SELECT_FLAG_READ && take(fd) == 1) {
        s->served++;
    }
    return 0;
}

static void *server_main(void *arg) {
    struct server *s = (struct server *)arg;
    dispatch_context_t *ctp = dispatch_context_alloc(s->dpp);
    int r;
    if (ctp == NULL) {
        return NULL;
    }
    while (s->served < NPIPES) {
        r = serve(ctp, s->dpp, &long_wait);
        if (r == -100 || r == -101) {
            break;
        }
    }
    dispatch_context_free(ctp);
    return NULL;
}

static void server_thread(void) {
    int p[NPIPES][2], i, ok = 1, before;
    struct server s;
    pthread_t t;
    memset(&s, 0, sizeof s);
    s.dpp = dispatch_create();
    for (i = 0; i < NPIPES; i++) {
        ok = ok && pipe(p[i]) == 0;
    }
    CHECK(ok, "pipes");
    before = threads();
    for (i = 0; i < NPIPES; i++) {
        ok = ok && select_attach(s.dpp, NULL, p[i][0], SELECT_FLAG_READ, on_byte, &s) == 0;
    }
    CHECK(ok, "attach every read end");
    CHECK(threads_become(before + 1), "one watcher thread");
    CHECK(pthread_create(&t, NULL, server_main, &s) == 0, "server thread");
    for (i = 0; i < NPIPES; i++) {
        put(p[i][1]);
    }
    pthread_join(t, NULL);
    CHECK(s.served == NPIPES, "every pipe served once");
    for (i = 0; i < NPIPES; i++) {
        ok = ok && select_detach(s.dpp, p[i][0]) == 0;
    }
    CHECK(ok, "detach every read end");
    CHECK(threads_become(before), "the last detach stops the watcher");
    CHECK(select_attach(s.dpp, NULL, p[0][0], SELECT_FLAG_READ, on_byte, &s) == 0, "attach");
    CHECK(threads_become(before + 1), "the watcher again");
    CHECK(dispatch_destroy(s.dpp) == 0, "destroy");
    CHECK(threads_become(before), "destroy stops the watcher");
    for (i = 0; i < NPIPES; i++) {
        close(p[i][0]);
        close(p[i][1]);
    }
}

int main(void) {
    layout();
    errors();
    readable_and_writable();
    rearming();
    server_thread();
    return SUMMARY();
}
