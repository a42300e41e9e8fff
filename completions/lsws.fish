# fish completion for lsws(1)
#
# The command and option lists below mirror cli/commands.c; the test
# tests/e2e/test_docs.sh checks them against `lsws --help` and
# `lsws help COMMAND`, and runs them with `complete -C` when fish is
# installed. Setting keys come from `lsws keys --model MODEL --json` when lsws
# is on PATH and the model is known: from --model (encode, keys) or from a
# simulator URI (-d sim:ws523, or $LSWS_DEVICE) for get and set. Otherwise
# nothing is offered for them.

# The words before the cursor, without `lsws` and without the arguments of
# options that take one; prints one per line.
function __lsws_words
    set -l words (commandline -opc)
    set -e words[1]
    set -l skip 0
    for w in $words
        if test $skip = 2
            # --wait takes an optional number
            set skip 0
            if string match -qr '^[0-9]+$' -- $w
                continue
            end
        end
        if test $skip = 1
            set skip 0
            continue
        end
        switch $w
            case --wait
                set skip 2
                continue
            case -d --device --password-file --timeout --deadline -m --model -b --base --band -o --output --at --tz \
                -M --manifest --pool -g --generate --only --exclude -L --ledger --ledger-wait --operator --station -f --format --frequency-plan --scan-time \
                -k --kind --since --until --model-map
                set skip 1
                continue
            case '-*'
                continue
        end
        echo $w
    end
end

# The command: the first word that is not an option or an option's argument.
function __lsws_command
    set -l w (__lsws_words)
    test (count $w) -ge 1; or return 1
    echo $w[1]
end

function __lsws_using
    set -l cmd (__lsws_command); or return 1
    test "$cmd" = "$argv[1]"
end

# The word after the command (a subcommand such as `template new`).
function __lsws_sub
    set -l w (__lsws_words)
    test (count $w) -ge 2; or return 1
    echo $w[2]
end

function __lsws_needs_sub
    __lsws_using $argv[1]; and not __lsws_sub >/dev/null
end

function __lsws_template_takes_file
    __lsws_using template; and contains -- (__lsws_sub) lint show
end

# The value of option $argv (long forms, then short) given earlier on the line.
function __lsws_option_value
    set -l words (commandline -opc)
    set -l next 0
    for w in $words
        if test $next = 1
            echo $w
            return 0
        end
        for o in $argv
            switch $o
                case '--*'
                    if test "$w" = $o
                        set next 1
                    else if string match -q -- "$o=*" $w
                        string replace -- "$o=" '' $w
                        return 0
                    end
                case '*'
                    if test "$w" = $o
                        set next 1
                    else if string match -q -- "$o?*" $w
                        string sub -s 3 -- $w
                        return 0
                    end
            end
        end
    end
    return 1
end

# The model for setting keys: --model/-m, else the model of a sim: device.
function __lsws_model
    __lsws_option_value --model -m; and return 0
    set -l dev (__lsws_option_value --device -d); or set dev $LSWS_DEVICE
    string match -q 'sim:*' -- "$dev"; or return 1
    string replace -r '^sim:([^?]*).*$' '$1' -- $dev
end

# Setting keys of that model, from lsws itself; $argv[1] is a suffix ("=").
function __lsws_settings
    set -l model (__lsws_model); or return 0
    command -q lsws; or return 0
    lsws keys --model $model --json 2>/dev/null | string replace -rf '^\s*"key":\s*"([^"]*)".*$' '$1'"$argv[1]"
end

# Control actions of that model for encode: first words, and the next word
# of an action whose first word is the word before the cursor.
function __lsws_actions
    set -l model (__lsws_model); or return 0
    command -q lsws; or return 0
    set -l prev (commandline -opc)[-1]
    for a in (lsws --json encode --list --model $model 2>/dev/null | string replace -rf '^\s*"action":\s*"([^"]*)".*$' '$1')
        set -l w (string split ' ' -- $a)
        echo $w[1]
        if test (count $w) -ge 2; and test "$w[1]" = "$prev"
            echo $w[2]
        end
    end | sort -u
end

function __lsws_devices
    set -l tok (commandline -ct)
    string replace -r -- '^--device=' '' $tok | read -l uri
    if string match -q 'serial:*' -- "$uri"
        for f in (__fish_complete_path (string replace 'serial:' '' -- $uri))
            echo serial:$f
        end
    else
        printf '%s\n' sim:ws523 sim:cth01 serial: nfc: nfc:pn532_uart:/dev/ttyUSB0 nfc:acr122_usb ble:
    end
