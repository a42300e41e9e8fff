#!/bin/bash
# The man page and the shell completions against the command's own tables
# (DESIGN.md convention 9). Every list here is derived from the built binary
# (`lsws --help`, `lsws help COMMAND`) or from the sources (cli/commands.c,
# cli/cli.h, lib/lsws.h, lib/error.c), never from a copy kept in this file.
#
# Checks: the commands `lsws --help` lists are exactly cli_commands[]; every
# command has working help; man/lsws.1 documents every command (with the
# synopsis --help gives), every option, every template subcommand, every
# LSWS_ERR_* code with its message, every exit code; its examples run and
# print what they show; groff renders it without warnings; the bash, zsh and
# fish completions name every command, option and template subcommand; the
# bash completion (and the fish one, when fish is installed) offers them when
# run; bash -n / zsh -n / fish -n accept the files (zsh and fish checks are
# skipped when those shells are absent).
#
# Env: LSWS (the built lsws), LSWS_SOURCE_DIR (the source tree).
# Output: "FAIL: ..." for each failed check, then "docs: N passed, M failed".
set -u

if [ -z "${LSWS:-}" ] || [ ! -x "${LSWS:-}" ]; then
    echo "FAIL: LSWS must name the built lsws binary (got '${LSWS:-}')"
    echo "docs: 0 passed, 1 failed"
    exit 1
fi
SRC=${LSWS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
MANPAGE=$SRC/man/lsws.1
BASH_COMP=$SRC/completions/lsws.bash
ZSH_COMP=$SRC/completions/_lsws
FISH_COMP=$SRC/completions/lsws.fish

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0
skipped=0

pass() { passed=$((passed + 1)); }
fail() {
    echo "FAIL: $*"
    failed=$((failed + 1))
}
skip() {
    echo "skip: $*"
    skipped=$((skipped + 1))
}
# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() {
    local what=$1
    shift
    if "$@"; then pass; else fail "$what"; fi
}
finish() {
    [ "$skipped" -gt 0 ] && echo "($skipped checks skipped: see 'skip:' above)"
    echo "docs: $passed passed, $failed failed"
    [ "$failed" -eq 0 ] && exit 0
    exit 1
}

# has_word TEXT WORD: WORD appears in TEXT, not as part of a longer name.
has_word() {
    grep -qE -- "(^|[^A-Za-z0-9_-])$(re_quote "$2")([^A-Za-z0-9_-]|$)" <<<"$1"
}
quiet() { "$@" >/dev/null 2>&1; }
re_quote() { sed 's/[][\.*^$+?(){}|/]/\\&/g' <<<"$1"; }
# same_set "A B C" "C B A": the same words, ignoring order and repeats.
same_set() {
    [ "$(tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -u)" = "$(tr ' ' '\n' <<<"$2" | sed '/^$/d' | sort -u)" ]
}
# contains_all "HAYSTACK WORDS" "NEEDLES": every needle is one of the words.
contains_all() {
    local w
    for w in $2; do
        grep -qxF -- "$w" <<<"$(tr ' ' '\n' <<<"$1")" || return 1
    done
}

for f in "$MANPAGE" "$BASH_COMP" "$ZSH_COMP" "$FISH_COMP"; do
    if [ ! -s "$f" ]; then
        fail "missing or empty: ${f#"$SRC"/}"
        finish
    fi
done

# ---- what the binary and the sources say ------------------------------------

# Lines of a "NAME:" block of help output, up to the next empty line.
help_block() { # TEXT HEADING
    awk -v h="$2:" '$0 == h { on = 1; next } on && /^$/ { exit } on' <<<"$1"
}
# Long options ("model") and short ones ("m") from option lines of help output.
longs_of() { sed -nE 's/^ +(-[A-Za-z0-9], )?--([A-Za-z0-9][A-Za-z0-9-]*).*/\2/p' <<<"$1"; }
shorts_of() { sed -nE 's/^ +-([A-Za-z0-9]), --.*/\1/p' <<<"$1"; }

