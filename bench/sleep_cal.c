/* Calibration of the simulated hardware time: the simulator's worker
 * sleeps HANTRO_SIM_DECODE_US per job (std::thread::sleep = nanosleep), so
 * on a loaded machine a "T" job really takes T + wake-up latency. This
 * measures that period with the same call: sleep_cal T_US [N] prints the
 * mean, median and max period in microseconds. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long t = argc > 1 ? atol(argv[1]) : 10000;
    int n = argc > 2 ? atoi(argv[2]) : 100;
    double *d = calloc(n, sizeof *d), sum = 0;
    struct timespec req = { t / 1000000, (t % 1000000) * 1000 };
    for (int i = 0; i < n; i++) {
        double a = now_us();
        nanosleep(&req, NULL);
        d[i] = now_us() - a;
        sum += d[i];
    }
    qsort(d, n, sizeof *d, cmp);
    printf("sleep_us=%ld mean_us=%.0f median_us=%.0f max_us=%.0f\n", t, sum / n, d[n / 2], d[n - 1]);
    return 0;
}
