/*
 * review_exec_spawn_hdr.c: <process.h> beside the system's <spawn.h>, <unistd.h> and
 * <sys/wait.h>, in the order HDR_ORDER picks (1: the system's first, 2: <process.h> first),
 * compiled with -pedantic as C99 and C++17 by procnto-sim/tests/review_exec_spawn.rs. Runs
 * every l form once (P_WAIT of /bin/true) and exits 0 if each gave 0.
 */
#if HDR_ORDER == 1
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <process.h>
#else
#include <process.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#endif
#include <stdio.h>

extern char **environ;

int main(void) {
    char *argv[] = {(char *)"true", NULL};
    pid_t pid;
    int st = 0, bad = 0;
    bad += spawnl(P_WAIT, "/bin/true", "true", (char *)NULL) != 0;
    bad += spawnle(P_WAIT, "/bin/true", "true", (char *)NULL, environ) != 0;
    bad += spawnlp(P_WAIT, "true", "true", (char *)NULL) != 0;
    bad += spawnlpe(P_WAIT, "true", "true", (char *)NULL, environ) != 0;
    bad += spawnv(P_WAIT, "/bin/true", argv) != 0;
    bad += posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) != 0;
    bad += waitpid(pid, &st, 0) != pid || st != 0;
    printf("%d bad\n", bad);
    return bad;
}
