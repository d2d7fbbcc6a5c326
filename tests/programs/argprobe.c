/* argprobe: what the argument-rule tests run in a container.
 *   argprobe work     opens an AF_INET and an AF_UNIX socket, forks, starts a thread (glibc:
 *                     clone3, or clone after ENOSYS) and queries the personality; prints
 *                     "worked" when all of that succeeded.
 *   argprobe refused  tries what a recorded `work` never did and prints "NAME ERRNO" for each
 *                     (0: it succeeded). Filter refusals answer ENOSYS (38), the profile's
 *                     default errno; nothing else here answers ENOSYS.
 * No kernel headers (a cross compiler may have taken them): numbers are spelled out. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/wait.h>
#include <unistd.h>

/* What <errno.h>, <sys/socket.h> and <sys/syscall.h> would give, without <asm/...>. */
extern int *__errno_location(void);
#define errno (*__errno_location())
int socket(int domain, int type, int protocol);
int unshare(int flags);
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_SEQPACKET 5
#if defined(__x86_64__)
#define NR_CLONE 56
#elif defined(__i386__)
#define NR_CLONE 120
#elif defined(__aarch64__)
#define NR_CLONE 220
#endif
#define NR_CLONE3 435
#define NEWUSER 0x10000000UL

static void *thread(void *arg) { return arg; }

static int work(void) {
  int inet = socket(AF_INET, SOCK_STREAM, 0), local = socket(AF_UNIX, SOCK_STREAM, 0);
  if (inet < 0 || local < 0) { perror("socket"); return 1; }
  close(inet);
  close(local);
  pid_t child = fork();
  if (child < 0) { perror("fork"); return 1; }
  if (child == 0) _exit(0);
  if (waitpid(child, 0, 0) != child) { perror("waitpid"); return 1; }
  pthread_t t;
  int e = pthread_create(&t, 0, thread, 0);
  if (e != 0) { fprintf(stderr, "pthread_create: %s\n", strerror(e)); return 1; }
  pthread_join(t, 0);
  if (personality(0xffffffff) < 0) { perror("personality"); return 1; }
  puts("worked");
  return 0;
}

/* Prints NAME and the errno of a result (0: it worked); reaps a child that was made. */
static void report(const char *name, long result) {
  int err = result < 0 ? errno : 0;
  if (result > 0 && strncmp(name, "clone", 5) == 0) waitpid((pid_t)result, 0, __WALL);
  if (result >= 0 && strncmp(name, "socket", 6) == 0) close((int)result);
  printf("%s %d\n", name, err);
}

struct clone_args_v0 {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static int refused(void) {
  report("socket-alg", socket(38, SOCK_SEQPACKET, 0));
  report("socket-vsock", socket(40, SOCK_STREAM, 0));
  report("socket-inet6", socket(AF_INET6, SOCK_STREAM, 0));
  fflush(stdout);
  long r = syscall(NR_CLONE, NEWUSER | SIGCHLD, 0, 0, 0, 0);
  if (r == 0) _exit(0);
  report("clone-newuser", r);
  struct clone_args_v0 args = {0};
  args.flags = NEWUSER;
  args.exit_signal = SIGCHLD;
  fflush(stdout);
  r = syscall(NR_CLONE3, &args, sizeof args);
  if (r == 0) _exit(0);
  report("clone3-newuser", r);
  report("personality-bsd", personality(0x0006));
  report("unshare-newuser", unshare(NEWUSER));
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "work") == 0) return work();
  if (argc == 2 && strcmp(argv[1], "refused") == 0) return refused();
  fprintf(stderr, "usage: argprobe work|refused\n");
  return 2;
}
