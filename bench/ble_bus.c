/* A private bus and the simulated hubs on it, for bench_ble, bench_history
 * and bench_upgrade (bench/ble_bus.h). Both children die with the bench
 * (PR_SET_PDEATHSIG), so a bench that fails leaves no daemon behind. */
#include "ble_bus.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

pid_t bench_bus_start(const char *dir)
{
    char conf[256], sock[256], arg[300];
    snprintf(conf, sizeof conf, "%s/bus.conf", dir);
    snprintf(sock, sizeof sock, "%s/bus", dir);
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    fputs("<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
          " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
          "<busconfig><type>session</type><listen>unix:tmpdir=/tmp</listen><auth>EXTERNAL</auth>\n"
          "<policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>"
          "<allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>\n",
          f);
    fclose(f);
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        char cf[300], addr[300];
        int null = open("/dev/null", O_WRONLY);
        dup2(fds[1], 1);
        dup2(null, 2);
        close(fds[0]);
        snprintf(cf, sizeof cf, "--config-file=%s", conf);
        snprintf(addr, sizeof addr, "--address=unix:path=%s", sock);
        execlp("dbus-daemon", "dbus-daemon", cf, "--nofork", addr, "--print-address", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    /* It prints its address once it listens. */
    FILE *out = fdopen(fds[0], "r");
    char line[300];
    int ok = pid > 0 && out && fgets(line, sizeof line, out) != NULL;
    if (out)
        fclose(out);
    snprintf(arg, sizeof arg, "unix:path=%s", sock);
    setenv("DBUS_SYSTEM_BUS_ADDRESS", arg, 1);
    unsetenv("DBUS_SESSION_BUS_ADDRESS");
    if (!ok && pid > 0)
        bench_stop(pid);
    return ok ? pid : -1;
}

void bench_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

pid_t bench_ble_sim_start(const char *sim, char *const args[], char addr[18])
{
    char *argv[32] = {(char *)sim, "--ble"};
    size_t n = 2;
    for (size_t i = 0; args[i] && n + 1 < sizeof argv / sizeof argv[0]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(fds[1], 1);
        close(fds[0]);
        unsetenv("LD_PRELOAD"); /* a pty shim is for a serial client only */
        execv(sim, argv);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[128];
    int ok = pid > 0 && f && fgets(line, sizeof line, f) && sscanf(line, "%*s %17s", addr) == 1;
    if (f)
        fclose(f);
    if (!ok && pid > 0)
        bench_stop(pid);
    return ok ? pid : -1;
}
