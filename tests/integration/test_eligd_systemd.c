/* SPDX-License-Identifier: MIT */
/*
 * test_eligd_systemd: eligd under a service manager's eye, without systemd.
 *
 * The test is the service manager: it binds a Unix datagram socket, starts
 * eligd with NOTIFY_SOCKET naming it (and WATCHDOG_USEC), and reads what
 * eligd says: STATUS lines while a cold start replays the log, READY=1 only
 * once the facility port answers (a PING sent on receipt of READY is
 * answered; nothing said READY before the STATUS lines), WATCHDOG=1 pings
 * at the interval asked, STOPPING=1 on SIGTERM before it exits 0. And with
 * JOURNAL_STREAM naming its stderr, eligd's log lines carry their syslog
 * priorities ("<6>", "<4>", "<3>") for journald. Every wait is a bounded
 * poll.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eligd_harness.h"

static int notify_socket(const char *dir, char *path, size_t size)
{
    snprintf(path, size, "%s/notify", dir);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    assert_true(strlen(path) < sizeof a.sun_path);
    strcpy(a.sun_path, path);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* The next datagram within timeout_ms into msg (NUL-ended); 0, or -1 on time out. */
static int next_message(int fd, char *msg, size_t size, int timeout_ms)
{
    if (wait_readable(fd, timeout_ms) != 1)
        return -1;
    ssize_t n = recv(fd, msg, size - 1, 0);
    assert_true(n > 0);
    msg[n] = '\0';
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_notify(void **state)
{
    (void)state;
    struct server s;
    start_loaded(&s, NULL); /* a store with the sample feed in its log */
    assert_int_equal(server_stop(&s), 0);
    assert_int_equal(unlink(s.seg), 0); /* the next start is cold: it replays the log */

    char path[300], msg[1024];
    int fd = notify_socket(s.dir, path, sizeof path);
    setenv("NOTIFY_SOCKET", path, 1);
    setenv("WATCHDOG_USEC", "300000", 1);
    server_exec(&s, NULL);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");

    /* the start: STATUS lines, a replay among them, then READY=1 */
    unsigned statuses = 0, replaying = 0, pings = 0;
    bool ready = false;
    for (int i = 0; i < 100 && !ready; i++) {
        assert_int_equal(next_message(fd, msg, sizeof msg, TIMEOUT_MS), 0);
        if (strncmp(msg, "STATUS=", 7) == 0) {
            statuses++;
            replaying += strstr(msg, "replaying the log") != NULL;
        } else if (strncmp(msg, "READY=1\n", 8) == 0) {
            ready = true;
            struct elig_client *c = connect_to(s.addr); /* it answers now */
            struct elig_proto_header h;
            const uint8_t *body;
            assert_int_equal(elig_client_call(c, ELIG_OP_PING, "x", 1, &h, &body), 0);
            assert_int_equal(h.status, ELIG_PS_OK);
            elig_client_close(c);
            assert_non_null(strstr(msg, "STATUS=ready port="));
        } else if (strcmp(msg, "WATCHDOG=1") == 0) {
            pings++;
        } else {
            fail_msg("unexpected before READY: %s", msg);
        }
    }
    assert_true(ready);
    assert_true(statuses >= 2); /* opening the store; replaying */
    assert_true(replaying >= 1);

    /* the watchdog: pings every half interval (150 ms); three within 2 s */
    double t0 = now_s();
    while (pings < 3 && now_s() - t0 < 2.0)
        if (next_message(fd, msg, sizeof msg, 1000) == 0 && strcmp(msg, "WATCHDOG=1") == 0)
            pings++;
    assert_true(pings >= 3);

    /* SIGTERM: STOPPING=1, then exit 0 */
    assert_int_equal(kill(s.pid, SIGTERM), 0);
    bool stopping = false;
    for (int i = 0; i < 100 && !stopping; i++) {
        assert_int_equal(next_message(fd, msg, sizeof msg, TIMEOUT_MS), 0);
        stopping = strncmp(msg, "STOPPING=1", 10) == 0;
    }
    assert_true(stopping);
    assert_int_equal(server_stop(&s), 0);
    close(fd);
    server_remove(&s);
}

/* eligd's stderr is journald's stream: each line starts with its priority. */
static void test_journal_priorities(void **state)
{
    (void)state;
    if (getenv("ELIGD") == NULL)
        skip();
    char dir[256], err_path[300], stream[64];
    test_temp_dir(dir, sizeof dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(err >= 0);
    struct stat st;
    assert_int_equal(fstat(err, &st), 0);
    snprintf(stream, sizeof stream, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    /* a start refused after the log opened: an error line, on stderr */
    char data[300], seg[300];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(seg, sizeof seg, "%s/no-such-dir/index.seg", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(err, STDERR_FILENO);
        setenv("JOURNAL_STREAM", stream, 1);
        execl(getenv("ELIGD"), "eligd", "--data", data, "--segment", seg, "--listen", "127.0.0.1:0",
              (char *)NULL);
        _exit(127);
    }
    close(err);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    FILE *f = fopen(err_path, "r");
    assert_non_null(f);
    char line[1024];
    unsigned lines = 0, errors = 0;
    while (lines < 100 && fgets(line, sizeof line, f)) {
        lines++;
        if (line[0] != '<' || !strchr("346", line[1]) || line[2] != '>')
            fail_msg("a line without a priority: %s", line);
        errors += line[1] == '3';
    }
    fclose(f);
    assert_true(errors >= 1);
    char cmd[320];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_notify, teardown),
        cmocka_unit_test(test_journal_priorities),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
