/* Creating descriptors inside a lab's network namespace (netns.c). */
#ifndef QOELAB_NETNS_H
#define QOELAB_NETNS_H

/* Runs make(arg) with this thread inside the network namespace at `path` and returns its result (an fd
 * or -errno), or -errno when the namespace cannot be entered. Aborts if it cannot come back. */
int in_netns(const char *path, int (*make)(void *arg), void *arg);

#endif
