# bash completion for lsws(1)
#
# The command and option lists below mirror cli/commands.c; the test
# tests/e2e/test_docs.sh checks them against `lsws --help` and
# `lsws help COMMAND`, and runs this function to see what it offers.
#
# Setting keys come from `lsws keys --model MODEL --json`, and encode's
# control actions from `lsws --json encode --list --model MODEL`, when lsws
# is on PATH and the model is known: from --model (encode, keys) or from a
# simulator URI (-d sim:ws523, or $LSWS_DEVICE) for get and set. Otherwise
# nothing is offered for them.

_lsws_commands="decode encode template keys list info get set reset reboot password time upgrade firmware backup restore diff batch ledger history hold help"
_lsws_global_opts="--device -d --password-file --timeout --deadline --wait --yes -y --quiet -q --verbose -v
    --trace --json --show-secrets --help -h --version -V"
_lsws_models="ws523 ws52x cth01"
_lsws_bands="EU868 US915 AU915 CN470 AS923 KR920 IN865 RU864"
_lsws_devices="sim:ws523 sim:cth01 serial: nfc: nfc:pn532_uart: nfc:acr122_usb ble:"

# Options of each command (long and short), and subcommands.
_lsws_opts_decode="--model -m --model-map --base64 --with-input --csv"
_lsws_opts_encode="--model -m --base -b --list -l"
_lsws_opts_template="--model -m --band -b --output -o"
_lsws_opts_keys="--model -m"
_lsws_opts_list="--ble --identify --scan-time"
_lsws_opts_time="--at --tz"
_lsws_opts_backup="--output -o --no-secrets --list"
_lsws_opts_restore="--last --dry-run --only --exclude"
_lsws_opts_diff="--only --exclude"
_lsws_opts_batch="--all --loop --scan-time --manifest -M --pool --generate -g --only --exclude --ledger -L --ledger-wait --force --operator --station"
_lsws_opts_ledger="--ledger -L --format -f --output -o --frequency-plan"
_lsws_opts_upgrade="--force --dry-run"
_lsws_opts_history="--kind -k --since --until --tz --output -o --at --clear --columns"
_lsws_opts_hold="--idle"
_lsws_history_kinds="alarm periodic monthly-energy monthly-extremes"
_lsws_subs_template="new lint show"
_lsws_subs_time="sync"
_lsws_subs_firmware="info"
_lsws_subs_ledger="init list show export"
_lsws_formats="tts-csv tts-json chirpstack csv"

# What option $2 of command $1 takes: MODEL, BAND, FILE, URI, FORMAT, KIND, ZONE, ARG (a
# value with nothing to offer), OPTNUM (an optional number in the next word), or
# nothing for a flag or an unknown option.
_lsws_optarg()
{
    case "$2" in
        --device | -d) echo URI; return ;;
        --password-file) echo FILE; return ;;
        --timeout | --deadline) echo ARG; return ;;
        --wait) echo OPTNUM; return ;;
    esac
    case "$1:$2" in
        decode:--model | decode:-m | encode:--model | encode:-m | template:--model | \
            template:-m | keys:--model | keys:-m) echo MODEL ;;
        encode:--base | encode:-b | template:--output | template:-o | decode:--model-map) echo FILE ;;
        backup:--output | backup:-o | batch:--manifest | batch:-M | batch:--pool | batch:--ledger | batch:-L) echo FILE ;;
        ledger:--ledger | ledger:-L | ledger:--output | ledger:-o) echo FILE ;;
        ledger:--format | ledger:-f) echo FORMAT ;;
        template:--band | template:-b) echo BAND ;;
        time:--at | time:--tz | list:--scan-time | batch:--scan-time | batch:--ledger-wait | hold:--idle) echo ARG ;;
        restore:--only | restore:--exclude | diff:--only | diff:--exclude | batch:--only | batch:--exclude) echo ARG ;;
        batch:--generate | batch:-g | batch:--operator | batch:--station | ledger:--frequency-plan) echo ARG ;;
        history:--kind | history:-k) echo KIND ;;
        history:--output | history:-o) echo FILE ;;
        history:--since | history:--until | history:--at) echo ARG ;;
        history:--tz) echo ZONE ;;
    esac
}