end

complete -c lsws -f

# Commands
complete -c lsws -n 'not __lsws_command' -a decode -d 'decode uplink payloads (arguments, or one per line on stdin)'
complete -c lsws -n 'not __lsws_command' -a encode -d 'encode a control action or settings change as a LoRaWAN downlink'
complete -c lsws -n 'not __lsws_command' -a template -d 'create, check or show a JSON settings template'
complete -c lsws -n 'not __lsws_command' -a keys -d "list a model's settings: type, range, default, source"
complete -c lsws -n 'not __lsws_command' -a list -d 'list the devices lsws can see (also: lsws alone)'
complete -c lsws -n 'not __lsws_command' -a info -d 'identify the device: model, serial number, versions, band'
complete -c lsws -n 'not __lsws_command' -a get -d 'read settings from the device (secrets redacted)'
complete -c lsws -n 'not __lsws_command' -a set -d 'change settings in one transaction, after a backup, and verify'
complete -c lsws -n 'not __lsws_command' -a reset -d 'restore factory defaults (asks first unless --yes)'
complete -c lsws -n 'not __lsws_command' -a reboot -d 'reboot the device'
complete -c lsws -n 'not __lsws_command' -a password -d 'change the device password'
complete -c lsws -n 'not __lsws_command' -a time -d 'set the CTH01 clock and time zone'
complete -c lsws -n 'not __lsws_command' -a backup -d "save the device's whole configuration as a backup file"
complete -c lsws -n 'not __lsws_command' -a restore -d 'write a template or backup to the device in one verified transaction'
complete -c lsws -n 'not __lsws_command' -a diff -d 'compare the device with a file, or two files'
complete -c lsws -n 'not __lsws_command' -a batch -d 'provision many units from one template, recorded in the ledger'
complete -c lsws -n 'not __lsws_command' -a ledger -d 'create the schema, list or show provisioning records, export units and keys'
complete -c lsws -n 'not __lsws_command' -a hold -d "keep the device's link (an NFC reader) open and serve other lsws commands through it"
complete -c lsws -n 'not __lsws_command' -a upgrade -d 'install a firmware image, resuming an interrupted transfer'
complete -c lsws -n 'not __lsws_command' -a firmware -d "show and check a firmware image's header"
complete -c lsws -n 'not __lsws_command' -a history -d "show, export (resumable) or clear the CTH01's stored records"
complete -c lsws -n 'not __lsws_command' -a help -d 'show help for lsws or a command'

# Global options (before or after the command)
complete -c lsws -s d -l device -x -a '(__lsws_devices)' -d 'the device (default: $LSWS_DEVICE)'
complete -c lsws -l password-file -r -F -d 'read the device password from FILE'
complete -c lsws -l timeout -x -d 'reply timeout per exchange in milliseconds'
complete -c lsws -l deadline -x -d 'total time a device command may take'
complete -c lsws -l wait -d 'wait for an NFC card to be held to the reader [SECONDS]'
complete -c lsws -s y -l yes -d 'do not ask for confirmation'
complete -c lsws -s q -l quiet -d 'no warnings or notes on stderr'
complete -c lsws -s v -l verbose -d 'show each exchange with the device'
complete -c lsws -l trace -d 'dump every frame in hex'
complete -c lsws -l json -d 'machine-readable JSON output'
complete -c lsws -l show-secrets -d 'print keys and passwords instead of redacting them'
complete -c lsws -s h -l help -d 'show help'
complete -c lsws -s V -l version -d 'show the version'

# decode [--model MODEL] [--model-map FILE] [--base64] [--with-input] [--csv] [PAYLOAD...]
complete -c lsws -n '__lsws_using decode' -s m -l model -x -a 'ws523 ws52x cth01' -d 'ws523 or cth01 (default: detect)'
complete -c lsws -n '__lsws_using decode' -l model-map -r -F -d 'DevEUI -> model for network server messages'
complete -c lsws -n '__lsws_using decode' -l base64 -d 'payloads are base64, not hex'
complete -c lsws -n '__lsws_using decode' -l with-input -d 'JSON: each object also gives the payload as hex'
complete -c lsws -n '__lsws_using decode' -l csv -d 'write CSV, the columns of lsws history'