MAIN_HELP=$("$LSWS" --help 2>&1)
check "lsws --help exits 0" quiet "$LSWS" --help
COMMANDS=$(help_block "$MAIN_HELP" commands | awk '{ print $1 }' | tr '\n' ' ')
GLOBAL_BLOCK=$(help_block "$MAIN_HELP" "global options")
GLOBAL_LONGS=$(longs_of "$GLOBAL_BLOCK" | tr '\n' ' ')
GLOBAL_SHORTS=$(shorts_of "$GLOBAL_BLOCK" | tr '\n' ' ')
if [ -z "${COMMANDS// /}" ] || [ -z "${GLOBAL_LONGS// /}" ]; then
    fail "cannot find the commands and global options in 'lsws --help' output"
    echo "$MAIN_HELP" | sed 's/^/    /'
    finish
fi

# cli_commands[] rows: {"name", cmd_name, ...
TABLE_COMMANDS=$(grep -oE '\{"[a-z][a-z0-9_-]*", *cmd_[a-z0-9_]+' "$SRC/cli/commands.c" |
    sed -E 's/^\{"([^"]*)".*/\1/' | tr '\n' ' ')
check "cli/commands.c has a command table" test -n "${TABLE_COMMANDS// /}"
check "'lsws --help' lists exactly the commands of cli_commands[] (help: $COMMANDS; table: $TABLE_COMMANDS)" \
    test "$(echo $COMMANDS)" = "$(echo $TABLE_COMMANDS)"
for fn in $(grep -oE '\{"[a-z][a-z0-9_-]*", *cmd_[a-z0-9_]+' "$SRC/cli/commands.c" | sed -E 's/.*(cmd_[a-z0-9_]+)$/\1/'); do
    check "cli/$fn.c exists for $fn (one file per subcommand)" test -f "$SRC/cli/$fn.c"
done

# Per command: its help text, option lines and usage line.
declare -A HELP LONGS SHORTS SYNOPSIS SUBS
for cmd in $COMMANDS; do
    out=$("$LSWS" help "$cmd" 2>&1)
    rc=$?
    check "'lsws help $cmd' exits 0 (exit $rc)" test "$rc" -eq 0
    check "'lsws help $cmd' starts with 'usage: lsws $cmd'" grep -q "^usage: lsws $cmd\\b" <<<"$out"
    out2=$("$LSWS" "$cmd" --help 2>&1)
    rc=$?
    check "'lsws $cmd --help' exits 0 (exit $rc: $(head -1 <<<"$out2"))" test "$rc" -eq 0
    check "'lsws $cmd --help' prints what 'lsws help $cmd' prints" test "$out" = "$out2"
    HELP[$cmd]=$out
    block=$(help_block "$out" options)
    LONGS[$cmd]=$(longs_of "$block" | tr '\n' ' ')
    SHORTS[$cmd]=$(shorts_of "$block" | tr '\n' ' ')
    SYNOPSIS[$cmd]=$(sed -n '1{s/^usage: //;s/ *$//;p;}' <<<"$out")
    g=$(help_block "$out" "global options")
    check "'lsws help $cmd' lists the global options" same_set "$(longs_of "$g" | tr '\n' ' ')" "$GLOBAL_LONGS"
done

# Subcommands: static const char *const NAME_subcommands[] = {"new", ...};
# the command NAME's usage line starts with them joined by '|'.
while IFS= read -r line; do
    owner=$(sed -E 's/.*const +([a-z0-9_]+)_subcommands\[\].*/\1/' <<<"$line")
    words=$(grep -oE '"[^"]+"' <<<"$line" | tr -d '"' | tr '\n' ' ')
    SUBS[$owner]=$words
    check "'$owner' in cli_commands[] (has subcommands $words)" has_word "$COMMANDS" "$owner"
    check "usage of '$owner' starts with $(echo $words | tr ' ' '|')" \
        grep -q "^lsws $owner $(echo $words | tr ' ' '|')\\b" <<<"${SYNOPSIS[$owner]:-}"
done < <(grep -E 'const char \*const [a-z0-9_]+_subcommands\[\] *=' "$SRC/cli/commands.c")
check "cli/commands.c defines subcommand lists (NAME_subcommands[])" test "${#SUBS[@]}" -gt 0