# Setting keys of model $1, one per line (nothing if lsws is not on PATH).
_lsws_setting_keys()
{
    [[ -n $1 ]] || return 0
    type -P lsws >/dev/null 2>&1 || return 0
    lsws keys --model "$1" --json 2>/dev/null |
        sed -n 's/^[[:space:]]*"key":[[:space:]]*"\([^"]*\)".*/\1/p'
}

# Control actions of model $1 ("socket", "delay cancel"), one per line.
_lsws_actions()
{
    [[ -n $1 ]] || return 0
    type -P lsws >/dev/null 2>&1 || return 0
    lsws --json encode --list --model "$1" 2>/dev/null |
        sed -n 's/^[[:space:]]*"action":[[:space:]]*"\([^"]*\)".*/\1/p'
}

# Adds to COMPREPLY the words of list $1 (split on blanks) starting with $2.
_lsws_add()
{
    local w
    for w in $1; do
        [[ $w == "$2"* ]] && COMPREPLY+=("$w")
    done
}

_lsws_add_files()
{
    local f
    while IFS= read -r f; do
        COMPREPLY+=("$f")
    done < <(compgen -f -- "$1")
    compopt -o filenames 2>/dev/null
}

# Values for an option argument of kind $1, prefix $2.
_lsws_add_optarg()
{
    case "$1" in
        MODEL) _lsws_add "$_lsws_models" "$2" ;;
        BAND) _lsws_add "$_lsws_bands" "$2" ;;
        FORMAT) _lsws_add "$_lsws_formats" "$2" ;;
        KIND) _lsws_add "$_lsws_history_kinds" "$2" ;;
        ZONE) _lsws_add "UTC device" "$2" ;;
        FILE) _lsws_add_files "$2" ;;
        URI)
            if [[ $2 == serial:* ]]; then
                local f
                while IFS= read -r f; do
                    COMPREPLY+=("serial:$f")
                done < <(compgen -f -- "${2#serial:}")
            else
                _lsws_add "$_lsws_devices" "$2"
                [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *: ]] && compopt -o nospace 2>/dev/null
            fi
            ;;
    esac
}

