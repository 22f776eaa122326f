/*
 * device_suite.c: QNX's device memory from C, as a porter's driver uses it, on the simulated
 * physical memory that every program of a kernel shares: mmap_device_memory and
 * munmap_device_memory (<sys/mman.h>), mmap_device_io and munmap_device_io, and <hw/inout.h>'s
 * in8/16/32/64, out8/16/32/64, in8s/in16s/in32s, out8s/out16s/out32s and the le/be forms.
 *
 * With no argument: the suite, on the program's own kernel:
 *   - a driver thread and a "device" thread, each with its own mapping of the register block
 *     at 0xfe200000: the device writes the status register and the data FIFO and raises the
 *     level (qnxsim_interrupt_raise); the driver, woken by InterruptWait (SIGEV_INTR), reads
 *     the status with in32, acknowledges with out32 to the ACK register (which the device
 *     waits to see), reads the FIFO with in32s (one register COUNT times: this memory is
 *     not a FIFO), zeroes the count (drained) and unmasks; DRV_N times, every value checked;
 *   - a 16550-like UART at I/O port 0x3f8 (mmap_device_io, in8/out8), two views of the same
 *     ports, the ports apart from physical memory, the last port;
 *   - in8s/out8s and the 16/32-bit forms: the count read and written, the pointer returned;
 *   - the le/be forms on known byte patterns, in64/out64;
 *   - a physical address that is not page aligned: the pointer points at that byte; a mapping
 *     straddling two pages; overlapping mappings of different ranges see the same bytes;
 *   - munmap then map again: the contents persist; PROT_READ alone maps readable registers
 *     that a write faults on;
 *   - every errno (EINVAL: a zero length, a range past 1 TiB or overflowing, MAP_FIXED,
 *     unknown prot bits, ports past 65535, munmap of NULL or a zero length), and errno left
 *     alone by every call that succeeds;
 *   - a fork()ed child's own mapping of an address the parent mapped sees the parent's bytes,
 *     and the parent the child's.
 *
 * With arguments, a role of the test across processes on a shared kernel (QNXSIM_KERNEL set
 * by the test):
 *   driver LEVEL N   maps the register block at 0xfe200000, InterruptAttachEvent(SIGEV_INTR)
 *                    on LEVEL, "ready PID ID"; then N times: InterruptWait, in32 the status,
 *                    out32 the ACK, in32s the FIFO, out32 0 to the count (drained),
 *                    InterruptUnmask, "irq I STATUS FIFO";
 *                    then detaches, "done", waits for "quit" (or the end of its input), a
 *                    summary.
 *   device LEVEL N   the hardware: its own mapping of the same registers; N times: writes the
 *                    status, count and FIFO registers, raises LEVEL, waits (bounded) for the
 *                    driver's ACK and for the count it zeroes (drained); a summary.
 *   fork-first       (own kernel) forks before its first device call; parent and child then
 *                    each map the same physical address: "shared 1" if the child's write
 *                    reached the parent, else "shared 0".
 *
 * No call may block forever: every InterruptWait is armed with TimerTimeout first, every
 * poll of a register is bounded, a forked child is waited for with a bound and killed after.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/neutrino.h>
#include <sys/siginfo.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hw/inout.h>
#include <qnxsim/interrupt.h>

#include "check.h"

/* ------------------------------------------------------------------ helpers */

#define MS 1000000ULL
/* The bound on a wait that should end soon. */
#define LONG_MS 10000

/* The register block of the simulated device. */
#define REGS_PHYS 0xfe200000ULL
#define REGS_LEN 0x1000
#define REG_ID 0x00
#define REG_STATUS 0x04
#define REG_COUNT 0x08
#define REG_ACK 0x0c
#define REG_FIFO 0x10
#define DEV_ID 0x16550a01u
#define ST_RX_READY 0x80000000u
/* The FIFO's most words per interrupt. */
#define FIFO_MAX 4

/* One round's values: what the device writes and the driver must read. */
static uint32_t status_of(long i) { return ST_RX_READY | (uint32_t)i; }
static uint32_t count_of(long i) { return 1u + (uint32_t)(i % FIFO_MAX); }
static uint32_t fifo_of(long i) { return 0xc0de0000u + (uint32_t)i; }
static uint32_t ack_of(long i) { return 0xa5a50000u ^ (uint32_t)i; }

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_us(long us) {
    struct timespec ts;
    ts.tv_sec = us / 1000000;
    ts.tv_nsec = (us % 1000000) * 1000L;
    nanosleep(&ts, NULL);
}

/* InterruptWait bounded by ms: 0, or -1 with errno. */
static int wait_within(unsigned long long ms) {
    _Uint64t ns = ms * MS;
    TimerTimeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_INTR, NULL, &ns, NULL);
    return InterruptWait(0, NULL);
}

/* Polls the 32-bit register at port (at most ms) until it holds want. */
static int reg_becomes(uintptr_t port, uint32_t want, int ms) {
    long long until = now_ms() + ms;
    while (in32(port) != want) {
        if (now_ms() >= until) {
            return 0;
        }
        sleep_us(50);
    }
    return 1;
}