# Exit codes: enum cli_exit in cli/cli.h.
EXIT_CODES=$(awk '/^enum cli_exit/ { on = 1; next } on && /^}/ { exit } on' "$SRC/cli/cli.h" |
    sed -nE 's/^ *EXIT_[A-Z_]+ *= *([0-9]+).*/\1/p' | tr '\n' ' ')
check "cli/cli.h has enum cli_exit" test -n "${EXIT_CODES// /}"

# Error codes: enum lsws_status in lib/lsws.h; their rows in lib/error.c.
ERROR_NAMES=$(awk '/^enum lsws_status/ { on = 1; next } on && /^}/ { exit } on' "$SRC/lib/lsws.h" |
    sed -nE 's/^ *(LSWS_[A-Z_]+) *= *-?[0-9]+.*/\1/p' | tr '\n' ' ')
check "lib/lsws.h has enum lsws_status" test -n "${ERROR_NAMES// /}"
declare -A ERROR_TEXT
for name in $ERROR_NAMES; do
    text=$(sed -nE "s/^ *\{$name, *\"$name\", *\"([^\"]*)\"\}.*/\1/p" "$SRC/lib/error.c")
    check "lib/error.c has a message for $name" test -n "$text"
    ERROR_TEXT[$name]=$text
done

# Models and bands, from the binary's own messages and help.
MODELS=$("$LSWS" keys --model no-such-model 2>&1 | sed -nE 's/.*\(known: ([^)]*)\).*/\1/p' | tr -d ',')
check "'lsws keys --model no-such-model' names the known models" test -n "$MODELS"
BANDS=$(grep -E -- '--band ' <<<"${HELP[template]:-}" | grep -oE '\b[A-Z]{2}[0-9]{3}\b' | tr '\n' ' ')
check "'lsws help template' names the bands" test -n "${BANDS// /}"

# ---- the man page ------------------------------------------------------------

# The roff source with font changes and escapes removed: "\fB\-\-model\fR" -> "--model".
MAN=$(sed -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' -e 's/\\-/-/g' -e 's/\\&//g' -e 's/\\(aq/'"'"'/g' \
    -e 's/\\(lq/"/g' -e 's/\\(rq/"/g' -e 's/\\(em/--/g' -e 's/\\(en/-/g' -e 's/\\e/\\/g' "$MANPAGE")
