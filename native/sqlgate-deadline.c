/*
 * sqlgate-deadline: a statement deadline inside SQLite, loaded into every connection of the gateway's
 * SQLite workers (src/backend/sqlite/sqlite-deadline.ts). better-sqlite3 exposes no sqlite3_interrupt() and
 * is built with SQLITE_OMIT_PROGRESS_CALLBACK, and terminating a worker thread does not stop a statement
 * busy in one long step (an aggregate over an endless WITH RECURSIVE): V8 can only stop the thread once it
 * runs JavaScript again. This extension gives each connection a watchdog thread that calls
 * sqlite3_interrupt() (safe from any thread) when the deadline armed by `SELECT sqlgate_deadline(ms)`
 * passes; the statement then fails with SQLITE_INTERRUPT and the connection stays usable.
 *
 * sqlgate_deadline(ms): ms > 0 arms the deadline at now + ms (monotonic clock); 0 disarms it. Returns ms.
 * The watchdog ends when the connection closes (the function's destructor).
 * @see https://www.sqlite.org/c3ref/interrupt.html
 */
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1
#include <pthread.h>
#include <time.h>

typedef struct {
  sqlite3 *db;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  struct timespec deadline; /* valid while armed */
  int armed;
  int stop;
} Watchdog;

static void *watch(void *arg) {
  Watchdog *w = (Watchdog *)arg;
  pthread_mutex_lock(&w->lock);
  while (!w->stop) {
    if (!w->armed) {
      pthread_cond_wait(&w->wake, &w->lock);
      continue;
    }
    struct timespec until = w->deadline;
    if (pthread_cond_timedwait(&w->wake, &w->lock, &until) == 0) continue; /* re-armed, disarmed, stop */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (w->armed && !w->stop &&
        (now.tv_sec > w->deadline.tv_sec ||
         (now.tv_sec == w->deadline.tv_sec && now.tv_nsec >= w->deadline.tv_nsec))) {
      w->armed = 0;
      sqlite3_interrupt(w->db);
    }
  }
  pthread_mutex_unlock(&w->lock);
  return 0;
}

static void set_deadline(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  Watchdog *w = (Watchdog *)sqlite3_user_data(ctx);
  sqlite3_int64 ms = argc > 0 ? sqlite3_value_int64(argv[0]) : 0;
  pthread_mutex_lock(&w->lock);
  if (ms > 0) {
    clock_gettime(CLOCK_MONOTONIC, &w->deadline);
    w->deadline.tv_sec += ms / 1000;
    w->deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (w->deadline.tv_nsec >= 1000000000L) {
      w->deadline.tv_sec += 1;
      w->deadline.tv_nsec -= 1000000000L;
    }
    w->armed = 1;
  } else {
    w->armed = 0;
  }
  pthread_cond_signal(&w->wake);
  pthread_mutex_unlock(&w->lock);
  sqlite3_result_int64(ctx, ms);
}

static void destroy(void *arg) {
  Watchdog *w = (Watchdog *)arg;
  pthread_mutex_lock(&w->lock);
  w->stop = 1;
  pthread_cond_signal(&w->wake);
  pthread_mutex_unlock(&w->lock);
  pthread_join(w->thread, 0);
  pthread_cond_destroy(&w->wake);
  pthread_mutex_destroy(&w->lock);
  sqlite3_free(w);
}

int sqlite3_extension_init(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
  SQLITE_EXTENSION_INIT2(api);
  (void)err;
  Watchdog *w = (Watchdog *)sqlite3_malloc(sizeof(Watchdog));
  if (!w) return SQLITE_NOMEM;
  w->db = db;
  w->armed = 0;
  w->stop = 0;
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_mutex_init(&w->lock, 0);
  pthread_cond_init(&w->wake, &attr);
  pthread_condattr_destroy(&attr);
  if (pthread_create(&w->thread, 0, watch, w) != 0) {
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    sqlite3_free(w);
    return SQLITE_ERROR;
  }
  /* On failure SQLite calls the destructor itself, which ends the thread. */
  return sqlite3_create_function_v2(db, "sqlgate_deadline", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY, w,
                                    set_deadline, 0, 0, destroy);
}