static struct sigevent intr_event(void) {
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    SIGEV_INTR_INIT(&ev);
    return ev;
}

static uintptr_t map_regs(uint64_t phys, size_t len) {
    void *p = mmap_device_memory(NULL, len, PROT_READ | PROT_WRITE | PROT_NOCACHE, 0, phys);
    return p == MAP_FAILED ? 0 : (uintptr_t)p;
}

/* Waits (at most ms) for child pid to end, killing it after: its status, or -1. */
static int reap_within(pid_t pid, int ms) {
    long long until = now_ms() + ms;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            return status;
        }
        if (r < 0 && errno != EINTR) {
            return -1;
        }
        if (now_ms() >= until) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        sleep_us(1000);
    }
}

/* ------------------------------------------------------------------ one round of the driver */

/* What the driver read in one round. */
struct round {
    uint32_t status;
    uint32_t count;
    uint32_t fifo[FIFO_MAX + 1]; /* one more: a sentinel in32s must not reach */
    int fifo_ok;                 /* in32s returned fifo + count and left the sentinel */
};

/* The driver's service of one interrupt: status, ACK, FIFO (in that order, as a driver that
 * acknowledges early), then unmask. */
static void serve_round(uintptr_t regs, long i, struct round *r, int level, int id) {
    r->status = in32(regs + REG_STATUS);
    r->count = in32(regs + REG_COUNT);
    out32(regs + REG_ACK, ack_of(i));
    for (int k = 0; k <= FIFO_MAX; k++) {
        r->fifo[k] = 0xdeadbeefu;
    }
    unsigned n = r->count <= FIFO_MAX ? r->count : FIFO_MAX;
    void *end = in32s(r->fifo, n, regs + REG_FIFO);
    r->fifo_ok = end == (void *)(r->fifo + n) && r->fifo[n] == 0xdeadbeefu;
    for (unsigned k = 0; k < n; k++) {
        if (r->fifo[k] != fifo_of(i)) {
            r->fifo_ok = 0;
        }
    }
    /* Drained (a real FIFO counts down as it is read; this memory says so by hand). */
    out32(regs + REG_COUNT, 0);
    if (InterruptUnmask(level, id) == -1) {
        r->fifo_ok = 0;
    }
}

/* The device's side of one round: the data, the status, the raise; then the ACK awaited, and
 * the FIFO drained (count 0) before the next round's data. Returns what the raise returned (1
 * delivered, 0 latched), or -1 (the raise failed), -2 (no ACK), -3 (never drained). */
static int device_round(uintptr_t dev, long i, int level) {
    out32(dev + REG_FIFO, fifo_of(i));
    out32(dev + REG_COUNT, count_of(i));
    out32(dev + REG_STATUS, status_of(i));
    int r = qnxsim_interrupt_raise(level);
    if (r < 0) {
        return -1;
    }
    if (!reg_becomes(dev + REG_ACK, ack_of(i), LONG_MS)) {
        return -2;
    }
    if (!reg_becomes(dev + REG_COUNT, 0, LONG_MS)) {
        return -3;
    }
    return r;
}

/* ------------------------------------------------------------------ the driver and the device */

#define DRV_LEVEL 12
#define DRV_N 100

struct device_state {
    uintptr_t regs;       /* the device's own mapping */
    volatile long rounds; /* rounds whose ACK the device saw */
    volatile long raised_now, raised_latched, failed;
};

static void *device_thread(void *arg) {
    struct device_state *s = (struct device_state *)arg;
    s->regs = map_regs(REGS_PHYS, REGS_LEN);
    if (s->regs == 0) {
        s->failed++;
        return NULL;
    }
    out32(s->regs + REG_ID, DEV_ID);
    for (long i = 1; i <= DRV_N; i++) {
        int r = device_round(s->regs, i, DRV_LEVEL);
        if (r == 1) {
            s->raised_now++;
        } else if (r == 0) {
            s->raised_latched++;
        } else {
            s->failed++;
            break;
        }
        s->rounds = i;
    }
    return NULL;
}

