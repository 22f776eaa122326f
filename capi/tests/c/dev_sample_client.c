/*
 * dev_sample_client.c: the client of dev_sample.c, a QNX program that uses /dev/sample with
 * plain POSIX and QNX calls, in a program of its own (QNXSIM_KERNEL names the shared kernel):
 * `dev_sample_client [PATH]`. open, write, lseek, read, devctl (the device's
 * DCMD_SAMPLE_GET_SIZE and DCMD_SAMPLE_CLEAR, the default's DCMD_ALL_GETFLAGS, an unknown
 * command's ENOTTY), ionotify armed for input from this thread while another thread opens the
 * device and writes, the SI_NOTIFY pulse received, fstat, close, and EBADF after it. Prints
 * "N passed, M failed". Every wait is bounded.
 */
#include <devctl.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/iomgr.h>
#include <sys/iomsg.h> /* SI_NOTIFY (QNX: <sys/siginfo.h>) */
#include <sys/neutrino.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#define DCMD_SAMPLE_GET_SIZE __DIOF(_DCMD_MISC, 1, int)
#define DCMD_SAMPLE_CLEAR __DION(_DCMD_MISC, 2)

/* Each receive waits at most this long (ns). */
#define BOUND 10000000000ULL

static const char *path = "/dev/sample";

static void *writer(void *arg) {
    long ok;
    int fd = open(path, O_WRONLY);
    (void)arg;
    ok = fd != -1 && write(fd, "more", 4) == 4;
    if (fd != -1 && close(fd) != 0) {
        ok = 0;
    }
    return (void *)ok;
}

int main(int argc, char **argv) {
    char buf[64];
    int fd, size = -1, flags = -1, chid, coid;
    struct sigevent ev;
    struct _pulse pulse;
    struct stat st;
    pthread_t t;
    void *wrote = NULL;
    _Uint64t bound = BOUND;

    if (argc > 2) {
        fprintf(stderr, "usage: dev_sample_client [PATH]\n");
        return 2;
    }
    if (argc > 1) {
        path = argv[1];
    }
    fd = open(path, O_RDWR);
    CHECK(fd != -1, "open");
    if (fd == -1) {
        return SUMMARY();
    }
    CHECK(write(fd, "hello, world", 12) == 12, "write");
    CHECK(lseek(fd, 0, SEEK_SET) == 0, "lseek");
    memset(buf, 0, sizeof buf);
    CHECK(read(fd, buf, sizeof buf) == 12 && memcmp(buf, "hello, world", 12) == 0,
          "read gives back what was written");
    CHECK(read(fd, buf, sizeof buf) == 0, "read at the end: 0");
    CHECK(devctl(fd, DCMD_SAMPLE_GET_SIZE, &size, sizeof size, NULL) == EOK && size == 12,
          "devctl DCMD_SAMPLE_GET_SIZE");
    CHECK(devctl(fd, DCMD_ALL_GETFLAGS, &flags, sizeof flags, NULL) == EOK &&
              (flags & O_ACCMODE) == O_RDWR,
          "devctl DCMD_ALL_GETFLAGS (the default handler)");
    CHECK(devctl(fd, __DION(_DCMD_MISC, 99), NULL, 0, NULL) == ENOTTY,
          "an unknown command: ENOTTY");
    CHECK(devctl(fd, DCMD_SAMPLE_CLEAR, NULL, 0, NULL) == EOK, "devctl DCMD_SAMPLE_CLEAR");

    /* Arm for input on the empty device from this thread, then wait here for the pulse while
     * another thread writes (the server delivers it through the rcvid of our ionotify). */
    chid = ChannelCreate(0);
    coid = ConnectAttach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0);
    CHECK(chid != -1 && coid != -1, "a channel for the pulse");
    SIGEV_PULSE_INIT(&ev, coid, 10, SI_NOTIFY, 0);
    CHECK(ionotify(fd, _NOTIFY_ACTION_POLLARM, _NOTIFY_COND_INPUT, &ev) == 0,
          "ionotify POLLARM on the empty device: armed");
    CHECK(pthread_create(&t, NULL, writer, NULL) == 0, "pthread_create");
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, NULL, &bound, NULL);
    memset(&pulse, 0, sizeof pulse);
    CHECK(MsgReceivePulse(chid, &pulse, sizeof pulse, NULL) == 0 && pulse.code == SI_NOTIFY &&
              (pulse.value.sival_int & _NOTIFY_COND_INPUT) != 0,
          "the SI_NOTIFY pulse, with _NOTIFY_COND_INPUT");
    pthread_join(t, &wrote);
    CHECK(wrote == (void *)1, "the other thread's open, write, close");
    CHECK(ionotify(fd, _NOTIFY_ACTION_POLL, _NOTIFY_COND_INPUT, NULL) == _NOTIFY_COND_INPUT,
          "ionotify POLL: input");

    CHECK(fstat(fd, &st) == 0 && st.st_size == 4 && S_ISCHR(st.st_mode), "fstat");
    CHECK(close(fd) == 0, "close");
    errno = 0;
    CHECK(read(fd, buf, sizeof buf) == -1 && errno == EBADF, "read after close: EBADF");
    ConnectDetach(coid);
    ChannelDestroy(chid);
    return SUMMARY();
}
