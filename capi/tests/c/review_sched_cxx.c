/*
 * review_sched_cxx.c (compiled as C++17): the renamed scheduling calls from C++ code as
 * porters write it: ::pthread_setschedparam, its address kept in a std::function and a
 * function pointer, a variable named sched_param, and a std::thread's native_handle (made by
 * libstdc++'s own pthread_create, which the header does not rename): found once the thread
 * made a QNX call, ESRCH before (deviations.md).
 */
#ifndef __cplusplus
#error "compile as C++"
#endif
#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include <pthread.h>
#include <sched.h>
#include <sys/neutrino.h>
#include <process.h>

#include "check.h"

static void wait_for(const std::atomic<bool> &flag) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!flag.load() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

int main() {
    int sched_param = 25; /* a variable of that name: the struct is still `struct sched_param` */
    struct sched_param p {};
    p.sched_priority = sched_param;
    std::function<int(pthread_t, int, const struct sched_param *)> set = ::pthread_setschedparam;
    int (*get)(pthread_t, int *, struct sched_param *) = &::pthread_getschedparam;

    CHECK(ChannelCreate(0) >= 0, "the program has a kernel");
    CHECK(set(pthread_self(), SCHED_FIFO, &p) == 0, "through a std::function");
    int pol = -1;
    struct sched_param q {};
    CHECK(get(pthread_self(), &pol, &q) == 0 && pol == SCHED_FIFO && q.sched_priority == 25,
          "through a function pointer");

    /* A std::thread that makes a QNX call: then found by its native_handle. */
    std::atomic<bool> entered{false}, release{false};
    int seen = -1;
    std::thread worker([&] {
        (void)getprio(0);
        entered = true;
        wait_for(release);
        seen = getprio(0);
    });
    wait_for(entered);
    struct sched_param r {};
    r.sched_priority = 44;
    CHECK(::pthread_setschedparam(worker.native_handle(), SCHED_RR, &r) == 0,
          "a std::thread that entered the kernel is found by its native_handle");
    release = true;
    worker.join();
    CHECK(seen == 44, "it runs at the priority set");

    /* One that never entered: ESRCH, as deviations.md says. */
    std::atomic<bool> started{false}, go{false};
    std::thread quiet([&] {
        started = true;
        wait_for(go);
    });
    wait_for(started);
    CHECK(::pthread_setschedprio(quiet.native_handle(), 30) == ESRCH,
          "a std::thread that never entered the kernel: ESRCH");
    go = true;
    quiet.join();
    CHECK(getprio(0) == 25, "the caller untouched");
    return SUMMARY();
}