static void test_driver_and_device_threads(void) {
    uintptr_t regs = map_regs(REGS_PHYS, REGS_LEN);
    CHECK(regs != 0, "the driver maps its register block (PROT_NOCACHE)");
    if (regs == 0) {
        return;
    }
    CHECK((regs & 0xfff) == 0, "a page-aligned physical address maps at a page-aligned address");
    struct sigevent ev = intr_event();
    int id = InterruptAttachEvent(DRV_LEVEL, &ev, 0);
    CHECK(id > 0, "InterruptAttachEvent(SIGEV_INTR)");
    struct device_state s;
    memset(&s, 0, sizeof s);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, device_thread, &s) == 0, "the device thread starts");
    int woken = 0, status_ok = 0, count_ok = 0, fifo_ok = 0;
    for (long i = 1; i <= DRV_N; i++) {
        if (wait_within(LONG_MS) != 0) {
            printf("round %ld: InterruptWait failed (errno %d)\n", i, errno);
            break;
        }
        woken++;
        struct round r;
        serve_round(regs, i, &r, DRV_LEVEL, id);
        status_ok += r.status == status_of(i);
        count_ok += r.count == count_of(i);
        fifo_ok += r.fifo_ok;
    }
    pthread_join(t, NULL);
    CHECK(s.regs != 0 && s.regs != regs,
          "the device's own mapping: another virtual address for the same registers");
    CHECK(in32(regs + REG_ID) == DEV_ID, "the driver reads the ID the device wrote");
    CHECK(woken == DRV_N, "the driver was woken once per interrupt");
    CHECK(status_ok == DRV_N, "in32: every round's status as the device wrote it");
    CHECK(count_ok == DRV_N, "in32: every round's FIFO count");
    CHECK(fifo_ok == DRV_N, "in32s: every round's FIFO words, the count of them, nothing past");
    CHECK(s.rounds == DRV_N && s.failed == 0, "the device saw every ACK the driver wrote");
    CHECK(s.raised_now + s.raised_latched == DRV_N, "every raise delivered or latched");
    CHECK(in32(s.regs + REG_ACK) == ack_of(DRV_N), "the last ACK, through the device's mapping");
    CHECK(InterruptDetach(id) == 0, "InterruptDetach");
    CHECK(munmap_device_memory((void *)s.regs, REGS_LEN) == 0, "the device unmaps");
    CHECK(munmap_device_memory((void *)regs, REGS_LEN) == 0, "the driver unmaps");
}

/* ------------------------------------------------------------------ I/O ports: a UART */

#define UART 0x3f8
#define UART_RBR 0
#define UART_DLL 0
#define UART_DLM 1
#define UART_LCR 3
#define UART_LSR 5
#define UART_SCR 7

static void test_uart_ports(void) {
    uintptr_t io = mmap_device_io(8, UART);
    uintptr_t dev = mmap_device_io(8, UART);
    CHECK(io != MAP_DEVICE_FAILED && io != 0, "mmap_device_io(8, 0x3f8)");
    CHECK(dev != MAP_DEVICE_FAILED && dev != io, "a second view of the same ports");
    if (io == MAP_DEVICE_FAILED || dev == MAP_DEVICE_FAILED) {
        return;
    }
    /* The driver programs the baud rate divisor (DLAB) and 8N1. */
    out8(io + UART_LCR, 0x80);
    out8(io + UART_DLL, 0x0c);
    out8(io + UART_DLM, 0x00);
    CHECK(in8(dev + UART_LCR) == 0x80 && in8(dev + UART_DLL) == 0x0c,
          "the device sees the divisor latch set and the divisor");
    out8(io + UART_LCR, 0x03);
    CHECK(in8(dev + UART_LCR) == 0x03, "the device sees the line control 8N1");
    /* The device receives a byte. */
    out8(dev + UART_RBR, 'Q');
    out8(dev + UART_LSR, 0x61);
    CHECK((in8(io + UART_LSR) & 0x01) != 0, "the driver reads data ready in the LSR");
    CHECK(in8(io + UART_RBR) == 'Q', "the driver reads the byte in the RBR");
    /* A mapping of one port: port + 0 is that port. */
    uintptr_t lsr = mmap_device_io(1, UART + UART_LSR);
    CHECK(lsr != MAP_DEVICE_FAILED && in8(lsr) == 0x61, "mmap_device_io(1, 0x3fd) is the LSR");
    CHECK(lsr == MAP_DEVICE_FAILED || munmap_device_io(lsr, 1) == 0, "munmap_device_io(LSR)");
    /* Ports are not physical memory: physical 0x3f8 is another byte. */
    uintptr_t mem = map_regs(UART, 8);
    CHECK(mem != 0 && in8(mem + UART_RBR) == 0, "physical 0x3f8 is not port 0x3f8");
    if (mem != 0) {
        out8(mem + UART_RBR, 0x77);
        CHECK(in8(io + UART_RBR) == 'Q', "a write to physical 0x3f8 leaves port 0x3f8 alone");
        CHECK(munmap_device_memory((void *)mem, 8) == 0, "unmap physical 0x3f8");
    }
    /* 16-bit access to ports: the divisor as a word. */
    out16(io + UART_DLL, 0x0180);
    CHECK(in8(dev + UART_DLL) == 0x80 && in8(dev + UART_DLM) == 0x01, "out16 on two ports");
    CHECK(in16(dev + UART_DLL) == 0x0180, "in16 on two ports");

    /* The last port. */
    uintptr_t last = mmap_device_io(1, 0xffff);
    uintptr_t two = mmap_device_io(2, 0xfffe);
    CHECK(last != MAP_DEVICE_FAILED && two != MAP_DEVICE_FAILED, "ports 0xfffe and 0xffff map");
    if (last != MAP_DEVICE_FAILED && two != MAP_DEVICE_FAILED) {
        out8(last, 0x5a);
        CHECK(in8(two + 1) == 0x5a, "port 0xffff through both mappings");
        CHECK(munmap_device_io(last, 1) == 0 && munmap_device_io(two, 2) == 0,
              "unmap the last ports");
    }
    CHECK(munmap_device_io(dev, 8) == 0, "munmap_device_io(dev)");
    CHECK(munmap_device_io(io, 8) == 0, "munmap_device_io(io)");
}

