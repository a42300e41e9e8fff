/* A session with a device: open the URI, identify, authenticate; backups
 * and password input for the device commands. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>



static void log_line(void *ctx, const char *line)
{
    fprintf(stderr, "lsws: %s: %s\n", (const char *)ctx, line);
}

int session_fail(const struct session *s, const char *what, int rc, const struct lsws_error *err)
{
    return cli_fail(cli_exit_for(rc), rc, "%s '%s': %s", what, s->uri, err->msg[0] ? err->msg : lsws_strerror(rc));
}

int cli_read_secret_file(const struct lsws_cli *cli, const char *path, char *buf, size_t n)
{
    char *text;
    size_t len;
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        cli_warn(cli, "'%s' can be read by other users: chmod 600 it", path);
    int rc = cli_read_file(path, 4096, &text, &len);
    if (rc != EXIT_OK)
        return rc;
    text[strcspn(text, "\r\n")] = '\0';
    snprintf(buf, n, "%s", text);
    memset(text, 0, len);
    free(text);
    return EXIT_OK;
}

int cli_prompt_secret(const char *prompt, char *buf, size_t n)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY);
    if (fd < 0)
        return -1;
    struct termios old, quiet;
    int have_termios = tcgetattr(fd, &old) == 0;
    if (have_termios) {
        quiet = old;
        quiet.c_lflag &= (tcflag_t)~ECHO;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    if (write(fd, prompt, strlen(prompt)) < 0) { /* nothing to do: the read decides */
    }
    size_t len = 0;
    char c;
    while (len + 1 < n && read(fd, &c, 1) == 1 && c != '\n' && c != '\r')
        buf[len++] = c;
    buf[len] = '\0';
    if (have_termios)
        tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) < 0) {
    }
    close(fd);
    return 0;
}

int cli_confirm(const char *question)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY);
    if (fd < 0)
        return 0;
    char answer[8] = "";
    FILE *tty = fdopen(fd, "r+");
    if (!tty) {
        close(fd);
        return 0;
    }
    fprintf(tty, "%s [y/N] ", question);
    fflush(tty);
    if (!fgets(answer, sizeof answer, tty))
        answer[0] = '\0';
    fclose(tty);
    return answer[0] == 'y' || answer[0] == 'Y';
}

/* A password given up front: --password-file, then $LSWS_PASSWORD. Never
 * from argv (it would show in ps and shell history). Returns 1 if found,
 * 0 if none, or -1 after printing an error. */
static int given_password(struct lsws_cli *cli, char *buf, size_t n)
{
    const char *env = getenv("LSWS_PASSWORD");
    if (cli->password_file)
        return cli_read_secret_file(cli, cli->password_file, buf, n) == EXIT_OK ? 1 : -1;
    if (env && *env) {
        snprintf(buf, n, "%s", env);
        return 1;
    }
    return 0;
}

/* Without a given password: the factory default when the device says it
 * still has it, else a prompt on the terminal. */
static int ask_password(const struct session *s, char *buf, size_t n, int may_prompt)
{
    if (s->info.flags & LSWS_INFO_DEFAULT_PASSWORD) {
        /* The factory password is the default of the model's password row. */
        const struct lsws_model *m = lsws_model_get(s->info.model);
        snprintf(buf, n, "%s", m->settings[lsws_model_find(m, "general.password")].row->def);
        return EXIT_OK;
    }
    if (may_prompt && isatty(STDIN_FILENO) && cli_prompt_secret("device password: ", buf, n) == 0)
        return EXIT_OK;
    return cli_fail(EXIT_AUTH, LSWS_ERR_AUTH,
                    "'%s' needs its password: use --password-file FILE, LSWS_PASSWORD or a terminal", s->uri);
}

int session_open(struct lsws_cli *cli, struct session *s, int need_auth)
{
    return session_open_uri(cli, s, cli->device ? cli->device : getenv("LSWS_DEVICE"), need_auth, 1);
}

/* A device that is there but not one lsws speaks to (an NFC card that is
 * not a WS523: LSWS_ERR_MODEL) fails; anything else is unavailable. */
int session_open_exit(int rc)
{
    return rc == LSWS_ERR_INVALID ? EXIT_USAGE
           : rc == LSWS_ERR_MODEL ? EXIT_FAILED
           : cli_exit_for(rc) == EXIT_FAILED ? EXIT_NODEV
                                             : cli_exit_for(rc);
}