# Text of one .SH section.
man_section() {
    awk -v want="$1" '/^\.SH/ { h = $0; sub(/^\.SH +/, "", h); gsub(/"/, "", h); on = (h == want); next } on' <<<"$MAN"
}
# Text of the .SS "lsws CMD ..." subsection of COMMANDS.
man_command() {
    awk -v cmd="$1" '
        /^\.SH/ { h = $0; sub(/^\.SH +/, "", h); gsub(/"/, "", h); in_cmds = (h == "COMMANDS"); on = 0; next }
        /^\.SS/ { h = $0; sub(/^\.SS +/, "", h); gsub(/"/, "", h); split(h, w, " ");
                  on = in_cmds && w[1] == "lsws" && w[2] == cmd; next }
        on' <<<"$MAN"
}
# The tag lines of .TP items.
tp_tags() { awk 'prev ~ /^\.TP/ { print } { prev = $0 }' <<<"$1"; }
man_heading() {
    awk -v cmd="$1" '/^\.SS/ { h = $0; sub(/^\.SS +/, "", h); gsub(/"/, "", h); split(h, w, " ");
                               if (w[1] == "lsws" && w[2] == cmd) { print h; exit } }' <<<"$MAN"
}

for sec in NAME SYNOPSIS DESCRIPTION COMMANDS "GLOBAL OPTIONS" SETTINGS TEMPLATES "JSON OUTPUT" "EXIT STATUS" \
    ERRORS ENVIRONMENT FILES EXAMPLES "SEE ALSO"; do
    check "man page has a $sec section" test -n "$(man_section "$sec" | tr -d '[:space:]')"
done
version=$("$LSWS" --version | awk '{ print $2 }')
check "man page .TH names version $version" grep -qE "^\.TH .*\"lsws $(re_quote "$version")\"" "$MANPAGE"

# Documented commands are real ones.
for c in $(man_section COMMANDS | sed -nE 's/^\.SS +"?lsws ([a-z0-9-]+).*/\1/p'); do
    check "man page documents '$c', which is not an lsws command" has_word "$COMMANDS" "$c"
done
MAN_SYNOPSIS=$(man_section SYNOPSIS | tr '\n' ' ' | sed -E 's/\.[A-Z]+ //g; s/"//g; s/  +/ /g')
MAN_GLOBAL=$(man_section "GLOBAL OPTIONS")
for cmd in $COMMANDS; do
    text=$(man_command "$cmd")
    check "man page has a COMMANDS subsection '.SS \"lsws $cmd ...\"'" test -n "$text"
    check "man page heading for $cmd is its usage '${SYNOPSIS[$cmd]}' (is '$(man_heading "$cmd")')" \
        test "$(man_heading "$cmd")" = "${SYNOPSIS[$cmd]}"
    check "man page SYNOPSIS shows $cmd" has_word "$MAN_SYNOPSIS" "$cmd"
    tags=$(tp_tags "$text")
    for o in ${LONGS[$cmd]}; do
        check "man page documents --$o as an item (.TP) under $cmd" has_word "$tags" "--$o"
    done
    for o in ${SHORTS[$cmd]}; do
        check "man page documents -$o as an item (.TP) under $cmd" has_word "$tags" "-$o"
    done
    for s in ${SUBS[$cmd]:-}; do
        check "man page documents '$cmd $s' as an item" grep -qE "^(\\.[A-Z]+ +)?\"?$s( |\"|\$)" <<<"$text"
    done
done
tags=$(tp_tags "$MAN_GLOBAL")
for o in $GLOBAL_LONGS; do
    check "man page GLOBAL OPTIONS documents --$o as an item (.TP)" has_word "$tags" "--$o"
done
for o in $GLOBAL_SHORTS; do
    check "man page GLOBAL OPTIONS documents -$o as an item (.TP)" has_word "$tags" "-$o"
done

# EXIT STATUS: one tagged item per code of enum cli_exit, and no others;
# `lsws --help` sums them up too.
MAN_EXIT=$(man_section "EXIT STATUS")
MAN_EXIT_CODES=$(tp_tags "$MAN_EXIT" | sed -E 's/^\.[A-Z]+ +//; s/"//g' | tr '\n' ' ')
for n in $EXIT_CODES; do
    check "man page EXIT STATUS documents exit code $n" has_word "$MAN_EXIT_CODES" "$n"
    check "'lsws --help' mentions exit status $n" grep -qE "(^|[ ,:])$n [a-z]" <<<"$(sed -n '/^exit status/,$p' <<<"$MAIN_HELP")"
done
check "man page EXIT STATUS lists only the codes of enum cli_exit ($EXIT_CODES; man: $MAN_EXIT_CODES)" \
    same_set "$MAN_EXIT_CODES" "$EXIT_CODES"

# ERRORS: every code with its message.
MAN_ERRORS=$(man_section ERRORS)
for name in $ERROR_NAMES; do
    check "man page ERRORS documents $name" has_word "$MAN_ERRORS" "$name"
    if [ -n "${ERROR_TEXT[$name]}" ]; then
        check "man page ERRORS gives the message of $name: \"${ERROR_TEXT[$name]}\"" \
            grep -qF -- "\"${ERROR_TEXT[$name]}\"" <<<"$(tr '\n' ' ' <<<"$MAN_ERRORS" | sed 's/  */ /g')"
    fi
done

# JSON OUTPUT: the error object the binary prints, member for member.
MAN_JSON=$(man_section "JSON OUTPUT")
ERROR_OBJECT=$("$LSWS" --json no-such-command 2>/dev/null)
ERROR_MEMBERS=$(/usr/bin/python3 -c 'import json,sys; print(" ".join(json.loads(sys.argv[1])["error"]))' "$ERROR_OBJECT" 2>/dev/null)
check "'lsws --json no-such-command' prints an error object (got: $ERROR_OBJECT)" test -n "$ERROR_MEMBERS"
check "man page JSON OUTPUT shows the error object" grep -qF '{"error": {' <<<"$MAN_JSON"
for m in $ERROR_MEMBERS; do
    check "man page JSON OUTPUT documents the error object's \"$m\"" grep -qE -- "(^|[^a-z_])$m([^a-z_]|\$)" <<<"$MAN_JSON"
done
check "'lsws --help' mentions the JSON error object" grep -qF '"error"' <<<"$MAIN_HELP"

# Keys and patterns: the man page and the --help of the commands that take
# a PATTERN say that a key matches exactly and anything else is a pattern.
MAN_PATTERNS=$(awk '/^\.SS "Keys and patterns"/ { on = 1; next } /^\.S[SH]/ { on = 0 } on' <<<"$MAN")
check "man page SETTINGS has a 'Keys and patterns' subsection" test -n "$MAN_PATTERNS"
check "man page 'Keys and patterns' says a key matches exactly, brackets included" \
    grep -qz "exactly,.*brackets included" <<<"$MAN_PATTERNS"
check "man page 'Keys and patterns' names fnmatch(3)" grep -q "fnmatch" <<<"$MAN_PATTERNS"
for cmd in $COMMANDS; do
    grep -q "PATTERN" <<<"${SYNOPSIS[$cmd]}" || continue
    check "'lsws help $cmd' explains exact keys and patterns" grep -q "exactly, brackets included" <<<"${HELP[$cmd]}"
done

# Options refused on the command line (a password): the binary refuses
# them, the man page says so where it documents passwords.
MAN_ACCESS=$(man_section "DEVICE ACCESS")
for o in --password -p; do
    out=$("$LSWS" get "$o" 123456 2>&1)
    check "'lsws get $o 123456' is refused without repeating the password (got: $out)" \
        test "${out/123456/}" = "$out" -a "${out/password-file/}" != "$out"
    check "man page DEVICE ACCESS says $o is refused" has_word "$MAN_ACCESS" "$o"
done

# groff renders it without warnings.
if command -v groff >/dev/null 2>&1; then
    warnings=$(groff -man -Tutf8 -ww -z "$MANPAGE" 2>&1)
    check "groff -man -ww renders man/lsws.1 without warnings: $warnings" test -z "$warnings"
else
    skip "groff not installed: man page rendering not checked"
fi

# EXAMPLES: each "$ lsws ..." line without redirection or hardware runs in
# order in an empty directory (with HOME and XDG_STATE_HOME in it), exits 0,
# and prints the lines shown under it (if any).
mkdir -p "$TMP/bin" "$TMP/examples"
ln -s "$LSWS" "$TMP/bin/lsws"
# Lines "CMD<tab>command" (continuation lines joined), "OUT<tab>line" for the
# output shown under it, and "END" at the end of each example block.
examples=$(man_section EXAMPLES | awk '
    /^\.EX/ { on = 1; next }
    /^\.EE/ { if (on) print "END"; on = 0; next }
    !on { next }
    cont { cmd = cmd " " $0; cont = sub(/ *\\$/, "", cmd); if (!cont) print "CMD\t" cmd; next }
    /^\$ / { cmd = substr($0, 3); cont = sub(/ *\\$/, "", cmd); if (!cont) print "CMD\t" cmd; next }
    { print "OUT\t" $0 }')
run_example() { # CMD EXPECTED-STDOUT
    local got rc
    got=$(cd "$TMP/examples" && env -u LSWS_DEVICE -u LSWS_PASSWORD -u LSWS_NEW_PASSWORD -u LSWS_BACKUP_DIR \
        HOME="$TMP/home" XDG_STATE_HOME="$TMP/state" PATH="$TMP/bin:$PATH" bash -c "$1" 2>"$TMP/example.err" </dev/null)
    rc=$?
    if [ "$rc" -ne 0 ]; then
        fail "man page example '$1' exits $rc: $(head -3 "$TMP/example.err")"
    elif [ -n "$2" ] && [ "$got" != "$2" ]; then
        fail "man page example '$1' prints other output:"$'\n'"$(diff <(echo "$2") <(echo "$got") | sed 's/^/    /')"
    else
        pass
    fi
}
n_examples=0
cmd=""
want=""
while IFS=$'\t' read -r kind rest; do
    case "$kind" in
        CMD | END)
            [ -n "$cmd" ] && run_example "$cmd" "$want"
            cmd=""
            want=""
            [ "$kind" = END ] && continue
            case "$rest" in
                *'<'* | *'>'* | *'|'*) continue ;; # needs files the page does not give
                *serial:* | *nfc:* | *ble:*) continue ;; # needs hardware
            esac
            cmd=$rest
            n_examples=$((n_examples + 1))
            ;;
        OUT) [ -n "$cmd" ] && want+=${want:+$'\n'}$rest ;;
    esac
