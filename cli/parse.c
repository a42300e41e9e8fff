/* The command line: options from the tables in cli/commands.c, by their
 * full names only. getopt_long is not used: it takes any unique prefix
 * ("--password" for --password-file), and a wrong guess can turn a secret
 * into a file name that the error message then prints. */
#include "cli.h"

#include <string.h>

/* Options refused wherever they appear: what they would carry must not be
 * on a command line (ps(1), shell history). */
static const struct {
    const char *name;
    char short_name;
    const char *why;
} refused[] = {
    {"password", 'p',
     "a password is not taken on the command line, where other users can see it: "
     "use --password-file FILE, LSWS_PASSWORD or the prompt"},
};

/* Where the options of one parse come from. */
struct tables {
    const struct cli_option *list[2];
    const char *context; /* "for 'get'", or "" before the command */
    const struct cli_command *cmd;
};

/* The usage line after a usage error: on stderr, not part of the message. */
static int usage_tail(const struct tables *t)
{
    if (t->cmd)
        fprintf(stderr, "usage: lsws %s %s\n", t->cmd->name, t->cmd->synopsis);
    else
        fprintf(stderr, "usage: lsws [global options] COMMAND [options] [arguments]\n");
    return EXIT_USAGE;
}

static const struct cli_option *by_long(const struct tables *t, const char *name, size_t len)
{
    for (size_t i = 0; i < 2; i++)
        for (const struct cli_option *o = t->list[i]; o && o->name; o++)
            if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
                return o;
    return NULL;
}

static const struct cli_option *by_short(const struct tables *t, char c)
{
    for (size_t i = 0; i < 2; i++)
        for (const struct cli_option *o = t->list[i]; o && o->name; o++)
            if (o->short_name == c)
                return o;
    return NULL;
}

static int refuse(const char *name, size_t len, char short_name)
{
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if ((len && strlen(refused[i].name) == len && strncmp(refused[i].name, name, len) == 0) ||
            (short_name && refused[i].short_name == short_name))
            return cli_error(EXIT_USAGE, "%s", refused[i].why);
    return EXIT_OK;
}

void cli_suggest(const char *word, const char *const *names, size_t n, char *buf, size_t cap)
{
    const char *near[LSWS_SUGGEST_MAX];
    char hint[160];
    lsws_suggest_format(near, lsws_suggest(word, names, n, near, LSWS_SUGGEST_MAX), hint, sizeof hint);
    snprintf(buf, cap, "%s%s", hint[0] ? "; " : "", hint);
}

/* "unknown option '--jsn' for 'get'; did you mean '--json'?" The name only:
 * what follows '=' may be a secret. */
static int unknown_long(const struct tables *t, const char *name, size_t len)
{
    const char *names[64];
    char dashed[64][40], word[64], hint[200];
    size_t n = 0;
    for (size_t i = 0; i < 2; i++)
        for (const struct cli_option *o = t->list[i]; o && o->name && n < 64; o++) {
            snprintf(dashed[n], sizeof dashed[n], "--%s", o->name);
            names[n] = dashed[n];
            n++;
        }
    snprintf(word, sizeof word, "--%.*s", (int)(len < 40 ? len : 40), name);
    cli_suggest(word, names, n, hint, sizeof hint);
    cli_error(EXIT_USAGE, "unknown option '%s'%s%s", word, t->context, hint);
    return usage_tail(t);
}

/* Records or applies option o with value (NULL for a flag). */
static int take(struct lsws_cli *cli, const struct tables *t, const struct cli_option *o, const char *value,
                const char *spelled)
{
    if (value && !*value)
        return cli_error(EXIT_USAGE, "option '%s' needs %s, not an empty value", spelled, o->arg);
    for (const struct cli_option *g = cli_global_options; g->name; g++)
        if (g == o)
            return cli_global_option(cli, o, value);
    if (cli->n_given == CLI_GIVEN_MAX)
        return cli_error(EXIT_USAGE, "too many options for '%s'", t->cmd->name);
    cli->given[cli->n_given++] = (struct cli_given){o, value};
    return EXIT_OK;
}

