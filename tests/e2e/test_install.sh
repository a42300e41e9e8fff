#!/bin/bash
# `cmake --install` puts the binary, man page, completions and templates
# in the usual places.
. "$(dirname "$0")/lib.sh"
BUILD=${LSWS_BUILD_DIR:?}
cmake --install "$BUILD" --prefix "$TMP/usr" >/dev/null 2>&1
ok "install exits 0" [ $? -eq 0 ]
for f in bin/lsws share/man/man1/lsws.1 share/bash-completion/completions/lsws \
    share/zsh/vendor-completions/_lsws share/fish/vendor_completions.d/lsws.fish \
    share/lsws/templates/ws523-EU868.json share/lsws/templates/cth01-US915.json; do
    ok "installs $f" [ -s "$TMP/usr/$f" ]
done
[ -e "$BUILD/lsws-sim" ] && ok "installs bin/lsws-sim" [ -x "$TMP/usr/bin/lsws-sim" ]
expect 0 "lsws " -- "$TMP/usr/bin/lsws" --version
finish install