done <<<"$examples"
check "man page has runnable examples" test "$n_examples" -gt 0

# ---- completions: the text names everything ---------------------------------

BASH_TEXT=$(cat "$BASH_COMP")
ZSH_TEXT=$(cat "$ZSH_COMP")
FISH_TEXT=$(cat "$FISH_COMP")
# fish spells options "-l model" / "-s m" (or --long-option / --short-option).
fish_has_long() { grep -qE -- "(-l|--long-option)[ =]'?$1'?( |\$)" <<<"$FISH_TEXT"; }
fish_has_short() { grep -qE -- "(-s|--short-option)[ =]'?$1'?( |\$)" <<<"$FISH_TEXT"; }
ALL_LONGS=$GLOBAL_LONGS
ALL_SHORTS=$GLOBAL_SHORTS
for cmd in $COMMANDS; do
    ALL_LONGS+=" ${LONGS[$cmd]}"
    ALL_SHORTS+=" ${SHORTS[$cmd]}"
done
for cmd in $COMMANDS; do
    check "bash completion names command $cmd" has_word "$BASH_TEXT" "$cmd"
    check "zsh completion names command $cmd" has_word "$ZSH_TEXT" "$cmd"
    check "fish completion names command $cmd" has_word "$FISH_TEXT" "$cmd"
    for s in ${SUBS[$cmd]:-}; do
        check "bash completion names '$cmd $s'" has_word "$BASH_TEXT" "$s"
        check "zsh completion names '$cmd $s'" has_word "$ZSH_TEXT" "$s"
        check "fish completion names '$cmd $s'" has_word "$FISH_TEXT" "$s"
    done
