/*
 * gate.h: a gate the C suites' message handlers wait at, to hold thread-pool threads busy
 * while a test looks at the pool: gate_pass() counts the caller inside and waits (at most
 * GATE_WAIT_S seconds) until the gate is open; set_gate() opens or closes it; gate_inside()
 * says how many wait. Open at the start if GATE_START is defined as 1 before the include.
 */
#ifndef QNXSIM_TEST_GATE_H
#define QNXSIM_TEST_GATE_H

#include <pthread.h>
#include <time.h>

#ifndef GATE_START
#define GATE_START 0
#endif
/* The bound on one wait at the gate. */
#define GATE_WAIT_S 20

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open = GATE_START;
static int gate_waiting;

/* How many threads wait at the gate now. */
static int gate_inside(void) {
    int n;
    pthread_mutex_lock(&gate_lock);
    n = gate_waiting;
    pthread_mutex_unlock(&gate_lock);
    return n;
}

/* Opens (1) or closes (0) the gate; opening lets every waiting thread through. */
static void set_gate(int open) {
    pthread_mutex_lock(&gate_lock);
    gate_open = open;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
}

/* Waits, counted inside, until the gate is open (or GATE_WAIT_S seconds have passed). */
static void gate_pass(void) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += GATE_WAIT_S;
    pthread_mutex_lock(&gate_lock);
    gate_waiting++;
    while (!gate_open) {
        if (pthread_cond_timedwait(&gate_cond, &gate_lock, &until) != 0) {
            break;
        }
    }
    gate_waiting--;
    pthread_mutex_unlock(&gate_lock);
}

#endif