int session_open_uri(struct lsws_cli *cli, struct session *s, const char *uri_text, int need_auth, int may_prompt)
{
    memset(s, 0, sizeof *s);
    /* Frames carry the password (AUTH) and keys (READ) as raw bytes, which a
     * trace cannot redact: ask for the secrets to be shown explicitly. */
    if (cli->trace && !cli->show_secrets)
        return cli_error(EXIT_USAGE, "--trace prints passwords and keys as raw frame bytes: add --show-secrets");
    s->uri = uri_text;
    if (!s->uri || !*s->uri)
        return cli_error(EXIT_USAGE, "no device: give -d URI (or set LSWS_DEVICE); 'lsws list' shows devices");
    struct lsws_uri uri;
    struct lsws_error err;
    lsws_error_clear(&err);
    int prc = lsws_uri_parse(s->uri, &uri, &err);
    if (prc != LSWS_OK)
        return cli_fail(EXIT_USAGE, prc, "%s", err.msg);
    struct lsws_link_opts opts = {.trace = cli->trace ? cli_trace : NULL, .wait_ms = cli->wait_ms,
                                 .cancel = cli->cancel};
    int rc = lsws_client_open(&uri, &opts, &s->client, &err);
    if (rc != LSWS_OK)
        return cli_fail(session_open_exit(rc), rc, "%s", err.msg);
    lsws_client_set_deadline(s->client, cli->deadline_ms ? cli->deadline_ms : CLI_DEFAULT_DEADLINE_MS);
    if (cli->verbose)
        lsws_client_set_log(s->client, log_line, (void *)s->uri);
    if (cli->verbose && lsws_client_holder(s->client)) {
        char line[64];
        snprintf(line, sizeof line, "via lsws hold (pid %d)", lsws_client_holder(s->client));
        log_line((void *)s->uri, line);
    }
    if (cli->timeout_ms)
        lsws_client_set_timeout(s->client, cli->timeout_ms, 0);
    /* With the password at hand, AUTH alone opens the session (it answers
     * with the device information); else IDENTIFY first tells whether the
     * factory password still works. */
    char password[64];
    int given = need_auth ? given_password(cli, password, sizeof password) : 0;
    if (given < 0) {
        session_close(s);
        return EXIT_AUTH;
    }
    if (given) {
        rc = lsws_client_auth(s->client, password, &s->info, &err);
        memset(password, 0, sizeof password);
        if (rc != LSWS_OK) {
            int code = session_fail(s, rc == LSWS_ERR_AUTH ? "cannot log in to" : "cannot open", rc, &err);
            session_close(s);
            return code;
        }
    } else {
        rc = lsws_client_identify(s->client, &s->info, &err);
        if (rc != LSWS_OK) {
            int code = session_fail(s, "cannot identify", rc, &err);
            session_close(s);
            return code;
        }
        if (need_auth) {
            rc = ask_password(s, password, sizeof password, may_prompt);
            if (rc == EXIT_OK) {
                rc = lsws_client_auth(s->client, password, NULL, &err);
                memset(password, 0, sizeof password);
                if (rc != LSWS_OK)
                    rc = session_fail(s, "cannot log in to", rc, &err);
            }
            if (rc != EXIT_OK) {
                session_close(s);
                return rc;
            }
        }
    }
    s->model = lsws_model_get(s->info.model);
    /* Once per command, and not for info, which shows it as a field, nor
     * for each unit of a batch (its JSON says so). */
    if (need_auth && may_prompt && (s->info.flags & LSWS_INFO_DEFAULT_PASSWORD))
        cli_warn(cli, "'%s' still has the factory default password: change it with 'lsws password'", s->uri);
    return EXIT_OK;
}

void session_close(struct session *s)
{
    lsws_client_close(s->client);
    s->client = NULL;
}

int session_read_all(struct session *s, struct lsws_config **cfg)
{
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_config_new(s->model, cfg) != LSWS_OK)
        return cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
    int rc = lsws_client_read(s->client, *cfg, NULL, &err);
    if (rc != LSWS_OK) {
        lsws_config_free(*cfg);
        *cfg = NULL;
        return session_fail(s, "cannot read settings from", rc, &err);
    }
    return EXIT_OK;
}

void cli_trace(void *ctx, char dir, const uint8_t *bytes, size_t len, const char *note)
{
    (void)ctx;
    char *hex = malloc(2 * len + 1);
    if (!hex)
        return;
    lsws_hex_format(bytes, len, hex);
    fprintf(stderr, "%c %s%s%s%s\n", dir, hex, note ? " (" : "", note ? note : "", note ? ")" : "");
    free(hex);
}
