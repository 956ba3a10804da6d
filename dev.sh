#!/usr/bin/env bash
# One entry point for a fresh Debian machine, run as root:
#   ./dev.sh lab [dnsmasq|kea|kea6|dnsmasq6]   install what is needed, open the shell against a lab
#   ./dev.sh test [PYTEST ARGS]  install what is needed, run the whole test suite
#   ./dev.sh bench               install what is needed, run the benchmark
#   ./dev.sh soak [MINUTES]      serve() under perfdhcp and garbage for minutes (default 10), watched
#   ./dev.sh soak-verdicts [--runs N]  sweep_replies() 2N times (idle, busy) per lab client: flips printed
#   ./dev.sh fuzz [N]            the longer fuzz run of the reply parser (default 100000 inputs)
#   ./dev.sh notebooks           run the example notebooks and write their outputs back
#   ./dev.sh install [EXTRAS]    only install (apt packages, .venv, the scapy-dhcp command); it leaves
#                                no system service enabled or running that was not before
#   ./dev.sh install-check       install, and fail if any system unit is enabled that was not before
#   ./dev.sh fresh [SUITE] [CMD] a newcomer's check: a fresh Debian root (mmdebstrap; bookworm or
#                                trixie, default trixie), this repo's HEAD cloned into its /root,
#                                then ./dev.sh CMD there (default: test); the root is removed after
set -euo pipefail
cd "$(dirname "$0")"
repo=$(pwd)
venv=/opt/scapy-dhcp/venv-$(printf %s "$repo" | sha256sum | cut -c1-12)

# openssh-server, rsync, python3-yaml: labgrid's remote path (its agent goes over ssh and rsync; the
# exporter host's labgrid-raw-interface helper reads YAML). The test starts an sshd of its own on loopback;
# Debian's package would also enable and start the system's sshd: quietly_install below leaves it off.
# chromium: the tests open each report's HTML file in it (headless) and read the table it renders.
# wide-dhcpv6-client: dhcp6c, the lab's second DHCPv6 client (its init script is left disabled below).
APT_PACKAGES=(python3 python3-venv iproute2 procps dnsmasq-base kea-dhcp4-server kea-dhcp6-server kea-admin busybox dhcpcd-base tshark tmux
              sudo openssh-server openssh-client rsync python3-yaml chromium wide-dhcpv6-client)

say() { printf '%s\n' "dev.sh: $*" >&2; }

need_root() {
  if [ "$(id -u)" != 0 ]; then
    say "this needs root (apt packages, network namespaces): run it as root, e.g. sudo ./dev.sh $1"
    exit 2
  fi
}

install_apt() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # setpriv (running the unit tests as nobody) is in util-linux up to Debian 12,
  # in a package of its own from Debian 13.
  command -v setpriv >/dev/null || missing+=(setpriv)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    if [[ " ${missing[*]} " == *" setpriv "* ]] && ! apt-cache show setpriv >/dev/null 2>&1; then
      missing=("${missing[@]/setpriv/util-linux}")
    fi
    quietly_install "${missing[@]}"
  fi
}

# The system services the lab's packages bring (Debian enables and starts them from their postinst):
# the lab runs its own servers in its namespaces and the labgrid test its own sshd, so none of these
# may be left enabled or running by an install. One that was enabled or running before stays so.
SERVICES=(ssh.service ssh.socket sshd-keygen.service kea-dhcp4-server.service kea-dhcp6-server.service kea-ctrl-agent.service
          kea-dhcp-ddns-server.service dnsmasq.service isc-dhcp-server.service wide-dhcpv6-client.service)

