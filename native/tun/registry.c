/* Links release threads and readers of one TUN (the fd one writes and the other reads), in either
 * order of creation. */
#include <pthread.h>
#include <stddef.h>

#include "release.h"

#define REGISTRY_MAX 64
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
  int fd;
  struct sender *sender;
  reader_t *reader;
} registry[REGISTRY_MAX];

void registry_link(int fd, sender_t *s, reader_t *r) {
  pthread_mutex_lock(&registry_mu);
  int slot = -1, empty = -1;
  for (int i = 0; i < REGISTRY_MAX; i++) {
    if ((registry[i].sender || registry[i].reader) && registry[i].fd == fd) slot = i;
    else if (!registry[i].sender && !registry[i].reader && empty < 0) empty = i;
  }
  if (slot < 0) slot = empty;
  if (slot >= 0) {
    registry[slot].fd = fd;
    if (s) registry[slot].sender = s;
    if (r) registry[slot].reader = r;
    sender_t *ls = registry[slot].sender;
    if (ls) {
      pthread_mutex_lock(&ls->mu);
      ls->reader = registry[slot].reader;
      if (ls->running) sender_arm(ls, 1e-3); /* re-evaluate at once: poll the TUN from now on */
      pthread_mutex_unlock(&ls->mu);
    }
  }
  pthread_mutex_unlock(&registry_mu);
}

/* Removes a release thread or a reader; the other side of the link stays registered. */
void registry_unlink(sender_t *s, reader_t *r) {
  pthread_mutex_lock(&registry_mu);
  for (int i = 0; i < REGISTRY_MAX; i++) {
    if (s && registry[i].sender == s) registry[i].sender = NULL;
    if (r && registry[i].reader == r) {
      registry[i].reader = NULL;
      sender_t *ls = registry[i].sender;
      if (ls) {
        pthread_mutex_lock(&ls->mu);
        ls->reader = NULL;
        pthread_mutex_unlock(&ls->mu);
      }
    }
  }
  pthread_mutex_unlock(&registry_mu);
}

/* The reader's ring had filled (the release thread stopped polling the TUN): have it look again. */
void registry_poke(reader_t *r) {
  pthread_mutex_lock(&registry_mu);
  for (int i = 0; i < REGISTRY_MAX; i++) {
    sender_t *ls = registry[i].sender;
    if (registry[i].reader == r && ls) {
      pthread_mutex_lock(&ls->mu);
      if (ls->running) sender_arm(ls, 1e-3);
      pthread_mutex_unlock(&ls->mu);
    }
  }
  pthread_mutex_unlock(&registry_mu);
}
