/* A descriptor (TUN, socket) belongs to the namespace it was created in; setns changes only the calling
 * thread's namespace, so we go in, create it, and come straight back. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "netns.h"

int in_netns(const char *path, int (*make)(void *arg), void *arg) {
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) return -errno;
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int e = errno;
    close(self);
    return -e;
  }
  int fd;
  if (setns(target, CLONE_NEWNET) < 0) {
    fd = -errno;
  } else {
    fd = make(arg);
    if (setns(self, CLONE_NEWNET) < 0) {
      /* Staying in the lab's namespace would silently misroute everything this thread does later. */
      abort();
    }
  }
  close(target);
  close(self);
  return fd;
}
