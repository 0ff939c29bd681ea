/* The floor for gputop's fd scans (src/source/fdscan.rs): the same system calls in plain C, on
 * the same number of threads, with nothing else. Prints the best of ten scans of /proc.
 *
 *   gcc -O2 -pthread scripts/bench/fdscan-floor.c -o target/fdscan-floor && target/fdscan-floor
 *
 * With the argument `drm`, as the scan for AMD and Intel GPU clients (`scan_drm_fds`): an fd on
 * a character device of major 226 also has its /proc/PID/fdinfo/FD opened and read.
 *
 * `cargo bench --bench containers` fills /proc up to 2,000 processes first; to compare, start
 * sleepers the same way first, e.g. `for i in $(seq 1800); do sleep 600 & done`. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct raw_dirent { unsigned long long ino; long long off; unsigned short reclen; unsigned char type; char name[]; };
struct part { int proc, *pids, n; long fds; };
static int drm;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void *scan(void *arg) {
    struct part *p = arg;
    char buf[4096], path[32];
    for (int i = 0; i < p->n; i++) {
        snprintf(path, sizeof path, "%d/fd", p->pids[i]);
        int fd = openat(p->proc, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) continue;
        long n;
        while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
            for (long at = 0; at < n;) {
                struct raw_dirent *e = (void *)(buf + at);
                at += e->reclen;
                if (e->name[0] == '.') continue;
                /* As stat_at: cached attributes only, so a dead NFS mount cannot hang it. */
                struct statx st;
                if (statx(fd, e->name, AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO, &st) != 0) continue;
                p->fds++;
                if (drm && S_ISCHR(st.stx_mode) && st.stx_rdev_major == 226) {
                    char info[64], text[65536];
                    snprintf(info, sizeof info, "%d/fdinfo/%s", p->pids[i], e->name);
                    int f = openat(p->proc, info, O_RDONLY | O_CLOEXEC);
                    if (f >= 0) {
                        while (read(f, text, sizeof text) > 0) {}
                        close(f);
                    }
                }
            }
        close(fd);
    }
    return NULL;
}

int main(int argc, char **argv) {
    drm = argc > 1 && strcmp(argv[1], "drm") == 0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = cores < 1 ? 1 : cores > 4 ? 4 : (int)cores;
    double best = 1e9;
    long procs = 0, fds = 0;
    for (int rep = 0; rep < 10; rep++) {
        double t0 = now();
        int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int *pids = malloc(sizeof(int) * 1 << 22), n = 0;
        DIR *d = fdopendir(dup(proc));
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] >= '0' && e->d_name[0] <= '9') pids[n++] = atoi(e->d_name);
        closedir(d);
        pthread_t tid[4];
        struct part parts[4];
        int chunk = (n + threads - 1) / threads;
        for (int t = 0; t < threads; t++) {
            int from = t * chunk, to = from + chunk > n ? n : from + chunk;
            parts[t] = (struct part){proc, pids + from, to > from ? to - from : 0, 0};
            pthread_create(&tid[t], NULL, scan, &parts[t]);
        }
        fds = 0;
        for (int t = 0; t < threads; t++) {
            pthread_join(tid[t], NULL);
            fds += parts[t].fds;
        }
        close(proc);
        free(pids);
        double ms = (now() - t0) * 1000;
        if (ms < best) best = ms;
        procs = n;
    }
    printf("C floor%s: %.1f ms for %ld processes, %ld fds, %d threads (best of 10)\n", drm ? " (drm)" : "", best, procs, fds, threads);
    return 0;
}
