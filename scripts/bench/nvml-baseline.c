/* The floor for `gputop --once`: a bare C program that dlopens libnvidia-ml and makes the same
 * NVML calls gputop's table needs, then prints one line per GPU. scripts/bench-once.sh times
 * gputop against it. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

typedef void *dev_t_;
typedef struct { unsigned int version; unsigned long long total, reserved, free, used; } mem_v2;
typedef struct { unsigned int gpu, memory; } util_t;
typedef struct { unsigned int pid; unsigned long long mem; unsigned int gi, ci; } proc_t;

#define SYM(name, type) __typeof__(type) name = (__typeof__(type))dlsym(lib, #name)

int main(int argc, char **argv) {
    void *lib = dlopen(argc > 1 ? argv[1] : "libnvidia-ml.so.1", RTLD_NOW);
    if (!lib) { fprintf(stderr, "%s\n", dlerror()); return 3; }
    SYM(nvmlInit_v2, int (*)(void));
    SYM(nvmlShutdown, int (*)(void));
    SYM(nvmlSystemGetDriverVersion, int (*)(char *, unsigned));
    SYM(nvmlSystemGetCudaDriverVersion_v2, int (*)(int *));
    SYM(nvmlDeviceGetCount_v2, int (*)(unsigned *));
    SYM(nvmlDeviceGetHandleByIndex_v2, int (*)(unsigned, dev_t_ *));
    SYM(nvmlDeviceGetName, int (*)(dev_t_, char *, unsigned));
    SYM(nvmlDeviceGetUUID, int (*)(dev_t_, char *, unsigned));
    SYM(nvmlDeviceGetMemoryInfo_v2, int (*)(dev_t_, mem_v2 *));
    SYM(nvmlDeviceGetUtilizationRates, int (*)(dev_t_, util_t *));
    SYM(nvmlDeviceGetTemperature, int (*)(dev_t_, unsigned, unsigned *));
    SYM(nvmlDeviceGetPowerUsage, int (*)(dev_t_, unsigned *));
    SYM(nvmlDeviceGetEnforcedPowerLimit, int (*)(dev_t_, unsigned *));
    SYM(nvmlDeviceGetFanSpeed_v2, int (*)(dev_t_, unsigned, unsigned *));
    SYM(nvmlDeviceGetComputeRunningProcesses_v3, int (*)(dev_t_, unsigned *, proc_t *));
    SYM(nvmlDeviceGetGraphicsRunningProcesses_v3, int (*)(dev_t_, unsigned *, proc_t *));
    if (nvmlInit_v2() != 0) return 3;
    char driver[96]; int cuda = 0; unsigned count = 0;
    nvmlSystemGetDriverVersion(driver, sizeof driver);
    nvmlSystemGetCudaDriverVersion_v2(&cuda);
    nvmlDeviceGetCount_v2(&count);
    printf("driver %s cuda %d\n", driver, cuda);
    for (unsigned i = 0; i < count; i++) {
        dev_t_ d; char name[96] = "", uuid[96] = "";
        mem_v2 m = { .version = sizeof(mem_v2) | (2u << 24) }; util_t u = {0};
        unsigned t = 0, p = 0, lim = 0, fan = 0, n = 64; proc_t procs[64];
        if (nvmlDeviceGetHandleByIndex_v2(i, &d) != 0) { printf("%u lost\n", i); continue; }
        nvmlDeviceGetName(d, name, sizeof name);
        nvmlDeviceGetUUID(d, uuid, sizeof uuid);
        nvmlDeviceGetMemoryInfo_v2(d, &m);
        nvmlDeviceGetUtilizationRates(d, &u);
        nvmlDeviceGetTemperature(d, 0, &t);
        nvmlDeviceGetPowerUsage(d, &p);
        nvmlDeviceGetEnforcedPowerLimit(d, &lim);
        nvmlDeviceGetFanSpeed_v2(d, 0, &fan);
        nvmlDeviceGetComputeRunningProcesses_v3(d, &n, procs);
        unsigned g = 64; proc_t gprocs[64];
        nvmlDeviceGetGraphicsRunningProcesses_v3(d, &g, gprocs);
        printf("%u %s %s %u%% %llu/%llu MiB %uC %u/%u W fan %u procs %u\n", i, name, uuid, u.gpu,
               m.used >> 20, m.total >> 20, t, p / 1000, lim / 1000, fan, n + g);
    }
    nvmlShutdown();
    return 0;
}