# encode --model MODEL [--base FILE] ACTION [OPERAND...]|KEY=VALUE... | --list
complete -c lsws -n '__lsws_using encode' -s m -l model -x -a 'ws523 ws52x cth01' -d 'ws523 or cth01'
complete -c lsws -n '__lsws_using encode' -s b -l base -r -F -d 'template giving values for settings that share a command, and the port'
complete -c lsws -n '__lsws_using encode' -s l -l list -d 'list the control actions'
complete -c lsws -n '__lsws_using encode' -a '(__lsws_settings =)' -d setting
complete -c lsws -n '__lsws_using encode' -a '(__lsws_actions)' -d action

# template new|lint|show [options] [FILE]
complete -c lsws -n '__lsws_needs_sub template' -a new -d 'print or write a factory-default template'
complete -c lsws -n '__lsws_needs_sub template' -a lint -d 'check template files'
complete -c lsws -n '__lsws_needs_sub template' -a show -d "show a template's settings"
complete -c lsws -n '__lsws_template_takes_file' -F
complete -c lsws -n '__lsws_using template' -s m -l model -x -a 'ws523 ws52x cth01' -d 'ws523 or cth01 (template new)'
complete -c lsws -n '__lsws_using template' -s b -l band -x -a 'EU868 US915 AU915 CN470 AS923 KR920 IN865 RU864' -d 'frequency band (template new)'
complete -c lsws -n '__lsws_using template' -s o -l output -r -F -d 'write to FILE (mode 0600) instead of stdout (template new)'

# keys --model MODEL [KEY|PATTERN]
complete -c lsws -n '__lsws_using keys' -s m -l model -x -a 'ws523 ws52x cth01' -d 'ws523 or cth01'
complete -c lsws -n '__lsws_using keys' -a '(__lsws_settings)' -d setting

# get [KEY|PATTERN...], set KEY=VALUE...
complete -c lsws -n '__lsws_using get' -a '(__lsws_settings)' -d setting
complete -c lsws -n '__lsws_using set' -a '(__lsws_settings =)' -d setting

# list [--ble] [--identify] [--scan-time SECONDS]
complete -c lsws -n '__lsws_using list' -l ble -d 'only Bluetooth LE hubs (a scan of the first adapter)'
complete -c lsws -n '__lsws_using list' -l identify -d 'connect to each device found (BLE hubs too) for its model, SN and firmware'
complete -c lsws -n '__lsws_using list' -l scan-time -x -d 'how long to scan for Bluetooth LE hubs (default 2)'

# time sync [--at UNIX] [--tz OFFSET]
complete -c lsws -n '__lsws_needs_sub time' -a sync -d 'set the clock and time zone'
complete -c lsws -n '__lsws_using time' -l at -x -d "set this Unix time instead of the computer's clock"
complete -c lsws -n '__lsws_using time' -l tz -x -d "time zone as UTC+HH:MM (default: the computer's)"

# backup -o FILE [--no-secrets] | --list
complete -c lsws -n '__lsws_using backup' -s o -l output -r -F -d 'write the backup to FILE (mode 0600; - for stdout)'
complete -c lsws -n '__lsws_using backup' -l no-secrets -d 'leave keys and passwords out of the backup'
complete -c lsws -n '__lsws_using backup' -l list -d 'list the automatic backups (no device)'

# restore FILE | --last [--dry-run] [--only PATTERN] [--exclude PATTERN]
complete -c lsws -n '__lsws_using restore' -F
complete -c lsws -n '__lsws_using restore' -l last -d 'the newest automatic backup of this unit'
complete -c lsws -n '__lsws_using restore' -l dry-run -d 'show what would change and write nothing'
complete -c lsws -n '__lsws_using restore' -l only -x -d 'apply only the settings matching PATTERN'
complete -c lsws -n '__lsws_using restore' -l exclude -x -d 'leave out the settings matching PATTERN'

# diff FILE [FILE2] [--only PATTERN] [--exclude PATTERN]
complete -c lsws -n '__lsws_using diff' -F
complete -c lsws -n '__lsws_using diff' -l only -x -d 'compare only the settings matching PATTERN'
complete -c lsws -n '__lsws_using diff' -l exclude -x -d 'leave out the settings matching PATTERN'