_lsws()
{
    COMPREPLY=()
    # Split the line up to the cursor ourselves: COMP_WORDS splits at '=' and
    # ':', which are part of KEY=VALUE, --model=MODEL and device URIs.
    local line=${COMP_LINE:0:COMP_POINT} cur=""
    local -a words
    read -r -a words <<<"$line"
    if [[ -n $line && $line != *[[:space:]] && ${#words[@]} -gt 0 ]]; then
        cur=${words[${#words[@]} - 1]}
        unset 'words[${#words[@]}-1]'
    fi
    # Readline completes the text after an opening quote.
    [[ $cur == [\"\']* ]] && cur=${cur:1}

    # Walk the words before the cursor: the command, its subcommand, the
    # model and device, and whether the previous word wants an argument.
    local cmd="" sub="" model="" device=${LSWS_DEVICE:-} want="" w i
    for ((i = 1; i < ${#words[@]}; i++)); do
        w=${words[i]}
        if [[ $want == OPTNUM ]]; then
            want=""
            [[ $w =~ ^[0-9]+$ ]] && continue
        fi
        if [[ -n $want ]]; then
            [[ $want == MODEL ]] && model=$w
            [[ $want == URI ]] && device=$w
            want=""
            continue
        fi
        case "$w" in
            --model=*) model=${w#--model=} ;;
            --device=*) device=${w#--device=} ;;
            --*=*) ;;
            -m?*) [[ -n $cmd ]] && model=${w#-m} ;;
            -d?*) device=${w#-d} ;;
            -?*) want=$(_lsws_optarg "$cmd" "$w") ;;
            *)
                if [[ -z $cmd ]]; then
                    cmd=$w
                elif [[ -z $sub ]]; then
                    sub=$w
                fi
                ;;
        esac
    done
    # get and set: the model of a simulated device.
    if [[ -z $model && $device == sim:* ]]; then
        model=${device#sim:}
        model=${model%%\?*}
    fi

    [[ $want == OPTNUM ]] && want=""
    if [[ -n $want ]]; then
        _lsws_add_optarg "$want" "$cur"
    elif [[ $cur == --*=* ]]; then
        # --model=MODEL: complete the value, keep the option.
        local opt=${cur%%=*} kind
        kind=$(_lsws_optarg "$cmd" "$opt")
        _lsws_add_optarg "$kind" "${cur#*=}"
        for i in "${!COMPREPLY[@]}"; do
            COMPREPLY[i]="$opt=${COMPREPLY[i]}"
        done
    elif [[ $cur == -* ]]; then
        local opts_var="_lsws_opts_${cmd}"
        [[ -n $cmd ]] && _lsws_add "${!opts_var-}" "$cur"
        _lsws_add "$_lsws_global_opts" "$cur"
    elif [[ -z $cmd ]]; then
        _lsws_add "$_lsws_commands" "$cur"
    else
        local k
        case "$cmd" in
            encode | set)
                if [[ $cur != *=* ]]; then
                    while IFS= read -r k; do
                        [[ $k == "$cur"* ]] && COMPREPLY+=("$k=")
                    done < <(_lsws_setting_keys "$model")
                    # Actions: their first word, or the next word of one
                    # whose first word came just before ("history range").
                    local -a acts=() seen=()
                    local prev=${words[${#words[@]} - 1]} a next
                    if [[ $cmd == encode ]]; then
                        while IFS= read -r a; do
                            next=${a%% *}
                            if [[ $a == *" "* && ${a%% *} == "$prev" ]]; then
                                next=${a#* }
                                next=${next%% *}
                                acts+=("$next")
                            fi
                            acts+=("${a%% *}")
                        done < <(_lsws_actions "$model")
                    fi
                    for a in "${acts[@]}"; do
                        [[ $a == "$cur"* && " ${seen[*]} " != *" $a "* ]] || continue
                        seen+=("$a")
                        COMPREPLY+=("$a")
                    done
                    [[ ${#seen[@]} -eq 0 ]] && compopt -o nospace 2>/dev/null
                fi
                ;;
            keys | get)
                while IFS= read -r k; do
                    [[ $k == "$cur"* ]] && COMPREPLY+=("$k")
                done < <(_lsws_setting_keys "$model")
                ;;
            template)
                # sub is empty while the subcommand itself is being typed.
                case "$sub" in
                    "") _lsws_add "$_lsws_subs_template" "$cur" ;;
                    lint | show) _lsws_add_files "$cur" ;;
                esac
                ;;
            time)
                [[ -z $sub ]] && _lsws_add "$_lsws_subs_time" "$cur"
                ;;
            restore | diff)
                _lsws_add_files "$cur"
                ;;
            batch)
                # the template, then the units
                if [[ -z $sub ]]; then
                    _lsws_add_files "$cur"
                else
                    _lsws_add_optarg URI "$cur"
                fi
                ;;
            ledger)
                [[ -z $sub ]] && _lsws_add "$_lsws_subs_ledger" "$cur"
                ;;
            upgrade)
                # sub is the FIRMWARE operand once it is typed.
                [[ -z $sub ]] && _lsws_add_files "$cur"
                ;;
            firmware)
                case "$sub" in
                    "") _lsws_add "$_lsws_subs_firmware" "$cur" ;;
                    info) _lsws_add_files "$cur" ;;
                esac
                ;;
            help)
                [[ -z $sub ]] && _lsws_add "$_lsws_commands" "$cur"
                ;;
        esac
    fi

    # Readline replaces only the part of the word after the last break
    # character ('=' or ':' by default): drop that part from the candidates.
    local breaks="" c
    for c in '=' ':'; do
        [[ $COMP_WORDBREAKS == *"$c"* ]] && breaks+=$c
    done
    if [[ -n $breaks && $cur == *["$breaks"]* ]]; then
        local prefix=${cur%"${cur##*["$breaks"]}"}
        for i in "${!COMPREPLY[@]}"; do
            COMPREPLY[i]=${COMPREPLY[i]#"$prefix"}
        done
    fi
    return 0
}

complete -F _lsws lsws
