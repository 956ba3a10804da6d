#!/usr/bin/env bash
# One entry point for a fresh Debian machine, run as root:
#   ./dev.sh lab [dnsmasq|kea]   install what is needed, open the shell against a lab
#   ./dev.sh test [PYTEST ARGS]  install what is needed, run the whole test suite
#   ./dev.sh bench               install what is needed, run the benchmark
#   ./dev.sh fuzz [N]            the longer fuzz run of the reply parser (default 100000 inputs)
#   ./dev.sh notebooks           run the example notebooks and write their outputs back
#   ./dev.sh install             only install (apt packages, .venv, the scapy-dhcp command)
#   ./dev.sh fresh [SUITE] [CMD] a newcomer's check: a fresh Debian root (mmdebstrap; bookworm or
#                                trixie, default trixie), this repo's HEAD cloned into its /root,
#                                then ./dev.sh CMD there (default: test); the root is removed after
set -euo pipefail
cd "$(dirname "$0")"
repo=$(pwd)
venv="$repo/.venv"

APT_PACKAGES=(python3 python3-venv iproute2 procps dnsmasq-base kea-dhcp4-server kea-admin tshark tmux sudo)

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
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

install_python() {
  local extras=$1
  if [ ! -x "$venv/bin/python" ]; then
    say "creating $venv"
    /usr/bin/python3 -m venv "$venv"
  fi
  local stamp="$venv/.scapy-dhcp-installed"
  local want
  want="$extras $(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing scapy-dhcp[$extras] into $venv (log: $venv/pip.log)"
    if ! { "$venv/bin/python" -m pip install --upgrade pip &&
           "$venv/bin/python" -m pip install -e ".[$extras]"; } > "$venv/pip.log" 2>&1; then
      tail -n 30 "$venv/pip.log" >&2
      say "pip failed: the whole log is in $venv/pip.log"
      exit 1
    fi
    echo "$want" > "$stamp"
  fi
  # sudo's secure_path has /usr/local/bin but no virtualenv: put the command there.
  ln -sf "$venv/bin/scapy-dhcp" /usr/local/bin/scapy-dhcp
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
  command -v mmdebstrap >/dev/null || { apt-get update -qq; apt-get install -y -qq mmdebstrap >/dev/null; }
  local root
  root=$(mktemp -d "/tmp/scapy-dhcp-fresh-$suite-XXXXXX")
  # shellcheck disable=SC2064
  trap "umount -R '$root' 2>/dev/null; rm -rf --one-file-system '$root'" EXIT
  say "building a fresh $suite root in $root"
  mmdebstrap --quiet --variant=minbase --include=git,ca-certificates "$suite" "$root" >&2
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
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 CI="${CI:-}" bash -c 'cd /root/scapy-dhcp && ./dev.sh "$@"' bash "$@"
}

cmd=${1:-}
shift || true
case "$cmd" in
  install) install install test ;;
  lab)     install lab test; exec "$venv/bin/scapy-dhcp" --lab "$@" ;;
  test)
    install test test
    set +e
    "$venv/bin/python" -m pytest "$@"
    rc=$?
    set -e
    [ "$rc" = 5 ] && { say "pytest collected no tests"; exit 1; }
    exit "$rc" ;;
  bench)   install bench test; exec "$venv/bin/python" bench/run.py "$@" ;;
  fuzz)    install fuzz test; exec "$venv/bin/python" -m tests.support.fuzz "$@" ;;
  notebooks) install notebooks test; exec "$venv/bin/python" -m tests.support.run_notebooks ;;
  fresh)   fresh "$@" ;;
  *) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 2 ;;
esac