/* --name, --name=value, --name value. *i is the index of the word. */
static int long_option(struct lsws_cli *cli, const struct tables *t, int argc, char **argv, int *i)
{
    const char *name = argv[*i] + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    int rc = refuse(name, len, 0);
    if (rc != EXIT_OK)
        return rc;
    const struct cli_option *o = by_long(t, name, len);
    if (!o)
        return unknown_long(t, name, len);
    char spelled[48];
    snprintf(spelled, sizeof spelled, "--%s", o->name);
    if (!o->arg && eq)
        return cli_error(EXIT_USAGE, "option '%s' takes no value", spelled);
    const char *value = eq ? eq + 1 : NULL;
    if (o->arg && o->arg[0] == '[' && !eq) {
        /* "--wait 30" or "--wait": an optional argument is the next word
         * only when that is a number. */
        const char *next = *i + 1 < argc ? argv[*i + 1] : NULL;
        if (next && *next && strspn(next, "0123456789") == strlen(next))
            value = argv[++*i];
    } else if (o->arg && !eq) {
        if (*i + 1 >= argc) {
            cli_error(EXIT_USAGE, "option '%s' needs %s", spelled, o->arg);
            return usage_tail(t);
        }
        value = argv[++*i];
    }
    if (cli->command && strcmp(o->name, "help") == 0) {
        cli_print_command_help(cli->command, stdout);
        return CLI_DONE;
    }
    return take(cli, t, o, value, spelled);
}

/* -x, -xVALUE, -x VALUE, and flags together (-yv). */
static int short_options(struct lsws_cli *cli, const struct tables *t, int argc, char **argv, int *i)
{
    for (const char *p = argv[*i] + 1; *p; p++) {
        int rc = refuse(NULL, 0, *p);
        if (rc != EXIT_OK)
            return rc;
        const struct cli_option *o = by_short(t, *p);
        if (!o) {
            cli_error(EXIT_USAGE, "unknown option '-%c'%s", *p, t->context);
            return usage_tail(t);
        }
        char spelled[4] = {'-', *p, '\0'};
        if (cli->command && strcmp(o->name, "help") == 0) {
            cli_print_command_help(cli->command, stdout);
            return CLI_DONE;
        }
        const char *value = NULL;
        if (o->arg) {
            if (p[1])
                value = p + 1;
            else if (*i + 1 < argc)
                value = argv[++*i];
            else {
                cli_error(EXIT_USAGE, "option '%s' needs %s", spelled, o->arg);
                return usage_tail(t);
            }
        }
        if ((rc = take(cli, t, o, value, spelled)) != EXIT_OK)
            return rc;
        if (o->arg)
            break;
    }
    return EXIT_OK;
}

static int is_option(const char *word)
{
    return word[0] == '-' && word[1] != '\0';
}

/* Parses argv[0..argc); operands move to the front of argv. With
 * stop_at_operand, stops at the first operand (the command name). */
static int parse(struct lsws_cli *cli, const struct tables *t, int argc, char **argv, int stop_at_operand,
                 int *nargs)
{
    int n = 0, i = 0;
    for (; i < argc; i++) {
        const char *w = argv[i];
        int rc = EXIT_OK;
        if (strcmp(w, "--") == 0) {
            for (i++; i < argc && !stop_at_operand; i++)
                argv[n++] = argv[i];
            break;
        }
        if (!is_option(w)) {
            if (stop_at_operand)
                break;
            argv[n++] = argv[i];
            continue;
        }
        rc = w[1] == '-' ? long_option(cli, t, argc, argv, &i) : short_options(cli, t, argc, argv, &i);
        if (rc != EXIT_OK)
            return rc;
    }
    if (stop_at_operand) {
        *nargs = i;
        return EXIT_OK;
    }
    argv[n] = NULL;
    *nargs = n;
    return EXIT_OK;
}

int cli_parse_global(struct lsws_cli *cli, int argc, char **argv, int *command)
{
    struct tables t = {{cli_global_options, NULL}, "", NULL};
    int rc = parse(cli, &t, argc - 1, argv + 1, 1, command);
    *command += 1;
    return rc;
}

int cli_parse(const struct cli_command *cmd, struct lsws_cli *cli, int argc, char **argv, int *nargs)
{
    char context[48];
    snprintf(context, sizeof context, " for '%s'", cmd->name);
    struct tables t = {{cmd->options, cli_global_options}, context, cmd};
    cli->command = cmd;
    cli->n_given = 0;
    return parse(cli, &t, argc, argv, 0, nargs);
}

int cli_options(const struct lsws_cli *cli, int (*on_option)(const char *name, const char *value, void *ctx),
                void *ctx)
{
    for (size_t i = 0; i < cli->n_given; i++) {
        int rc = on_option(cli->given[i].option->name, cli->given[i].value, ctx);
        if (rc != EXIT_OK)
            return rc;
    }
    return EXIT_OK;
}