/* ------------------------------------------------------------------ the string forms */

static void test_string_forms(void) {
    uintptr_t io = mmap_device_io(8, UART);
    uintptr_t dev = mmap_device_io(8, UART);
    CHECK(io != MAP_DEVICE_FAILED && dev != MAP_DEVICE_FAILED, "map the UART twice");
    if (io == MAP_DEVICE_FAILED || dev == MAP_DEVICE_FAILED) {
        return;
    }
    /* out8s writes len bytes, in order, to one port: the last one stays in the register. */
    const uint8_t text[6] = {'h', 'e', 'l', 'L', 'o', '!'};
    out8(dev + UART_SCR, 0);
    out8s(text, 5, io + UART_SCR);
    CHECK(in8(dev + UART_SCR) == 'o', "out8s(5) wrote the 5th byte last, not the 6th");
    out8s(text, 0, io + UART_SCR);
    CHECK(in8(dev + UART_SCR) == 'o', "out8s(0) writes nothing");
    out8s(text, 1, io + UART_SCR);
    CHECK(in8(dev + UART_SCR) == 'h', "out8s(1) wrote the 1st byte");

    /* in8s reads len bytes from one port into buff, returns buff + len. */
    uint8_t buf[8];
    memset(buf, 0xee, sizeof buf);
    out8(dev + UART_SCR, 'Z');
    void *end = in8s(buf, 3, io + UART_SCR);
    CHECK(end == (void *)(buf + 3), "in8s(3) returns buff + 3");
    CHECK(buf[0] == 'Z' && buf[1] == 'Z' && buf[2] == 'Z' && buf[3] == 0xee,
          "in8s(3) read 3 bytes and no more");
    CHECK(in8s(buf, 0, io + UART_SCR) == (void *)buf && buf[0] == 'Z', "in8s(0) reads nothing");

    uintptr_t mem = map_regs(0xfe240000ULL, 0x100);
    CHECK(mem != 0, "map a block for the 16/32-bit forms");
    if (mem != 0) {
        const uint16_t w[3] = {0x1111, 0x2222, 0x3333};
        const uint32_t l[3] = {0x11111111u, 0x22222222u, 0x33333333u};
        out16s(w, 2, mem);
        out32s(l, 2, mem + 4);
        CHECK(in16(mem) == 0x2222 && in32(mem + 4) == 0x22222222u,
              "out16s(2)/out32s(2) wrote their 2nd word last");
        uint16_t w2[4] = {0, 0, 0, 0xeeee};
        uint32_t l2[4] = {0, 0, 0, 0xeeeeeeeeu};
        CHECK(in16s(w2, 3, mem) == (void *)(w2 + 3), "in16s(3) returns buff + 3 words");
        CHECK(w2[0] == 0x2222 && w2[2] == 0x2222 && w2[3] == 0xeeee, "in16s(3): 3 words read");
        CHECK(in32s(l2, 3, mem + 4) == (void *)(l2 + 3), "in32s(3) returns buff + 3 words");
        CHECK(l2[0] == 0x22222222u && l2[2] == 0x22222222u && l2[3] == 0xeeeeeeeeu,
              "in32s(3): 3 words read");
        CHECK(munmap_device_memory((void *)mem, 0x100) == 0, "unmap");
    }
    CHECK(munmap_device_io(dev, 8) == 0 && munmap_device_io(io, 8) == 0, "unmap the UART");
}

/* ------------------------------------------------------------------ byte order */

static void test_byte_order(void) {
    uintptr_t m = map_regs(0xfe210000ULL, 0x40);
    CHECK(m != 0, "map a block for the byte order");
    if (m == 0) {
        return;
    }
    out8(m + 0, 0x11);
    out8(m + 1, 0x22);
    out8(m + 2, 0x33);
    out8(m + 3, 0x44);
    CHECK(inle32(m) == 0x44332211u, "inle32 of bytes 11 22 33 44");
    CHECK(inbe32(m) == 0x11223344u, "inbe32 of bytes 11 22 33 44");
    CHECK(inle16(m) == 0x2211 && inle16(m + 2) == 0x4433, "inle16 of bytes 11 22, 33 44");
    CHECK(inbe16(m) == 0x1122 && inbe16(m + 2) == 0x3344, "inbe16 of bytes 11 22, 33 44");

    outbe32(m + 8, 0xa1b2c3d4u);
    CHECK(in8(m + 8) == 0xa1 && in8(m + 9) == 0xb2 && in8(m + 10) == 0xc3 && in8(m + 11) == 0xd4,
          "outbe32 stores a1 b2 c3 d4");
    outle32(m + 12, 0xa1b2c3d4u);
    CHECK(in8(m + 12) == 0xd4 && in8(m + 13) == 0xc3 && in8(m + 14) == 0xb2 &&
              in8(m + 15) == 0xa1,
          "outle32 stores d4 c3 b2 a1");
    outbe16(m + 16, 0x1234);
    CHECK(in8(m + 16) == 0x12 && in8(m + 17) == 0x34, "outbe16 stores 12 34");
    outle16(m + 18, 0x1234);
    CHECK(in8(m + 18) == 0x34 && in8(m + 19) == 0x12, "outle16 stores 34 12");
    CHECK(inbe32(m + 8) == 0xa1b2c3d4u && inle32(m + 12) == 0xa1b2c3d4u, "round trips, 32");
    CHECK(inbe16(m + 16) == 0x1234 && inle16(m + 18) == 0x1234, "round trips, 16");

    out64(m + 24, 0x0102030405060708ULL);
    CHECK(in64(m + 24) == 0x0102030405060708ULL, "out64/in64");
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    CHECK(in8(m + 24) == 0x08 && in8(m + 31) == 0x01, "out64 stores in the CPU's order (LE)");
    CHECK(in32(m) == inle32(m) && in16(m) == inle16(m), "in32/in16 are the LE forms here");
#else
    CHECK(in8(m + 24) == 0x01 && in8(m + 31) == 0x08, "out64 stores in the CPU's order (BE)");
    CHECK(in32(m) == inbe32(m) && in16(m) == inbe16(m), "in32/in16 are the BE forms here");
#endif
    CHECK(munmap_device_memory((void *)m, 0x40) == 0, "unmap");
}