done
for o in $(tr ' ' '\n' <<<"$ALL_LONGS" | sort -u); do
    check "bash completion has --$o" has_word "$BASH_TEXT" "--$o"
    check "zsh completion has --$o" has_word "$ZSH_TEXT" "--$o"
    check "fish completion has -l $o" fish_has_long "$o"
done
for o in $(tr ' ' '\n' <<<"$ALL_SHORTS" | sort -u); do
    check "bash completion has -$o" has_word "$BASH_TEXT" "-$o"
    check "zsh completion has -$o" has_word "$ZSH_TEXT" "-$o"
    check "fish completion has -s $o" fish_has_short "$o"
done
for v in $MODELS $BANDS; do
    check "bash completion offers $v" has_word "$BASH_TEXT" "$v"
    check "zsh completion offers $v" has_word "$ZSH_TEXT" "$v"
    check "fish completion offers $v" has_word "$FISH_TEXT" "$v"
done

# ---- completions: syntax ----------------------------------------------------------

check "bash -n completions/lsws.bash" bash -n "$BASH_COMP"
if command -v zsh >/dev/null 2>&1; then
    check "zsh -n completions/_lsws" zsh -n "$ZSH_COMP"
else
    skip "zsh not installed: completions/_lsws syntax not checked"
fi
if command -v fish >/dev/null 2>&1; then
    check "fish -n completions/lsws.fish" fish -n "$FISH_COMP"
else
    skip "fish not installed: completions/lsws.fish syntax not checked"
fi

# ---- completions: what they offer when run -----------------------------------

# Setting keys of a model, from the binary.
keys_of() { "$LSWS" keys --model "$1" --json | sed -nE 's/^[[:space:]]*"key":[[:space:]]*"([^"]*)".*/\1/p'; }
mkdir -p "$TMP/files"
: >"$TMP/files/unit.json"

