/*
 * <process.h>: QNX's process-level additions (libqnxsim, QNX Neutrino on Linux):
 *
 * - gettid() is the calling thread's QNX tid in its simulated process (1, 2, ...), not
 *   Linux's.
 * - The spawn*() family: spawnl(), spawnle(), spawnlp(), spawnlpe(), spawnv(), spawnve(),
 *   spawnvp(), spawnvpe(), with the modes P_WAIT (returns the child's status as wait()
 *   reports it: WEXITSTATUS(r) is its exit code), P_NOWAIT (returns its pid), P_OVERLAY
 *   (exec: returns only on failure) and P_NOWAITO (returns its pid; it leaves no zombie).
 *   The children are made with posix_spawn (no fork()); -1 and errno on failure. The l forms
 *   are static inline functions here that collect their list (no bound on its length; ENOMEM
 *   if it cannot be held) and call the v forms.
 * - execlpe() (the l form of execvpe: spawnlpe with P_OVERLAY), _cmdname() (the program's
 *   path) and _cmdfd() (a descriptor on it).
 *
 * Written for this project from QNX's public documentation; not QNX's header.
 */
#ifndef _QNXSIM_PROCESS_H
#define _QNXSIM_PROCESS_H

/* A system header, as QNX's own are: a program's extra warnings (-Wcast-qual and the like)
 * are about the program, not about these definitions. */
#if defined(__GNUC__)
#pragma GCC system_header
#endif

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

int qnxsim_gettid(void);
#define gettid qnxsim_gettid

/* The spawn*() modes (QNX's values). */
#define P_WAIT 0
#define P_NOWAIT 1
#define P_OVERLAY 2
#define P_NOWAITO 3

int spawnv(int mode, const char *path, char *const argv[]);
int spawnve(int mode, const char *path, char *const argv[], char *const envp[]);
int spawnvp(int mode, const char *file, char *const argv[]);
int spawnvpe(int mode, const char *file, char *const argv[], char *const envp[]);

/*
 * The argument list arg0, ..., NULL of an l form as a malloc'ed vector (and, if envp is not
 * NULL, the environment that follows the list); NULL with errno ENOMEM if it cannot be held.
 * A NULL arg0 gives an empty vector, which the v form refuses (EINVAL).
 */
static inline char **qnxsim_spawn_argv_(const char *arg0, va_list ap, char *const **envp) {
    va_list count;
    size_t n = 0, i;
    char **argv;
    va_copy(count, ap);
    if (arg0 != NULL) {
        n = 1;
        while (va_arg(count, const char *) != NULL) {
            n++;
        }
    }
    va_end(count);
    argv = (char **)malloc((n + 1) * sizeof(char *));
    if (argv == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    if (arg0 != NULL) {
        argv[0] = (char *)arg0;
        for (i = 1; i < n; i++) {
            argv[i] = va_arg(ap, char *);
        }
        (void)va_arg(ap, const char *); /* the list's NULL */
    }
    argv[n] = NULL;
    if (envp != NULL) {
        *envp = va_arg(ap, char *const *);
    }
    return argv;
}

/* Calls the v form for an l form's vector and frees the vector (errno as the v form left it). */
static inline int qnxsim_spawn_list_(int mode, const char *path, char **argv, char *const *envp,
                                     int search) {
    int r, e;
    if (argv == NULL) {
        return -1;
    }
    r = search ? spawnvpe(mode, path, argv, envp) : spawnve(mode, path, argv, envp);
    e = errno;
    free(argv);
    errno = e;
    return r;
}

/* spawnl(mode, path, arg0, ..., NULL): spawnv() with the list as argv. */
static inline int spawnl(int mode, const char *path, const char *arg0, ...) {
    va_list ap;
    char **argv;
    va_start(ap, arg0);
    argv = qnxsim_spawn_argv_(arg0, ap, NULL);
    va_end(ap);
    return qnxsim_spawn_list_(mode, path, argv, NULL, 0);
}

/* spawnle(mode, path, arg0, ..., NULL, envp): spawnve() with the list as argv. */
static inline int spawnle(int mode, const char *path, const char *arg0, ...) {
    va_list ap;
    char **argv;
    char *const *envp = NULL;
    va_start(ap, arg0);
    argv = qnxsim_spawn_argv_(arg0, ap, &envp);
    va_end(ap);
    return qnxsim_spawn_list_(mode, path, argv, envp, 0);
}

/* spawnlp(mode, file, arg0, ..., NULL): spawnvp() with the list as argv. */
static inline int spawnlp(int mode, const char *file, const char *arg0, ...) {
    va_list ap;
    char **argv;
    va_start(ap, arg0);
    argv = qnxsim_spawn_argv_(arg0, ap, NULL);
    va_end(ap);
    return qnxsim_spawn_list_(mode, file, argv, NULL, 1);
}

/* spawnlpe(mode, file, arg0, ..., NULL, envp): spawnvpe() with the list as argv. */
static inline int spawnlpe(int mode, const char *file, const char *arg0, ...) {
    va_list ap;
    char **argv;
    char *const *envp = NULL;
    va_start(ap, arg0);
    argv = qnxsim_spawn_argv_(arg0, ap, &envp);
    va_end(ap);
    return qnxsim_spawn_list_(mode, file, argv, envp, 1);
}

/* execlpe(file, arg0, ..., NULL, envp): spawnlpe(P_OVERLAY, ...): replaces this program with
 * `file` (searched in PATH) run with the list and `envp`; returns (-1) only if that failed. */
static inline int execlpe(const char *file, const char *arg0, ...) {
    va_list ap;
    char **argv;
    char *const *envp = NULL;
    va_start(ap, arg0);
    argv = qnxsim_spawn_argv_(arg0, ap, &envp);
    va_end(ap);
    return qnxsim_spawn_list_(P_OVERLAY, file, argv, envp, 1);
}

/* _cmdname(buf): the path of the program this process runs, in buf (PATH_MAX bytes); returns
 * buf, or NULL with errno. _cmdfd(): a new read-only descriptor on it (the caller closes it),
 * or -1 with errno. */
char *_cmdname(char *buf);
int _cmdfd(void);

#ifdef __cplusplus
}
#endif

#endif