/* ------------------------------------------------------------------ offsets and overlaps */

static void test_sub_page_offsets(void) {
    uintptr_t page = map_regs(0xfe220000ULL, 0x1000);
    uintptr_t next = map_regs(0xfe221000ULL, 0x1000);
    CHECK(page != 0 && next != 0, "map two pages apart");
    if (page == 0 || next == 0) {
        return;
    }
    out32(page + 0xabc, 0x0abc0abcu);
    uintptr_t sub = map_regs(0xfe220abcULL, 8);
    CHECK(sub != 0, "mmap_device_memory of a physical address not page aligned");
    if (sub != 0) {
        CHECK((sub & 0xfff) == 0xabc, "the pointer has the physical address's page offset");
        CHECK(in32(sub) == 0x0abc0abcu, "and points at that byte");
        out32(sub + 4, 0x12345678u);
        CHECK(in32(page + 0xac0) == 0x12345678u, "a write through it lands at physical + 4");
        CHECK(munmap_device_memory((void *)sub, 8) == 0, "unmap the sub-page mapping");
    }
    uintptr_t odd = map_regs(0xfe220001ULL, 3);
    CHECK(odd != 0 && (odd & 0xfff) == 1, "an odd physical address, 3 bytes");
    if (odd != 0) {
        out8(page + 1, 0xab);
        out8(page + 3, 0xcd);
        CHECK(in8(odd) == 0xab && in8(odd + 2) == 0xcd, "it reads the bytes at physical 1..3");
        CHECK(munmap_device_memory((void *)odd, 3) == 0, "unmap it");
    }
    /* Straddling the page boundary: the last word of one page, the first of the next. */
    uintptr_t across = map_regs(0xfe220ffcULL, 8);
    CHECK(across != 0, "a mapping across a page boundary");
    if (across != 0) {
        out32(across, 0xaaaa5555u);
        out32(across + 4, 0x5555aaaau);
        CHECK(in32(page + 0xffc) == 0xaaaa5555u, "its first word is the first page's last");
        CHECK(in32(next) == 0x5555aaaau, "its second word is the next page's first");
        CHECK(munmap_device_memory((void *)across, 8) == 0, "unmap it");
    }
    CHECK(munmap_device_memory((void *)page, 0x1000) == 0, "unmap");
    CHECK(munmap_device_memory((void *)next, 0x1000) == 0, "unmap");
}

static void test_overlapping_ranges(void) {
    uintptr_t a = map_regs(0xfe230000ULL, 0x3000);
    uintptr_t b = map_regs(0xfe231000ULL, 0x1000);
    uintptr_t c = map_regs(0xfe230800ULL, 0x1000);
    CHECK(a != 0 && b != 0 && c != 0, "three overlapping ranges");
    if (a == 0 || b == 0 || c == 0) {
        return;
    }
    CHECK(a != b && b != c && a != c, "three mappings");
    out32(b + 0x10, 0xb0b0b0b0u);
    CHECK(in32(a + 0x1010) == 0xb0b0b0b0u, "a sees b's write at the same physical address");
    CHECK(in32(c + 0x810) == 0xb0b0b0b0u, "c sees it too");
    out32(c + 0x7fc, 0xc0c0c0c0u); /* physical 0xfe230ffc */
    CHECK(in32(a + 0xffc) == 0xc0c0c0c0u, "a sees c's write");
    out32(a + 0x2ffc, 0xa0a0a0a0u);
    CHECK(in32(a + 0x2ffc) == 0xa0a0a0a0u, "a's last word");
    CHECK(munmap_device_memory((void *)a, 0x3000) == 0 &&
              munmap_device_memory((void *)b, 0x1000) == 0 &&
              munmap_device_memory((void *)c, 0x1000) == 0,
          "unmap the three");
}