# batch TEMPLATE [URI...] [--all] [--loop] [--manifest FILE] [--pool FILE] [--generate NAME] [--ledger FILE] [--force]
complete -c lsws -n '__lsws_using batch; and not __lsws_sub >/dev/null' -F
complete -c lsws -n '__lsws_using batch; and __lsws_sub >/dev/null' -a '(__lsws_devices)'
complete -c lsws -n '__lsws_using batch' -l all -d 'every unit a discovery finds'
complete -c lsws -n '__lsws_using batch' -l loop -d 'a tap loop: each NFC card held to the reader in turn'
complete -c lsws -n '__lsws_using batch' -l scan-time -x -d 'with --all, how long to scan for Bluetooth LE hubs'
complete -c lsws -n '__lsws_using batch' -s M -l manifest -r -F -d 'per-unit values (CSV keyed by sn or dev_eui)'
complete -c lsws -n '__lsws_using batch' -l pool -r -F -d 'a pool of identities shared by stations (CSV)'
complete -c lsws -n '__lsws_using batch' -s g -l generate -x -d 'a random 128-bit key per unit for ${NAME}'
complete -c lsws -n '__lsws_using batch' -l only -x -d 'apply only the settings matching PATTERN'
complete -c lsws -n '__lsws_using batch' -l exclude -x -d 'leave out the settings matching PATTERN'
complete -c lsws -n '__lsws_using batch' -s L -l ledger -r -F -d 'the provisioning ledger'
complete -c lsws -n '__lsws_using batch' -l ledger-wait -x -d 'wait at most this long for the ledger server'
complete -c lsws -n '__lsws_using batch' -l force -d 'provision units the ledger says are done'
complete -c lsws -n '__lsws_using batch' -l operator -x -d 'who runs the batch, for the ledger'
complete -c lsws -n '__lsws_using batch' -l station -x -d 'this station, for the ledger'

# ledger init|list|show|export [options] [ID|SN]
complete -c lsws -n '__lsws_needs_sub ledger' -a init -d 'create or migrate the schema'
complete -c lsws -n '__lsws_needs_sub ledger' -a list -d 'list the records'
complete -c lsws -n '__lsws_needs_sub ledger' -a show -d 'show a record, or a unit\'s records'
complete -c lsws -n '__lsws_needs_sub ledger' -a export -d 'export units and keys for a network server'
complete -c lsws -n '__lsws_using ledger' -s L -l ledger -r -F -d 'the provisioning ledger'
complete -c lsws -n '__lsws_using ledger' -s f -l format -x -a 'tts-csv tts-json chirpstack csv' -d 'export format'
complete -c lsws -n '__lsws_using ledger' -s o -l output -r -F -d 'write the export to FILE (mode 0600)'
complete -c lsws -n '__lsws_using ledger' -l frequency-plan -x -d 'The Things Stack frequency plan for every unit'

# history [--kind KIND] [--since TIME] [--until TIME] [--tz ZONE] [-o FILE] [--at TIME] [--clear]
complete -c lsws -n '__lsws_using history' -s k -l kind -x -a 'alarm periodic monthly-energy monthly-extremes' -d 'kind of stored records'
complete -c lsws -n '__lsws_using history' -l since -x -d 'from this time (Unix seconds or ISO 8601)'
complete -c lsws -n '__lsws_using history' -l until -x -d 'to this time, inclusive'
complete -c lsws -n '__lsws_using history' -l tz -x -a 'UTC device' -d "times in UTC, the device's zone or UTC+HH:MM"
complete -c lsws -n '__lsws_using history' -s o -l output -r -F -d 'export to FILE (CSV, or JSON Lines with --json)'
complete -c lsws -n '__lsws_using history' -l at -x -d 'show the record nearest TIME'
complete -c lsws -n '__lsws_using history' -l clear -d 'delete the stored records of --kind'
complete -c lsws -n '__lsws_using history' -l columns -d 'list the CSV columns and exit'

# hold [--idle SECONDS]
complete -c lsws -n '__lsws_using hold' -l idle -x -d 'stop after SECONDS without a client (default 600; 0: no limit)'
# upgrade [--force] [--dry-run] FIRMWARE
complete -c lsws -n '__lsws_needs_sub upgrade' -F
complete -c lsws -n '__lsws_using upgrade' -l force -d 'install an older image, or the same version'
complete -c lsws -n '__lsws_using upgrade' -l dry-run -d 'check the image against the unit, then stop'

# firmware info FILE
complete -c lsws -n '__lsws_needs_sub firmware' -a info -d "show and check an image's header"
complete -c lsws -n '__lsws_using firmware; and test (__lsws_sub) = info' -F

# help [COMMAND]
complete -c lsws -n '__lsws_needs_sub help' -a 'decode encode template keys list info get set reset reboot password time upgrade firmware backup restore diff batch ledger history hold help'