unit_state() {   # for every service above: enabled or not (its links in /etc/systemd/system), and running or not
  local unit enabled active
  for unit in "${SERVICES[@]}"; do
    enabled=disabled
    compgen -G "/etc/systemd/system/*.wants/$unit" >/dev/null && enabled=enabled
    # an init script only (wide-dhcpv6-client): its start links in the runlevels
    compgen -G "/etc/rc[2-5].d/S[0-9][0-9]${unit%.service}" >/dev/null && enabled=enabled
    active=no-systemd
    [ -d /run/systemd/system ] && active=$(systemctl is-active "$unit" 2>/dev/null || true)
    printf '%s %s %s\n' "$unit" "$enabled" "${active:-inactive}"
  done
}

disable_unit() {   # as an administrator would: deb-systemd-helper remembers it (an upgrade keeps it off)
  if command -v deb-systemd-helper >/dev/null; then deb-systemd-helper disable "$1" >/dev/null 2>&1 || true; fi
  if command -v systemctl >/dev/null; then systemctl --root=/ disable --quiet "$1" >/dev/null 2>&1 || true; fi
  rm -f /etc/systemd/system/*.wants/"$1"
  if [ -x "/etc/init.d/${1%.service}" ] && command -v update-rc.d >/dev/null; then
    update-rc.d "${1%.service}" disable >/dev/null 2>&1 || true
  fi
}

quietly_install() {
  local before policy=/usr/sbin/policy-rc.d own_policy=""
  before=$(unit_state)
  # invoke-rc.d asks policy-rc.d before it starts a service: 101 says "not now" (Debian policy 9.3.3).
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    own_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null || { [ -n "$own_policy" ] && rm -f "$policy"; return 1; }
  if [ -n "$own_policy" ]; then rm -f "$policy"; fi
  local unit was_enabled was_active now_enabled now_active
  while read -r unit was_enabled was_active; do
    read -r _ now_enabled now_active < <(unit_state | grep "^$unit ")
    if [ "$now_enabled" = enabled ] && [ "$was_enabled" != enabled ]; then
      disable_unit "$unit"
      say "left $unit disabled, as it was before the install"
    fi
    if [ "$now_active" = active ] && [ "$was_active" != active ]; then
      systemctl stop "$unit" 2>/dev/null || true
      say "stopped $unit, which the install started"
    fi
  done <<< "$before"
}

install_python() {
  local extras=$1
  # The environment lives outside the checkout, readable by every user: a clone
  # in root's home (mode 700) must still give other users a command that says
  # what to do. .venv in the checkout points at it.
  mkdir -p "$(dirname "$venv")"
  chmod 755 "$(dirname "$venv")"
  if [ ! -x "$venv/bin/python" ]; then
    say "creating $venv"
    /usr/bin/python3 -m venv "$venv"
  fi
  if [ -d .venv ] && [ ! -L .venv ]; then rm -rf .venv; fi
  ln -sfn "$venv" .venv
  local stamp="$venv/.scapy-dhcp-installed" want
  want="$extras $(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing scapy-dhcp[$extras] and what it needs into $venv (log: $venv/pip.log)"
    pip_or_fail install --upgrade pip "setuptools>=77" wheel
    pip_or_fail install --no-build-isolation ".[$extras]"
    echo "$want" > "$stamp"
    rm -f "$venv/.scapy-dhcp-code"
  fi
  # The package itself is installed as a copy (not editable: an editable install
  # reads the checkout), again whenever its code changed.
  local code
  code=$(find pyproject.toml scapy_dhcp_ext -name '*.py' -o -name pyproject.toml | sort | xargs cat |
         sha256sum | cut -d' ' -f1)
  if [ "$(cat "$venv/.scapy-dhcp-code" 2>/dev/null)" != "$code" ]; then
    pip_or_fail install --no-deps --no-build-isolation --force-reinstall .
    rm -rf build ./*.egg-info
    echo "$code" > "$venv/.scapy-dhcp-code"
  fi
  chmod -R a+rX "$venv"
  # sudo's secure_path has /usr/local/bin but no virtualenv: put the command there.
  ln -sf "$venv/bin/scapy-dhcp" /usr/local/bin/scapy-dhcp
  install_labgrid_helper
}

# A labgrid remote place: RawNetworkInterfaceDriver runs `sudo labgrid-raw-interface` on the exporter's
# host. labgrid ships that helper only in its source distribution, so it comes from there (the version
# installed in the environment); its configuration is /etc/labgrid/helpers.yaml (made here only if
# missing, denying no interface), and it starts labgrid-tap-fwd from sudo's secure_path.
install_labgrid_helper() {
  local ver tmp
  ver=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("labgrid"))' 2>/dev/null) || return 0
  if [ ! -x /usr/local/sbin/labgrid-raw-interface ] || [ "$(cat "$venv/.labgrid-helper" 2>/dev/null)" != "$ver" ]; then
    say "installing labgrid-raw-interface $ver (from labgrid's source distribution) into /usr/local/sbin"
    tmp=$(mktemp -d)
    pip_or_fail download --no-deps --no-binary :all: "labgrid==$ver" -d "$tmp"
    tar -xzf "$tmp/labgrid-$ver.tar.gz" -C "$tmp" "labgrid-$ver/helpers/labgrid-raw-interface"
    command install -m 755 "$tmp/labgrid-$ver/helpers/labgrid-raw-interface" /usr/local/sbin/
    rm -rf "$tmp"
    echo "$ver" > "$venv/.labgrid-helper"
  fi
  if [ ! -f /etc/labgrid/helpers.yaml ]; then
    mkdir -p /etc/labgrid
    printf 'raw-interface:\n  denied-interfaces: []\n' > /etc/labgrid/helpers.yaml
  fi
  ln -sf "$venv/bin/labgrid-tap-fwd" /usr/local/bin/labgrid-tap-fwd
}

pip_or_fail() {
  if ! "$venv/bin/python" -m pip "$@" >> "$venv/pip.log" 2>&1; then
    tail -n 30 "$venv/pip.log" >&2
    say "pip failed: the whole log is in $venv/pip.log"
    exit 1
  fi
}

# pytest -m "not lab" as an ordinary user (nobody) on a machine without
# iproute2: a world-readable copy of the checkout, and ip and ss hidden in a
# mount namespace of this run alone.
unit_as_nobody() {
  local copy rc=0
  copy=$(mktemp -d /tmp/scapy-dhcp-unit-XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$copy'" RETURN EXIT
  if git rev-parse --git-dir >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$copy"
  else
    tar --exclude=./.venv -cf - . | tar -xf - -C "$copy"
  fi
  chown -R 65534:65534 "$copy"
  chmod 755 "$copy"
  say "pytest -m 'not lab' as nobody, without iproute2 (a copy in $copy)"
  unshare --mount -- sh -c '
    for b in ip ss; do
      p=$(command -v $b) && mount --bind /dev/null "$(readlink -f "$p")"
    done
    cd "$1" && exec setpriv --reuid=65534 --regid=65534 --clear-groups \
      env -i HOME="$1" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 TERM=xterm \
      "$2/bin/python" -m pytest -m "not lab" -p no:cacheprovider -q' sh "$copy" "$venv" || rc=$?
  return "$rc"
}

install() {
  need_root "${1:-install}"
  install_apt
  install_python "${2:-test}"
}

fresh() {
  need_root fresh
  local suite=${1:-trixie}
  shift || true
  [ $# -gt 0 ] || set -- test
  # Two fresh roots started at once (bookworm and trixie) would both run apt-get here: one at a time.
  command -v mmdebstrap >/dev/null || flock /run/lock/scapy-dhcp-fresh.lock sh -c \
    'command -v mmdebstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq mmdebstrap >/dev/null; }'
  local root
  root=$(mktemp -d "/tmp/scapy-dhcp-fresh-$suite-XXXXXX")
  # shellcheck disable=SC2064
  trap "umount -R '$root' 2>/dev/null; rm -rf --one-file-system '$root'" EXIT
  say "building a fresh $suite root in $root"
  # systemd-sysv: a newcomer's Debian has systemd (and its own units enabled) before our install runs.
  mmdebstrap --quiet --variant=minbase --include=git,ca-certificates,systemd-sysv "$suite" "$root" >&2
  # ip netns exec remounts /sys inside: the root must be a mount point of its own.
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs tmpfs "$root/run"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # This machine's registries: its pip settings and CA bundle, as a newcomer's machine would have.
  [ -f /etc/pip.conf ] && cp /etc/pip.conf "$root/etc/pip.conf"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  chmod 700 "$root/root"
  git clone -q "$repo" "$root/root/scapy-dhcp"
  say "running ./dev.sh $* in the fresh root, from a clone in /root"
  # Not chroot: the kernel refuses a chrooted process a user namespace, and labgrid's agent makes one.
  # A mount namespace whose root is the fresh root (pivot_root) is what a real machine looks like.
  CI="${CI:-}" unshare --mount --propagation private -- /bin/sh -c '
    root=$1; shift
    cd "$root" && mkdir -p .old-root && pivot_root . .old-root && umount -l /.old-root && rmdir /.old-root &&
    exec /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      LANG=C.UTF-8 CI="$CI" bash -c "cd /root/scapy-dhcp && ./dev.sh \"\$@\"" bash "$@"' sh "$root" "$@"
}

cmd=${1:-}
shift || true
case "$cmd" in
  install) install install "${1:-test}" ;;
  lab)     install lab test
           case "${1-}" in   # a client lab alone: serve() and check_client() play its server, no dnsmasq beside
             --lab-client|--lab-client=*) exec "$venv/bin/scapy-dhcp" "$@" ;;
           esac
           exec "$venv/bin/scapy-dhcp" --lab "$@" ;;
  test)
    install test test
    set +e
    # Four workers (pytest-xdist): a lab test mostly waits for its peers' timers (the whole suite keeps
    # about half of one CPU busy), so four at a time on a 2-CPU machine quarter the time; each worker's
    # labs are its own (tests/support/labs.py).
    "$venv/bin/python" -m pytest -n 4 --dist worksteal --durations=15 "$@"
    rc=$?
    set -e
    [ "$rc" = 5 ] && { say "pytest collected no tests"; exit 1; }
    [ "$rc" = 0 ] || exit "$rc"
    # The whole suite, as above; then the unit tests as a user without privileges.
    [ $# -gt 0 ] || unit_as_nobody ;;
  bench)   install bench test; exec "$venv/bin/python" bench/run.py "$@" ;;
  fuzz)    install fuzz test; exec "$venv/bin/python" -m tests.support.fuzz "$@" ;;
  soak)    install soak test; exec "$venv/bin/python" bench/soak.py "$@" ;;
  soak-verdicts) install soak-verdicts test; exec "$venv/bin/python" bench/verdict_soak.py "$@" ;;
  notebooks) install notebooks test; exec "$venv/bin/python" -m tests.support.run_notebooks ;;
  fresh)   fresh "$@" ;;
  install-check)   # what ./dev.sh install leaves enabled that was not: nothing (./dev.sh fresh SUITE install-check)
    need_root install-check
    enabled_units() {   # systemd's wants links, and an init script's start links in the runlevels
      { find /etc/systemd/system -path '*.wants/*' -printf '%P\n'; find /etc/rc[2-5].d -name 'S*' -printf '%P\n'; } \
        2>/dev/null | sed 's/^S[0-9][0-9]//' | sort
    }
    before=$(enabled_units)
    install install test
    after=$(enabled_units)
    added=$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | grep -v '^$' || true)
    if [ -n "$added" ]; then say "the install left these enabled: $added"; exit 1; fi
    say "the install enabled no system unit: $(printf '%s\n' "$after" | grep -c . || true) enabled, as before" ;;
  *) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 2 ;;
esac