static void test_contents_persist(void) {
    uintptr_t m = map_regs(0xfe250000ULL, 0x2000);
    CHECK(m != 0, "map");
    if (m == 0) {
        return;
    }
    for (uint32_t k = 0; k < 0x2000 / 4; k++) {
        out32(m + 4 * k, 0x50000000u + k);
    }
    CHECK(munmap_device_memory((void *)m, 0x2000) == 0, "unmap");
    uintptr_t again = map_regs(0xfe250000ULL, 0x2000);
    CHECK(again != 0, "map again");
    if (again == 0) {
        return;
    }
    int same = 0;
    for (uint32_t k = 0; k < 0x2000 / 4; k++) {
        same += in32(again + 4 * k) == 0x50000000u + k;
    }
    CHECK(same == 0x2000 / 4, "munmap then map again: every word as written");
    CHECK(munmap_device_memory((void *)again, 0x2000) == 0, "unmap again");
}

static void test_protections(void) {
    uintptr_t rw = map_regs(0xfe260000ULL, 0x1000);
    void *ro = mmap_device_memory(NULL, 0x1000, PROT_READ, 0, 0xfe260000ULL);
    void *x = mmap_device_memory(NULL, 0x1000, PROT_READ | PROT_EXEC | PROT_NOCACHE, 0,
                                 0xfe260000ULL);
    CHECK(rw != 0 && ro != MAP_FAILED && x != MAP_FAILED,
          "PROT_READ alone, and with PROT_EXEC|PROT_NOCACHE, map");
    if (rw == 0 || ro == MAP_FAILED || x == MAP_FAILED) {
        return;
    }
    out32(rw + 0x20, 0x0badcafeu);
    CHECK(in32((uintptr_t)ro + 0x20) == 0x0badcafeu, "a read-only mapping reads the register");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        out32((uintptr_t)ro + 0x20, 1); /* faults: not writable */
        _exit(0);
    }
    CHECK(pid > 0, "fork");
    if (pid > 0) {
        int st = reap_within(pid, LONG_MS);
        CHECK(st != -1 && WIFSIGNALED(st) && (WTERMSIG(st) == SIGSEGV || WTERMSIG(st) == SIGBUS),
              "a write through a PROT_READ mapping faults");
    }
    CHECK(in32(rw + 0x20) == 0x0badcafeu, "and wrote nothing");
    CHECK(munmap_device_memory(ro, 0x1000) == 0 && munmap_device_memory(x, 0x1000) == 0 &&
              munmap_device_memory((void *)rw, 0x1000) == 0,
          "unmap");
}

/* ------------------------------------------------------------------ errors */

#define TIB (1ULL << 40)

/* mmap_device_memory failed with MAP_FAILED and errno e. */
static int map_fails(size_t len, int prot, int flags, uint64_t phys, int e) {
    errno = 0;
    void *p = mmap_device_memory(NULL, len, prot, flags, phys);
    return p == MAP_FAILED && errno == e;
}

static int io_fails(size_t len, uint64_t port, int e) {
    errno = 0;
    uintptr_t p = mmap_device_io(len, port);
    return p == MAP_DEVICE_FAILED && errno == e;
}

