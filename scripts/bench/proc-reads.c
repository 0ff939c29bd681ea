/* What one process's per-sample read costs, for the ways the host lookup could read it
 * (src/source/host/mod.rs): N sleeping children, each read R times per way, in µs a process.
 *
 *   cc -O2 -o target/bench/proc-reads scripts/bench/proc-reads.c && target/bench/proc-reads
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { N = 1000, R = 20 };

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void report(const char *way, double started) {
  printf("%-52s %6.2f µs\n", way, (now() - started) / R / N * 1e6);
}

int main(void) {
  static pid_t pid[N];
  static int dir[N], statm[N], stat[N];
  static clockid_t clock[N];
  static char buf[4096], path[64];
  for (int i = 0; i < N; i++) {
    if ((pid[i] = fork()) == 0) {
      pause();
      _exit(0);
    }
    snprintf(path, sizeof path, "/proc/%d", pid[i]);
    dir[i] = open(path, O_PATH | O_DIRECTORY);
    statm[i] = openat(dir[i], "statm", O_RDONLY);
    stat[i] = openat(dir[i], "stat", O_RDONLY);
    clock_getcpuclockid(pid[i], &clock[i]);
  }
  struct timespec ts;
  double t = now();
  for (int r = 0; r < R; r++)
    for (int i = 0; i < N; i++) {
      clock_gettime(clock[i], &ts);
      pread(statm[i], buf, sizeof buf, 0);
    }
  report("CPU clock + pread of a kept statm (gputop)", t);
  t = now();
  for (int r = 0; r < R; r++)
    for (int i = 0; i < N; i++) pread(stat[i], buf, sizeof buf, 0);
  report("pread of a kept stat", t);
  t = now();
  for (int r = 0; r < R; r++)
    for (int i = 0; i < N; i++) {
      int f = openat(dir[i], "stat", O_RDONLY);
      read(f, buf, sizeof buf);
      close(f);
    }
  report("openat(dir, stat) + read + close", t);
  t = now();
  for (int r = 0; r < R; r++)
    for (int i = 0; i < N; i++) {
      snprintf(path, sizeof path, "/proc/%d/stat", pid[i]);
      int f = open(path, O_RDONLY);
      read(f, buf, sizeof buf);
      close(f);
    }
  report("open(/proc/PID/stat) + read + close", t);
  for (int i = 0; i < N; i++) kill(pid[i], SIGKILL);
  while (wait(NULL) > 0) {
  }
  return 0;
}
