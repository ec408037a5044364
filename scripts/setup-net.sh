#!/usr/bin/env bash
# Installs what the network-namespace tests use (test/unit/connectivity-netns.test.ts): iproute2,
# iptables and tcpdump, from Debian, when running as root (namespaces need root anyway). Never fails
# the run: without these tools (or without root) those tests skip and print why.
set -uo pipefail
[ "$(id -u)" -eq 0 ] || exit 0
command -v apt-get >/dev/null 2>&1 || exit 0
need=()
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v tcpdump >/dev/null 2>&1 || need+=(tcpdump)
[ ${#need[@]} -gt 0 ] || exit 0
echo "setup-net: installing ${need[*]} from Debian (for the network-namespace tests)"
{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"; } >/dev/null 2>&1 ||
  echo "setup-net: could not install ${need[*]}; the namespace tests will skip"
exit 0