static void test_errors(void) {
    const int rw = PROT_READ | PROT_WRITE | PROT_NOCACHE;
    CHECK(map_fails(0, rw, 0, REGS_PHYS, EINVAL), "len 0: MAP_FAILED, EINVAL");
    CHECK(map_fails(0x1000, rw, 0, TIB, EINVAL), "physical at 1 TiB: EINVAL");
    CHECK(map_fails(0x1001, rw, 0, TIB - 0x1000, EINVAL), "physical + len past 1 TiB: EINVAL");
    CHECK(map_fails(1, rw, 0, TIB + 0x10000, EINVAL),
          "past 1 TiB, into where the ports lie: EINVAL");
    CHECK(map_fails(0x1000, rw, 0, UINT64_MAX - 0xfff, EINVAL), "physical near UINT64_MAX");
    CHECK(map_fails(2, rw, 0, UINT64_MAX, EINVAL), "physical + len overflows: EINVAL");
    CHECK(map_fails(SIZE_MAX, rw, 0, 0x1000, EINVAL), "len SIZE_MAX overflows: EINVAL");
    CHECK(map_fails(0x1000, rw, MAP_FIXED, REGS_PHYS, EINVAL), "MAP_FIXED: EINVAL");
    errno = 0;
    CHECK(mmap_device_memory((void *)0x7f0000000000ULL, 0x1000, rw, MAP_FIXED, REGS_PHYS) ==
                  MAP_FAILED &&
              errno == EINVAL,
          "MAP_FIXED with an address: EINVAL");
    CHECK(map_fails(0x1000, rw | 0x10000, 0, REGS_PHYS, EINVAL), "unknown prot bit: EINVAL");
    CHECK(map_fails(0x1000, (int)0x80000000u | PROT_READ, 0, REGS_PHYS, EINVAL),
          "prot's sign bit: EINVAL");

    /* The last page below 1 TiB is there. */
    errno = 1234;
    void *top = mmap_device_memory(NULL, 0x1000, rw, 0, TIB - 0x1000);
    CHECK(top != MAP_FAILED && errno == 1234, "the last page below 1 TiB maps, errno untouched");
    if (top != MAP_FAILED) {
        out32((uintptr_t)top + 0xffc, 0x70707070u);
        CHECK(in32((uintptr_t)top + 0xffc) == 0x70707070u, "its last word");
        errno = 1234;
        CHECK(munmap_device_memory(top, 0x1000) == 0 && errno == 1234,
              "munmap_device_memory: 0, errno untouched");
    }
    errno = 1234;
    void *zero = mmap_device_memory(NULL, 1, PROT_READ, 0, 0);
    CHECK(zero != MAP_FAILED && errno == 1234, "physical 0, 1 byte, maps; errno untouched");
    CHECK(zero == MAP_FAILED || munmap_device_memory(zero, 1) == 0, "unmap it");

    CHECK(io_fails(0, UART, EINVAL), "mmap_device_io(0, port): MAP_DEVICE_FAILED, EINVAL");
    CHECK(io_fails(2, 0xffff, EINVAL), "mmap_device_io past port 65535: EINVAL");
    CHECK(io_fails(1, 0x10000, EINVAL), "mmap_device_io of port 65536: EINVAL");
    CHECK(io_fails(0x10001, 0, EINVAL), "mmap_device_io of 65537 ports: EINVAL");
    CHECK(io_fails(2, UINT64_MAX, EINVAL), "mmap_device_io: port + len overflows: EINVAL");
    errno = 1234;
    uintptr_t all = mmap_device_io(0x10000, 0);
    CHECK(all != MAP_DEVICE_FAILED && errno == 1234, "all 65536 ports map, errno untouched");
    if (all != MAP_DEVICE_FAILED) {
        errno = 1234;
        CHECK(munmap_device_io(all, 0x10000) == 0 && errno == 1234,
              "munmap_device_io: 0, errno untouched");
    }

    errno = 0;
    CHECK(munmap_device_memory(NULL, 0x1000) == -1 && errno == EINVAL,
          "munmap_device_memory(NULL): -1, EINVAL");
    uintptr_t m = map_regs(REGS_PHYS, REGS_LEN);
    CHECK(m != 0, "map for the munmap errors");
    if (m != 0) {
        errno = 0;
        CHECK(munmap_device_memory((void *)m, 0) == -1 && errno == EINVAL,
              "munmap_device_memory(p, 0): -1, EINVAL");
        CHECK(munmap_device_memory((void *)m, REGS_LEN) == 0, "then unmap it");
    }
    errno = 0;
    CHECK(munmap_device_io(0, 8) == -1 && errno == EINVAL, "munmap_device_io(0): -1, EINVAL");
    uintptr_t io = mmap_device_io(8, UART);
    CHECK(io != MAP_DEVICE_FAILED, "map ports for the munmap errors");
    if (io != MAP_DEVICE_FAILED) {
        errno = 0;
        CHECK(munmap_device_io(io, 0) == -1 && errno == EINVAL,
              "munmap_device_io(io, 0): -1, EINVAL");
        CHECK(munmap_device_io(io, 8) == 0, "then unmap them");
    }

    /* errno untouched by each call that succeeds. */
    errno = 4321;
    void *p = mmap_device_memory(NULL, 0x1000, rw, 0, REGS_PHYS);
    CHECK(p != MAP_FAILED && errno == 4321, "mmap_device_memory: errno untouched");
    errno = 4321;
    CHECK(p == MAP_FAILED || (munmap_device_memory(p, 0x1000) == 0 && errno == 4321),
          "munmap_device_memory: errno untouched");
    errno = 4321;
    uintptr_t q = mmap_device_io(8, UART);
    CHECK(q != MAP_DEVICE_FAILED && errno == 4321, "mmap_device_io: errno untouched");
    errno = 4321;
    CHECK(q == MAP_DEVICE_FAILED || (munmap_device_io(q, 8) == 0 && errno == 4321),
          "munmap_device_io: errno untouched");
}

/* ------------------------------------------------------------------ fork */

#define FORK_PHYS 0xfe270000ULL