# bash_complete PATH LINE: the words the bash completion offers for LINE (the
# cursor at its end), one per line, with PATH as the search path; its stderr
# goes to $TMP/bash.err.
bash_complete() {
    (cd "$TMP/files" && env -u LSWS_DEVICE PATH="$1" "$BASH_BIN" --norc --noprofile -c '
        source "$1" || exit 1
        compopt() { :; }  # only valid inside real completion
        COMP_LINE=$2 COMP_POINT=${#2}
        read -r -a COMP_WORDS <<<"$2"
        [[ $2 == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _lsws lsws "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf "%s\n" "${COMPREPLY[@]}"' _ "$BASH_COMP" "$2" 2>"$TMP/bash.err")
}
# fish_complete PATH LINE: the same for fish (`complete -C`).
fish_complete() {
    (cd "$TMP/files" && env -u LSWS_DEVICE PATH="$1" "$FISH_BIN" --no-config -c 'source $argv[1]; complete -C $argv[2]' \
        "$FISH_COMP" "$2" 2>"$TMP/fish.err" | cut -f1)
}
words_of() { tr '\n' ' ' <<<"$1"; }
dashed() { # PREFIX WORDS: -- "model base" -> "--model --base"
    local w out=""
    for w in $2; do out+="$1$w "; done
    echo "$out"
}

BASH_BIN=$(command -v bash)
FISH_BIN=$(command -v fish)
SHELLS=bash
if [ -n "$FISH_BIN" ]; then
    SHELLS+=" fish"
else
    skip "fish not installed: fish completions not run"
fi
PATH_WITH_LSWS=$TMP/bin:$PATH # lsws on PATH, for setting keys
for sh in $SHELLS; do
    # offers LINE WANT [exact]: completing LINE offers every word of WANT
    # (and nothing else, with "exact").
    offers() {
        local got
        got=$(words_of "$(${sh}_complete "$PATH_WITH_LSWS" "$1")")
        if [ "${3:-}" = exact ]; then
            check "$sh completion of '$1' offers exactly: $2 (got: $got)" same_set "$got" "$2"
        else
            check "$sh completion of '$1' offers: $2 (got: $got)" contains_all "$got" "$2"
        fi
    }
    offers "lsws " "$COMMANDS" exact
    offers "lsws --" "$(dashed -- "$GLOBAL_LONGS")" exact
    offers "lsws help " "$COMMANDS" exact
    for cmd in $COMMANDS; do
        offers "lsws $cmd --" "$(dashed -- "${LONGS[$cmd]} $GLOBAL_LONGS")" exact
        offers "lsws $cmd -" "$(dashed - "${SHORTS[$cmd]} $GLOBAL_SHORTS")"
        sub=${SUBS[$cmd]:-}
        [ -n "$sub" ] && offers "lsws $cmd " "$sub" exact
        sub=${sub%% *}
        has_word "${LONGS[$cmd]}" model && offers "lsws $cmd ${sub:+$sub }--model " "$MODELS" exact
        has_word "${LONGS[$cmd]}" band && offers "lsws $cmd ${sub:+$sub }--band " "$BANDS" exact
        # Options that take a FILE complete file names.
        for o in $(sed -nE 's/^ +(-[A-Za-z0-9], )?--([a-z0-9-]+) FILE .*/\2/p' <<<"${HELP[$cmd]}"); do
            offers "lsws $cmd ${sub:+$sub }--$o " "unit.json"
        done
    done
    # Template subcommands that take FILE operands complete file names.
    for s in ${SUBS[template]:-}; do
        [ "$s" = new ] || offers "lsws template $s " "unit.json"
    done
    # encode KEY=: every key of the model, once --model is given.
    for m in $MODELS; do
        keys=$(keys_of "$m")
        check "'lsws keys --model $m --json' lists keys" test -n "$keys"
        offers "lsws encode --model $m " "$(sed 's/$/=/' <<<"$keys" | tr '\n' ' ')" exact
        first=$(head -1 <<<"$keys")
        offers "lsws encode -m $m ${first%.*}" "$first="
    done
done

# bash: without lsws on PATH, KEY= completion is silently empty.
mkdir -p "$TMP/empty"
got=$(bash_complete "$TMP/empty" "lsws encode --model ws523 gen")
check "bash completion without lsws on PATH offers nothing for KEY= (got: $(words_of "$got"))" test -z "$got"
check "bash completion without lsws on PATH prints nothing: $(cat "$TMP/bash.err")" test ! -s "$TMP/bash.err"

finish