static void test_forked_child_shares(void) {
    uintptr_t m = map_regs(FORK_PHYS, 0x1000);
    CHECK(m != 0, "the parent maps");
    if (m == 0) {
        return;
    }
    out32(m + 0x00, 0x9a7e9a7eu);
    out32(m + 0x04, 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* The child: its own mapping of the same physical address. */
        uintptr_t c = map_regs(FORK_PHYS, 0x1000);
        int code = 0;
        if (c == 0 || c == m) {
            code |= 1;
        } else if (in32(c) != 0x9a7e9a7eu) {
            code |= 2; /* the parent's write is not there */
        } else {
            out32(c + 0x04, 0xc41dc41du);
            if (!reg_becomes(c + 0x08, 0x9a7e0002u, LONG_MS)) {
                code |= 4; /* the parent's answer never came */
            }
        }
        _exit(code);
    }
    CHECK(pid > 0, "fork");
    if (pid < 0) {
        return;
    }
    int saw = reg_becomes(m + 0x04, 0xc41dc41du, LONG_MS);
    CHECK(saw, "the parent sees the child's write through its own mapping");
    out32(m + 0x08, 0x9a7e0002u);
    int st = reap_within(pid, LONG_MS);
    CHECK(st != -1 && WIFEXITED(st), "the child ends");
    CHECK(st != -1 && WIFEXITED(st) && (WEXITSTATUS(st) & 1) == 0,
          "the child maps the same physical address");
    CHECK(st != -1 && WIFEXITED(st) && (WEXITSTATUS(st) & 2) == 0,
          "the child's mapping sees the parent's write (the physical memory is inherited)");
    CHECK(st != -1 && WIFEXITED(st) && (WEXITSTATUS(st) & 4) == 0,
          "the child sees the parent's answer");
    CHECK(munmap_device_memory((void *)m, 0x1000) == 0, "unmap");
}

/* Forks before any device call: does the child's physical memory still meet the parent's? */
static int role_fork_first(void) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        uintptr_t c = map_regs(FORK_PHYS, 0x1000);
        if (c == 0) {
            _exit(1);
        }
        out32(c, 0xc41dc41du);
        _exit(0);
    }
    CHECK(pid > 0, "fork");
    if (pid < 0) {
        return SUMMARY();
    }
    uintptr_t m = map_regs(FORK_PHYS, 0x1000);
    CHECK(m != 0, "the parent maps");
    int st = reap_within(pid, LONG_MS);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child mapped and wrote");
    int shared = m != 0 && reg_becomes(m, 0xc41dc41du, 500);
    printf("shared %d\n", shared);
    return SUMMARY();
}

/* ------------------------------------------------------------------ roles across programs */

static int role_driver(int level, long n) {
    uintptr_t regs = map_regs(REGS_PHYS, REGS_LEN);
    CHECK(regs != 0, "the driver maps its registers");
    struct sigevent ev = intr_event();
    int id = InterruptAttachEvent(level, &ev, 0);
    CHECK(id > 0, "the driver attaches");
    printf("ready %d %d\n", (int)getpid(), id);
    fflush(stdout);
    if (regs == 0 || id <= 0) {
        return SUMMARY();
    }
    for (long i = 1; i <= n; i++) {
        int w = wait_within(LONG_MS);
        CHECK(w == 0, "the driver's InterruptWait");
        if (w != 0) {
            break;
        }
        struct round r;
        serve_round(regs, i, &r, level, id);
        CHECK(r.status == status_of(i), "the status the device program wrote");
        CHECK(r.count == count_of(i), "the FIFO count the device program wrote");
        CHECK(r.fifo_ok, "the FIFO words the device program wrote");
        printf("irq %ld %08x %08x\n", i, (unsigned)r.status, (unsigned)r.fifo[0]);
        fflush(stdout);
    }
    CHECK(in32(regs + REG_ID) == DEV_ID, "the device program's ID register");
    CHECK(InterruptDetach(id) == 0, "the driver detaches");
    printf("done\n");
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin) != NULL && strncmp(line, "quit", 4) != 0) {
    }
    CHECK(munmap_device_memory((void *)regs, REGS_LEN) == 0, "the driver unmaps");
    return SUMMARY();
}

static int role_device(int level, long n) {
    uintptr_t dev = map_regs(REGS_PHYS, REGS_LEN);
    CHECK(dev != 0, "the device maps the registers");
    if (dev == 0) {
        return SUMMARY();
    }
    out32(dev + REG_ID, DEV_ID);
    long acked = 0, bad = 0;
    for (long i = 1; i <= n; i++) {
        int r = device_round(dev, i, level);
        if (r < 0) {
            printf("round %ld: %s (errno %d)\n", i,
                   r == -1 ? "raise failed" : r == -2 ? "no ACK" : "FIFO never drained", errno);
            bad++;
            break;
        }
        acked++;
    }
    CHECK(bad == 0 && acked == n, "the device saw the driver's ACK of every round");
    CHECK(munmap_device_memory((void *)dev, REGS_LEN) == 0, "the device unmaps");
    return SUMMARY();
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "driver") == 0) {
        return role_driver(atoi(argv[2]), atol(argv[3]));
    }
    if (argc == 4 && strcmp(argv[1], "device") == 0) {
        return role_device(atoi(argv[2]), atol(argv[3]));
    }
    if (argc == 2 && strcmp(argv[1], "fork-first") == 0) {
        return role_fork_first();
    }
    if (argc != 1) {
        fprintf(stderr, "usage: %s [driver LEVEL N | device LEVEL N | fork-first]\n", argv[0]);
        return 2;
    }
    test_driver_and_device_threads();
    test_uart_ports();
    test_string_forms();
    test_byte_order();
    test_sub_page_offsets();
    test_overlapping_ranges();
    test_contents_persist();
    test_protections();
    test_errors();
    test_forked_child_shares();
    return SUMMARY();
}
